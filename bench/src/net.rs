//! Raw loopback clients for the hostile benchmark: TCP from a chosen source
//! address (so the attacker is a different client address from the normal
//! viewer, as on the internet), a websocket handshake written by hand (so a
//! socket can be opened and then never read), and client frames built by hand.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

/// How long a connect or a handshake may take before it counts as failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// The `n`-th attacker address: 127.0.0.2, 127.0.0.3, … (all of 127/8 is
/// loopback on Linux); the normal viewer stays on 127.0.0.1.
pub fn attacker_addr(n: usize) -> IpAddr {
    let n = 2 + (n % 250) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// Connects to `dst` from `src` (port chosen by the kernel), with a small
/// receive buffer if asked, within [`IO_TIMEOUT`].
pub async fn connect_from(
    src: IpAddr,
    dst: SocketAddr,
    recv_buffer: Option<u32>,
) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.bind(SocketAddr::new(src, 0))?;
    timeout(IO_TIMEOUT, socket.connect(dst))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))?
}

/// How a websocket upgrade ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// `101 Switching Protocols`: the socket is a websocket now.
    Opened,
    /// Any other status (the relay refused, e.g. 429 or 503).
    Refused(u16),
}

/// Sends a websocket upgrade for `path` and reads the response head, and no
/// more than one read past it: the caller can then stop reading for good.
pub async fn ws_upgrade(stream: &mut TcpStream, host: &str, path: &str) -> io::Result<Upgrade> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: Y2h5cm9uLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    timeout(IO_TIMEOUT, stream.write_all(request.as_bytes()))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = timeout(IO_TIMEOUT, stream.read(&mut buf))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if n == 0 || head.len() > 8192 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status = std::str::from_utf8(&head[..head.len().min(16)])
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    Ok(if status == 101 {
        Upgrade::Opened
    } else {
        Upgrade::Refused(status)
    })
}

/// A client-to-server websocket frame (masked, as clients must), final, with
/// a payload of at most 125 bytes: enough for control frames.
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= 125, "short frames only");
    let mask = [0x5a, 0x13, 0xc7, 0x2e];
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The websocket ping opcode.
pub const PING: u8 = 0x9;

/// Raises this process's open-files soft limit to the hard limit; returns the
/// new soft limit.
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_frame_is_masked_and_unmasks_to_its_payload() {
        let frame = client_frame(PING, b"abcde");
        assert_eq!(frame[0], 0x89);
        assert_eq!(frame[1], 0x80 | 5);
        let mask = &frame[2..6];
        let payload: Vec<u8> = frame[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(payload, b"abcde");
    }

    #[test]
    fn attacker_addresses_are_loopback_and_not_the_viewers() {
        for n in 0..300 {
            let ip = attacker_addr(n);
            assert!(ip.is_loopback());
            assert_ne!(ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
    }
}
