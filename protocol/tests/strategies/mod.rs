//! Proptest strategies for the protocol's wire types and for arbitrary JSON.
//!
//! Shared by the protocol's property tests (`tests/prop_frames.rs`) and the
//! widget's (`src/decode_prop_tests.rs` includes this file by path), so both
//! test the same frames. Generated frames stay within the protocol's limits
//! (validated names and bodies, any Unicode); integers go up to a bound the
//! caller picks: any `u64` for serde, the browser's safe integers for the
//! widget, whose `JSON.parse` holds only those exactly.
#![allow(dead_code)]

use chyron_protocol::limits::{MAX_BODY_CHARS, MAX_SENDER_CHARS, MAX_SENDER_ID_CHARS};
use chyron_protocol::{
    BridgeState, Mark, Media, MediaKind, Message, ServerFrame, Snapshot, SnapshotReason, Source,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// The largest integer a JavaScript number holds exactly (2^53 - 1).
pub const SAFE: u64 = (1 << 53) - 1;

/// Any string of up to `max` characters, control characters and all.
pub fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(String::from_iter)
}

/// Text that passes the protocol's rules for a field of `max` characters:
/// not blank, no control characters but (if `multiline`) newline and tab.
/// Mostly short, sometimes right at the limit.
pub fn valid_text(max: usize, multiline: bool) -> impl Strategy<Value = String> {
    // A forbidden character becomes U+FFFD (mapped, not filtered: filters
    // count against proptest's reject budget, character by character).
    let ch = any::<char>().prop_map(move |c| {
        let allowed = !c.is_control() || (multiline && (c == '\n' || c == '\t'));
        if allowed {
            c
        } else {
            char::REPLACEMENT_CHARACTER
        }
    });
    let len = prop_oneof![4 => 1..=16.min(max), 1 => max - 3..=max];
    len.prop_flat_map(move |n| vec(ch.clone(), n))
        .prop_map(String::from_iter)
        .prop_filter("blank", |s| !s.trim().is_empty())
}

/// A valid channel name.
pub fn channel() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,63}"
}

/// A whole number in `0..=max`: mostly small enough for a browser, often at
/// the edges (`max`, and 2^53 where browsers start rounding).
pub fn uint(max: u64) -> impl Strategy<Value = u64> {
    let edge = SAFE.min(max).saturating_sub(2)..=SAFE.saturating_add(3).min(max);
    prop_oneof![
        3 => 0..=max.min(SAFE),
        1 => 0..=max,
        1 => Just(0),
        1 => max.saturating_sub(2)..=max,
        1 => edge,
    ]
}

/// A timestamp within `-max..=max`, built as [`uint`] is.
pub fn int(max: u64) -> impl Strategy<Value = i64> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    (uint(max as u64), any::<bool>()).prop_map(|(n, negative)| {
        let n = n as i64;
        if negative {
            -n
        } else {
            n
        }
    })
}

pub fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        Just(Source::Api),
        Just(Source::Webhook),
        Just(Source::Matrix),
        Just(Source::Other)
    ]
}

pub fn media(max: u64) -> impl Strategy<Value = Media> {
    let kind = prop_oneof![
        Just(MediaKind::Image),
        Just(MediaKind::Video),
        Just(MediaKind::Audio),
        Just(MediaKind::File),
        Just(MediaKind::Other)
    ];
    let pixels = prop_oneof![any::<u32>(), Just(0), Just(u32::MAX)];
    (
        kind,
        text(40),
        option::of(text(20)),
        option::of(uint(max)),
        option::of(pixels.clone()),
        option::of(pixels),
        option::of(text(40)),
        option::of(mark()),
    )
        .prop_map(
            |(kind, name, mimetype, size, width, height, thumbnail, mark)| Media {
                kind,
                name,
                mimetype,
                size,
                width,
                height,
                thumbnail,
                mark,
            },
        )
}

/// Any mark.
pub fn mark() -> impl Strategy<Value = Mark> {
    prop_oneof![
        Just(Mark::Safe),
        Just(Mark::Nsfw),
        Just(Mark::Unreviewed),
        Just(Mark::Other)
    ]
}

/// A message as the relay may write it, integers up to `max`.
pub fn message(max: u64) -> impl Strategy<Value = Message> {
    (
        (
            text(24),
            valid_text(MAX_SENDER_CHARS, false),
            valid_text(MAX_SENDER_ID_CHARS, false),
            valid_text(MAX_BODY_CHARS, true),
        ),
        (int(max), any::<bool>(), source()),
        (
            option::of(text(60)),
            option::of(media(max)),
            option::of(text(40)),
            option::of(text(40)),
        )
            // Boxed: the unboxed tuple's strategy overflows a debug test
            // thread's stack.
            .boxed(),
    )
        .prop_map(
            |(
                (id, sender, sender_id, body),
                (ts, edited, source),
                (html, media, avatar, event_id),
            )| {
                Message {
                    id,
                    sender,
                    sender_id,
                    body,
                    ts,
                    edited,
                    source,
                    html,
                    media,
                    avatar,
                    event_id,
                }
            },
        )
}

