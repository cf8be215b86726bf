//! The caption rules, frame by frame.

use super::*;
use chyron_protocol::{BridgeState, Mark, MediaKind, SnapshotReason, Source};

fn msg(id: &str, sender_id: &str, body: &str) -> Message {
    Message {
        id: id.into(),
        sender: sender_id.to_uppercase(),
        sender_id: sender_id.into(),
        body: body.into(),
        ts: 0,
        edited: false,
        source: Source::Api,
        html: None,
        media: None,
        avatar: None,
        event_id: None,
    }
}

fn message(seq: u64, id: &str) -> ServerFrame {
    ServerFrame::Message {
        seq,
        message: msg(id, "alice", &format!("body {id}")),
    }
}

fn snapshot(epoch: &str, reason: SnapshotReason, ids: &[&str]) -> ServerFrame {
    ServerFrame::Snapshot(Snapshot {
        channel: "demo".into(),
        epoch: epoch.into(),
        seq: 100,
        reason,
        messages: ids
            .iter()
            .map(|id| msg(id, "bob", &format!("snap {id}")))
            .collect(),
    })
}

fn ids(c: &Captions) -> Vec<&str> {
    c.lines().iter().map(|l| l.id.as_str()).collect()
}

#[test]
fn messages_add_and_drop_the_oldest_beyond_the_limit() {
    let mut c = Captions::new(3, 8000.0);
    for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
        assert_eq!(c.apply(message(i as u64 + 1, id), 0.0), 1);
    }
    assert_eq!(ids(&c), ["b", "c", "d"]);
    let line = c.get("d").unwrap();
    assert_eq!(line.slot, sender_color_slot("alice"));
    assert_eq!(
        (line.sender.as_str(), line.body.as_str()),
        ("ALICE", "body d")
    );
}

#[test]
fn a_repeated_message_is_not_shown_twice() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(message(1, "a"), 0.0);
    assert_eq!(c.apply(message(1, "a"), 0.0), 0);
    assert_eq!(ids(&c), ["a"]);
}

#[test]
fn edit_changes_text_in_place_and_ignores_unshown() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(message(1, "a"), 0.0);
    c.apply(message(2, "b"), 5.0);
    let edit = |id: &str| ServerFrame::Edit {
        seq: 3,
        id: id.into(),
        body: "fixed".into(),
        html: Some("<b>fixed</b>".into()),
    };
    c.apply(edit("a"), 6.0);
    c.apply(edit("zz"), 6.0);
    assert_eq!(ids(&c), ["a", "b"]);
    // The plain body, never the HTML.
    assert_eq!(c.get("a").unwrap().body, "fixed");
    assert_eq!(c.get("a").unwrap().shown_at, 0.0);
}

#[test]
fn delete_and_clear_remove_at_once() {
    let mut c = Captions::new(5, 8000.0);
    c.apply(message(1, "a"), 0.0);
    c.apply(
        ServerFrame::Message {
            seq: 2,
            message: msg("s1", "spam", "buy"),
        },
        0.0,
    );
    c.apply(message(3, "b"), 0.0);
    c.apply(
        ServerFrame::Message {
            seq: 4,
            message: msg("s2", "spam", "now"),
        },
        0.0,
    );
    c.apply(
        ServerFrame::Delete {
            seq: 5,
            id: "a".into(),
        },
        0.0,
    );
    assert_eq!(ids(&c), ["s1", "b", "s2"]);
    c.apply(
        ServerFrame::Clear {
            seq: 6,
            sender_id: "spam".into(),
        },
        0.0,
    );
    assert_eq!(ids(&c), ["b"]);
}

#[test]
fn lines_expire_after_the_fade_time() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(message(1, "a"), 0.0);
    c.apply(message(2, "b"), 3000.0);
    assert_eq!(c.next_expiry(), Some(8000.0));
    assert!(!c.expire(7999.0));
    assert!(c.expire(8000.0));
    assert_eq!(ids(&c), ["b"]);
    assert!(c.expire(11000.0));
    assert_eq!(c.next_expiry(), None);
}

#[test]
fn initial_snapshot_shows_the_last_lines() {
    let mut c = Captions::new(2, 8000.0);
    let added = c.apply(
        snapshot("e1", SnapshotReason::Initial, &["a", "b", "c"]),
        1.0,
    );
    assert_eq!(ids(&c), ["b", "c"]);
    assert_eq!(added, 2);
    assert_eq!(c.get("c").unwrap().body, "snap c");
}

