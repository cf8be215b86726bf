//! The chat's timeline rules, frame by frame.

use super::*;
use chyron_protocol::{Snapshot, SnapshotReason, Source};

fn msg(id: &str, sender_id: &str) -> Message {
    serde_json::from_value(serde_json::json!({
        "id": id, "sender": sender_id.to_uppercase(), "sender_id": sender_id,
        "body": format!("body {id}"), "ts": 0, "source": "matrix", "event_id": id,
    }))
    .unwrap()
}

fn snapshot(epoch: &str, seq: u64, ids: &[(&str, &str)]) -> ServerFrame {
    ServerFrame::Snapshot(Snapshot {
        channel: "demo".into(),
        epoch: epoch.into(),
        seq,
        reason: SnapshotReason::Initial,
        messages: ids.iter().map(|(id, who)| msg(id, who)).collect(),
    })
}

fn message(seq: u64, id: &str, who: &str) -> ServerFrame {
    ServerFrame::Message {
        seq,
        message: msg(id, who),
    }
}

fn shown(t: &Timeline, muted: &BTreeSet<String>) -> Vec<String> {
    t.rows(muted)
        .iter()
        .map(|r| match r {
            Row::Line(l) => l.message.id.clone(),
            Row::Unread => "|".into(),
            Row::Post(p) => format!("post:{}", p.txn),
        })
        .collect()
}

#[test]
fn lines_follow_the_feed() {
    let none = BTreeSet::new();
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 10, &[("a", "@x:hs"), ("b", "@y:hs")]));
    t.apply(message(11, "c", "@x:hs"));
    t.apply(message(12, "c", "@x:hs"));
    assert_eq!(
        shown(&t, &none),
        ["a", "b", "c"],
        "a repeated message shows once"
    );
    t.apply(ServerFrame::Edit {
        seq: 13,
        id: "b".into(),
        body: "new".into(),
        html: Some("<b>new</b>".into()),
    });
    let b = t.get("b").unwrap();
    assert!(b.message.edited);
    assert_eq!(
        (b.message.body.as_str(), b.message.html.as_deref()),
        ("new", Some("<b>new</b>"))
    );
    t.apply(ServerFrame::Delete {
        seq: 14,
        id: "a".into(),
    });
    t.apply(ServerFrame::Profile {
        seq: 15,
        sender_id: "@x:hs".into(),
        sender: "Xena".into(),
        avatar: None,
    });
    assert_eq!(shown(&t, &none), ["b", "c"]);
    assert_eq!(t.get("c").unwrap().message.sender, "Xena");
    t.apply(ServerFrame::Clear {
        seq: 16,
        sender_id: "@x:hs".into(),
    });
    assert_eq!(shown(&t, &none), ["b"]);
    let muted = BTreeSet::from(["@y:hs".to_owned()]);
    assert!(shown(&t, &muted).is_empty(), "muted senders are not shown");
    assert_eq!(t.get("b").unwrap().message.source, Source::Matrix);
}

#[test]
fn history_is_bounded() {
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 0, &[]));
    for i in 1..=(MAX_MESSAGES as u64 + 20) {
        t.apply(message(i, &format!("m{i}"), "@x:hs"));
    }
    assert_eq!(t.lines().len(), MAX_MESSAGES);
    assert_eq!(t.lines()[0].message.id, "m21");
}

#[test]
fn a_post_shows_once_whichever_comes_first() {
    let none = BTreeSet::new();
    // The homeserver answers first, then the feed brings the line.
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 1, &[]));
    t.post("t1".into(), "hello".into(), "@me:hs".into());
    assert_eq!(shown(&t, &none), ["post:t1"]);
    t.settle("t1", Ok("a".into()));
    assert_eq!(shown(&t, &none), ["post:t1"], "sent, not yet confirmed");
    t.apply(message(2, "a", "@me:hs"));
    assert_eq!(shown(&t, &none), ["a"], "confirmed: the feed's line only");

    // The feed brings the line before the homeserver's answer.
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 1, &[]));
    t.post("t2".into(), "hello".into(), "@me:hs".into());
    t.apply(message(2, "a", "@me:hs"));
    assert_eq!(
        shown(&t, &none),
        ["a", "post:t2"],
        "another body: cannot tell yet"
    );
    t.settle("t2", Ok("a".into()));
    assert_eq!(shown(&t, &none), ["a"]);

    // A resync snapshot that holds the line confirms it too.
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 1, &[]));
    t.post("t3".into(), "x".into(), "@me:hs".into());
    t.settle("t3", Ok("z".into()));
    t.apply(snapshot("e1", 5, &[("z", "@me:hs")]));
    assert_eq!(shown(&t, &none), ["z"]);
}