/// Any frame the relay may send (and `Unknown`, which it never sends but
/// which serializes as `{"type":"unknown"}`), integers up to `max`.
pub fn frame(max: u64) -> impl Strategy<Value = ServerFrame> {
    let reason = prop_oneof![
        Just(SnapshotReason::Initial),
        Just(SnapshotReason::ResumeUnavailable),
        Just(SnapshotReason::Lagged),
        Just(SnapshotReason::Other)
    ];
    let state = prop_oneof![
        Just(BridgeState::Connecting),
        Just(BridgeState::Live),
        Just(BridgeState::Down),
        Just(BridgeState::Other)
    ];
    let snapshot = (
        channel(),
        text(16),
        uint(max),
        reason,
        vec(message(max), 0..4),
    )
        .prop_map(|(channel, epoch, seq, reason, messages)| {
            ServerFrame::Snapshot(Snapshot {
                channel,
                epoch,
                seq,
                reason,
                messages,
            })
        });
    prop_oneof![
        snapshot,
        (uint(max), message(max)).prop_map(|(seq, message)| ServerFrame::Message { seq, message }),
        (
            uint(max),
            text(24),
            valid_text(MAX_BODY_CHARS, true),
            option::of(text(60))
        )
            .prop_map(|(seq, id, body, html)| ServerFrame::Edit {
                seq,
                id,
                body,
                html
            }),
        (uint(max), text(24)).prop_map(|(seq, id)| ServerFrame::Delete { seq, id }),
        (uint(max), valid_text(MAX_SENDER_ID_CHARS, false))
            .prop_map(|(seq, sender_id)| ServerFrame::Clear { seq, sender_id }),
        (
            uint(max),
            valid_text(MAX_SENDER_ID_CHARS, false),
            valid_text(MAX_SENDER_CHARS, false),
            option::of(text(40))
        )
            .prop_map(|(seq, sender_id, sender, avatar)| ServerFrame::Profile {
                seq,
                sender_id,
                sender,
                avatar
            }),
        (uint(max), text(24), mark()).prop_map(|(seq, id, mark)| ServerFrame::Mark {
            seq,
            id,
            mark
        }),
        state.prop_map(|state| ServerFrame::Bridge { state }),
        (text(20), text(60)).prop_map(|(code, message)| ServerFrame::Error { code, message }),
        Just(ServerFrame::Unknown),
    ]
}

/// Words the frames use (field names, tags, enum values), so generated JSON
/// often lands on a shape the decoders look at.
pub const WORDS: &[&str] = &[
    "type",
    "seq",
    "message",
    "messages",
    "snapshot",
    "edit",
    "delete",
    "clear",
    "profile",
    "mark",
    "nsfw",
    "safe",
    "unreviewed",
    "bridge",
    "error",
    "unknown",
    "channel",
    "epoch",
    "reason",
    "initial",
    "lagged",
    "id",
    "sender",
    "sender_id",
    "body",
    "ts",
    "edited",
    "source",
    "api",
    "webhook",
    "matrix",
    "html",
    "media",
    "avatar",
    "kind",
    "image",
    "video",
    "audio",
    "file",
    "name",
    "mimetype",
    "size",
    "width",
    "height",
    "thumbnail",
    "state",
    "live",
    "down",
    "connecting",
    "code",
];

/// A string, often one of [`WORDS`].
pub fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(WORDS).prop_map(str::to_owned),
        text(8)
    ]
}

/// A JSON number: integers of every size, fractions, integral floats.
pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-3i64..1 << 54).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        (-3i64..1 << 54).prop_map(|n| Value::from(n as f64)),
    ]
}

/// Any JSON value, nested a few levels.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(word(), inner, 0..6).prop_map(|m| Value::Object(Map::from_iter(m))),
        ]
    })
}

/// One change to a value: replace, remove or add a member somewhere in it.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replace the `n`th node (in pre-order) with a new value.
    Replace(usize, Value),
    /// Remove the `n`th member or item.
    Remove(usize),
    /// Add a member to the `n`th object (or an item to an array).
    Add(usize, String, Value),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), json()).prop_map(|(n, v)| Mutation::Replace(n, v)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), word(), json()).prop_map(|(n, k, v)| Mutation::Add(n, k, v)),
    ]
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`th node of `v` in pre-order (`n` below [`count`]).
fn node(v: &mut Value, mut n: usize) -> &mut Value {
    if n == 0 {
        return v;
    }
    n -= 1;
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(o) => o.values_mut().collect(),
        _ => unreachable!("counted"),
    };
    for child in children {
        let c = count(child);
        if n < c {
            return node(child, n);
        }
        n -= c;
    }
    unreachable!("counted")
}

impl Mutation {
    /// Applies the change to `v`.
    pub fn apply(&self, v: &mut Value) {
        match self {
            Mutation::Replace(n, new) => *node(v, n % count(v)) = new.clone(),
            Mutation::Remove(n) => match node(v, n % count(v)) {
                Value::Array(a) if !a.is_empty() => {
                    a.remove(n % a.len());
                }
                Value::Object(o) if !o.is_empty() => {
                    let key = o.keys().nth(n % o.len()).cloned().unwrap();
                    o.remove(&key);
                }
                _ => {}
            },
            Mutation::Add(n, key, new) => match node(v, n % count(v)) {
                Value::Array(a) => a.push(new.clone()),
                Value::Object(o) => {
                    o.insert(key.clone(), new.clone());
                }
                _ => {}
            },
        }
    }
}

/// A frame's JSON with up to three mutations: mostly almost valid.
pub fn mutated_frame(max: u64) -> impl Strategy<Value = Value> {
    (frame(max), vec(mutation(), 0..4)).prop_map(|(frame, changes)| {
        let mut v = serde_json::to_value(&frame).unwrap();
        for change in &changes {
            change.apply(&mut v);
        }
        v
    })
}
