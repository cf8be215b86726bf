//! Property tests of the request parsing strangers reach, called directly:
//! the feed's query, the JSON body decoder and the channel check (and the
//! configuration's URL check). Arbitrary
//! input never panics, every refusal is a `4xx` in the JSON error format that
//! names what was wrong, and the verdicts follow models written from the docs.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use chyron_protocol::validate_channel;
use chyron_relay::api::PostBody;
use chyron_relay::config::check_http_url;
use chyron_relay::error::{check_channel, decode_json, ApiError};
use chyron_relay::feed::{parse_query, FeedQuery};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

/// The body an error is answered with, read back as JSON.
fn answered(e: ApiError) -> Value {
    let res = e.into_response();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bytes = rt
        .block_on(axum::body::to_bytes(res.into_body(), usize::MAX))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A refusal: a `4xx`, the given code, a message, in the JSON error format.
fn is_refusal(e: &ApiError, status: StatusCode, code: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!((e.status, e.code), (status, code), "{}", e.message);
    prop_assert!(!e.message.is_empty());
    let body = answered(e.clone());
    prop_assert_eq!(&body["error"]["code"], code);
    prop_assert_eq!(&body["error"]["message"], &e.message);
    prop_assert_eq!(body.as_object().map(|o| o.len()), Some(1));
    Ok(())
}

/// Query values around the rules: numbers of every size, signs, long text.
fn query_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..300).prop_map(|n| n.to_string()),
        "[+-]?[0-9]{0,25}",
        "\\PC{0,80}",
        vec(any::<char>(), 0..80).prop_map(String::from_iter),
    ]
}

fn query_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        Just("epoch".to_string()),
        Just("since".to_string()),
        Just("limit".to_string()),
        "\\PC{0,8}",
    ];
    vec((key, query_value()), 0..5)
}

/// `since`: a non-negative integer (Rust's `u64` syntax, so a leading `+`
/// is taken too).
fn since_model(v: &str) -> Option<u64> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The feed query's documented rules, pair by pair (a later pair wins).
fn query_model(pairs: &[(String, String)]) -> Result<FeedQuery, &'static str> {
    let mut q = FeedQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "epoch" if value.len() > 64 => return Err("`epoch`"),
            "epoch" => q.epoch = Some(value.clone()),
            "since" => q.since = Some(since_model(value).ok_or("`since`")?),
            "limit" => match since_model(value) {
                Some(n @ 1..=200) => q.limit = Some(n as usize),
                _ => return Err("`limit`"),
            },
            _ => {}
        }
    }
    Ok(q)
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some("application/json".to_string())),
        Just(Some("Application/JSON; charset=utf-8".to_string())),
        Just(Some("application/activity+json".to_string())),
        Just(Some("text/plain".to_string())),
        Just(None),
        "\\PC{0,30}".prop_map(Some),
    ]
}

/// `Content-Type` is JSON: `application/json` or `application/*+json`.
fn json_type_model(ct: Option<&str>) -> bool {
    let Some(essence) = ct.and_then(|c| c.split(';').next()) else {
        return false;
    };
    let essence = essence.trim().to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Request bodies: JSON of every shape (post bodies mostly), or any bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![Just("x".to_string()), "\\PC{0,20}"];
    let field = prop_oneof![
        text.clone().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        Just(serde_json::json!([])),
    ];
    let post = (
        proptest::option::of(field.clone()),
        proptest::option::of(field),
        any::<bool>(),
    )
        .prop_map(|(sender, body, extra)| {
            let mut o = serde_json::Map::new();
            sender.map(|s| o.insert("sender".into(), s));
            body.map(|b| o.insert("body".into(), b));
            if extra {
                o.insert("extra".into(), Value::Bool(true));
            }
            serde_json::to_vec(&o).unwrap()
        });
    prop_oneof![
        post,
        vec(any::<u8>(), 0..200),
        "\\PC{0,60}".prop_map(String::into_bytes),
        (text, any::<u8>()).prop_map(|(t, cut)| {
            let full = serde_json::to_vec(&serde_json::json!({"sender": t, "body": t})).unwrap();
            full[..usize::from(cut) % (full.len() + 1)].to_vec()
        }),
    ]
}