#[test]
fn failed_posts_keep_their_text_for_retry() {
    let none = BTreeSet::new();
    let mut t = Timeline::default();
    t.post("t1".into(), "keep me".into(), "@me:hs".into());
    assert_eq!(t.retry("t1"), None, "only failed posts are retried");
    t.settle("t1", Err("Sending failed: M_FORBIDDEN".into()));
    assert!(matches!(&t.rows(&none)[0], Row::Post(p) if matches!(p.state, PostState::Failed(_))));
    assert_eq!(t.retry("t1").as_deref(), Some("keep me"));
    assert!(matches!(&t.rows(&none)[0], Row::Post(p) if p.state == PostState::Sending));
    t.settle("t1", Err("again".into()));
    t.discard("t1");
    assert!(t.rows(&none).is_empty());
    t.settle("unknown", Ok("$x".into()));
}

#[test]
fn unread_divider_and_counts() {
    let none = BTreeSet::new();
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 10, &[("a", "@x:hs"), ("b", "@y:hs")]));
    assert_eq!(t.unread_count(None, "@me:hs", &none), 2, "never read: all");
    let mark = t.read_mark().unwrap();
    assert_eq!(
        mark,
        ReadMark {
            epoch: "e1".into(),
            seq: 10,
            last_id: Some("b".into())
        }
    );
    t.apply(message(11, "c", "@x:hs"));
    t.apply(message(12, "d", "@me:hs"));
    t.apply(message(13, "e", "@y:hs"));
    assert_eq!(
        t.unread_count(Some(&mark), "@me:hs", &none),
        2,
        "own lines do not count"
    );
    let muted = BTreeSet::from(["@y:hs".to_owned()]);
    assert_eq!(
        t.unread_count(Some(&mark), "@me:hs", &muted),
        1,
        "muted lines do not count"
    );
    t.place_unread(Some(&mark));
    assert_eq!(shown(&t, &none), ["a", "b", "|", "c", "d", "e"]);
    // The divider stays before the same line when lines above it go.
    t.apply(ServerFrame::Delete {
        seq: 14,
        id: "a".into(),
    });
    assert_eq!(shown(&t, &none), ["b", "|", "c", "d", "e"]);
    // Read up to the end: no divider.
    let end = t.read_mark().unwrap();
    t.place_unread(Some(&end));
    assert!(!shown(&t, &none).contains(&"|".to_owned()));
    assert_eq!(t.unread_count(Some(&end), "@me:hs", &none), 0);
    // Another epoch: the mark says nothing.
    let mut other = Timeline::default();
    other.apply(snapshot("e2", 3, &[("a", "@x:hs")]));
    other.place_unread(Some(&mark));
    assert_eq!(shown(&other, &none), ["a"]);
}

#[test]
fn a_mark_whose_message_is_gone_falls_back_to_seqs() {
    let none = BTreeSet::new();
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 20, &[("a", "@x:hs")]));
    t.apply(message(21, "b", "@x:hs"));
    let gone = ReadMark {
        epoch: "e1".into(),
        seq: 20,
        last_id: Some("deleted".into()),
    };
    t.place_unread(Some(&gone));
    assert_eq!(
        shown(&t, &none),
        ["|", "a", "b"],
        "snapshot lines cannot be placed: counted unread"
    );
    let caught_up = ReadMark {
        epoch: "e1".into(),
        seq: 21,
        last_id: Some("deleted".into()),
    };
    t.place_unread(Some(&caught_up));
    assert_eq!(shown(&t, &none), ["a", "b"]);
    assert_eq!(t.unread_count(Some(&caught_up), "@me:hs", &none), 0);
}

#[test]
fn the_last_own_editable_line() {
    let mut t = Timeline::default();
    t.apply(snapshot(
        "e1",
        1,
        &[
            ("a", "@me:hs"),
            ("b", "@x:hs"),
            ("c", "@me:hs"),
            ("d", "@x:hs"),
        ],
    ));
    assert_eq!(
        t.last_own("@me:hs").map(|l| l.message.id.as_str()),
        Some("c")
    );
    assert_eq!(t.last_own("@nobody:hs"), None);
}

