//! Slash commands: what parses, what is refused and why.

use super::*;
use chyron_protocol::Message;

fn line(id: &str, sender_id: &str, sender: &str, image: bool) -> Line {
    let mut json = serde_json::json!({
        "id": id, "sender": sender, "sender_id": sender_id,
        "body": format!("body {id}"), "ts": 0, "source": "matrix",
    });
    if image {
        json["media"] = serde_json::json!({"kind": "image", "name": "cat.png"});
    }
    let message: Message = serde_json::from_value(json).unwrap();
    Line { message, seq: 0 }
}

fn command(text: &str) -> Command {
    match parse(text) {
        Ok(Input::Command(c)) => c,
        other => panic!("{text}: {other:?}"),
    }
}

fn error(text: &str) -> String {
    match parse(text) {
        Err(e) => e,
        other => panic!("{text} parsed: {other:?}"),
    }
}

#[test]
fn plain_text_and_double_slash_are_posts() {
    assert_eq!(
        parse("hello /ban").unwrap(),
        Input::Post("hello /ban".into())
    );
    assert_eq!(parse("//shrug").unwrap(), Input::Post("/shrug".into()));
    assert_eq!(parse("  //ban @x").unwrap(), Input::Post("/ban @x".into()));
    assert_eq!(parse("").unwrap(), Input::Post(String::new()));
}

#[test]
fn timeouts_take_a_length_and_a_reason() {
    let t = |who: &str, seconds, reason: Option<&str>| Command::Timeout {
        who: who.into(),
        seconds,
        reason: reason.map(Into::into),
    };
    assert_eq!(
        command("/timeout @ann 5m spam and more"),
        t("ann", Some(300), Some("spam and more"))
    );
    assert_eq!(command("/timeout @ann 150s"), t("ann", Some(150), None));
    assert_eq!(command("/timeout @ann 10"), t("ann", Some(600), None));
    assert_eq!(command("/TIMEOUT @ann 2min  "), t("ann", Some(120), None));
    assert_eq!(
        command("/timeout @ann being rude"),
        t("ann", None, Some("being rude"))
    );
    assert_eq!(
        command("/timeout @ann:hs.test 3m"),
        t("@ann:hs.test", Some(180), None)
    );
    assert_eq!(
        command("/timeout @\"Big Ann\" 4m x"),
        t("Big Ann", Some(240), Some("x"))
    );
}

#[test]
fn bad_lengths_are_refused_with_the_range() {
    for bad in [
        "/timeout @ann 90s",
        "/timeout @ann 1",
        "/timeout @ann 11m",
        "/timeout @ann 0",
    ] {
        assert!(error(bad).contains("2 to 10 minutes"), "{bad}");
    }
    for bad in [
        "/timeout @ann 5x",
        "/timeout @ann 5.5m",
        "/timeout @ann 99999999999999999999999m",
    ] {
        assert!(error(bad).contains("not a length"), "{bad}: {}", error(bad));
    }
    assert!(error("/timeout @ann 1h").contains("not a length"));
}

#[test]
fn missing_targets_and_unknown_commands_are_errors() {
    assert!(error("/timeout").contains("Say whom"));
    assert!(error("/ban   ").contains("Say whom"));
    assert!(error("/ban ann").contains("Say whom"), "a name needs its @");
    assert!(error("/unban @").contains("Say whom"));
    assert!(error("/ban @\"Ann").contains("closing"));
    let unknown = error("/shrug hi");
    assert!(
        unknown.contains("Unknown command /shrug") && unknown.contains("//"),
        "{unknown}"
    );
    assert!(error("/").contains("Type a command"));
    assert!(error("/nsfw please").contains("takes nothing more"));
    assert!(error("/unban @ann extra").contains("takes nothing more"));
}

#[test]
fn hostile_input_is_refused_not_posted() {
    let long = format!("/ban @ann {}", "x".repeat(MAX_COMMAND_BYTES));
    assert!(error(&long).contains("at most"));
    let reason = format!("/ban @ann {}", "é".repeat(MAX_REASON_CHARS + 1));
    assert!(error(&reason).contains("at most 300 characters"));
    assert_eq!(
        command(&format!("/ban @ann {}", "é".repeat(MAX_REASON_CHARS))),
        Command::Ban {
            who: "ann".into(),
            reason: Some("é".repeat(MAX_REASON_CHARS))
        }
    );
    assert!(error("/ban @ann bad\u{7}bell").contains("control characters"));
    assert!(error("/ban @\"a\u{0}b\"").contains("control characters"));
    // Control characters in an unknown command's name are not echoed.
    let shown = error("/x\u{1b}[31m");
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    // A line break inside a reason is refused (a log line is one line).
    assert!(error("/ban @ann spam\nmore").contains("control"));
}

