use super::*;

fn msg(id: &str, sender: &str) -> Message {
    Message {
        id: id.into(),
        sender: sender.into(),
        sender_id: sender.into(),
        body: format!("hello from {sender}"),
        ts: 1,
        edited: false,
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

#[test]
fn changes_apply_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut c = store.conn.lock().unwrap();
        assert_eq!(load_channel(&mut c, "demo").unwrap(), None);
        for (seq, sender) in [(1, "ann"), (2, "bob"), (3, "ann")] {
            let post = Change::Post(msg(&format!("m{seq}"), sender));
            let frame = format!("f{seq}");
            apply(&mut c, "demo", "aaaa", seq, &frame, &post, None, false).unwrap();
        }
        let edit = Change::Edit {
            id: "m2".into(),
            body: "new".into(),
            html: Some("<b>new</b>".into()),
        };
        apply(&mut c, "demo", "aaaa", 4, "f4", &edit, None, false).unwrap();
        assert_eq!(
            apply(
                &mut c,
                "demo",
                "aaaa",
                5,
                "f5",
                &Change::Clear {
                    sender_id: "ann".into()
                },
                None,
                false
            )
            .unwrap(),
            2
        );
        let gone = Change::Delete { id: "m1".into() };
        assert!(matches!(
            apply(&mut c, "demo", "aaaa", 6, "f6", &gone, None, false),
            Err(StoreError::NotFound)
        ));
    }
    let store = Store::open(dir.path()).unwrap();
    let mut c = store.conn.lock().unwrap();
    assert_eq!(
        load_channel(&mut c, "demo").unwrap(),
        Some(("aaaa".into(), 5))
    );
    let visible = recent_messages(&mut c, "demo", 10).unwrap();
    assert_eq!(visible.len(), 1);
    assert_eq!((visible[0].body.as_str(), visible[0].edited), ("new", true));
    assert_eq!(visible[0].html.as_deref(), Some("<b>new</b>"));
    let events = events_after(&mut c, "demo", 3).unwrap();
    assert_eq!(events, vec![(4, "f4".to_string()), (5, "f5".to_string())]);
}

fn origin(id: &str, media: Option<&str>) -> Origin {
    Origin {
        id: id.into(),
        media: media.map(str::to_string),
        avatar: None,
    }
}

#[test]
fn origins_dedupe_and_map_to_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut c = store.conn.lock().unwrap();
    let post = Change::Post(msg("m1", "@ann:hs"));
    apply(
        &mut c,
        "demo",
        "e",
        1,
        "f1",
        &post,
        Some(&origin("$a", None)),
        false,
    )
    .unwrap();
    let again = apply(
        &mut c,
        "demo",
        "e",
        2,
        "f2",
        &post,
        Some(&origin("$a", None)),
        false,
    );
    assert!(matches!(again, Err(StoreError::Duplicate)));
    assert!(origin_seen(&mut c, "demo", "$a").unwrap());
    assert!(!origin_seen(&mut c, "other", "$a").unwrap());
    assert_eq!(
        origin_message(&mut c, "demo", "$a").unwrap(),
        Some(("m1".into(), "@ann:hs".into()))
    );
    let del = Change::Delete { id: "m1".into() };
    apply(
        &mut c,
        "demo",
        "e",
        2,
        "f2",
        &del,
        Some(&origin("$r", None)),
        false,
    )
    .unwrap();
    assert!(origin_seen(&mut c, "demo", "$r").unwrap());
    assert_eq!(origin_message(&mut c, "demo", "$a").unwrap(), None);
    assert_eq!(origin_message(&mut c, "demo", "$r").unwrap(), None);
    assert_eq!(load_channel(&mut c, "demo").unwrap(), Some(("e".into(), 2)));
    assert_eq!(get_setting(&mut c, "k").unwrap(), None);
    set_setting(&mut c, "k", "v1").unwrap();
    set_setting(&mut c, "k", "v2").unwrap();
    assert_eq!(get_setting(&mut c, "k").unwrap(), Some("v2".into()));
}

