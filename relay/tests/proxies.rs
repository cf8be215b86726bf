//! Behind a load balancer: with `trusted_proxies`, the per-address limits
//! count the client the proxy recorded in `X-Forwarded-For`, not the proxy;
//! without it (or from any other peer) the header changes nothing.

mod common;

use common::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

/// Opens `/feed/demo` as the proxy would forward a viewer at `client`;
/// the HTTP status if the relay refused it.
async fn feed_for(server: &Server, client: &str) -> Result<Ws, u16> {
    let mut req = server.ws_url("/feed/demo").into_client_request().unwrap();
    req.headers_mut()
        .insert("x-forwarded-for", client.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_viewer_has_its_own_cap() {
    let server = start(|c| {
        c.limits.max_connections_per_ip = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // Two viewers behind the same proxy (the test's loopback socket), two
    // feeds each: all four are let in.
    let mut open = Vec::new();
    for client in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..2 {
            open.push(feed_for(&server, client).await.expect("under the cap"));
        }
    }
    // A third from one of them is that viewer's third.
    assert_eq!(feed_for(&server, "198.51.100.1").await.err(), Some(429));
    // A client cannot choose its own address: what it wrote is left of
    // what the proxy appended, and the proxy's entry counts.
    assert_eq!(
        feed_for(&server, "203.0.113.50, 198.51.100.2").await.err(),
        Some(429)
    );
    assert!(feed_for(&server, "198.51.100.3").await.is_ok());
    for ws in open {
        close(ws).await;
    }
}

#[tokio::test]
async fn from_an_untrusted_peer_the_header_changes_nothing() {
    let server = start(|c| c.limits.max_connections_per_ip = 2).await;
    let _a = feed_for(&server, "198.51.100.1").await.expect("first");
    let _b = feed_for(&server, "198.51.100.2").await.expect("second");
    // The peer is what counts: a third connection is refused whatever
    // address the header claims.
    assert_eq!(feed_for(&server, "198.51.100.3").await.err(), Some(429));
}

#[tokio::test]
async fn anonymous_quota_follows_the_forwarded_client() {
    let server = start(|c| {
        c.limits.anonymous_rate_limit_per_second = 1;
        c.limits.anonymous_rate_limit_burst = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap().into()];
    })
    .await;
    let hook = |client: &'static str| {
        http()
            .post(server.url("/hooks/nosuchhook/nosecret"))
            .header("x-forwarded-for", client)
            .body("{}")
            .send()
    };
    // One client spends its burst (each answer is a 404: no such hook) …
    for _ in 0..2 {
        assert_eq!(hook("198.51.100.1").await.unwrap().status(), 404);
    }
    let res = hook("198.51.100.1").await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    // … and another behind the same proxy still has its own.
    assert_eq!(hook("198.51.100.2").await.unwrap().status(), 404);
}
