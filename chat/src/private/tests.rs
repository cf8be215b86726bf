use super::*;
use chyron_protocol::limits::MAX_BODY_CHARS;
use chyron_protocol::Message;

const ME: &str = "@me:hs";

fn said(json: &str) -> Message {
    match event(json, false) {
        Some(Change::Said(m)) => m,
        other => panic!("not a message: {other:?}"),
    }
}

#[test]
fn a_text_message_keeps_its_formatted_body_and_event_id() {
    let m = said(
        r#"{"type":"m.room.message","sender":"@ann:hs","event_id":"$1","origin_server_ts":5,
            "content":{"msgtype":"m.text","body":"hi","format":"org.matrix.custom.html","formatted_body":"<b>hi</b>"}}"#,
    );
    assert_eq!(m.body, "hi");
    assert_eq!(m.html.as_deref(), Some("<b>hi</b>"));
    assert_eq!(m.sender, "ann");
    assert_eq!(m.sender_id, "@ann:hs");
    assert_eq!(m.matrix_event_id(), Some("$1"));
    assert_eq!(m.ts, 5);
}

#[test]
fn emotes_images_and_files_say_what_they_are() {
    let emote = said(
        r#"{"type":"m.room.message","sender":"@ann:hs","event_id":"$1","content":{"msgtype":"m.emote","body":"waves"}}"#,
    );
    assert_eq!(emote.body, "* ann waves");
    let image = said(
        r#"{"type":"m.room.message","sender":"@ann:hs","event_id":"$2","content":{"msgtype":"m.image","body":"cat.png","url":"mxc://hs/x"}}"#,
    );
    assert_eq!(image.body, "sent an image: cat.png");
    assert_eq!(image.html, None);
}

#[test]
fn an_event_that_could_not_be_decrypted_says_so_instead_of_vanishing() {
    let change = event(
        r#"{"type":"m.room.encrypted","sender":"@ann:hs","event_id":"$1","origin_server_ts":9,
            "content":{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"..."}}"#,
        true,
    );
    let Some(Change::Said(m)) = change else {
        panic!("{change:?}")
    };
    assert_eq!(m.body, UNABLE_TO_DECRYPT);
    assert_eq!(m.matrix_event_id(), Some("$1"));
}

#[test]
fn edits_name_the_original_and_carry_the_new_content() {
    let change = event(
        r#"{"type":"m.room.message","sender":"@ann:hs","event_id":"$2","content":{"msgtype":"m.text","body":"* fixed",
            "m.new_content":{"msgtype":"m.text","body":"fixed"},
            "m.relates_to":{"rel_type":"m.replace","event_id":"$1"}}}"#,
        false,
    );
    assert_eq!(
        change,
        Some(Change::Edited {
            id: "$1".into(),
            body: "fixed".into(),
            html: None,
            sender_id: "@ann:hs".into()
        })
    );
}

#[test]
fn redactions_in_either_room_version_delete() {
    for json in [
        r#"{"type":"m.room.redaction","sender":"@ann:hs","event_id":"$9","redacts":"$1","content":{}}"#,
        r#"{"type":"m.room.redaction","sender":"@ann:hs","event_id":"$9","content":{"redacts":"$1"}}"#,
    ] {
        assert_eq!(
            event(json, false),
            Some(Change::Deleted { id: "$1".into() })
        );
    }
}

#[test]
fn hostile_events_are_cleaned_or_ignored() {
    // Not JSON, no sender, no content, redacted (empty content), unknown type.
    for json in [
        "{",
        r#"{"type":"m.room.message","event_id":"$1","content":{"body":"x"}}"#,
        r#"{"type":"m.room.message","sender":"@a:hs","event_id":"$1"}"#,
        r#"{"type":"m.room.message","sender":"@a:hs","event_id":"$1","content":{}}"#,
        r#"{"type":"m.reaction","sender":"@a:hs","event_id":"$1","content":{}}"#,
        r#"{"type":"m.room.message","sender":"@a:hs","event_id":"$1","content":{"body":"   "}}"#,
    ] {
        assert_eq!(event(json, false), None, "{json}");
    }
    // A name that would reverse the text after it loses its controls.
    let change = event(
        r#"{"type":"m.room.member","sender":"@e:hs","event_id":"$1","state_key":"@e:hs",
            "content":{"membership":"join","displayname":"\u202Eevil\u200B"}}"#,
        false,
    );
    assert_eq!(
        change,
        Some(Change::Member {
            user_id: "@e:hs".into(),
            membership: Membership::Join,
            name: Some("evil".into())
        })
    );
    // A huge body is cut; HTML from a non-text message is not kept.
    let long = "x".repeat(5000);
    let m = said(&format!(
        r#"{{"type":"m.room.message","sender":"@a:hs","event_id":"$1","content":{{"msgtype":"m.text","body":"{long}"}}}}"#
    ));
    assert_eq!(m.body.chars().count(), MAX_BODY_CHARS);
    let m = said(
        r#"{"type":"m.room.message","sender":"@a:hs","event_id":"$1","content":{"msgtype":"m.file","body":"f",
            "format":"org.matrix.custom.html","formatted_body":"<img src=x>"}}"#,
    );
    assert_eq!(m.html, None);
}