#[test]
fn other_commands() {
    assert_eq!(command("/untimeout @ann"), Command::Untimeout("ann".into()));
    assert_eq!(command("/unban @bob:hs"), Command::Unban("@bob:hs".into()));
    assert_eq!(command("/nsfw"), Command::Mark(true));
    assert_eq!(command("/safe "), Command::Mark(false));
    assert_eq!(command("/delete"), Command::Delete(None));
    assert_eq!(command("/delete @ann"), Command::Delete(Some("ann".into())));
    assert_eq!(command("/unmod @ann"), Command::Unmod("ann".into()));
    assert_eq!(
        command("/mod @ann general"),
        Command::Mod("ann".into(), Term::General)
    );
    let until = Term::Until {
        hour: 23,
        minute: 30,
    };
    assert_eq!(
        command("/mod @ann until 23:30"),
        Command::Mod("ann".into(), until)
    );
    assert_eq!(
        command("/mod @ann event until 23:30"),
        Command::Mod("ann".into(), until)
    );
    assert!(error("/mod @ann").contains("Say how long"));
    assert!(error("/mod @ann event").contains("Say how long"));
    assert!(error("/mod @ann general until 23:30").contains("Say how long"));
    for bad in ["24:00", "7:5", "ab:cd", "12", "-1:30", "12:60"] {
        assert!(
            error(&format!("/mod @ann until {bad}")).contains("time of day"),
            "{bad}"
        );
    }
    assert_eq!(parse_clock("7:05").unwrap(), (7, 5));
}

#[test]
fn next_clock_is_the_next_time_the_local_clock_says_it() {
    const H: i64 = 3_600_000;
    // 2026-12-04 16:00 UTC.
    let now = 1_796_400_000_000 - (1_796_400_000_000 % (24 * H)) + 16 * H;
    assert_eq!(next_clock(now, 0, 23, 30), now + 7 * H + H / 2);
    assert_eq!(
        next_clock(now, 0, 15, 0),
        now + 23 * H,
        "past today → tomorrow"
    );
    assert_eq!(next_clock(now, 0, 16, 0), now + 24 * H, "now → tomorrow");
    // Local time UTC+1: 17:00 local now; 18:00 local is one hour away.
    assert_eq!(next_clock(now, 60, 18, 0), now + H);
    // UTC-5: 11:00 local; 01:00 local is 14 hours away.
    assert_eq!(next_clock(now, -300, 1, 0), now + 14 * H);
}

#[test]
fn names_resolve_from_the_lines_senders() {
    let lines = [
        line("1", "@ann:a", "Ann", false),
        line("2", "@ann:b", "ann", false),
        line("3", "@bob:a", "Bobby", false),
        line("4", "ci-bot", "CI", false),
        line("5", "@bob:a", "Bob", false),
    ];
    let s = senders(&lines);
    assert_eq!(s.len(), 4);
    assert!(
        s.contains(&("@bob:a".into(), "Bob".into())),
        "newest name: {s:?}"
    );
    assert_eq!(resolve("Bob", &s).unwrap(), "@bob:a");
    assert_eq!(resolve("bob", &s).unwrap(), "@bob:a", "local part");
    assert_eq!(resolve("ci-bot", &s).unwrap(), "ci-bot", "API sender name");
    assert_eq!(resolve("ci", &s).unwrap(), "ci-bot");
    let many = resolve("ann", &s).unwrap_err();
    assert!(
        many.contains("Ann (@ann:a)") && many.contains("ann (@ann:b)"),
        "{many}"
    );
    assert!(resolve("carol", &s).unwrap_err().contains("Nobody called"));
    // A full Matrix ID needs nobody to have posted.
    assert_eq!(resolve("@carol:a", &s).unwrap(), "@carol:a");
    assert!(resolve(&format!("@{}:a", "c".repeat(300)), &s).is_err());
}

#[test]
fn commands_pick_their_message_and_say_which() {
    let lines = [
        line("1", "@ann:a", "Ann", true),
        line("2", "@bob:a", "Bob", false),
        line("3", "@bob:a", "Bob", true),
        line("4", "@ann:a", "Ann", false),
    ];
    let (l, selected) = pick_image(&lines, None).unwrap();
    assert_eq!(
        (l.message.id.as_str(), selected),
        ("3", false),
        "newest image"
    );
    let (l, selected) = pick_image(&lines, Some("1")).unwrap();
    assert_eq!((l.message.id.as_str(), selected), ("1", true));
    assert!(pick_image(&lines, Some("2"))
        .unwrap_err()
        .contains("no image"));
    assert!(pick_image(&lines[1..2], None)
        .unwrap_err()
        .contains("no image here"));
    assert_eq!(
        pick_message(&lines, None, Some("@ann:a"))
            .unwrap()
            .message
            .id,
        "4"
    );
    assert_eq!(
        pick_message(&lines, Some("2"), None).unwrap().message.id,
        "2"
    );
    assert!(pick_message(&lines, Some("9"), None).is_err());
    assert!(pick_message(&lines, None, Some("@carol:a")).is_err());
    assert!(pick_message(&lines, None, None)
        .unwrap_err()
        .contains("/delete @name"));
}
