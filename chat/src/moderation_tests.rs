//! Moderation's plain rules: answers read, requests built, errors shown.

use super::*;
use serde_json::json;

#[test]
fn a_session_is_renewed_before_it_expires() {
    let s: RelaySession = serde_json::from_value(json!({
        "session": "chs_x", "user_id": "@ann:hs", "expires_at": 1_000_000_000
    }))
    .unwrap();
    assert!(s.fresh(1_000_000_000 - RENEW_BEFORE_MS - 1));
    assert!(!s.fresh(1_000_000_000 - RENEW_BEFORE_MS));
    assert!(!s.fresh(2_000_000_000));
}

#[test]
fn standing_reads_me_and_the_public_answer() {
    let me: Standing = serde_json::from_value(json!({
        "user_id": "@ann:hs", "role": "moderator", "moderator_until": 5,
        "timeout": {"until": 100, "reason": "spam"}, "banned": false
    }))
    .unwrap();
    assert_eq!(me.role, Role::Moderator);
    assert!(me.role.moderates() && !me.role.appoints());
    assert_eq!(me.muted_until(99).unwrap().reason.as_deref(), Some("spam"));
    assert!(me.muted_until(100).is_none(), "ends at until");
    let public: Standing = serde_json::from_value(json!({"banned": true})).unwrap();
    assert_eq!(public.role, Role::Viewer);
    assert!(public.banned && public.timeout.is_none());
    let later: Standing =
        serde_json::from_value(json!({"role": "queen", "banned": false})).unwrap();
    assert!(!later.role.moderates(), "an unknown role moderates nothing");
    assert!(Role::Owner.appoints() && Role::Admin.appoints() && !Role::Viewer.moderates());
}

#[test]
fn actions_build_the_contracts_requests() {
    let c = "demo";
    let t = Action::Timeout("@ann:hs".into(), Some(300), Some("spam".into())).call(c);
    assert_eq!(
        (t.method, t.path.as_str()),
        ("POST", "/chat/v1/channels/demo/moderation/timeouts")
    );
    assert_eq!(
        t.body.unwrap(),
        json!({"user_id": "@ann:hs", "seconds": 300, "reason": "spam"})
    );
    let t = Action::Timeout("@ann:hs".into(), None, None).call(c);
    assert_eq!(
        t.body.unwrap(),
        json!({"user_id": "@ann:hs"}),
        "the relay suggests"
    );
    let u = Action::Untimeout("@ann:hs".into()).call(c);
    assert_eq!(
        (u.method, u.path.as_str()),
        (
            "DELETE",
            "/chat/v1/channels/demo/moderation/timeouts/@ann:hs"
        )
    );
    let b = Action::Ban("bot/x y".into(), None).call(c);
    assert_eq!(b.body.unwrap(), json!({"user_id": "bot/x y"}));
    let ub = Action::Unban("bot/x y".into()).call(c);
    assert_eq!(
        ub.path, "/chat/v1/channels/demo/moderation/bans/bot%2Fx%20y",
        "escaped"
    );
    let m = Action::Mark("m1".into(), true).call(c);
    assert_eq!(
        (m.method, m.body.unwrap()),
        ("PUT", json!({"mark": "nsfw"}))
    );
    let d = Action::Delete("m/../1".into()).call(c);
    assert_eq!(
        (d.method, d.path.as_str()),
        (
            "DELETE",
            "/chat/v1/channels/demo/moderation/messages/m%2F..%2F1"
        )
    );
    let a = Action::Appoint("@bob:hs".into(), Some(7)).call(c);
    assert_eq!(
        (a.method, a.path.as_str()),
        ("PUT", "/chat/v1/channels/demo/moderators/@bob:hs")
    );
    assert_eq!(a.body.unwrap(), json!({"scope": "event", "until": 7}));
    let g = Action::Appoint("@bob:hs".into(), None).call(c);
    assert_eq!(g.body.unwrap(), json!({"scope": "general"}));
    let x = Action::Dismiss("@bob:hs".into()).call(c);
    assert_eq!((x.method, x.body), ("DELETE", None));
    assert_eq!(me_call("a b").path, "/chat/v1/channels/a%20b/me");
    assert_eq!(
        standing_call(c, "@g:hs").path,
        "/chat/v1/channels/demo/standing/@g:hs"
    );
    assert_eq!(
        user_call(c, "@g:hs").path,
        "/chat/v1/channels/demo/moderation/users/@g:hs"
    );
    let s = session_call("tok", "hs");
    assert_eq!(
        s.body.unwrap(),
        json!({"access_token": "tok", "matrix_server_name": "hs"})
    );
}

#[test]
fn the_relays_errors_are_shown_as_written() {
    let body = r#"{"error":{"code":"forbidden","message":"Only moderators may do that."}}"#;
    assert_eq!(relay_error(403, body), "Only moderators may do that.");
    assert_eq!(
        relay_error(502, "<html>bad gateway</html>"),
        "The relay refused (HTTP 502)."
    );
    assert_eq!(
        relay_error(500, r#"{"error":{"message":"  "}}"#),
        "The relay refused (HTTP 500)."
    );
    let hostile = r#"{"error":{"message":"a\u001b[31mb"}}"#;
    assert_eq!(
        relay_error(400, hostile),
        "a[31mb",
        "control characters dropped"
    );
}

#[test]
fn suggested_lengths_preselect_a_choice() {
    assert_eq!(preselect(None), 120);
    assert_eq!(preselect(Some(120)), 120);
    assert_eq!(preselect(Some(300)), 300);
    assert_eq!(preselect(Some(200)), 300);
    assert_eq!(preselect(Some(600)), 600);
    assert_eq!(preselect(Some(9000)), 600);
    assert_eq!(length_label(300), "Time out 5 min");
}

#[test]
fn the_banner_counts_down_and_says_why() {
    assert_eq!(countdown(300_000, 0), "5:00");
    assert_eq!(
        countdown(300_000, 1),
        "5:00",
        "rounded up: never 0:00 early"
    );
    assert_eq!(countdown(61_000, 0), "1:01");
    assert_eq!(countdown(0, 5_000), "0:00");
    let t = Timeout {
        until: 1,
        reason: Some("spam".into()),
    };
    assert!(banner(&t).contains("“spam”"));
    let t = Timeout {
        until: 1,
        reason: Some(" ".into()),
    };
    assert_eq!(
        banner(&t),
        "A moderator timed you out. You can post again when it ends."
    );
}

#[test]
fn done_notices_name_the_person() {
    assert_eq!(
        Action::Timeout("x".into(), None, None).done("Ann"),
        "Ann is timed out."
    );
    assert_eq!(
        Action::Mark("m".into(), true).done("Ann's image"),
        "Marked NSFW: Ann's image."
    );
}