proptest! {
    #[test]
    fn feed_queries_parse_as_documented(pairs in query_pairs()) {
        let raw = serde_urlencoded::to_string(&pairs).unwrap();
        match (parse_query(Some(&raw)), query_model(&pairs)) {
            (Ok(q), Ok(expected)) => prop_assert_eq!(q, expected, "{}", raw),
            (Err(e), Err(named)) => {
                is_refusal(&e, StatusCode::BAD_REQUEST, "bad_request")?;
                prop_assert!(e.message.contains(named), "{} for {}", e.message, raw);
            }
            (got, expected) => prop_assert!(false, "{:?} but the model says {:?} for {}", got, expected, raw),
        }
    }

    #[test]
    fn raw_query_strings_never_panic(raw in prop_oneof!["\\PC{0,120}", "[a-z=&%0-9+]{0,60}"]) {
        if let Err(e) = parse_query(Some(&raw)) {
            is_refusal(&e, StatusCode::BAD_REQUEST, "bad_request")?;
        }
    }

    #[test]
    fn json_bodies_are_refused_by_kind(ct in content_type(), bytes in body()) {
        let mut headers = HeaderMap::new();
        if let Some(value) = ct.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        let sent_ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let verdict = decode_json::<PostBody>(&headers, Ok(Bytes::from(bytes.clone())));
        let as_value = serde_json::from_slice::<Value>(&bytes);
        let fields_ok = as_value.as_ref().is_ok_and(|v| {
            v.is_object() && v["sender"].is_string() && v["body"].is_string()
        });
        match verdict {
            _ if !json_type_model(sent_ct) => {
                let e = verdict.unwrap_err();
                is_refusal(&e, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")?;
            }
            Ok(_) => prop_assert!(fields_ok, "{:?}", String::from_utf8_lossy(&bytes)),
            Err(e) if as_value.is_err() => {
                is_refusal(&e, StatusCode::BAD_REQUEST, "invalid_json")?;
                prop_assert!(e.message.starts_with("malformed JSON: "), "{}", e.message);
            }
            Err(e) => {
                // Parsed JSON of the wrong shape (serde also takes a struct as
                // an array, which these bodies never are).
                prop_assert!(!fields_ok);
                is_refusal(&e, StatusCode::BAD_REQUEST, "invalid_field")?;
                prop_assert!(e.message.starts_with("invalid JSON body: "), "{}", e.message);
            }
        }
    }

    #[test]
    fn url_checks_never_panic_and_take_only_http_without_query(url in prop_oneof![
        "(https?|HTTP|ftp|javascript)://[ -~]{0,40}",
        "\\PC{0,60}",
    ]) {
        if check_http_url(&url).is_ok() {
            let lower = url.to_ascii_lowercase();
            prop_assert!(lower.starts_with("http://") || lower.starts_with("https://"), "{}", url);
            // A `?` after `#` is in the fragment, not a query.
            let before_fragment = url.split('#').next().unwrap_or("");
            prop_assert!(!before_fragment.contains('?'), "{}", url);
        }
    }

    #[test]
    fn channel_checks_are_the_protocols(name in prop_oneof![
        "[a-z0-9][a-z0-9_-]{0,70}",
        "\\PC{0,70}",
        vec(any::<char>(), 0..70).prop_map(String::from_iter),
    ]) {
        match (check_channel(&name), validate_channel(&name)) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(why)) => {
                is_refusal(&e, StatusCode::BAD_REQUEST, "invalid_field")?;
                prop_assert_eq!(e.message, why.to_string());
            }
            (ours, theirs) => prop_assert!(false, "{:?} vs {:?}", ours, theirs),
        }
    }
}

/// Found by `json_bodies_are_refused_by_kind`: serde checks a value's type
/// before the text after it, so a body that is not JSON at all but starts
/// with a mistyped value was answered `invalid_field`, as if it had parsed.
#[test]
fn malformed_json_is_invalid_json_even_after_a_mistyped_value() {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for body in ["0😀", "{\"sender\": 1, oops", "[1, 2", "\"x\" \"y\""] {
        let e = decode_json::<PostBody>(&headers, Ok(Bytes::from(body))).unwrap_err();
        assert_eq!(e.code, "invalid_json", "{body}: {}", e.message);
        assert!(e.message.starts_with("malformed JSON: "), "{}", e.message);
    }
    let e = decode_json::<PostBody>(&headers, Ok(Bytes::from("{\"sender\": 1}"))).unwrap_err();
    assert_eq!(e.code, "invalid_field", "{}", e.message);
}
