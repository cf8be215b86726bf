//! A sender's own flags on an attachment: MSC3725's content warning
//! (`town.robin.msc3725.content_warning`, any value) or MSC4193's spoiler
//! (`page.codeberg.everypizza.msc4193.spoiler: true`) on an `m.image` or
//! `m.video` make it [`Mark::Nsfw`]. ruma's typed content drops unknown
//! keys, so they are read from the raw event (an edit's `m.new_content`).

use super::{Content, Mapped};
use chyron_protocol::{Mark, MediaKind};
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::serde::Raw;
use serde_json::Value;

/// MSC3725's key: present (with any value) means a content warning.
pub const CONTENT_WARNING: &str = "town.robin.msc3725.content_warning";
/// MSC4193's key: `true` means a spoiler.
pub const SPOILER: &str = "page.codeberg.everypizza.msc4193.spoiler";

/// `mapped` with its image or video marked NSFW when `raw`'s content
/// carries the sender's flag; anything else unchanged.
pub fn sender_marks(mut mapped: Mapped, raw: &Raw<AnySyncTimelineEvent>) -> Mapped {
    let content = match &mut mapped {
        Mapped::Post { content, .. } | Mapped::Edit { content, .. } => content,
        _ => return mapped,
    };
    if visual(content) && flagged(raw) {
        if let Some(media) = content.media.as_mut() {
            media.mark = Some(Mark::Nsfw);
        }
    }
    mapped
}

fn visual(content: &Content) -> bool {
    let kind = content.media.as_ref().map(|m| m.kind);
    matches!(kind, Some(MediaKind::Image | MediaKind::Video))
}

fn flagged(raw: &Raw<AnySyncTimelineEvent>) -> bool {
    let Ok(Some(content)) = raw.get_field::<Value>("content") else {
        return false;
    };
    let content = content.get("m.new_content").unwrap_or(&content);
    content.get(CONTENT_WARNING).is_some() || content.get(SPOILER) == Some(&Value::Bool(true))
}