fn member(user: &str, membership: Membership, name: &str) -> Change {
    Change::Member {
        user_id: user.into(),
        membership,
        name: Some(name.into()),
    }
}

#[test]
fn conversations_are_notes_direct_or_groups_with_fitting_titles() {
    let mut p = Private::default();
    p.apply("!n", ME, member(ME, Membership::Join, "Me"));
    p.room("!n").unwrap().direct = true;
    assert_eq!(p.get("!n").unwrap().kind(), Kind::Notes);
    assert_eq!(p.get("!n").unwrap().title(), "Notes");
    assert!(p.notes().is_some());

    p.apply("!d", ME, member("@ann:hs", Membership::Invite, "Ann"));
    assert_eq!(p.get("!d").unwrap().kind(), Kind::Direct);
    assert_eq!(p.get("!d").unwrap().title(), "Ann");
    assert_eq!(p.direct_with("@ann:hs").unwrap().room_id, "!d");

    for (u, n) in [
        ("@a:hs", "A"),
        ("@b:hs", "B"),
        ("@c:hs", "C"),
        ("@d:hs", "D"),
    ] {
        p.apply("!g", ME, member(u, Membership::Join, n));
    }
    assert_eq!(p.get("!g").unwrap().kind(), Kind::Group);
    assert_eq!(p.get("!g").unwrap().title(), "A, B and 2 others");
}

#[test]
fn a_conversation_whose_other_side_left_says_so() {
    let mut p = Private::default();
    p.apply("!d", ME, member("@ann:hs", Membership::Join, "Ann"));
    assert!(!p.get("!d").unwrap().alone());
    p.apply("!d", ME, member("@ann:hs", Membership::Gone, "Ann"));
    let c = p.get("!d").unwrap();
    assert!(c.alone());
    assert_eq!(c.kind(), Kind::Direct, "not notes");
    assert_eq!(c.title(), "Ann");
}

#[test]
fn blocked_people_are_not_shown_nor_their_invites() {
    let mut p = Private::default();
    p.room("!inv").unwrap().invited_by = Some("@troll:hs".into());
    p.room("!ok").unwrap().invited_by = Some("@ann:hs".into());
    assert_eq!(p.invites().len(), 2);
    assert!(p.block("@troll:hs"));
    let invites: Vec<_> = p.invites().iter().map(|c| c.room_id.clone()).collect();
    assert_eq!(invites, ["!ok"]);

    p.apply("!d", ME, member("@troll:hs", Membership::Join, "T"));
    assert!(p.is_blocked("!d"));
    let line = said(
        r#"{"type":"m.room.message","sender":"@troll:hs","event_id":"$1","content":{"msgtype":"m.text","body":"hi"}}"#,
    );
    assert_eq!(p.apply("!d", ME, Change::Said(line)), None);
    p.blocked.remove("@troll:hs");
    assert!(!p.is_blocked("!d"));
}

#[test]
fn the_list_puts_notes_first_then_the_most_recent() {
    let mut p = Private::default();
    for (room, ts) in [("!old", 1), ("!new", 5)] {
        p.apply(room, ME, member("@x:hs", Membership::Join, "X"));
        let mut m = said(
            r#"{"type":"m.room.message","sender":"@x:hs","event_id":"$1","content":{"msgtype":"m.text","body":"hi"}}"#,
        );
        m.ts = ts;
        p.apply(room, ME, Change::Said(m));
    }
    p.room("!notes").unwrap().direct = true;
    let order: Vec<_> = p.list().iter().map(|c| c.room_id.clone()).collect();
    assert_eq!(order, ["!notes", "!new", "!old"]);
}

