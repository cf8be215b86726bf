//! Who is here, on a real relay: `POST`/`DELETE …/presence` with a relay
//! session, the counts everyone reads and the lists only moderators get
//! (`…/people?lists=1`), admins never counted or listed, CORS for pages on
//! other origins, and hostile requests answered with clear errors.

mod common;

use chyron_relay::config::{chat::ChannelMeta, Config};
use chyron_relay::moderation::session;
use chyron_relay::store::Store;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const KEY: [u8; 32] = [42; 32];
const P: &str = "/chat/v1/channels/demo/presence";
const PEOPLE: &str = "/chat/v1/channels/demo/people";

/// A relay whose sessions' key is [`KEY`]: `demo` public, owned by
/// `@dj:hs`, `@root:hs` its admin.
async fn relay() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .call(|c| {
            let sql = "INSERT INTO settings (key, value) VALUES ('session_key', ?1)";
            c.execute(sql, [hex::encode(KEY)])?;
            Ok(())
        })
        .await
        .unwrap();
    drop(store);
    let relay = start_with(config(dir.path(), |c: &mut Config| {
        c.chat.public_channels = vec!["demo".into()];
        c.chat.admins = vec!["@root:hs".into()];
        let owners = vec!["@dj:hs".into()];
        let meta = ChannelMeta {
            owners,
            ..Default::default()
        };
        c.chat.channels.insert("demo".into(), meta);
    }))
    .await;
    (relay, dir)
}

fn session_of(user_id: &str) -> String {
    let expires = chyron_relay::hub::now_ms() + 60_000;
    session::sign(&KEY, user_id, expires)
}

async fn call(relay: &Server, who: &str, method: Method, path: &str) -> (u16, Value) {
    let (status, body) = call_as(relay, who, method, path, None).await;
    (status.as_u16(), body)
}

async fn counts(relay: &Server) -> Value {
    let res = http().get(relay.url(PEOPLE)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    res.json().await.unwrap()
}

fn ids<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    let items = list.as_array().unwrap();
    items.iter().map(|i| i[field].as_str().unwrap()).collect()
}

#[tokio::test]
async fn chatters_are_counted_once_listed_for_moderators_and_admins_never() {
    let (relay, _dir) = relay().await;
    let (ann, bob, root) = (
        session_of("@ann:hs"),
        session_of("@bob:hs"),
        session_of("@root:hs"),
    );
    let answer = call(&relay, &ann, Method::POST, P).await;
    assert_eq!(answer, (200, json!({"renew_s": 30, "ttl_s": 75})));
    // A renewal is the same chatter.
    assert_eq!(call(&relay, &ann, Method::POST, P).await.0, 200);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(call(&relay, &bob, Method::POST, P).await.0, 200);
    // An admin is answered the same, and recorded nowhere.
    assert_eq!(call(&relay, &root, Method::POST, P).await, answer);
    relay.post("demo", "Cy", "hello").await;
    assert_eq!(
        counts(&relay).await,
        json!({"viewers": 0, "chatters": 2, "seen": 3})
    );
    // The owner gets the lists; admins are in none.
    let lists = format!("{PEOPLE}?lists=1");
    let (status, body) = call(&relay, &session_of("@dj:hs"), Method::GET, &lists).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body["present"], "user_id"), ["@bob:hs", "@ann:hs"]);
    assert!(body["present"][0]["since"].as_i64().unwrap() > 0);
    let seen = &body["seen_list"];
    assert_eq!(seen.as_array().unwrap().len(), 3, "{seen}");
    let posted = seen
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["posted"] == true);
    assert_eq!(posted.count(), 1, "only Cy posted: {seen}");
    assert!(!ids(seen, "user_id").contains(&"@root:hs"));
    assert_eq!(body["lists_truncated"], false);
    assert_eq!(body["chatters"], 2);
    // The API token counts as an admin; a chatter is no moderator.
    let (status, _) = call(&relay, TOKEN, Method::GET, &lists).await;
    assert_eq!(status, 200);
    let (status, body) = call(&relay, &ann, Method::GET, &lists).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    // Leaving is gone now; seen stays.
    let (status, _) = call(&relay, &bob, Method::DELETE, P).await;
    assert_eq!(status, 204);
    let now = counts(&relay).await;
    assert_eq!((&now["chatters"], &now["seen"]), (&json!(1), &json!(3)));
    relay.stop().await;
}

#[tokio::test]
async fn hostile_requests_get_clear_errors_and_record_nothing() {
    let (relay, _dir) = relay().await;
    let expired = session::sign(&KEY, "@ann:hs", chyron_relay::hub::now_ms() - 1);
    let forged = session::sign(&[1; 32], "@ann:hs", i64::MAX);
    let huge = format!("{PEOPLE}?lists=1&x={}", "a".repeat(300));
    let ann = session_of("@ann:hs");
    let lists = format!("{PEOPLE}?lists=1");
    for (who, method, path, status, code) in [
        ("", Method::POST, P, 401, "unauthorized"),
        (TOKEN, Method::POST, P, 401, "unauthorized"),
        (&expired, Method::POST, P, 401, "unauthorized"),
        (&forged, Method::POST, P, 401, "unauthorized"),
        ("chs_%%%", Method::DELETE, P, 401, "unauthorized"),
        (
            &ann,
            Method::POST,
            "/chat/v1/channels/private/presence",
            404,
            "not_found",
        ),
        (
            &ann,
            Method::POST,
            "/chat/v1/channels/No%20way/presence",
            400,
            "invalid_field",
        ),
        (
            &ann,
            Method::DELETE,
            "/chat/v1/channels/private/presence",
            404,
            "not_found",
        ),
        (&ann, Method::GET, &huge, 400, "bad_request"),
        (
            &ann,
            Method::GET,
            &format!("{PEOPLE}?lists=2"),
            400,
            "bad_request",
        ),
        ("", Method::GET, &lists, 401, "unauthorized"),
        (&forged, Method::GET, &lists, 401, "unauthorized"),
        (&expired, Method::GET, &lists, 401, "unauthorized"),
        ("wrong-token", Method::GET, &lists, 401, "unauthorized"),
    ] {
        let (got, body) = call(&relay, who, method.clone(), path).await;
        let code_got = body["error"]["code"].as_str();
        assert_eq!(
            (got, code_got),
            (status, Some(code)),
            "{method} {path}: {body}"
        );
    }
    assert_eq!(
        counts(&relay).await,
        json!({"viewers": 0, "chatters": 0, "seen": 0})
    );
    relay.stop().await;
}

#[tokio::test]
async fn pages_on_other_origins_may_send_the_session() {
    let (relay, _dir) = relay().await;
    let res = http()
        .request(Method::OPTIONS, relay.url(P))
        .header("origin", "https://stream.example")
        .header("access-control-request-method", "DELETE")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");
    // The answer itself carries it too, once.
    let res = http()
        .post(relay.url(P))
        .header("origin", "https://stream.example")
        .bearer_auth(session_of("@ann:hs"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let origin = res.headers().get_all("access-control-allow-origin");
    assert_eq!(origin.iter().collect::<Vec<_>>(), ["*"]);
    relay.stop().await;
}
