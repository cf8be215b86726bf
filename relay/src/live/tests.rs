//! Unit tests of `live`: input checks, idempotence, the cap, a reopen.

use super::*;
use crate::store::Store;

#[test]
fn plausible_user_ids_pass() {
    for ok in [
        "@dj:example.org",
        "@dj.shadow_1=/+-:matrix.example.org:8448",
        "@Old.Style!:localhost",
        "@a:127.0.0.1",
        "@a:[::1]:8008",
        "@a:[2001:db8::1]",
    ] {
        assert_eq!(check_user_id(ok), Ok(()), "{ok}");
    }
    let longest = format!("@{}:hs", "a".repeat(MAX_USER_ID_BYTES - 4));
    assert_eq!(check_user_id(&longest), Ok(()));
}

#[test]
fn hostile_user_ids_say_why() {
    let err = |id: &str| check_user_id(id).unwrap_err();
    assert_eq!(err(""), "`user_id` must not be empty");
    let long = format!("@{}:hs", "a".repeat(MAX_USER_ID_BYTES - 3));
    assert_eq!(err(&long), "`user_id` is longer than 255 bytes");
    assert_eq!(
        err("@dj\u{202e}:hs"),
        "`user_id` may not contain '\\u{202e}'"
    );
    assert_eq!(
        err("@d\u{200b}j:hs"),
        "`user_id` may not contain '\\u{200b}'"
    );
    assert_eq!(err("@dj:hs\n"), "`user_id` may not contain '\\n'");
    assert_eq!(err("@dj :hs"), "`user_id` may not contain ' '");
    for shape in ["dj:hs", "@dj", "@:hs", "@dj:", "#room:hs", "!room:hs"] {
        assert!(err(shape).contains("like `@dj:example.org`"), "{shape}");
    }
    assert!(err("@dé:hs").contains("'é' in the name before `:`"));
    for server in [
        "h_s",
        "hs:port",
        "hs:123456",
        "[::1",
        "[]",
        "[::1]x",
        "hs/x",
        "hs:",
    ] {
        let e = err(&format!("@dj:{server}"));
        assert!(e.ends_with("is not a server name"), "{server}: {e}");
    }
}

#[test]
fn names_are_sender_names_that_cannot_disguise() {
    assert_eq!(check_name("DJ Shadow 🎧"), Ok(()));
    assert_eq!(check_name(&"é".repeat(64)), Ok(()));
    assert_eq!(
        check_name(&"é".repeat(65)).unwrap_err(),
        "`name` is longer than 64 characters"
    );
    assert_eq!(check_name(" ").unwrap_err(), "`name` must not be empty");
    assert_eq!(
        check_name("DJ\nShadow").unwrap_err(),
        "`name` may not contain '\\n'"
    );
    assert_eq!(
        check_name("DJ \u{202e}wodahS").unwrap_err(),
        "`name` may not contain '\\u{202e}'"
    );
    assert!(check_name("DJ\u{feff}").is_err());
}

#[tokio::test]
async fn marks_are_idempotent_capped_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let live = LiveDjs::new(Store::open(dir.path()).unwrap(), None);
    let first = live.start("demo", "@a:hs", None).await.unwrap();
    let again = live.start("demo", "@a:hs", None).await.unwrap();
    assert_eq!(
        first, again,
        "marking again changes nothing, `since` included"
    );
    let named = live.start("demo", "@a:hs", Some("A".into())).await.unwrap();
    assert_eq!(
        (named[0].since, named[0].name.as_deref()),
        (first[0].since, Some("A"))
    );
    for i in 1..MAX_LIVE_PER_CHANNEL {
        live.start("demo", &format!("@dj{i}:hs"), None)
            .await
            .unwrap();
    }
    let full = live.start("demo", "@late:hs", None).await;
    assert!(matches!(full, Err(LiveError::Full)));
    assert!(
        live.start("other", "@late:hs", None).await.is_ok(),
        "per channel"
    );
    assert_eq!(live.stop("demo", "@nobody:hs").await.unwrap().len(), 16);
    let after = live.stop("demo", "@a:hs").await.unwrap();
    assert_eq!(after.len(), MAX_LIVE_PER_CHANNEL - 1);
    assert!(after.iter().all(|d| d.user_id != "@a:hs"));
    live.stop("other", "@late:hs").await.unwrap();
    let before = live.all().await.unwrap();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["demo"],
        "an empty channel is dropped"
    );
    drop(live);
    let reopened = LiveDjs::new(Store::open(dir.path()).unwrap(), None);
    assert_eq!(reopened.all().await.unwrap(), before);
}
