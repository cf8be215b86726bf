//! Who a request comes from, for the per-address limits.
//!
//! Alone on the internet, the relay counts the socket's peer. Behind a load
//! balancer or reverse proxy (clustered mode, or any TLS terminator) every
//! peer is the proxy, so all viewers would share one quota and one feed
//! connection cap: the operator names the proxies (`trusted_proxies`), and a
//! request whose peer is one of them is counted against the address the
//! proxies recorded in `X-Forwarded-For`. That header is read from the right:
//! each trusted proxy appends the address it saw, so the rightmost address
//! that is not a trusted proxy is the client; whatever a client wrote further
//! left is never believed. A request from any other peer is counted against
//! the peer, whatever headers it sends.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The header proxies append the client's address to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address a request counts against (see [`bucket`] for how IPv6
/// addresses are grouped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The client address of a request from `peer` with `headers`, given the
/// operator's `trusted` proxies.
pub fn client_addr(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = unmapped(peer.ip());
    if !is_trusted(trusted, peer) {
        return peer;
    }
    // Hops from the nearest (rightmost) outwards, over every header line.
    let lines: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let mut nearest_trusted = peer;
    for hop in lines.iter().rev().flat_map(|l| l.rsplit(',')) {
        let Some(ip) = parse_hop(hop) else {
            // Not an address: no trusted proxy wrote this, so the client
            // did; count the request against the last proxy that is sure.
            return nearest_trusted;
        };
        if !is_trusted(trusted, ip) {
            return ip;
        }
        nearest_trusted = ip;
    }
    nearest_trusted
}

/// One `X-Forwarded-For` element: an address, IPv6 possibly in brackets,
/// possibly with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(unmapped(ip));
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(unmapped(addr.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
        .map(unmapped)
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address limits count for a client at `ip`: IPv4 as it is (also
/// when it arrives IPv4-mapped), IPv6 cut to its /64 prefix (one host
/// usually holds a whole /64).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match unmapped(ip) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        v4 => v4,
    }
}

fn is_trusted(trusted: &[IpNet], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Err((StatusCode::INTERNAL_SERVER_ERROR, "no peer address"));
        };
        let trusted = &state.config.trusted_proxies;
        Ok(ClientAddr(bucket(client_addr(
            *peer,
            &parts.headers,
            trusted,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(FORWARDED_FOR, HeaderValue::from_str(l).unwrap());
        }
        h
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_counts_whatever_it_sends() {
        let h = headers(&["198.51.100.7"]);
        assert_eq!(client_addr(peer("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(client_addr(peer("203.0.113.9"), &h, &t), ip("203.0.113.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_recorded_client_counts() {
        let t = nets(&["10.0.0.0/8"]);
        let h = headers(&["198.51.100.7"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("198.51.100.7"));
    }

    #[test]
    fn what_a_client_wrote_left_of_its_own_address_is_not_believed() {
        let t = nets(&["10.0.0.0/8"]);
        // The client sent "1.2.3.4" itself; the proxy appended what it saw.
        let h = headers(&["1.2.3.4, 198.51.100.7"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("198.51.100.7"));
        // Several header lines are one list, in order.
        let h = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("198.51.100.7"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_to_the_client() {
        let t = nets(&["10.0.0.0/8", "fd00::/8"]);
        let h = headers(&["198.51.100.7, 10.1.1.1, [fd00::5]:8443"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("198.51.100.7"));
        let h = headers(&["2001:db8::1, 10.1.1.1:1234"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_or_nothing_counts_against_the_nearest_proxy() {
        let t = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_addr(peer("10.0.0.2"), &HeaderMap::new(), &t),
            ip("10.0.0.2")
        );
        let h = headers(&["not-an-ip, 10.9.9.9"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("10.9.9.9"));
        let h = headers(&["198.51.100.7, unknown"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("10.0.0.2"));
        let h = headers(&["10.3.3.3"]);
        assert_eq!(client_addr(peer("10.0.0.2"), &h, &t), ip("10.3.3.3"));
    }

    #[test]
    fn ipv4_mapped_peers_and_hops_are_ipv4() {
        let t = nets(&["10.0.0.0/8"]);
        let h = headers(&["::ffff:198.51.100.7"]);
        assert_eq!(
            client_addr(peer("::ffff:10.0.0.2"), &h, &t),
            ip("198.51.100.7")
        );
    }
}
