//! What a Matrix-bridged channel adds: attachments (a kind word and a
//! thumbnail from the relay), renames, formatted bodies that are never shown,
//! and the status line about the link to Matrix.

use super::*;
use chyron::status::{DOWN, RESTORED};
use chyron_protocol::{BridgeState, Media, MediaKind};

/// `settle` for longer: image loads, the announcement throttle.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn media(kind: MediaKind, name: &str, thumbnail: Option<&str>) -> Media {
    Media {
        kind,
        name: name.into(),
        mimetype: None,
        size: None,
        width: None,
        height: None,
        thumbnail: thumbnail.map(Into::into),
        mark: None,
    }
}

fn with_media(seq: u64, id: &str, body: &str, media: Media) -> ServerFrame {
    let mut m = msg(id, "Ada", body);
    m.source = Source::Matrix;
    m.media = Some(media);
    ServerFrame::Message { seq, message: m }
}

/// Waits (up to 5 s) for `el` to get the `hidden` attribute; whether it did.
pub(super) async fn until_hidden(el: &Element) -> bool {
    for _ in 0..100 {
        if el.has_attribute("hidden") {
            return true;
        }
        sleep(50).await;
    }
    false
}

fn displayed(el: &Element) -> bool {
    el.get_bounding_client_rect().height() > 0.0
}

#[wasm_bindgen_test]
async fn an_attachment_shows_its_kind_and_a_thumbnail_from_the_relay() {
    let m = setup(&[("channel", "media"), ("lines", "5")]);
    let thumb = "/media/media/m1/thumbnail";
    m.widget.push(with_media(
        1,
        "m1",
        "a cat",
        media(MediaKind::Image, "cat <b>.png", Some(thumb)),
    ));
    m.widget.push(with_media(
        2,
        "m2",
        "slides.pdf",
        media(MediaKind::File, "slides.pdf", None),
    ));
    m.widget.push(with_media(
        3,
        "m3",
        "?",
        media(MediaKind::Other, "x", Some("/media/m/x")),
    ));
    m.widget.push(message(4, "m4", "Bob", "plain"));
    settle().await;
    let kinds = texts(&m.shadow, "[part=caption-media-kind]");
    assert_eq!(kinds, ["Image", "File", "Attachment"]);
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["a cat", "slides.pdf", "?", "plain"]
    );
    // The kind word comes after the sender and before the body.
    let parts: Vec<_> = all(&m.shadow, "[part=caption]:first-child > *")
        .iter()
        .map(|e| e.get_attribute("part").unwrap_or_default())
        .collect();
    assert_eq!(
        parts,
        [
            "caption-avatar",
            "caption-sender",
            "caption-media-kind",
            "caption-media",
            "caption-body"
        ]
    );
    let imgs = all(&m.shadow, "img[part=caption-media]");
    assert_eq!(imgs.len(), 2);
    assert_eq!(
        imgs[0].get_attribute("src").as_deref(),
        Some("http://127.0.0.1:9/media/media/m1/thumbnail")
    );
    assert_eq!(imgs[0].get_attribute("alt").as_deref(), Some("cat <b>.png"));
    assert!(all(&m.shadow, "[part=caption] b").is_empty());
    // Only lines with an attachment make room for one.
    let lines = all(&m.shadow, "[part=caption]");
    assert!(lines[0].class_list().contains("m"));
    assert!(!lines[3].class_list().contains("m"));
}

#[wasm_bindgen_test]
async fn a_thumbnail_that_fails_to_load_hides_itself() {
    // The relay of `setup` (port 9) refuses connections.
    let m = setup(&[("channel", "broken")]);
    let thumb = Some("/media/broken/m1/thumbnail");
    m.widget.push(with_media(
        1,
        "m1",
        "cat.png",
        media(MediaKind::Image, "cat.png", thumb),
    ));
    settle().await;
    let img = all(&m.shadow, "img[part=caption-media]").remove(0);
    assert!(until_hidden(&img).await, "a broken thumbnail stays");
    assert!(!displayed(&img));
    // The line itself stays, with its kind and text.
    assert_eq!(texts(&m.shadow, "[part=caption-media-kind]"), ["Image"]);
    assert_eq!(texts(&m.shadow, "[part=caption-body]"), ["cat.png"]);
}

