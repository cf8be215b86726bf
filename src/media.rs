//! Attachments on caption lines: the word that marks their kind, what the
//! live region says for them, and where a thumbnail or avatar may load from.
//!
//! The feed is untrusted: an image is only ever loaded from the widget's
//! own relay, and only from its `/media/` paths.

use crate::captions::Line;
use chyron_protocol::MediaKind;

/// The marker shown before the body of a line with an attachment: a plain
/// word, so screen readers read it as written.
pub fn kind_label(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "Image",
        MediaKind::Video => "Video",
        MediaKind::Audio => "Audio",
        MediaKind::File => "File",
        MediaKind::Other => "Attachment",
    }
}

/// The body as the live region reads it: with the kind first, if any.
pub fn spoken_body(line: &Line) -> String {
    match &line.media {
        Some(media) => format!("{}, {}", kind_label(media.kind), line.body),
        None => line.body.clone(),
    }
}

/// Where the thumbnail or avatar at `path` loads from: `server` (the relay's
/// `http(s)://` base, see [`crate::config::Config::server`]) then `path`, if
/// `path` is a relay media path: `/media/` then letters, digits, `-`, `_`,
/// `.` and `/`, with no `..` and no empty segment. Anything else (another
/// host, `javascript:`, a way out of `/media/`) gives `None`: no image.
pub fn media_url(server: &str, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/media/")?;
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-_./".contains(&b);
    // Byte pairs, not `str::contains`: no substring search in the wasm.
    let pairs_ok = |w: &[u8]| w != b".." && w != b"//";
    let ok = !rest.is_empty()
        && !rest.starts_with('/')
        && rest.bytes().all(safe)
        && rest.as_bytes().windows(2).all(pairs_ok);
    ok.then(|| format!("{server}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chyron_protocol::Media;

    const RELAY: &str = "https://relay.test";

    #[test]
    fn relay_media_paths_load_from_the_relay() {
        for (path, url) in [
            (
                "/media/demo/m4/thumbnail",
                "https://relay.test/media/demo/m4/thumbnail",
            ),
            (
                "/media/a-b_c/m1/thumb.webp",
                "https://relay.test/media/a-b_c/m1/thumb.webp",
            ),
        ] {
            assert_eq!(media_url(RELAY, path).as_deref(), Some(url), "{path}");
        }
        // Behind a proxy the relay lives under a path, and so do its media.
        assert_eq!(
            media_url("http://h:8/chat", "/media/x/m1/thumbnail").as_deref(),
            Some("http://h:8/chat/media/x/m1/thumbnail")
        );
    }

    #[test]
    fn anything_else_is_ignored() {
        for path in [
            "",
            "/",
            "/media",
            "/media/",
            "media/demo/m4/thumbnail",
            "https://evil.test/media/x.png",
            "//evil.test/media/x.png",
            "/media//evil.test/x.png",
            "/media/../api/v1/channels/demo/messages",
            "/media/demo/../../healthz",
            "/media/%2e%2e/healthz",
            "/media/demo/m4/thumbnail?x=1",
            "/media/demo/m4/thumbnail#x",
            "/media/demo/m4\\..\\x",
            "/media/demo/m4/thumb nail",
            "/media/demo/m4/\u{0}",
            "/media/démo/m4",
            "/MEDIA/demo/m4/thumbnail",
            "javascript:alert(1)",
            "data:image/svg+xml,<svg onload=alert(1)>",
            " /media/demo/m4/thumbnail",
            "/media/demo/m4/thumbnail\n",
        ] {
            assert_eq!(media_url(RELAY, path), None, "{path:?}");
        }
    }

    #[test]
    fn every_kind_has_a_word() {
        let kinds = [
            (MediaKind::Image, "Image"),
            (MediaKind::Video, "Video"),
            (MediaKind::Audio, "Audio"),
            (MediaKind::File, "File"),
            (MediaKind::Other, "Attachment"),
        ];
        for (kind, word) in kinds {
            assert_eq!(kind_label(kind), word);
        }
    }

    #[test]
    fn the_live_region_says_the_kind_first() {
        let mut line = Line {
            id: "m4".into(),
            sender: "Ada".into(),
            sender_id: "ada".into(),
            body: "cat.png".into(),
            slot: 0,
            media: None,
            avatar: None,
            shown_at: 0.0,
        };
        assert_eq!(spoken_body(&line), "cat.png");
        line.media = Some(Media {
            kind: MediaKind::Video,
            name: "clip.mp4".into(),
            mimetype: None,
            size: None,
            width: None,
            height: None,
            thumbnail: None,
            mark: None,
        });
        line.body = "look at this".into();
        assert_eq!(spoken_body(&line), "Video, look at this");
    }
}