#[test]
fn media_sources_outbox_and_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut c = store.conn.lock().unwrap();
    let mut pic = msg("m1", "@ann:hs");
    pic.media = Some(Media {
        kind: chyron_protocol::MediaKind::Image,
        name: "cat.png".into(),
        mimetype: None,
        size: None,
        width: Some(2),
        height: None,
        thumbnail: Some("/media/demo/m1/thumbnail".into()),
        mark: None,
    });
    let o = origin("$p", Some("mxc://hs/cat"));
    apply(
        &mut c,
        "demo",
        "e",
        1,
        "f1",
        &Change::Post(pic.clone()),
        Some(&o),
        false,
    )
    .unwrap();
    assert_eq!(
        recent_messages(&mut c, "demo", 5).unwrap(),
        vec![pic.clone()]
    );
    // A mark lands inside the stored attachment; a message without one, or
    // an unknown id, is not found.
    let nsfw = Change::Mark {
        id: "m1".into(),
        mark: chyron_protocol::Mark::Nsfw,
    };
    apply(&mut c, "demo", "e", 20, "f20", &nsfw, None, false).unwrap();
    let shown = recent_messages(&mut c, "demo", 5).unwrap();
    let mark = shown[0].media.as_ref().unwrap().mark;
    assert_eq!(mark, Some(chyron_protocol::Mark::Nsfw));
    let nothing = Change::Mark {
        id: "m9".into(),
        mark: chyron_protocol::Mark::Safe,
    };
    let missing = apply(&mut c, "demo", "e", 21, "f21", &nothing, None, false);
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(
        media_source(&mut c, "demo", "m1").unwrap(),
        Some("mxc://hs/cat".into())
    );
    assert_eq!(media_source(&mut c, "demo", "m9").unwrap(), None);
    assert_eq!(
        message_origin(&mut c, "demo", "m1").unwrap(),
        Some("$p".into())
    );
    // A new profile: name and avatar on the sender's lines, and the avatar's
    // content URI recorded (only its key is ever shown).
    let face = "mxc://hs/face";
    let rename = Change::Profile {
        sender_id: "@ann:hs".into(),
        sender: "Ann B.".into(),
        avatar: Some(avatars::path("demo", face)),
    };
    let origin = Origin {
        id: "$r".into(),
        media: None,
        avatar: Some(face.into()),
    };
    assert_eq!(
        avatars::source(&mut c, "demo", &avatars::key(face)).unwrap(),
        None
    );
    assert_eq!(
        apply(&mut c, "demo", "e", 2, "f2", &rename, Some(&origin), false).unwrap(),
        1
    );
    let shown = &recent_messages(&mut c, "demo", 5).unwrap()[0];
    assert_eq!(shown.sender, "Ann B.");
    let path = shown.avatar.as_deref().unwrap();
    assert!(
        path.starts_with("/media/demo/avatars/") && !path.contains("face"),
        "{path}"
    );
    let key = path.rsplit('/').next().unwrap();
    assert_eq!(key.len(), 16);
    assert_eq!(
        avatars::source(&mut c, "demo", key).unwrap(),
        Some(face.into())
    );
    assert_eq!(avatars::source(&mut c, "other", key).unwrap(), None);
    // A profile for a sender with nothing shown records nothing.
    let nobody = Change::Profile {
        sender_id: "@zed:hs".into(),
        sender: "Zed".into(),
        avatar: Some(avatars::path("demo", "mxc://hs/zed")),
    };
    let zed = Origin {
        id: "$z".into(),
        media: None,
        avatar: Some("mxc://hs/zed".into()),
    };
    assert!(matches!(
        apply(&mut c, "demo", "e", 3, "f3", &nobody, Some(&zed), false),
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        avatars::source(&mut c, "demo", &avatars::key("mxc://hs/zed")).unwrap(),
        None
    );
    // Posts, edits and deletes made here queue for Matrix, in order; clears
    // and renames do not.
    assert_eq!(next_outbox(&mut c, &[]).unwrap(), None);
    apply(
        &mut c,
        "demo",
        "e",
        3,
        "f3",
        &Change::Post(msg("m3", "bob")),
        None,
        true,
    )
    .unwrap();
    let edit = Change::Edit {
        id: "m3".into(),
        body: "fixed".into(),
        html: None,
    };
    apply(&mut c, "demo", "e", 4, "f4", &edit, None, true).unwrap();
    apply(&mut c, "demo", "e", 5, "f5", &rename, None, true).unwrap();
    assert_eq!(outbox_len(&mut c).unwrap(), 2);
    // A channel whose room is not joined waits; the others go on.
    assert_eq!(next_outbox(&mut c, &["demo".into()]).unwrap(), None);
    let first = next_outbox(&mut c, &["other".into()]).unwrap().unwrap();
    assert_eq!(
        (first.kind, first.seq, first.body.as_str()),
        (OutboxKind::Post, 3, "hello from bob")
    );
    assert_eq!(first.source, Source::Api);
    dequeue_outbox(&mut c, first.id).unwrap();
    let second = next_outbox(&mut c, &[]).unwrap().unwrap();
    assert_eq!(
        (second.kind, second.message_id.as_str()),
        (OutboxKind::Edit, "m3")
    );
    link_origin(&mut c, "demo", "$sent", 3, "m3").unwrap();
    link_origin(&mut c, "demo", "$sent", 3, "m3").unwrap();
    assert_eq!(
        origin_message(&mut c, "demo", "$sent").unwrap(),
        Some(("m3".into(), "bob".into()))
    );
    // A failed change queues nothing.
    let gone = Change::Delete { id: "m404".into() };
    assert!(apply(&mut c, "demo", "e", 6, "f6", &gone, None, true).is_err());
    assert_eq!(outbox_len(&mut c).unwrap(), 1);
}

#[test]
fn a_database_from_before_html_and_media_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = Connection::open(dir.path().join("chyron.sqlite3")).unwrap();
        c.execute_batch(
            "CREATE TABLE messages (channel TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL,
             sender TEXT NOT NULL, sender_id TEXT NOT NULL, body TEXT NOT NULL, ts INTEGER NOT NULL,
             edited INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
             source TEXT NOT NULL, PRIMARY KEY (channel, id));
             INSERT INTO messages VALUES ('demo', 'm1', 1, 'a', 'a', 'old', 1, 0, 0, 'api');
             CREATE TABLE origins (channel TEXT NOT NULL, origin TEXT NOT NULL,
             seq INTEGER NOT NULL, message_id TEXT, PRIMARY KEY (channel, origin)) WITHOUT ROWID;",
        )
        .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let mut c = store.conn.lock().unwrap();
    let old = recent_messages(&mut c, "demo", 5).unwrap();
    assert_eq!((old[0].body.as_str(), old[0].html.as_ref()), ("old", None));
    assert_eq!(media_source(&mut c, "demo", "m1").unwrap(), None);
}
