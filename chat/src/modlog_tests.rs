use super::*;

fn entry(id: i64, action: &str, target: &str, detail: Option<&str>) -> Entry {
    Entry {
        id,
        ts: id * 1000,
        actor: "@bob:hs".into(),
        action: action.into(),
        target: target.into(),
        reason: None,
        detail: detail.map(str::to_owned),
    }
}

fn log(entries: Vec<Entry>) -> Log {
    Log {
        entries,
        more: false,
        loaded: true,
    }
}

#[test]
fn reads_the_relays_page() {
    let page: LogPage = serde_json::from_str(
        r#"{"channel":"demo","log":[{"id":7,"ts":5,"actor":"api","action":"ban","target":"@c:hs","reason":"spam"},
            {"id":6,"ts":4,"actor":"@bob:hs","action":"timeout","target":"@c:hs","detail":"300 s, until 1700000000000, extended"}]}"#,
    )
    .unwrap();
    assert_eq!(page.log.len(), 2);
    assert_eq!(until(&page.log[1]), Some(1_700_000_000_000));
    assert_eq!(until(&page.log[0]), None);
    assert_eq!(
        describe(&page.log[0], |_| String::new()),
        "api banned @c:hs: “spam”"
    );
    assert_eq!(
        describe(&page.log[1], |t| format!("<{t}>")),
        "@bob:hs timed out @c:hs until <1700000000000>"
    );
    let mut failed = entry(1, "matrix_failed", "", Some("the bot lacks the power"));
    assert_eq!(
        describe(&failed, |_| String::new()),
        "Not done in the Matrix room: the bot lacks the power"
    );
    failed.action = "refused_ban".into();
    failed.detail = Some("refused: needs moderator, has viewer".into());
    assert_eq!(
        describe(&failed, |_| String::new()),
        "@bob:hs refused_ban (refused: needs moderator, has viewer)"
    );
}

#[test]
fn only_the_newest_timeout_still_running_can_be_lifted() {
    let l = log(vec![
        entry(4, "timeout", "@a:hs", Some("300 s, until 9000")),
        entry(3, "timeout", "@a:hs", Some("120 s, until 5000")),
        entry(2, "timeout", "@b:hs", Some("120 s, until 9000")),
        entry(1, "timeout_lifted", "@c:hs", None),
    ]);
    assert_eq!(l.undo(0, 8000), Some(Action::Untimeout("@a:hs".into())));
    assert_eq!(l.undo(1, 1000), None, "an extension rules");
    assert_eq!(l.undo(0, 9000), None, "over");
    assert_eq!(l.undo(3, 0), None, "not a sanction");
    assert_eq!(l.undo(9, 0), None);
    let lifted = log(vec![
        entry(5, "timeout_ended", "@b:hs", None),
        entry(2, "timeout", "@b:hs", Some("120 s, until 9000")),
    ]);
    assert_eq!(lifted.undo(1, 0), None, "ended");
}

#[test]
fn a_ban_is_in_force_until_unbanned() {
    let l = log(vec![
        entry(3, "ban", "@a:hs", None),
        entry(2, "unban", "@b:hs", None),
        entry(1, "ban", "@b:hs", None),
    ]);
    assert_eq!(l.undo(0, 0), Some(Action::Unban("@a:hs".into())));
    assert_eq!(l.undo(2, 0), None);
}

#[test]
fn pages_join_below_without_repeats() {
    let mut l = Log::default();
    let full: Vec<Entry> = (0..LOG_PAGE as i64)
        .rev()
        .map(|i| entry(i + 100, "ban", "@x:hs", None))
        .collect();
    l.newest(LogPage { log: full });
    assert_eq!(l.before(), Some(100));
    l.older_page(LogPage {
        log: vec![
            entry(100, "ban", "@x:hs", None),
            entry(99, "unban", "@x:hs", None),
        ],
    });
    assert_eq!(l.entries.len(), LOG_PAGE + 1);
    assert_eq!(l.before(), None, "a short page is the last");
    assert_eq!(
        log_call("demo", Some(100)).path,
        "/chat/v1/channels/demo/moderation/log?limit=50&before=100"
    );
    assert_eq!(
        moderators_call("a b").path,
        "/chat/v1/channels/a%20b/moderators"
    );
    let m: Moderators = serde_json::from_str(
        r#"{"channel":"demo","moderators":[{"scope":"demo","user_id":"@bob:hs","until":5,"appointed_by":"api"}]}"#,
    )
    .unwrap();
    assert_eq!(m.moderators[0].until, Some(5));
}
