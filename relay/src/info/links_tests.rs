use super::*;
use crate::event::Change;
use crate::store::{self, Store};
use chyron_protocol::{Message, Source};

#[test]
fn links_are_http_and_https_only_bounded_and_each_once() {
    let body = "see https://a.example/x?y=1, http://b.example/ and HTTPS://C.example. \
                javascript:alert(1) ftp://f.example/ https://a.example/x?y=1 https://d.example/";
    assert_eq!(
        links_in(body),
        [
            "https://a.example/x?y=1",
            "http://b.example/",
            "HTTPS://C.example"
        ]
    );
    assert!(links_in("javascript://%0aalert(1) data://x mailto:a@b.example").is_empty());
    let long = format!("https://e.example/{}", "a".repeat(MAX_URL_BYTES));
    assert!(links_in(&long).is_empty(), "over {MAX_URL_BYTES} bytes");
    assert!(links_in("https://e.example/\u{202e}gpj.exe")
        .iter()
        .all(|u| !u.contains('\u{202e}')));
    assert!(links_in("no links here, http:// alone").is_empty());
}

#[test]
fn bad_queries_are_refused_by_name() {
    let ok = parse_query(Some("limit=10&before=42&other=1")).unwrap();
    assert_eq!(
        ok,
        Query {
            limit: 10,
            before: Some(42)
        }
    );
    assert_eq!(parse_query(None).unwrap().limit, DEFAULT_LIMIT);
    for (raw, name) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("before=abc", "before"),
        ("before=0", "before"),
        ("before=-5", "before"),
        ("before=18446744073709551615", "before"),
    ] {
        let e = parse_query(Some(raw)).unwrap_err();
        assert_eq!(e.code, "bad_request", "{raw}");
        assert!(
            e.message.contains(&format!("`{name}`")),
            "{raw}: {}",
            e.message
        );
    }
}

fn post(seq: u64, body: &str, media: Option<Media>) -> Change<Message> {
    Change::Post(Message {
        id: format!("m{seq}"),
        sender: "Ann".into(),
        sender_id: "@ann:hs".into(),
        body: body.into(),
        ts: seq as i64 * 1000,
        edited: false,
        source: Source::Matrix,
        html: None,
        media,
        avatar: None,
        event_id: None,
    })
}

fn image(name: &str) -> Media {
    serde_json::from_value(serde_json::json!({
        "kind": "image", "name": name, "thumbnail": "/media/demo/m1/thumbnail"
    }))
    .unwrap()
}

async fn apply(store: &Store, seq: u64, change: Change<Message>) {
    store
        .call(move |c| store::apply(c, "demo", "e", seq, "{}", &change, None, false))
        .await
        .unwrap();
}

async fn list(store: &Store, raw: &str) -> Page {
    let q = parse_query(Some(raw)).unwrap();
    store.call(move |c| page(c, "demo", &q)).await.unwrap()
}

#[tokio::test]
async fn the_list_is_the_visible_messages_newest_first_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    apply(&store, 1, post(1, "look", Some(image("cat.png")))).await;
    apply(&store, 2, post(2, "plain words", None)).await;
    apply(
        &store,
        3,
        post(3, "a https://one.example/ b https://two.example/", None),
    )
    .await;
    apply(&store, 4, post(4, "gone https://gone.example/", None)).await;
    apply(&store, 5, post(5, "not a link: x://y", None)).await;
    apply(&store, 6, Change::Delete { id: "m4".into() }).await;
    let mark = Change::Mark {
        id: "m1".into(),
        mark: Mark::Nsfw,
    };
    apply(&store, 7, mark).await;
    let all = list(&store, "limit=50").await;
    let got: Vec<_> = all
        .links
        .iter()
        .map(|i| (i.message_id.as_str(), i.kind, i.url.as_deref(), i.mark))
        .collect();
    assert_eq!(
        got,
        [
            ("m3", "link", Some("https://one.example/"), None),
            ("m3", "link", Some("https://two.example/"), None),
            ("m1", "image", None, Some(Mark::Nsfw)),
        ]
    );
    assert_eq!(all.links[2].name.as_deref(), Some("cat.png"));
    assert_eq!(all.next_before, None);
    // A page ends at a message's end; the next starts before it.
    let first = list(&store, "limit=1").await;
    assert_eq!((first.links.len(), first.next_before), (2, Some(3)));
    let next = list(&store, "limit=1&before=3").await;
    assert_eq!(next.links[0].message_id, "m1");
    // The same sender's lines cleared (a ban): nothing left.
    apply(
        &store,
        8,
        Change::Clear {
            sender_id: "@ann:hs".into(),
        },
    )
    .await;
    assert!(list(&store, "").await.links.is_empty());
}

#[tokio::test]
async fn a_page_reads_only_candidate_rows_through_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let plan: Vec<String> = store
        .call(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {PAGE_SQL}"))?;
            let rows = stmt.query_map(params!["demo", 10, 10], |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert!(
        plan.iter().any(|p| p.contains("messages_with_links")),
        "{plan:?}"
    );
    assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
}
