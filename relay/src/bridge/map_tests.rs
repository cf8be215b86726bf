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

/// A room message from `@alice:localhost` with `content`.
fn from_alice(id: &str, content: Value) -> AnySyncTimelineEvent {
    event(base(id, "@alice:localhost", "m.room.message", content))
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
    let verification = from_alice(
        "$i",
        json!({"msgtype": "m.key.verification.request", "body": "verify?",
               "to": "@bob:localhost", "from_device": "D", "methods": []}),
    );
    assert!(matches!(
        map_event(&verification, &bot(), false),
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
    let ev = from_alice(
        "$e",
        json!({"msgtype": "m.text", "body": "* fixed",
               "m.new_content": {"msgtype": "m.text", "body": "fixed"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}}),
    );
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
                sender: user("@alice:localhost"),
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
    // Bidi overrides and zero-width characters would disguise a name.
    assert_eq!(
        render_name(
            Some("\u{202E}nimda\u{200B} A\u{2066}x\u{2069}\u{FEFF}"),
            &alice
        ),
        "nimda Ax"
    );
    assert_eq!(
        render_name(Some("\u{200B}\u{202E}"), &alice),
        "@alice:localhost"
    );
    // Bodies keep them (a right-to-left sentence may need marks).
    assert_eq!(
        render_body(Kind::Text, "A", "a\u{200F}b").as_deref(),
        Some("a\u{200F}b")
    );
    let name = render_name(Some(&"n".repeat(100)), &alice);
    assert!(chyron_protocol::validate_sender(&name).is_ok());
}

fn post_content(ev: &AnySyncTimelineEvent) -> Content {
    match map_event(ev, &bot(), false) {
        Mapped::Post { content, .. } => content,
        other => panic!("not a post: {other:?}"),
    }
}

#[test]
fn formatted_bodies_ride_along_raw_and_other_formats_do_not() {
    let ev = from_alice(
        "$h",
        json!({"msgtype": "m.text", "body": "bold", "format": "org.matrix.custom.html",
               "formatted_body": "<b>bold</b><script>x</script>"}),
    );
    // Sanitising happens where it is applied; the map keeps what was sent.
    let c = post_content(&ev);
    assert_eq!(c.html.as_deref(), Some("<b>bold</b><script>x</script>"));
    let other = from_alice(
        "$h2",
        json!({"msgtype": "m.text", "body": "b", "format": "org.example.markdown",
               "formatted_body": "**b**"}),
    );
    assert_eq!(post_content(&other).html, None);
}

#[test]
fn media_become_entries_with_a_thumbnail_source() {
    let image = from_alice(
        "$i",
        json!({"msgtype": "m.image", "body": "a cat", "filename": "cat.png",
               "url": "mxc://localhost/cat",
               "info": {"mimetype": "image/png", "size": 5120, "w": 640, "h": 480}}),
    );
    let c = post_content(&image);
    assert_eq!((c.kind, c.body.as_str()), (Kind::Media, "a cat"));
    assert_eq!(c.media_source.as_deref(), Some("mxc://localhost/cat"));
    let m = c.media.unwrap();
    assert_eq!(
        (m.kind, m.name.as_str(), m.size, m.width, m.height),
        (
            MediaKind::Image,
            "cat.png",
            Some(5120),
            Some(640),
            Some(480)
        )
    );
    assert_eq!(m.mimetype.as_deref(), Some("image/png"));
    assert_eq!(m.thumbnail, None, "the hub sets the route");

    // A file has no preview unless it brings its own thumbnail.
    let file = from_alice(
        "$f",
        json!({"msgtype": "m.file", "body": "slides.pdf", "url": "mxc://localhost/pdf"}),
    );
    let c = post_content(&file);
    assert_eq!(c.media.unwrap().kind, MediaKind::File);
    assert_eq!(c.media_source, None);
    let video = from_alice(
        "$v",
        json!({"msgtype": "m.video", "body": "clip.webm", "url": "mxc://localhost/v",
               "info": {"thumbnail_url": "mxc://localhost/vthumb", "w": 1920, "h": 1080}}),
    );
    assert_eq!(
        post_content(&video).media_source.as_deref(),
        Some("mxc://localhost/vthumb")
    );
    // Encrypted media cannot be previewed; a bad content URI is not fetched.
    let encrypted = from_alice(
        "$e",
        json!({"msgtype": "m.image", "body": "secret.png", "file": {
            "url": "mxc://localhost/enc", "key": {"kty": "oct", "key_ops": ["encrypt", "decrypt"],
            "alg": "A256CTR", "k": "qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA", "ext": true},
            "iv": "X85+XgHN+HEAAAAAAAAAAA",
            "hashes": {"sha256": "5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9uds4rSak37c"}, "v": "v2"}}),
    );
    assert_eq!(post_content(&encrypted).media_source, None);
    let bad_uri = from_alice(
        "$b",
        json!({"msgtype": "m.image", "body": "x.png", "url": "https://evil.example/x.png"}),
    );
    assert_eq!(post_content(&bad_uri).media_source, None);
}

#[test]
fn unknown_msgtypes_show_their_body() {
    let ev = message(
        "$u",
        "@alice:localhost",
        "org.example.poll",
        "Which talk next?",
    );
    let c = post_content(&ev);
    assert_eq!((c.kind, c.body.as_str()), (Kind::Text, "Which talk next?"));
    let loc = from_alice(
        "$l",
        json!({"msgtype": "m.location", "body": "Room 4", "geo_uri": "geo:1,2"}),
    );
    assert_eq!(post_content(&loc).body, "Room 4");
}

#[test]
fn display_name_changes_rename_and_avatar_changes_do_not() {
    let mut renamed = member("$n", "@alice:localhost", "@alice:localhost", "join", "join");
    renamed["content"]["displayname"] = json!("Alice Two");
    renamed["unsigned"]["prev_content"]["displayname"] = json!("Alice");
    assert_eq!(
        map_event(&event(renamed), &bot(), false),
        Mapped::Profile {
            event_id: eid("$n"),
            user: user("@alice:localhost"),
            name: Some("Alice Two".into()),
            avatar: None,
        }
    );
    // An avatar change carries the whole profile: the unchanged name too.
    let mut avatar = member("$a", "@alice:localhost", "@alice:localhost", "join", "join");
    avatar["content"]["displayname"] = json!("Alice");
    avatar["unsigned"]["prev_content"]["displayname"] = json!("Alice");
    avatar["content"]["avatar_url"] = json!("mxc://localhost/new");
    assert_eq!(
        map_event(&event(avatar.clone()), &bot(), false),
        Mapped::Profile {
            event_id: eid("$a"),
            user: user("@alice:localhost"),
            name: Some("Alice".into()),
            avatar: Some("mxc://localhost/new".into()),
        }
    );
    // Removing it: a profile with no avatar.
    let mut removed = avatar.clone();
    removed["content"]
        .as_object_mut()
        .unwrap()
        .remove("avatar_url");
    removed["unsigned"]["prev_content"]["avatar_url"] = json!("mxc://localhost/new");
    assert!(matches!(
        map_event(&event(removed), &bot(), false),
        Mapped::Profile { avatar: None, .. }
    ));
    // A join that changes nothing is not a profile change.
    let mut same = avatar.clone();
    same["unsigned"]["prev_content"]["avatar_url"] = json!("mxc://localhost/new");
    assert!(matches!(
        map_event(&event(same), &bot(), false),
        Mapped::Ignore(_)
    ));
}

#[test]
fn avatars_that_are_not_content_uris_count_as_none() {
    for hostile in [
        "https://evil.example/a.png",
        "javascript:alert(1)",
        "mxc://",
        "mxc://localhost/",
        "mxc://localhost/a/../../b",
        "mxc://local host/x",
        "",
    ] {
        let mut ev = member("$h", "@alice:localhost", "@alice:localhost", "join", "join");
        ev["content"]["avatar_url"] = json!(hostile);
        ev["content"]["displayname"] = json!("Alice");
        let got = map_event(&event(ev), &bot(), false);
        assert!(
            matches!(
                got,
                Mapped::Profile { avatar: None, .. } | Mapped::Ignore(_)
            ),
            "{hostile}: {got:?}"
        );
    }
    let long = format!("mxc://localhost/{}", "a".repeat(300));
    assert_eq!(avatar_uri(Some(<&MxcUri>::from(long.as_str()))), None);
    assert_eq!(
        avatar_uri(Some(<&MxcUri>::from("mxc://localhost/abc_DEF-1"))),
        Some("mxc://localhost/abc_DEF-1".into())
    );
}

#[test]
fn a_senders_content_warning_or_spoiler_marks_images_and_videos_nsfw() {
    use chyron_protocol::Mark;
    use matrix_sdk::ruma::serde::Raw;
    let mark = |content: Value| {
        let raw: Raw<AnySyncTimelineEvent> = Raw::from_json(
            serde_json::value::to_raw_value(&base(
                "$m",
                "@alice:localhost",
                "m.room.message",
                content,
            ))
            .unwrap(),
        );
        let mapped = sender_marks(map_event(&raw.deserialize().unwrap(), &bot(), false), &raw);
        let (Mapped::Post { content, .. } | Mapped::Edit { content, .. }) = mapped else {
            panic!("not a post: {mapped:?}");
        };
        content.media.and_then(|m| m.mark)
    };
    let image = |extra: Value| {
        let mut c = json!({"msgtype": "m.image", "body": "x.png", "url": "mxc://localhost/x"});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let warning =
        json!({"town.robin.msc3725.content_warning": {"type": "town.robin.msc3725.nudity"}});
    assert_eq!(mark(image(warning.clone())), Some(Mark::Nsfw));
    let any_value = json!({"town.robin.msc3725.content_warning": null});
    assert_eq!(mark(image(any_value)), Some(Mark::Nsfw));
    let spoiler = json!({"page.codeberg.everypizza.msc4193.spoiler": true});
    assert_eq!(mark(image(spoiler.clone())), Some(Mark::Nsfw));
    let not_spoiler = json!({"page.codeberg.everypizza.msc4193.spoiler": false});
    assert_eq!(mark(image(not_spoiler)), None);
    assert_eq!(mark(image(json!({}))), None);
    let mut video = image(spoiler.clone());
    video["msgtype"] = json!("m.video");
    assert_eq!(mark(video), Some(Mark::Nsfw));
    // Audio and files, and text, are not pictures: no mark.
    let mut audio = image(warning.clone());
    audio["msgtype"] = json!("m.audio");
    assert_eq!(mark(audio), None);
    let mut text = json!({"msgtype": "m.text", "body": "hi"});
    text["page.codeberg.everypizza.msc4193.spoiler"] = json!(true);
    assert_eq!(mark(text), None);
    // An edit's flag is in its new content.
    let edit = json!({"msgtype": "m.image", "body": "* x.png", "url": "mxc://localhost/x",
        "m.new_content": image(spoiler),
        "m.relates_to": {"rel_type": "m.replace", "event_id": "$a"}});
    assert_eq!(mark(edit), Some(Mark::Nsfw));
}
