use super::*;
use serde_json::{json, Value};

fn bot() -> OwnedUserId {
    OwnedUserId::try_from("@chyron-bot:localhost").unwrap()
}

fn user(id: &str) -> OwnedUserId {
    OwnedUserId::try_from(id).unwrap()
}

fn event(v: Value) -> AnySyncTimelineEvent {
    serde_json::from_value(v).unwrap()
}

fn base(id: &str, sender: &str, kind: &str, content: Value) -> Value {
    json!({"event_id": id, "sender": sender, "type": kind, "origin_server_ts": 1,
           "content": content})
}

fn message(id: &str, sender: &str, msgtype: &str, body: &str) -> AnySyncTimelineEvent {
    event(base(
        id,
        sender,
        "m.room.message",
        json!({"msgtype": msgtype, "body": body}),
    ))
}

fn eid(id: &str) -> OwnedEventId {
    OwnedEventId::try_from(id).unwrap()
}

#[test]
fn text_notice_and_emote_are_posts() {
    for (msgtype, kind) in [
        ("m.text", Kind::Text),
        ("m.notice", Kind::Notice),
        ("m.emote", Kind::Emote),
    ] {
        let ev = message("$a", "@alice:localhost", msgtype, "hello");
        assert_eq!(
            map_event(&ev, &bot(), false),
            Mapped::Post {
                event_id: eid("$a"),
                sender: user("@alice:localhost"),
                content: Content {
                    kind,
                    body: "hello".into(),
                    html: None,
                    media: None,
                    media_source: None,
                }
            }
        );
    }
}

#[test]
fn own_events_and_other_msgtypes_are_ignored() {
    let own = message("$a", "@chyron-bot:localhost", "m.text", "echo");
    assert!(matches!(map_event(&own, &bot(), false), Mapped::Ignore(_)));
    let location = event(base(
        "$i",
        "@alice:localhost",
        "m.room.message",
        json!({"msgtype": "m.location", "body": "here", "geo_uri": "geo:0,0"}),
    ));
    assert!(matches!(
        map_event(&location, &bot(), false),
        Mapped::Ignore(_)
    ));
    let reaction = event(base(
        "$r",
        "@alice:localhost",
        "m.reaction",
        json!({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$a", "key": "👍"}}),
    ));
    assert!(matches!(
        map_event(&reaction, &bot(), false),
        Mapped::Ignore(_)
    ));
}

#[test]
fn replacements_are_edits_with_the_new_content() {
    let ev = event(base(
        "$e",
        "@alice:localhost",
        "m.room.message",
        json!({"msgtype": "m.text", "body": "* fixed",
               "m.new_content": {"msgtype": "m.text", "body": "fixed"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}),
    ));
    assert_eq!(
        map_event(&ev, &bot(), false),
        Mapped::Edit {
            event_id: eid("$e"),
            sender: user("@alice:localhost"),
            target: eid("$a"),
            content: Content {
                kind: Kind::Text,
                body: "fixed".into(),
                html: None,
                media: None,
                media_source: None,
            }
        }
    );
}

#[test]
fn redactions_delete_in_both_room_versions() {
    let v11 = event(base(
        "$x",
        "@alice:localhost",
        "m.room.redaction",
        json!({"redacts": "$a", "reason": "oops"}),
    ));
    let mut old = base("$y", "@alice:localhost", "m.room.redaction", json!({}));
    old["redacts"] = json!("$b");
    for (ev, id, target) in [(v11, "$x", "$a"), (event(old), "$y", "$b")] {
        assert_eq!(
            map_event(&ev, &bot(), false),
            Mapped::Delete {
                event_id: eid(id),
                target: eid(target)
            }
        );
    }
}

fn member(id: &str, sender: &str, target: &str, membership: &str, prev: &str) -> Value {
    let mut v = base(
        id,
        sender,
        "m.room.member",
        json!({"membership": membership}),
    );
    v["state_key"] = json!(target);
    v["unsigned"] = json!({"prev_content": {"membership": prev}});
    v
}

#[test]
fn bans_clear_and_kicks_clear_only_when_configured() {
    let ban = event(member(
        "$b",
        "@alice:localhost",
        "@bob:localhost",
        "ban",
        "join",
    ));
    let cleared = Mapped::Clear {
        event_id: eid("$b"),
        user: user("@bob:localhost"),
    };
    assert_eq!(map_event(&ban, &bot(), false), cleared);
    let kick = event(member(
        "$b",
        "@alice:localhost",
        "@bob:localhost",
        "leave",
        "join",
    ));
    assert!(matches!(map_event(&kick, &bot(), false), Mapped::Ignore(_)));
    assert_eq!(map_event(&kick, &bot(), true), cleared);
    let left = event(member(
        "$l",
        "@bob:localhost",
        "@bob:localhost",
        "leave",
        "join",
    ));
    assert!(matches!(map_event(&left, &bot(), true), Mapped::Ignore(_)));
    let joined = event(member(
        "$j",
        "@bob:localhost",
        "@bob:localhost",
        "join",
        "leave",
    ));
    assert!(matches!(
        map_event(&joined, &bot(), true),
        Mapped::Ignore(_)
    ));
}

#[test]
fn malformed_content_does_not_deserialize() {
    // The sync loop drops (and logs) what ruma cannot read; nothing reaches map_event.
    for bad in [
        base(
            "$a",
            "@alice:localhost",
            "m.room.message",
            json!({"msgtype": "m.text"}),
        ),
        base(
            "$a",
            "@alice:localhost",
            "m.room.message",
            json!({"msgtype": "m.text", "body": 7}),
        ),
    ] {
        assert!(serde_json::from_value::<AnySyncTimelineEvent>(bad).is_err());
    }
}

#[test]
fn bodies_and_names_are_cleaned() {
    assert_eq!(
        render_body(Kind::Emote, "Alice", "waves").as_deref(),
        Some("* Alice waves")
    );
    assert_eq!(
        render_body(Kind::Text, "Alice", "a\u{7}b\nc").as_deref(),
        Some("a b\nc")
    );
    assert_eq!(render_body(Kind::Text, "Alice", " \u{0} "), None);
    let long = render_body(Kind::Notice, "x", &"é".repeat(MAX_BODY_CHARS + 5)).unwrap();
    assert_eq!(long.chars().count(), MAX_BODY_CHARS);
    assert!(long.ends_with('…'));
    assert!(chyron_protocol::validate_body(&long).is_ok());
    let alice = user("@alice:localhost");
    assert_eq!(render_name(Some("Alice A."), &alice), "Alice A.");
    assert_eq!(render_name(None, &alice), "@alice:localhost");
    assert_eq!(render_name(Some("\n"), &alice), "@alice:localhost");
    let name = render_name(Some(&"n".repeat(100)), &alice);
    assert!(chyron_protocol::validate_sender(&name).is_ok());
}