#[test]
fn reset_snapshot_merges_without_showing_anything_twice() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(snapshot("e1", SnapshotReason::Initial, &[]), 0.0);
    for (i, id) in ["a", "b", "c", "d"].into_iter().enumerate() {
        c.apply(message(i as u64 + 1, id), 10.0);
    }
    // "a" was pushed out (seen), "b" deleted meanwhile, "c" edited, "e" and
    // "f" new.
    let added = c.apply(
        snapshot("e1", SnapshotReason::Lagged, &["a", "c", "d", "e", "f"]),
        50.0,
    );
    assert_eq!(ids(&c), ["d", "e", "f"]);
    assert_eq!(added, 2);
    assert_eq!(c.get("d").unwrap().shown_at, 10.0);
    assert_eq!(c.get("d").unwrap().body, "snap d");
    assert_eq!(c.get("e").unwrap().shown_at, 50.0);
    // Same again: nothing new.
    let again = snapshot("e1", SnapshotReason::ResumeUnavailable, &["d", "e", "f"]);
    assert_eq!(c.apply(again, 60.0), 0);
    assert_eq!(ids(&c), ["d", "e", "f"]);
}

#[test]
fn expired_lines_do_not_come_back_with_a_resync() {
    let mut c = Captions::new(3, 1000.0);
    c.apply(snapshot("e1", SnapshotReason::Initial, &["a"]), 0.0);
    c.expire(5000.0);
    assert_eq!(
        c.apply(snapshot("e1", SnapshotReason::Lagged, &["a"]), 5000.0),
        0
    );
    assert!(c.lines().is_empty());
}

#[test]
fn a_new_epoch_starts_over() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(snapshot("e1", SnapshotReason::Initial, &["m1", "m2"]), 0.0);
    let added = c.apply(
        snapshot("e2", SnapshotReason::ResumeUnavailable, &["m1"]),
        5.0,
    );
    assert_eq!((ids(&c), added), (vec!["m1"], 1));
    assert_eq!(c.get("m1").unwrap().shown_at, 5.0);
}

#[test]
fn unknown_and_error_frames_change_nothing() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(message(1, "a"), 0.0);
    let before = c.clone();
    c.apply(ServerFrame::Unknown, 1.0);
    c.apply(
        ServerFrame::Error {
            code: "read_only".into(),
            message: "no".into(),
        },
        1.0,
    );
    assert_eq!(c, before);
}

#[test]
fn the_seen_set_stays_bounded() {
    let mut c = Captions::new(1, 8000.0);
    for i in 0..1000u64 {
        c.apply(message(i + 1, &format!("m{i}")), 0.0);
    }
    assert_eq!(c.seen.len(), SEEN_CAPACITY);
    assert_eq!(ids(&c), ["m999"]);
}

fn frame(seq: u64, message: Message) -> ServerFrame {
    ServerFrame::Message { seq, message }
}

fn profile(seq: u64, sender_id: &str, sender: &str) -> ServerFrame {
    ServerFrame::Profile {
        seq,
        sender_id: sender_id.into(),
        sender: sender.into(),
        avatar: None,
    }
}

#[test]
fn a_profile_sets_or_removes_the_avatar_of_that_sender_only() {
    let face = |p: &str| Some(format!("/media/demo/avatars/{p}"));
    let mut c = Captions::new(5, 8000.0);
    let mut a1 = msg("a1", "@alice:hs", "one");
    a1.avatar = face("old");
    c.apply(frame(1, a1), 0.0);
    c.apply(frame(2, msg("b1", "@bob:hs", "two")), 0.0);
    assert_eq!(c.get("a1").unwrap().avatar, face("old"));
    let new_face = ServerFrame::Profile {
        seq: 3,
        sender_id: "@alice:hs".into(),
        sender: "Alice".into(),
        avatar: face("new"),
    };
    c.apply(new_face, 1.0);
    assert_eq!(c.get("a1").unwrap().avatar, face("new"));
    assert_eq!(c.get("b1").unwrap().avatar, None);
    // A profile without an avatar means the sender has none now.
    c.apply(profile(4, "@alice:hs", "Alice"), 2.0);
    assert_eq!(c.get("a1").unwrap().avatar, None);
}