#[test]
fn conversations_are_bounded() {
    let mut p = Private::default();
    for i in 0..MAX_CONVERSATIONS {
        assert!(p.room(&format!("!{i}")).is_some());
    }
    assert!(p.room("!one-too-many").is_none());
    assert!(p.room("!0").is_some(), "known ones still work");
}

#[test]
fn people_to_start_a_conversation_with_are_checked() {
    assert_eq!(
        parse_people("@a:hs, @b:hs @a:hs @me:hs", ME, 10),
        Ok(vec!["@a:hs".to_owned(), "@b:hs".to_owned()])
    );
    for bad in [
        "",
        "  ",
        "@me:hs",
        "bob",
        "@:hs",
        "@a",
        "@a\u{202E}:hs",
        "<script>",
    ] {
        assert!(parse_people(bad, ME, 10).is_err(), "{bad:?}");
    }
    assert!(parse_people("@a:hs @b:hs @c:hs", ME, 2).is_err());
}

#[test]
fn a_live_dj_among_the_others_is_named() {
    let mut p = Private::default();
    p.apply("!d", ME, member("@dj:hs", Membership::Join, "Deejay"));
    let live = |name: Option<&str>| {
        vec![LiveDj {
            user_id: "@dj:hs".into(),
            name: name.map(str::to_owned),
            since: 1,
        }]
    };
    let c = p.get("!d").unwrap();
    assert_eq!(c.live_member(&live(None)).as_deref(), Some("Deejay"));
    assert_eq!(
        c.live_member(&live(Some("DJ Shadow"))).as_deref(),
        Some("DJ Shadow")
    );
    assert_eq!(c.live_member(&[]), None);
    // Someone who left is not messaged, so not held for.
    p.apply("!d", ME, member("@dj:hs", Membership::Gone, "Deejay"));
    assert_eq!(p.get("!d").unwrap().live_member(&live(None)), None);
}

#[test]
fn lines_show_the_senders_display_name_in_the_room() {
    let mut p = Private::default();
    p.apply("!d", ME, member("@ann:hs", Membership::Join, "Ann Example"));
    let line = said(
        r#"{"type":"m.room.message","sender":"@ann:hs","event_id":"$1","content":{"msgtype":"m.text","body":"hi"}}"#,
    );
    assert_eq!(line.sender, "ann");
    let Some(Change::Said(shown)) = p.apply("!d", ME, Change::Said(line)) else {
        panic!()
    };
    assert_eq!(shown.sender, "Ann Example");
}

#[test]
fn a_conversation_just_started_is_named_after_the_invited_at_once() {
    let mut p = Private::default();
    p.created("!new", &["@ben:hs".to_owned()]);
    let c = p.get("!new").unwrap();
    assert_eq!(c.kind(), Kind::Direct);
    assert_eq!(c.title(), "ben");
    assert!(c.encrypted && c.direct);
    p.created("!notes", &[]);
    assert_eq!(p.get("!notes").unwrap().kind(), Kind::Notes);
    // The sync's facts then take over (the display name).
    p.update(
        "!new",
        Facts {
            members: vec![("@ben:hs".into(), Some("Ben B".into()), Membership::Join)],
            encrypted: true,
            direct: true,
            invited_by: None,
            mods_owner: None,
        },
    );
    assert_eq!(p.get("!new").unwrap().title(), "Ben B");
}

#[test]
fn an_owners_moderators_room_is_titled_by_its_owner_and_listed() {
    let mut p = Private::default();
    p.update(
        "!mods",
        Facts {
            members: vec![("@bob:hs".into(), Some("Bob".into()), Membership::Join)],
            invited_by: Some("@bot:hs".into()),
            mods_owner: Some("@alice:hs".into()),
            ..Facts::default()
        },
    );
    p.update("!dm", Facts::default());
    let rooms = p.mods_rooms();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].title(), "Moderators: alice");
    // The owner's name once they are a member; a later sync without the
    // state (an invite's stripped state) keeps what was known.
    p.update(
        "!mods",
        Facts {
            members: vec![("@alice:hs".into(), Some("Alice".into()), Membership::Join)],
            ..Facts::default()
        },
    );
    assert_eq!(p.get("!mods").unwrap().title(), "Moderators: Alice");
}
