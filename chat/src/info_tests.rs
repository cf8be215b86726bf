use super::*;

#[test]
fn tabs_follow_arrows_home_and_end_wrapping() {
    let tabs = Tab::shown(false);
    assert_eq!(tabs, [Tab::Chat, Tab::Links, Tab::People]);
    assert_eq!(Tab::Chat.after_key("ArrowRight", &tabs), Some(Tab::Links));
    assert_eq!(Tab::People.after_key("ArrowRight", &tabs), Some(Tab::Chat));
    assert_eq!(Tab::Chat.after_key("ArrowLeft", &tabs), Some(Tab::People));
    assert_eq!(Tab::Links.after_key("Home", &tabs), Some(Tab::Chat));
    assert_eq!(Tab::Links.after_key("End", &tabs), Some(Tab::People));
    assert_eq!(Tab::Links.after_key("Enter", &tabs), None);
    let mods = Tab::shown(true);
    assert_eq!(
        Tab::People.after_key("ArrowRight", &mods),
        Some(Tab::Moderation)
    );
    assert_eq!(Tab::Chat.after_key("End", &mods), Some(Tab::Moderation));
    assert_eq!(Tab::Chat.after_key("Home", &[]), None);
    assert_eq!(Tab::Links.label(), "Links & media");
}

/// What relay/src/info/links.rs writes (serde of its Page).
const PAGE: &str = r#"{"links":[
 {"message_id":"m3","seq":3,"ts":1700000000000,"sender":"Ann","sender_id":"@ann:hs","kind":"image",
  "name":"cat.png","thumbnail":"/media/demo/m3/thumbnail","mark":"nsfw"},
 {"message_id":"m2","seq":2,"ts":1699999990000,"sender":"Bob","sender_id":"@bob:hs","kind":"link",
  "url":"https://example.org/a"},
 {"message_id":"m2","seq":2,"ts":1699999990000,"sender":"Bob","sender_id":"@bob:hs","kind":"link",
  "url":"http://example.org/b"}
],"next_before":2}"#;

#[test]
fn a_page_reads_as_the_relay_writes_it_and_pages_join_without_repeats() {
    let page: LinksPage = serde_json::from_str(PAGE).unwrap();
    assert_eq!(page.links.len(), 3);
    assert!(page.links[0].hidden(), "nsfw hides");
    assert!(!page.links[1].hidden(), "unmarked shows");
    assert_eq!(page.links[1].href(), Some("https://example.org/a"));
    let mut list = Links::default();
    assert!(!list.loaded);
    list.newest(page.clone());
    assert!(list.loaded);
    assert_eq!(list.older, Some(2));
    // The same items again (an overlapping page) add nothing.
    list.older_page(LinksPage {
        links: page.links[1..].to_vec(),
        next_before: None,
    });
    assert_eq!(list.items.len(), 3);
    assert_eq!(list.older, None, "the end was reached");
    // A refresh replaces the list (a deleted message goes).
    list.newest(LinksPage {
        links: page.links[..1].to_vec(),
        next_before: None,
    });
    assert_eq!(list.items.len(), 1);
}

#[test]
fn only_web_urls_become_hrefs() {
    let mut item: LinkItem = serde_json::from_str(
        r#"{"message_id":"m","seq":1,"ts":0,"sender":"a","kind":"link","url":"javascript:alert(1)"}"#,
    )
    .unwrap();
    assert_eq!(item.href(), None);
    item.url = Some("HTTPS://x.org".into());
    assert_eq!(item.href(), Some("HTTPS://x.org"));
    item.url = Some("http:".into());
    assert_eq!(item.href(), None);
    item.url = None;
    assert_eq!(item.href(), None);
}

#[test]
fn calls_escape_the_channel_and_carry_the_cursor() {
    assert_eq!(
        links_call("demo", None).path,
        "/chat/v1/channels/demo/links?limit=50"
    );
    assert_eq!(
        links_call("a b", Some(17)).path,
        "/chat/v1/channels/a%20b/links?limit=50&before=17"
    );
    assert_eq!(
        people_call("demo", false).path,
        "/chat/v1/channels/demo/people"
    );
    assert_eq!(
        people_call("demo", true).path,
        "/chat/v1/channels/demo/people?lists=1"
    );
    let here = presence_call("demo", true);
    assert_eq!(
        (here.method, here.path.as_str()),
        ("POST", "/chat/v1/channels/demo/presence")
    );
    assert_eq!(presence_call("demo", false).method, "DELETE");
}

#[test]
fn presence_renewal_is_the_relays_within_bounds() {
    assert_eq!(Presence::renew_ms(r#"{"renew_s":30,"ttl_s":75}"#), 30_000);
    assert_eq!(Presence::renew_ms(r#"{"renew_s":0}"#), 5_000);
    assert_eq!(Presence::renew_ms(r#"{"renew_s":99999}"#), 300_000);
    assert_eq!(Presence::renew_ms("not json"), 30_000);
}

#[test]
fn people_read_with_and_without_lists() {
    let counts: People = serde_json::from_str(r#"{"viewers":12,"chatters":3,"seen":40}"#).unwrap();
    assert_eq!(counts.sentence(), "12 watching · 3 in chat · 40 seen today");
    assert_eq!(counts.present, None);
    let lists: People = serde_json::from_str(
        r#"{"viewers":1,"chatters":1,"seen":2,"present":[{"user_id":"@a:hs","since":5}],
            "seen_list":[{"user_id":"@a:hs","last_seen":6,"posted":true},{"user_id":"@b:hs","last_seen":4,"posted":false}],
            "lists_truncated":false}"#,
    )
    .unwrap();
    assert_eq!(lists.present.as_ref().unwrap()[0].user_id, "@a:hs");
    let seen = lists.seen_list.unwrap();
    assert!(seen[0].posted && !seen[1].posted);
}

#[test]
fn times_show_the_clock_today_and_the_day_otherwise() {
    // 2023-11-14 22:13:20 UTC.
    let ts = 1_700_000_000_000;
    assert_eq!(when(ts, ts + 60_000, 0), "22:13");
    // An hour east: past midnight, 15 Nov, and "now" is that same day.
    assert_eq!(when(ts, ts, 120), "00:13");
    assert_eq!(when(ts, ts + 3 * 86_400_000, 0), "14 Nov 22:13");
    assert_eq!(when(0, 86_400_000, 0), "1 Jan 00:00");
}

#[test]
fn images_fit_their_box_keeping_their_shape() {
    assert_eq!(fit((1000, 500), (240, 160)), (240, 120));
    assert_eq!(fit((500, 1000), (240, 160)), (80, 160));
    assert_eq!(fit((64, 48), (240, 160)), (64, 48), "never scaled up");
    assert_eq!(fit((0, 0), (240, 160)), (1, 1));
    assert_eq!(fit((100_000, 1), (240, 160)), (240, 1));
}