#[wasm_bindgen_test]
async fn thumbnails_from_anywhere_but_the_relays_media_are_ignored() {
    let m = setup(&[("channel", "hostile-media"), ("lines", "10")]);
    let hostile = [
        "https://evil.test/media/x.png",
        "//evil.test/media/x.png",
        "javascript:alert(1)",
        "data:image/svg+xml,<svg onload=alert(1)>",
        "/media/../api/v1/channels/x/messages",
        "/media/%2e%2e/healthz",
        "/healthz",
        "media/x",
    ];
    for (i, path) in hostile.iter().enumerate() {
        let name = format!("<img src=x onerror=alert({i})>");
        let frame = with_media(
            i as u64 + 1,
            &format!("h{i}"),
            path,
            media(MediaKind::Image, &name, Some(path)),
        );
        m.widget.push(frame);
    }
    // A formatted body is never rendered: captions show the plain one.
    let mut formatted = msg("f", "Ada", "bold move");
    formatted.html = Some("<b>bold</b> <img src=x onerror=alert(1)> move".into());
    m.widget.push(ServerFrame::Message {
        seq: 99,
        message: formatted,
    });
    settle().await;
    assert_eq!(all(&m.shadow, "[part=caption]").len(), hostile.len() + 1);
    assert!(all(
        &m.shadow,
        "img:not([part=caption-avatar]), img[src], b, svg, script"
    )
    .is_empty());
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]").last().unwrap(),
        "bold move"
    );
}

#[wasm_bindgen_test]
async fn a_rename_changes_every_shown_line_of_that_sender_in_place() {
    let m = setup(&[("channel", "rename"), ("lines", "5")]);
    m.widget.push(message(1, "a", "Ada", "one"));
    m.widget.push(message(2, "b", "Bob", "two"));
    m.widget.push(message(3, "c", "Ada", "three"));
    settle().await;
    let before = all(&m.shadow, "[part=caption]");
    m.widget.push(ServerFrame::Profile {
        seq: 4,
        sender_id: "ada".into(),
        sender: "Ada L. <i>".into(),
        avatar: None,
    });
    settle().await;
    assert_eq!(
        texts(&m.shadow, "[part=caption-sender]"),
        ["Ada L. <i>", "Bob", "Ada L. <i>"]
    );
    let after = all(&m.shadow, "[part=caption]");
    for (b, a) in before.iter().zip(&after) {
        assert!(b.is_same_node(Some(a)), "a line was replaced");
    }
    assert_eq!(
        texts(&m.shadow, "[part=caption-body]"),
        ["one", "two", "three"]
    );
    assert!(all(&m.shadow, "[part=caption] i").is_empty());
    // The colour stays with the sender id, not the name.
    let slot = chyron_protocol::sender_color_slot("ada");
    let sender = &all(&m.shadow, "[part=caption-sender]")[0];
    assert!(sender.class_list().contains(&format!("s{slot}")));
}

#[wasm_bindgen_test]
async fn the_status_line_shows_while_the_matrix_link_is_down() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("chyron:mode:status").unwrap();
    let m = setup(&[("channel", "status")]);
    let bridge = |state| ServerFrame::Bridge { state };
    m.widget.push(initial(vec![]));
    m.widget.push(bridge(BridgeState::Connecting));
    settle().await;
    let status = all(&m.shadow, "[part=status]").remove(0);
    assert_eq!(status.text_content().unwrap(), "");
    assert!(!displayed(&status), "connecting stays quiet");
    // Not a live region of its own: the widget's one region says it.
    assert_eq!(status.get_attribute("aria-live"), None);
    assert_eq!(status.get_attribute("role"), None);

    m.widget.push(bridge(BridgeState::Down));
    settle().await;
    assert_eq!(status.text_content().unwrap(), DOWN);
    assert!(displayed(&status));
    let live = &all(&m.shadow, "[aria-live=polite]")[0];
    assert_eq!(live.text_content().unwrap(), DOWN);
    // Captions go on meanwhile; a repeated state changes nothing.
    m.widget.push(message(1, "a", "Ada", "still here"));
    m.widget.push(bridge(BridgeState::Down));
    m.widget.push(bridge(BridgeState::Connecting));
    settle().await;
    assert_eq!(texts(&m.shadow, "[part=caption-body]"), ["still here"]);
    assert_eq!(status.text_content().unwrap(), DOWN);

    m.widget.push(bridge(BridgeState::Live));
    settle().await;
    assert_eq!(status.text_content().unwrap(), "");
    assert!(!displayed(&status));
    // Said once the throttle allows, with what arrived meanwhile.
    sleep(2800).await;
    assert_eq!(
        live.text_content().unwrap(),
        format!("{RESTORED}. Ada: still here")
    );
}

