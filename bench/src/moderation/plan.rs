//! The benchmark's moderation actions, decided before the run, and how a
//! viewer recognises the frame each one causes on the feed.

use chyron_protocol::ServerFrame;
use serde::Serialize;
use std::collections::HashMap;

/// The sender id of the relay's own notices (`moderation_notices = true`).
pub const NOTICE_SENDER_ID: &str = "chyron:relay";

/// What a moderation action does, and so which frame shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `DELETE …/moderation/messages/{id}` → a `delete` frame naming the line.
    Delete,
    /// `POST …/moderation/timeouts` → a notice `message` frame from the relay.
    Timeout,
    /// `POST …/moderation/bans` → a `clear` frame naming the sender.
    Ban,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 3] = [Kind::Delete, Kind::Timeout, Kind::Ban];
}

/// How long the benchmark's timeouts last, in seconds (the relay's minimum).
pub const TIMEOUT_SECONDS: u64 = 120;

/// The sender of line `i` when actions target `actions` different senders.
pub fn sender(i: usize, actions: usize) -> String {
    format!("chatter{}", i % actions.max(1))
}

/// One planned action: action `k` targets line `k` and its sender
/// `chatter{k}`, so no two actions touch the same person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// Which kind, alternating delete, timeout, ban.
    pub kind: Kind,
    /// The targeted sender (also their display name: API posts use one for both).
    pub user_id: String,
    /// The targeted line's id (for a delete).
    pub message_id: String,
}

/// Plans `count` actions over the posted lines' ids (line `k` by `chatter{k}`).
pub fn plan(count: usize, line_ids: &[String]) -> Vec<Action> {
    (0..count)
        .map(|k| Action {
            kind: Kind::ALL[k % Kind::ALL.len()],
            user_id: sender(k, count),
            message_id: line_ids[k].clone(),
        })
        .collect()
}

impl Action {
    /// The request path (after the relay's URL) and JSON body, if any.
    pub fn request(&self, channel: &str) -> (reqwest::Method, String, Option<serde_json::Value>) {
        let m = format!("/chat/v1/channels/{channel}/moderation");
        match self.kind {
            Kind::Delete => (
                reqwest::Method::DELETE,
                format!("{m}/messages/{}", self.message_id),
                None,
            ),
            Kind::Timeout => (
                reqwest::Method::POST,
                format!("{m}/timeouts"),
                Some(serde_json::json!({
                    "user_id": self.user_id,
                    "seconds": TIMEOUT_SECONDS,
                    "reason": "benchmark",
                })),
            ),
            Kind::Ban => (
                reqwest::Method::POST,
                format!("{m}/bans"),
                Some(serde_json::json!({"user_id": self.user_id, "reason": "benchmark"})),
            ),
        }
    }

    /// The notice body the relay posts for a timeout of this length.
    fn notice(&self) -> String {
        let minutes = TIMEOUT_SECONDS.div_ceil(60);
        format!("{} was timed out for {minutes} minutes.", self.user_id)
    }
}

/// What each viewer looks for: frame key → action number.
#[derive(Default)]
pub struct Targets {
    /// Deleted line id → action.
    deletes: HashMap<String, usize>,
    /// Timeout notice body → action.
    notices: HashMap<String, usize>,
    /// Banned sender id (their `clear` frame) → action.
    clears: HashMap<String, usize>,
}

impl Targets {
    /// The keys of every planned action.
    pub fn new(actions: &[Action]) -> Targets {
        let mut t = Targets::default();
        for (k, a) in actions.iter().enumerate() {
            match a.kind {
                Kind::Delete => t.deletes.insert(a.message_id.clone(), k),
                Kind::Timeout => t.notices.insert(a.notice(), k),
                Kind::Ban => t.clears.insert(a.user_id.clone(), k),
            };
        }
        t
    }

    /// The action a parsed frame shows, if it is one of ours.
    pub fn action_of(&self, frame: &ServerFrame) -> Option<usize> {
        match frame {
            ServerFrame::Delete { id, .. } => self.deletes.get(id).copied(),
            ServerFrame::Clear { sender_id, .. } => self.clears.get(sender_id).copied(),
            ServerFrame::Message { message, .. } if message.sender_id == NOTICE_SENDER_ID => {
                self.notices.get(&message.body).copied()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> ServerFrame {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn actions_alternate_and_each_targets_its_own_line_and_sender() {
        let ids: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
        let p = plan(5, &ids);
        let kinds: Vec<Kind> = p.iter().map(|a| a.kind).collect();
        use Kind::*;
        assert_eq!(kinds, [Delete, Timeout, Ban, Delete, Timeout]);
        assert_eq!(
            (p[2].user_id.as_str(), p[2].message_id.as_str()),
            ("chatter2", "m2")
        );
        assert_eq!(sender(7, 5), "chatter2");
    }

    #[test]
    fn each_kind_is_recognised_by_its_frame_and_nothing_else_is() {
        let ids: Vec<String> = (0..12).map(|i| format!("m{i}")).collect();
        let t = Targets::new(&plan(12, &ids));
        let del = frame(r#"{"type":"delete","seq":9,"id":"m3"}"#);
        assert_eq!(t.action_of(&del), Some(3));
        // m4's action is a timeout: deleting it is not ours.
        assert_eq!(
            t.action_of(&frame(r#"{"type":"delete","seq":9,"id":"m4"}"#)),
            None
        );
        let clear = frame(r#"{"type":"clear","seq":9,"sender_id":"chatter5"}"#);
        assert_eq!(t.action_of(&clear), Some(5));
        let notice = |sender_id: &str, body: &str| {
            frame(&format!(
                r#"{{"type":"message","seq":9,"message":{{"id":"x","sender":"Chyron","sender_id":"{sender_id}","body":"{body}","ts":1,"source":"other"}}}}"#
            ))
        };
        let timed_out = "chatter10 was timed out for 2 minutes.";
        assert_eq!(t.action_of(&notice(NOTICE_SENDER_ID, timed_out)), Some(10));
        // chatter1's is a timeout too; its notice must not match chatter10's.
        assert_eq!(
            t.action_of(&notice(
                NOTICE_SENDER_ID,
                "chatter1 was timed out for 2 minutes."
            )),
            Some(1)
        );
        assert_eq!(t.action_of(&notice("chatter10", timed_out)), None);
        assert_eq!(
            t.action_of(&notice(
                NOTICE_SENDER_ID,
                "chatter5 was removed from the chat."
            )),
            None
        );
    }

    #[test]
    fn requests_go_to_the_documented_endpoints() {
        let a = plan(3, &["m0".into(), "m1".into(), "m2".into()]);
        let (m, path, body) = a[0].request("bench");
        assert_eq!(
            (m, path.as_str(), body),
            (
                reqwest::Method::DELETE,
                "/chat/v1/channels/bench/moderation/messages/m0",
                None
            )
        );
        let (m, path, body) = a[1].request("bench");
        assert_eq!(
            (m, path.as_str()),
            (
                reqwest::Method::POST,
                "/chat/v1/channels/bench/moderation/timeouts"
            )
        );
        assert_eq!(body.unwrap()["seconds"], 120);
        let (_, path, body) = a[2].request("bench");
        assert_eq!(path, "/chat/v1/channels/bench/moderation/bans");
        assert_eq!(body.unwrap()["user_id"], "chatter2");
    }
}
