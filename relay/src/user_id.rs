//! Matrix user ids as the relay accepts them from organisers and
//! moderators (live marks, owners, moderators, admins, timeouts): checked
//! so that no id can disguise one person as another. A leaf module.

use chyron_protocol::{is_disguising, InvalidInput};

/// Longest Matrix user id, in bytes (the Matrix spec's limit).
pub const MAX_USER_ID_BYTES: usize = 255;

/// Checks a Matrix user id: `@localpart:server`, at most 255 bytes, the
/// localpart printable ASCII, the server a host name, IPv4 or `[IPv6]`
/// address with an optional port. No control, bidi or zero-width character
/// gets through, so a live mark cannot disguise one person as another.
pub fn check_user_id(user_id: &str) -> Result<(), String> {
    const FIELD: &str = "user_id";
    let like = "must be a Matrix user id like `@dj:example.org`";
    if user_id.is_empty() {
        return Err(InvalidInput::Empty { field: FIELD }.to_string());
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        let max = MAX_USER_ID_BYTES;
        return Err(format!("`{FIELD}` is longer than {max} bytes"));
    }
    if let Some(found) = user_id
        .chars()
        .find(|c| c.is_control() || is_disguising(*c) || c.is_whitespace())
    {
        return Err(InvalidInput::BadCharacter {
            field: FIELD,
            found,
        }
        .to_string());
    }
    let Some((local, server)) = user_id
        .strip_prefix('@')
        .and_then(|rest| rest.split_once(':'))
    else {
        return Err(format!("`{FIELD}` {like}"));
    };
    if local.is_empty() || server.is_empty() {
        return Err(format!("`{FIELD}` {like}"));
    }
    if let Some(found) = local.chars().find(|c| !matches!(c, '!'..='~')) {
        return Err(format!(
            "`{FIELD}` {like}: {found:?} in the name before `:`"
        ));
    }
    if !plausible_server(server) {
        return Err(format!("`{FIELD}` {like}: {server:?} is not a server name"));
    }
    Ok(())
}

/// A Matrix server name: host (name or IPv4), or `[IPv6]`, then `:port`.
fn plausible_server(server: &str) -> bool {
    let (host, port) = match server.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, rest)) if !addr.is_empty() => {
                if !addr
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
                {
                    return false;
                }
                match rest {
                    "" => ("v6", None),
                    _ => match rest.strip_prefix(':') {
                        Some(port) => ("v6", Some(port)),
                        None => return false,
                    },
                }
            }
            _ => return false,
        },
        None => match server.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (server, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}