#[wasm_bindgen_test]
async fn hidden_captions_hide_the_status_line_too() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("chyron:mode:status-hidden").unwrap();
    let m = setup(&[("channel", "status-hidden")]);
    m.widget.push(ServerFrame::Bridge {
        state: BridgeState::Down,
    });
    settle().await;
    assert_eq!(texts(&m.shadow, "[part=status]"), [DOWN]);
    let toggle: HtmlElement = all(&m.shadow, "[part=toggle]")[0].clone().unchecked_into();
    toggle.click();
    settle().await;
    assert!(all(&m.shadow, "[part=status]").is_empty());
    toggle.click();
    settle().await;
    assert_eq!(texts(&m.shadow, "[part=status]"), [DOWN]);
}

#[wasm_bindgen_test]
fn new_frames_decode_from_json_parse_like_the_protocol_encodes_them() {
    let mut rich = msg("m4", "Ada", "cat.png");
    rich.html = Some("<b>cat</b>".into());
    rich.media = Some(Media {
        mimetype: Some("image/png".into()),
        size: Some(5120),
        width: Some(640),
        height: Some(480),
        ..media(
            MediaKind::Image,
            "cat.png",
            Some("/media/demo/m4/thumbnail"),
        )
    });
    let frames = [
        initial(vec![rich.clone(), msg("a", "Ada", "x")]),
        ServerFrame::Message {
            seq: 7,
            message: rich,
        },
        ServerFrame::Edit {
            seq: 8,
            id: "m4".into(),
            body: "dog".into(),
            html: Some("<i>dog</i>".into()),
        },
        ServerFrame::Profile {
            seq: 9,
            sender_id: "ada".into(),
            sender: "Ada L.".into(),
            avatar: Some("/media/demo/avatars/0123456789abcdef".into()),
        },
        ServerFrame::Bridge {
            state: BridgeState::Down,
        },
    ];
    for frame in frames {
        let text = serde_json::to_string(&frame).unwrap();
        let value = js_sys::JSON::parse(&text).unwrap();
        assert_eq!(chyron::decode::frame(&value), Some(frame));
    }
    let decode = |text: &str| chyron::decode::frame(&js_sys::JSON::parse(text).unwrap());
    // `null` optionals are absent; unknown values are `Other`.
    let nulls = r#"{"type":"message","seq":1,"message":{"id":"x","sender":"s","sender_id":"s",
        "body":"b","ts":0,"source":"matrix","html":null,"media":{"kind":"hologram",
        "name":"x","size":null,"width":null,"thumbnail":null}}}"#;
    let Some(ServerFrame::Message { message, .. }) = decode(nulls) else {
        panic!("refused");
    };
    assert_eq!(message.html, None);
    assert_eq!(message.media, Some(media(MediaKind::Other, "x", None)));
    assert_eq!(
        decode(r#"{"type":"bridge","state":"paused"}"#),
        Some(ServerFrame::Bridge {
            state: BridgeState::Other
        })
    );
    for bad in [
        r#"{"type":"bridge"}"#,
        r#"{"type":"bridge","state":null}"#,
        r#"{"type":"profile","seq":1,"sender_id":"a"}"#,
        r#"{"type":"edit","seq":1,"id":"m","body":"b","html":7}"#,
        r#"{"type":"message","seq":1,"message":{"id":"x","sender":"s","sender_id":"s",
            "body":"b","ts":0,"source":"api","media":{"kind":"image","name":"x","size":-1}}}"#,
        r#"{"type":"message","seq":1,"message":{"id":"x","sender":"s","sender_id":"s",
            "body":"b","ts":0,"source":"api","media":["image","x"]}}"#,
    ] {
        assert_eq!(decode(bad), None, "{bad}");
    }
}