#[test]
fn a_profile_renames_every_shown_line_of_that_sender_only() {
    let mut c = Captions::new(5, 8000.0);
    c.apply(frame(1, msg("a1", "@alice:hs", "one")), 0.0);
    c.apply(frame(2, msg("b1", "@bob:hs", "two")), 0.0);
    c.apply(frame(3, msg("a2", "@alice:hs", "three")), 0.0);
    let before = c.clone();
    assert_eq!(c.apply(profile(4, "@alice:hs", "Alice B."), 1.0), 0);
    let senders: Vec<_> = c.lines().iter().map(|l| l.sender.as_str()).collect();
    assert_eq!(senders, ["Alice B.", "@BOB:HS", "Alice B."]);
    // Nothing else changes: not the order, the timing, the colour or the text.
    for (now, was) in c.lines().iter().zip(before.lines()) {
        assert_eq!(
            (&now.id, now.shown_at, now.slot),
            (&was.id, was.shown_at, was.slot)
        );
        assert_eq!((&now.body, &now.sender_id), (&was.body, &was.sender_id));
    }
    // Unknown senders and sender names that merely look alike: nothing.
    let renamed = c.clone();
    c.apply(profile(5, "@ALICE:hs", "x"), 2.0);
    c.apply(profile(6, "Alice B.", "x"), 2.0);
    assert_eq!(c, renamed);
}

#[test]
fn a_resync_brings_renames_made_while_away() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(snapshot("e1", SnapshotReason::Initial, &["a"]), 0.0);
    let mut renamed = msg("a", "bob", "snap a");
    renamed.sender = "Robert".into();
    let resync = ServerFrame::Snapshot(Snapshot {
        channel: "demo".into(),
        epoch: "e1".into(),
        seq: 200,
        reason: SnapshotReason::Lagged,
        messages: vec![renamed],
    });
    assert_eq!(c.apply(resync, 5.0), 0);
    assert_eq!(c.get("a").unwrap().sender, "Robert");
    assert_eq!(c.get("a").unwrap().shown_at, 0.0);
}

#[test]
fn media_rides_with_its_line_and_html_is_never_shown() {
    let mut c = Captions::new(3, 8000.0);
    let mut m = msg("m4", "@alice:hs", "cat.png");
    m.html = Some("<img src=x onerror=alert(1)>".into());
    m.media = Some(Media {
        kind: MediaKind::Image,
        name: "cat.png".into(),
        mimetype: Some("image/png".into()),
        size: Some(5120),
        width: Some(640),
        height: Some(480),
        thumbnail: Some("/media/demo/m4/thumbnail".into()),
        mark: None,
    });
    let media = m.media.clone();
    assert_eq!(c.apply(frame(1, m), 0.0), 1);
    let line = c.get("m4").unwrap();
    assert_eq!((line.body.as_str(), &line.media), ("cat.png", &media));
    // An edit changes the text and keeps the attachment.
    c.apply(
        ServerFrame::Edit {
            seq: 2,
            id: "m4".into(),
            body: "a cat".into(),
            html: None,
        },
        1.0,
    );
    assert_eq!(c.get("m4").unwrap().body, "a cat");
    assert_eq!(c.get("m4").unwrap().media, media);
    // A moderator's mark travels to the line's attachment (the view then
    // drops the thumbnail), and a later one replaces it.
    for (seq, mark, hidden) in [(3, Mark::Nsfw, true), (4, Mark::Safe, false)] {
        let marked = ServerFrame::Mark {
            seq,
            id: "m4".into(),
            mark,
        };
        assert_eq!(c.apply(marked, 2.0), 0);
        let media = c.get("m4").unwrap().media.as_ref().unwrap();
        assert_eq!((media.mark, media.hidden()), (Some(mark), hidden));
    }
}

#[test]
fn bridge_frames_change_no_caption() {
    let mut c = Captions::new(3, 8000.0);
    c.apply(message(1, "a"), 0.0);
    let before = c.clone();
    for state in [
        BridgeState::Connecting,
        BridgeState::Down,
        BridgeState::Live,
        BridgeState::Other,
    ] {
        assert_eq!(c.apply(ServerFrame::Bridge { state }, 1.0), 0);
    }
    assert_eq!(c, before);
}

#[test]
fn muted_senders_are_hidden_now_and_later() {
    let mut c = Captions::new(5, 8000.0);
    c.apply(snapshot("e1", SnapshotReason::Initial, &["a", "b"]), 0.0);
    c.apply(message(101, "c"), 0.0);
    assert_eq!(ids(&c), ["a", "b", "c"]);
    c.set_muted(vec!["bob".into()]);
    assert_eq!(ids(&c), ["c"], "bob's snapshot lines go at once");
    let from_bob = ServerFrame::Message {
        seq: 102,
        message: msg("d", "bob", "again"),
    };
    assert_eq!(c.apply(from_bob, 0.0), 0, "nothing new to announce");
    c.apply(snapshot("e1", SnapshotReason::Lagged, &["a", "e"]), 0.0);
    assert!(
        ids(&c).is_empty(),
        "a resync shows no muted line: {:?}",
        ids(&c)
    );
    c.set_muted(Vec::new());
    c.apply(message(103, "f"), 0.0);
    assert_eq!(ids(&c).last(), Some(&"f"), "unmuted: new lines show again");
}
