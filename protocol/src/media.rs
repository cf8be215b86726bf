//! Attachments: what a viewer needs to show an image or a file without
//! touching the homeserver.

use serde::{Deserialize, Serialize};

/// An attachment on a [`crate::Message`]. The message's `body` describes it
/// (a file name or a caption), so a client that shows only text still says
/// something true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// What it is.
    pub kind: MediaKind,
    /// The file name, as the sender gave it (never a path to open).
    pub name: String,
    /// The MIME type the sender claimed; a claim, not a fact, so the relay
    /// checks what it serves itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mimetype: Option<String>,
    /// Size in bytes, as claimed by the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Width in pixels (images and videos), as claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels (images and videos), as claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Where the relay serves a small preview image, as a path on the relay
    /// (`/media/{channel}/{message id}/thumbnail`); absent when there is
    /// none. Viewers never need a homeserver account to load it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// Whether it may be shown: a moderator's mark, the sender's own
    /// spoiler or content-warning flag, or the organiser's default for
    /// unmarked images. Absent: unmarked, shown. Anything but
    /// [`Mark::Safe`] is never shown in captions and blurred in the chat
    /// until the viewer chooses to see it ([`Mark::hides`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<Mark>,
}

impl Media {
    /// Whether a viewer sees this attachment only by choosing to.
    pub fn hidden(&self) -> bool {
        self.mark.is_some_and(Mark::hides)
    }
}

/// A verdict on an attachment ([`Media::mark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// A moderator looked at it and it may be shown.
    Safe,
    /// Not safe for work: a moderator's mark, or the sender's own flag.
    Nsfw,
    /// Not looked at yet, in a channel whose organiser hides images until
    /// a moderator marks them safe.
    Unreviewed,
    /// A mark this version does not know yet: treated as hiding.
    #[serde(other)]
    Other,
}

impl Mark {
    /// Whether the attachment stays hidden until the viewer asks.
    pub fn hides(self) -> bool {
        self != Mark::Safe
    }
}

/// The kind of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A picture (`m.image`, or `m.sticker`).
    Image,
    /// A video (`m.video`).
    Video,
    /// A sound (`m.audio`).
    Audio,
    /// Any other file (`m.file`).
    File,
    /// A kind this version does not know yet (forward compatible).
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{from_value, json, to_value};

    #[test]
    fn media_matches_literal_json() {
        let literal = json!({"kind": "image", "name": "cat.png", "mimetype": "image/png",
            "size": 5120, "width": 640, "height": 480,
            "thumbnail": "/media/demo/m4/thumbnail"});
        let media = Media {
            kind: MediaKind::Image,
            name: "cat.png".into(),
            mimetype: Some("image/png".into()),
            size: Some(5120),
            width: Some(640),
            height: Some(480),
            thumbnail: Some("/media/demo/m4/thumbnail".into()),
            mark: None,
        };
        assert_eq!(to_value(&media).unwrap(), literal);
        assert_eq!(from_value::<Media>(literal).unwrap(), media);
    }

    #[test]
    fn a_bare_file_leaves_the_options_out() {
        let literal = json!({"kind": "file", "name": "slides.pdf"});
        let media: Media = from_value(literal.clone()).unwrap();
        assert_eq!(media.kind, MediaKind::File);
        assert_eq!(to_value(&media).unwrap(), literal);
    }

    #[test]
    fn marks_match_literal_json_and_only_safe_shows() {
        for (mark, wire, hides) in [
            (Mark::Safe, "safe", false),
            (Mark::Nsfw, "nsfw", true),
            (Mark::Unreviewed, "unreviewed", true),
        ] {
            let literal = json!({"kind": "image", "name": "x.png", "mark": wire});
            let media: Media = from_value(literal.clone()).unwrap();
            assert_eq!(media.mark, Some(mark));
            assert_eq!(media.hidden(), hides, "{wire}");
            assert_eq!(to_value(&media).unwrap(), literal);
        }
        let later: Media =
            from_value(json!({"kind": "image", "name": "x", "mark": "gore"})).unwrap();
        assert_eq!(later.mark, Some(Mark::Other));
        assert!(later.hidden(), "a mark this version does not know hides");
        let bare: Media = from_value(json!({"kind": "image", "name": "x"})).unwrap();
        assert!(!bare.hidden());
    }

    #[test]
    fn unknown_kinds_are_tolerated_and_bad_sizes_refused() {
        let m: Media = from_value(json!({"kind": "hologram", "name": "x"})).unwrap();
        assert_eq!(m.kind, MediaKind::Other);
        for bad in [
            json!({"kind": "image"}),
            json!({"kind": "image", "name": "x", "size": -1}),
            json!({"kind": "image", "name": "x", "width": "wide"}),
        ] {
            assert!(from_value::<Media>(bad.clone()).is_err(), "{bad} accepted");
        }
    }
}