#[test]
fn editing_starts_from_what_was_typed() {
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 1, &[("old", "@me:hs")]));
    // A message from before this page load: only its plain body is known.
    let old = t.get("old").unwrap().clone();
    assert_eq!(t.edit_text(&old), "body old");
    t.post("t1".into(), "**bold** news".into(), "@me:hs".into());
    t.settle("t1", Ok("$new".into()));
    t.apply(message(2, "$new", "@me:hs"));
    let new = t.last_own("@me:hs").unwrap().clone();
    assert_eq!(new.message.id, "$new");
    assert_eq!(t.edit_text(&new), "**bold** news");
    // An edit's text is what the next edit starts from.
    t.remember_source("$new".into(), "**bold** news, _edited_".into());
    assert_eq!(t.edit_text(&new), "**bold** news, _edited_");
    // Only the newest few are kept.
    for i in 0..MAX_SOURCES {
        t.remember_source(format!("$x{i}"), "x".into());
    }
    assert_eq!(t.edit_text(&new), "body $new");
}

fn said(seq: u64, id: &str, who: &str, body: &str) -> ServerFrame {
    let mut message = msg(id, who);
    message.body = body.into();
    ServerFrame::Message { seq, message }
}

#[test]
fn the_feed_before_the_homeservers_answer_confirms_by_body() {
    let none = BTreeSet::new();
    let mut t = Timeline::default();
    t.apply(snapshot("e1", 1, &[]));
    // An older line with the same words does not count: it came before.
    t.apply(said(2, "$old", "@me:hs", "hello"));
    t.post("t1".into(), "**hello**".into(), "@me:hs".into());
    t.post("t2".into(), "hello".into(), "@me:hs".into());
    assert_eq!(shown(&t, &none), ["$old", "post:t1", "post:t2"]);
    // Someone else saying it is not the viewer's post.
    t.apply(said(3, "$x", "@x:hs", "hello"));
    assert_eq!(shown(&t, &none), ["$old", "$x", "post:t1", "post:t2"]);
    // The viewer's first: it confirms the oldest matching post, only that one.
    t.apply(said(4, "$a", "@me:hs", "hello"));
    assert_eq!(shown(&t, &none), ["$old", "$x", "$a", "post:t2"]);
    assert_eq!(t.edit_text(t.get("$a").unwrap()), "**hello**");
    // Another frame does not make that line confirm the second post too.
    t.apply(said(5, "$y", "@x:hs", "later"));
    assert_eq!(shown(&t, &none), ["$old", "$x", "$a", "$y", "post:t2"]);
    // The homeserver's late answer for the first changes nothing.
    t.settle("t1", Ok("$a".into()));
    assert_eq!(shown(&t, &none), ["$old", "$x", "$a", "$y", "post:t2"]);
    t.apply(said(6, "$b", "@me:hs", "hello"));
    assert_eq!(shown(&t, &none), ["$old", "$x", "$a", "$y", "$b"]);
}

#[test]
fn a_held_post_waits_then_sends_and_is_confirmed_once() {
    let mut t = Timeline::default();
    t.post("t1".into(), "after the show".into(), "@me:hs".into());
    t.hold("t1", Some("DJ is live".into()));
    assert!(
        matches!(t.rows(&Default::default())[0], Row::Post(p) if p.state == PostState::Held("DJ is live".into()))
    );
    t.hold("t1", None);
    assert!(
        matches!(t.rows(&Default::default())[0], Row::Post(p) if p.state == PostState::Sending)
    );
    // A failed post is not held (nor un-failed) by the hold.
    t.settle("t1", Err("refused".into()));
    t.hold("t1", Some("DJ is live".into()));
    assert!(
        matches!(t.rows(&Default::default())[0], Row::Post(p) if matches!(p.state, PostState::Failed(_)))
    );
}

#[test]
fn an_undecryptable_line_is_replaced_when_it_can_be_read_and_only_then() {
    let mut t = Timeline::default();
    t.apply(snapshot("e", 0, &[]));
    let mut m = msg("$1", "@a:hs");
    m.body = crate::private::UNABLE_TO_DECRYPT.into();
    t.apply(ServerFrame::Message {
        seq: 1,
        message: m.clone(),
    });
    m.body = "the real text".into();
    t.apply(ServerFrame::Message {
        seq: 2,
        message: m.clone(),
    });
    assert_eq!(t.lines()[0].message.body, "the real text");
    assert_eq!(t.lines().len(), 1);
    // A readable line is never replaced by a repeat.
    m.body = "forged".into();
    t.apply(ServerFrame::Message { seq: 3, message: m });
    assert_eq!(t.lines()[0].message.body, "the real text");
}
