use super::*;

fn ok(line: &str) -> Command {
    parse(line).expect("a command").expect("parses")
}

fn err(line: &str) -> String {
    parse(line).expect("a command").expect_err("refused")
}

#[test]
fn ordinary_messages_are_not_commands() {
    for line in [
        "hello",
        "",
        "   ",
        "!",
        "/",
        "! timeout",
        "!!",
        "/ 5",
        "!5m",
        "http://x",
    ] {
        assert_eq!(parse(line), None, "{line:?}");
    }
}

#[test]
fn timeouts_take_a_length_and_a_reason() {
    let c = ok("!timeout @ray:hs 5m spam and more");
    assert_eq!(
        c.action,
        Action::Timeout {
            user: "@ray:hs".into(),
            seconds: Some(300),
            reason: Some("spam and more".into())
        }
    );
    assert_eq!(c.channel, None);
    let secs = |line: &str| match ok(line).action {
        Action::Timeout { seconds, .. } => seconds,
        other => panic!("{other:?}"),
    };
    assert_eq!(secs("/timeout @ray 300s"), Some(300));
    assert_eq!(secs("!TIMEOUT @ray 5"), Some(300));
    assert_eq!(secs("!timeout @ray 2min"), Some(120));
    assert_eq!(secs("!timeout @ray"), None);
    assert_eq!(secs("!timeout @ray rude"), None);
    assert!(err("!timeout @ray 1m").contains("2 to 10 minutes"));
    assert!(err("!timeout @ray 11m").contains("2 to 10 minutes"));
    assert!(err("!timeout @ray 5x").contains("not a length"));
    assert!(err("!timeout @ray 99999999999999999999m").contains("not a length"));
    assert!(err("!timeout").contains("Whom?"));
    assert!(err("!timeout ray").contains("not a @user"));
}

#[test]
fn a_channel_comes_last() {
    let c = ok("!ban @ray:hs flooding in #live");
    assert_eq!(c.channel.as_deref(), Some("live"));
    assert_eq!(
        c.action,
        Action::Ban {
            user: "@ray:hs".into(),
            reason: Some("flooding".into())
        }
    );
    assert_eq!(ok("!unban @ray IN other").channel.as_deref(), Some("other"));
    assert_eq!(ok("!karma @ray").action, Action::Karma("@ray".into()));
}

#[test]
fn a_trailing_in_can_be_read_back_into_the_reason() {
    let c = ok("!timeout @ray:hs 5m spamming in chat")
        .in_reason()
        .unwrap();
    assert_eq!(c.channel, None);
    assert_eq!(
        c.action,
        Action::Timeout {
            user: "@ray:hs".into(),
            seconds: Some(300),
            reason: Some("spamming in chat".into())
        }
    );
    let c = ok("!ban @ray:hs in public").in_reason().unwrap();
    let reason = Some("in public".to_string());
    let user = "@ray:hs".to_string();
    assert_eq!(c.action, Action::Ban { user, reason });
    // Nothing to read back, or no reason to read it into.
    assert_eq!(ok("!ban @ray:hs flooding").in_reason(), None);
    assert_eq!(ok("!unban @ray IN other").in_reason(), None);
}

#[test]
fn appointments() {
    let m = |line: &str| ok(line).action;
    let user = String::from("@m:hs");
    assert_eq!(
        m("!mod @m:hs"),
        Action::Mod {
            user: user.clone(),
            event_secs: None
        }
    );
    assert_eq!(
        m("!mod @m:hs general"),
        Action::Mod {
            user: user.clone(),
            event_secs: None
        }
    );
    assert_eq!(
        m("!mod @m:hs event"),
        Action::Mod {
            user: user.clone(),
            event_secs: Some(4 * 3600)
        }
    );
    assert_eq!(
        m("!mod @m:hs event 90m"),
        Action::Mod {
            user: user.clone(),
            event_secs: Some(5400)
        }
    );
    assert_eq!(
        m("!mod @m:hs event 2"),
        Action::Mod {
            user,
            event_secs: Some(7200)
        }
    );
    assert!(err("!mod @m:hs event 15d").contains("at most 14 days"));
    assert!(err("!mod @m:hs forever").contains("Usage"));
    assert_eq!(m("!unmod @m:hs"), Action::Unmod("@m:hs".into()));
    assert!(err("!unmod @m:hs now please").contains("Unexpected"));
}

#[test]
fn help_and_unknown_commands_answer_the_list() {
    assert_eq!(ok("!help").action, Action::Help);
    let e = err("!frobnicate @x");
    assert!(
        e.starts_with("Unknown command “frobnicate”") && e.contains("!timeout"),
        "{e}"
    );
}

#[test]
fn hostile_lines_get_short_answers_never_a_panic() {
    let huge = format!("!timeout @x 5m {}", "a".repeat(100_000));
    assert!(err(&huge).contains("too long"));
    let long_word = format!("!{}", "z".repeat(1500));
    let e = err(&long_word);
    assert!(e.chars().count() < HELP.chars().count() + 100, "{e}");
    for line in [
        "!timeout @😀 5m 🔥🔥",
        "!ban @ɑ:hs \u{2066}rtl\u{2069} reason",
        "!timeout @x ５m",
        "!mod @x event ٣h",
        "!timeout @x 5m\u{0}\u{7}",
        "/karma @",
        "!in in in",
        "!unban in",
        "!timeout @x 5m in",
        "!ban\t@x\n\nreason",
    ] {
        let _ = parse(line);
    }
    assert!(err("/karma @").contains("not a @user"));
    // A full-width digit is no length: it is read as the reason.
    let fullwidth = ok("!timeout @x ５m").action;
    assert!(
        matches!(fullwidth, Action::Timeout { seconds: None, .. }),
        "{fullwidth:?}"
    );
}
