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
    }
}

#[test]
fn changes_apply_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut c = store.conn.lock().unwrap();
        assert_eq!(load_channel(&mut c, "demo").unwrap(), None);
        apply(
            &mut c,
            "demo",
            "aaaa",
            1,
            "f1",
            &Change::Post(msg("m1", "ann")),
            None,
        )
        .unwrap();
        apply(
            &mut c,
            "demo",
            "aaaa",
            2,
            "f2",
            &Change::Post(msg("m2", "bob")),
            None,
        )
        .unwrap();
        apply(
            &mut c,
            "demo",
            "aaaa",
            3,
            "f3",
            &Change::Post(msg("m3", "ann")),
            None,
        )
        .unwrap();
        let edit = Change::Edit {
            id: "m2".into(),
            body: "new".into(),
        };
        apply(&mut c, "demo", "aaaa", 4, "f4", &edit, None).unwrap();
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
                None
            )
            .unwrap(),
            2
        );
        let gone = Change::Delete { id: "m1".into() };
        assert!(matches!(
            apply(&mut c, "demo", "aaaa", 6, "f6", &gone, None),
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
    let events = events_after(&mut c, "demo", 3).unwrap();
    assert_eq!(events, vec![(4, "f4".to_string()), (5, "f5".to_string())]);
}

#[test]
fn origins_dedupe_and_map_to_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut c = store.conn.lock().unwrap();
    let post = Change::Post(msg("m1", "@ann:hs"));
    apply(&mut c, "demo", "e", 1, "f1", &post, Some("$a")).unwrap();
    let again = apply(&mut c, "demo", "e", 2, "f2", &post, Some("$a"));
    assert!(matches!(again, Err(StoreError::Duplicate)));
    assert!(origin_seen(&mut c, "demo", "$a").unwrap());
    assert!(!origin_seen(&mut c, "other", "$a").unwrap());
    assert_eq!(
        origin_message(&mut c, "demo", "$a").unwrap(),
        Some(("m1".into(), "@ann:hs".into()))
    );
    let del = Change::Delete { id: "m1".into() };
    apply(&mut c, "demo", "e", 2, "f2", &del, Some("$r")).unwrap();
    assert!(origin_seen(&mut c, "demo", "$r").unwrap());
    assert_eq!(origin_message(&mut c, "demo", "$a").unwrap(), None);
    assert_eq!(origin_message(&mut c, "demo", "$r").unwrap(), None);
    assert_eq!(load_channel(&mut c, "demo").unwrap(), Some(("e".into(), 2)));
    assert_eq!(get_setting(&mut c, "k").unwrap(), None);
    set_setting(&mut c, "k", "v1").unwrap();
    set_setting(&mut c, "k", "v2").unwrap();
    assert_eq!(get_setting(&mut c, "k").unwrap(), Some("v2".into()));
}
