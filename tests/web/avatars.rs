//! Senders' pictures (Matrix avatars): loaded from the widget's own relay
//! only, before the name, the size of the text, following profile changes in
//! place, hidden when they fail to load.

use super::rich::until_hidden;
use super::*;

fn pictured(seq: u64, id: &str, sender: &str, avatar: &str) -> ServerFrame {
    let mut m = msg(id, sender, "hello");
    m.source = Source::Matrix;
    m.avatar = Some(avatar.into());
    ServerFrame::Message { seq, message: m }
}

fn profile(seq: u64, sender: &str, avatar: Option<&str>) -> ServerFrame {
    ServerFrame::Profile {
        seq,
        sender_id: sender.to_lowercase(),
        sender: sender.into(),
        avatar: avatar.map(Into::into),
    }
}

fn srcs(shadow: &ShadowRoot) -> Vec<String> {
    all(shadow, "img[part=caption-avatar][src]")
        .iter()
        .map(|e| e.get_attribute("src").unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn an_avatar_shows_before_the_name_and_follows_profile_changes() {
    let m = setup(&[("channel", "faces"), ("lines", "5")]);
    m.widget
        .push(pictured(1, "a", "Ada", "/media/faces/avatars/00aa"));
    m.widget.push(message(2, "b", "Bob", "no picture"));
    m.widget
        .push(pictured(3, "c", "Ada", "/media/faces/avatars/00aa"));
    settle().await;
    assert_eq!(
        srcs(&m.shadow),
        [
            "http://127.0.0.1:9/media/faces/avatars/00aa",
            "http://127.0.0.1:9/media/faces/avatars/00aa"
        ]
    );
    let first: Vec<_> = all(&m.shadow, "[part=caption]:first-child > *")
        .iter()
        .map(|e| e.get_attribute("part").unwrap_or_default())
        .collect();
    assert_eq!(first, ["caption-avatar", "caption-sender", "caption-body"]);
    let img = all(&m.shadow, "img[part=caption-avatar]").remove(0);
    assert_eq!(img.get_attribute("alt").as_deref(), Some(""));
    // Bob has none: his line's image has no source and is not displayed.
    let bob = all(&m.shadow, "img[part=caption-avatar]").remove(1);
    assert!(!bob.has_attribute("src"));
    assert_eq!(bob.get_bounding_client_rect().width(), 0.0);
    // Decorative and small: square, no taller than a line of text. (Sizes
    // as styled: the image itself fails to load here, see below.)
    let px = |el: &Element, prop: &str| {
        let style = web_sys::window()
            .unwrap()
            .get_computed_style(el)
            .unwrap()
            .unwrap();
        let v = style.get_property_value(prop).unwrap();
        v.trim_end_matches("px").parse::<f64>().unwrap_or(f64::NAN)
    };
    let line = all(&m.shadow, "[part=caption]").remove(0);
    let (h, w, font) = (
        px(&img, "height"),
        px(&img, "width"),
        px(&line, "font-size"),
    );
    assert!(h > 0.0 && h == w, "avatar {w}×{h}px");
    assert!(h <= font * 1.35, "avatar {h}px, text {font}px");

    // A new picture replaces the old one on that sender's lines, in place.
    let before = all(&m.shadow, "[part=caption]");
    m.widget
        .push(profile(4, "Ada", Some("/media/faces/avatars/11bb")));
    settle().await;
    assert_eq!(
        srcs(&m.shadow),
        [
            "http://127.0.0.1:9/media/faces/avatars/11bb",
            "http://127.0.0.1:9/media/faces/avatars/11bb"
        ]
    );
    for (b, a) in before.iter().zip(&all(&m.shadow, "[part=caption]")) {
        assert!(b.is_same_node(Some(a)), "a line was replaced");
    }
    // A profile with no picture removes it; Bob's line never had one.
    m.widget.push(profile(5, "Ada", None));
    settle().await;
    assert!(srcs(&m.shadow).is_empty());
    assert_eq!(
        texts(&m.shadow, "[part=caption-sender]"),
        ["Ada", "Bob", "Ada"]
    );
}

#[wasm_bindgen_test]
async fn avatars_from_anywhere_but_the_relays_media_are_ignored() {
    let m = setup(&[("channel", "hostile-faces"), ("lines", "10")]);
    let hostile = [
        "https://evil.test/a.png",
        "//evil.test/media/a.png",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "/media/../healthz",
        "mxc://localhost/abc",
        "",
    ];
    for (i, path) in hostile.iter().enumerate() {
        m.widget
            .push(pictured(i as u64 + 1, &format!("h{i}"), "Eve", path));
    }
    m.widget
        .push(profile(50, "Eve", Some("https://evil.test/b.png")));
    settle().await;
    assert_eq!(all(&m.shadow, "[part=caption]").len(), hostile.len());
    assert!(all(
        &m.shadow,
        "img:not([part=caption-avatar]), img[src], svg, script"
    )
    .is_empty());
}

#[wasm_bindgen_test]
async fn an_avatar_that_fails_to_load_hides_itself() {
    // The relay of `setup` (port 9) refuses connections.
    let m = setup(&[("channel", "broken-face")]);
    m.widget
        .push(pictured(1, "a", "Ada", "/media/broken-face/avatars/00"));
    settle().await;
    let img = all(&m.shadow, "img[part=caption-avatar][src]").remove(0);
    assert!(until_hidden(&img).await, "a broken avatar stays");
    assert_eq!(texts(&m.shadow, "[part=caption-sender]"), ["Ada"]);
}
