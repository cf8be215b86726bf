use super::*;

fn people(ttl_secs: u64, per_channel: usize, total: usize) -> Arc<People> {
    Arc::new(People::new(PresenceLimits {
        ttl: Duration::from_secs(ttl_secs),
        per_channel,
        total,
    }))
}

#[test]
fn viewers_count_open_sockets_per_channel() {
    let p = people(75, 10, 10);
    let a = p.watching("demo");
    let b = p.watching("demo");
    let c = p.watching("other");
    assert_eq!((p.viewers("demo"), p.viewers("other")), (2, 1));
    drop(a);
    assert_eq!(p.viewers("demo"), 1);
    drop((b, c));
    assert_eq!((p.viewers("demo"), p.viewers("other")), (0, 0));
    assert!(p.lock().viewers.is_empty(), "no entry left at zero");
}

#[test]
fn a_presence_expires_after_the_ttl_unless_renewed() {
    let p = people(75, 10, 10);
    let t0 = Instant::now();
    p.here("demo", "@ann:hs", t0, 1_000).unwrap();
    p.here("demo", "@bob:hs", t0, 1_000).unwrap();
    assert_eq!(p.chatters("demo", t0), 2);
    // Ann renews at 30 s; Bob does not.
    let renewed = t0 + Duration::from_secs(30);
    p.here("demo", "@ann:hs", renewed, 31_000).unwrap();
    let later = t0 + Duration::from_secs(76);
    assert_eq!(p.chatters("demo", later), 1, "Bob expired, Ann renewed");
    let names: Vec<_> = p.chatter_list("demo", later, 10);
    assert_eq!(
        (names[0].user_id.as_str(), names[0].since),
        ("@ann:hs", 1_000)
    );
    assert_eq!(p.sweep(later), 1);
    assert_eq!(p.lock().total, 1);
    assert_eq!(p.sweep(t0 + Duration::from_secs(200)), 1);
    assert!(
        p.lock().chatters.is_empty(),
        "swept channels leave no entry"
    );
}

#[test]
fn presences_are_bounded_per_channel_and_in_all() {
    let p = people(75, 2, 3);
    let t = Instant::now();
    p.here("a", "@1:hs", t, 0).unwrap();
    p.here("a", "@2:hs", t, 0).unwrap();
    assert_eq!(p.here("a", "@3:hs", t, 0), Err(Full));
    // A renewal of someone present is no new chatter.
    p.here("a", "@2:hs", t, 0).unwrap();
    p.here("b", "@4:hs", t, 0).unwrap();
    assert_eq!(p.here("c", "@5:hs", t, 0), Err(Full));
    assert!(
        !p.lock().chatters.contains_key("c"),
        "a refusal leaves nothing"
    );
    p.gone("a", "@1:hs");
    p.here("c", "@5:hs", t, 0).unwrap();
    assert_eq!(p.lock().total, 3);
}

#[test]
fn seen_rows_are_queued_on_arrival_and_now_and_then_while_staying() {
    let p = people(75, 10, 10);
    let t0 = Instant::now();
    p.here("demo", "@ann:hs", t0, 1_000).unwrap();
    let seen = p.take_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].0.as_str(), seen[0].1.first_ts), ("demo", 1_000));
    // Renewals within RECORD_EVERY queue nothing.
    for s in 1..10 {
        let at = t0 + Duration::from_secs(s * 25);
        p.here("demo", "@ann:hs", at, 1_000 + s as i64 * 25_000)
            .unwrap();
    }
    assert!(p.take_seen().is_empty());
    // One past it queues one row, with the latest time.
    let at = t0 + RECORD_EVERY + Duration::from_secs(10);
    p.here("demo", "@ann:hs", at, 400_000).unwrap();
    let seen = p.take_seen();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].1.first_ts, seen[0].1.last_ts), (400_000, 400_000));
}

#[test]
fn lists_are_newest_arrival_first_and_bounded() {
    let p = people(75, 10, 10);
    let t = Instant::now();
    for i in 0..5 {
        p.here("demo", &format!("@u{i}:hs"), t, i).unwrap();
    }
    let list = p.chatter_list("demo", t, 3);
    let ids: Vec<_> = list.iter().map(|p| p.user_id.as_str()).collect();
    assert_eq!(ids, ["@u4:hs", "@u3:hs", "@u2:hs"]);
}
