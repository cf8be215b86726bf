//! Private conversations as the chat shows them: who is in each, what to
//! call it ("Notes", a person's name, a small group), invites waiting for an
//! answer, and who the viewer blocked. Plain Rust; the viewer's Matrix
//! client (`matrix_private`) feeds it the events its sync brought, as the
//! homeserver's JSON (decrypted where it could be), through [`event`].
//!
//! Nothing here came through the relay: names are cleaned here (no bidi
//! controls, one line, bounded) and formatted bodies go through the chat's
//! own allow-list (`rich`) when rendered, like everything else.

mod event;

pub use event::{
    event, frame, next_seq, Change, Membership, EPOCH, MAX_HTML_BYTES, UNABLE_TO_DECRYPT,
};

use chyron_protocol::limits::MAX_SENDER_CHARS;
use chyron_protocol::{clean_text, is_disguising, LiveDj};
use std::collections::{BTreeMap, BTreeSet};

/// Private conversations kept (the newest by activity); more are ignored.
pub const MAX_CONVERSATIONS: usize = 200;
/// People blocked at most.
pub const MAX_BLOCKED: usize = 1000;

/// A user id's localpart, cleaned: the name until a display name is known.
pub fn short_name(user_id: &str) -> String {
    let local = user_id
        .strip_prefix('@')
        .and_then(|u| u.split(':').next())
        .unwrap_or(user_id);
    clean_text(local, MAX_SENDER_CHARS, false).unwrap_or_else(|| "someone".to_owned())
}

/// The people typed into "start a conversation": Matrix IDs separated by
/// commas or spaces, each once, not the viewer, at most `max`.
pub fn parse_people(text: &str, me: &str, max: usize) -> Result<Vec<String>, String> {
    let mut people: Vec<String> = Vec::new();
    for id in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let valid = id.len() <= 255
            && id.starts_with('@')
            && id
                .split_once(':')
                .is_some_and(|(local, server)| local.len() > 1 && !server.is_empty())
            && !id.chars().any(|c| c.is_control() || is_disguising(c));
        if !valid {
            return Err(format!(
                "“{}” is not a Matrix ID (like @name:server).",
                clean_text(id, 40, false).unwrap_or_default()
            ));
        }
        if id != me && !people.iter().any(|p| p == id) {
            people.push(id.to_owned());
        }
    }
    if people.is_empty() {
        return Err("Enter the Matrix ID of at least one other person.".to_owned());
    }
    if people.len() > max {
        return Err(format!(
            "A conversation can start with at most {max} people."
        ));
    }
    Ok(people)
}

/// What a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only the viewer: their notes.
    Notes,
    /// The viewer and one other person.
    Direct,
    /// The viewer and two or more others.
    Group,
}

/// Someone in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Their display name (or their localpart until it is known).
    pub name: String,
    /// In, invited or gone.
    pub membership: Membership,
}

/// What the homeserver says about a private room now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Everyone but the viewer: user id, display name (cleaned), membership.
    pub members: Vec<(String, Option<String>, Membership)>,
    /// Messages in it are encrypted.
    pub encrypted: bool,
    /// Marked as a direct chat.
    pub direct: bool,
    /// The viewer is invited (not joined) by this person.
    pub invited_by: Option<String>,
    /// An owner's moderators' room: the owner (its `chat.chyron.mods`
    /// state, or for an invite its name "Moderators: …").
    pub mods_owner: Option<String>,
}

/// One private room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The Matrix room id (also the key of its timeline).
    pub room_id: String,
    /// Everyone the room has had but the viewer, by user id.
    pub others: BTreeMap<String, Member>,
    /// Messages are end-to-end encrypted.
    pub encrypted: bool,
    /// Who invited the viewer, while the invite is not answered.
    pub invited_by: Option<String>,
    /// When something was last said (ms): the list's order.
    pub last_ts: i64,
    /// Marked as a direct chat (`m.direct`) or created as one.
    pub direct: bool,
    /// An owner's moderators' room: whose (listed with the channels).
    pub mods_owner: Option<String>,
}

impl Conversation {
    /// A new conversation in `room_id`.
    pub fn new(room_id: &str) -> Conversation {
        Conversation {
            room_id: room_id.to_owned(),
            others: BTreeMap::new(),
            encrypted: false,
            invited_by: None,
            last_ts: 0,
            direct: false,
            mods_owner: None,
        }
    }

    /// The people in it now (joined or invited), by user id.
    pub fn present(&self) -> impl Iterator<Item = (&String, &Member)> {
        self.others
            .iter()
            .filter(|(_, m)| m.membership != Membership::Gone)
    }

    /// Notes, a direct chat or a group.
    pub fn kind(&self) -> Kind {
        match (self.others.is_empty(), self.present().count()) {
            (true, _) => Kind::Notes,
            (false, 0 | 1) => Kind::Direct,
            _ => Kind::Group,
        }
    }

    /// The name of someone else in it who is a live DJ now (`live`, from the
    /// relay's directory): private messages to them wait for the show's end.
    pub fn live_member(&self, live: &[LiveDj]) -> Option<String> {
        live.iter().find_map(|dj| {
            let member = self.present().find(|(id, _)| **id == dj.user_id)?.1;
            Some(dj.name.clone().unwrap_or_else(|| member.name.clone()))
        })
    }

    /// Everyone else left: what is said now reaches nobody.
    pub fn alone(&self) -> bool {
        !self.others.is_empty() && self.present().next().is_none()
    }

    /// What to call it: "Notes", a name, or a few names.
    pub fn title(&self) -> String {
        if let Some(owner) = &self.mods_owner {
            let name = self
                .others
                .get(owner)
                .map_or_else(|| short_name(owner), |m| m.name.clone());
            return format!("Moderators: {name}");
        }
        if self.kind() == Kind::Notes {
            return "Notes".to_owned();
        }
        let mut names: Vec<&str> = self.present().map(|(_, m)| m.name.as_str()).collect();
        if names.is_empty() {
            names = self.others.values().map(|m| m.name.as_str()).collect();
        }
        match names.as_slice() {
            [one] => (*one).to_owned(),
            [a, b] => format!("{a} and {b}"),
            [a, b, c] => format!("{a}, {b} and {c}"),
            [a, b, rest @ ..] => format!("{a}, {b} and {} others", rest.len()),
            [] => "Private conversation".to_owned(),
        }
    }

    /// Applies a member change (not the viewer's own: see [`Private`]).
    fn member(&mut self, user_id: &str, membership: Membership, name: Option<String>) {
        let entry = self
            .others
            .entry(user_id.to_owned())
            .or_insert_with(|| Member {
                name: short_name(user_id),
                membership,
            });
        entry.membership = membership;
        if let Some(name) = name {
            entry.name = name;
        }
    }
}

/// The viewer's private conversations and blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Private {
    /// By room id.
    rooms: BTreeMap<String, Conversation>,
    /// People whose private messages and invites the viewer refuses.
    pub blocked: BTreeSet<String>,
}

impl Private {
    /// The conversation in `room_id`, made on first use (`None` once
    /// [`MAX_CONVERSATIONS`] are kept).
    pub fn room(&mut self, room_id: &str) -> Option<&mut Conversation> {
        if !self.rooms.contains_key(room_id) && self.rooms.len() >= MAX_CONVERSATIONS {
            return None;
        }
        Some(
            self.rooms
                .entry(room_id.to_owned())
                .or_insert_with(|| Conversation::new(room_id)),
        )
    }

    /// The conversation in `room_id`, if known.
    pub fn get(&self, room_id: &str) -> Option<&Conversation> {
        self.rooms.get(room_id)
    }

    /// Takes in what the homeserver says about `room_id` now.
    pub fn update(&mut self, room_id: &str, facts: Facts) {
        let Some(room) = self.room(room_id) else {
            return;
        };
        for (user_id, name, membership) in facts.members {
            room.member(&user_id, membership, name);
        }
        room.encrypted = facts.encrypted;
        room.direct = facts.direct;
        room.invited_by = facts.invited_by;
        if facts.mods_owner.is_some() {
            room.mods_owner = facts.mods_owner;
        }
    }

    /// The owners' moderators' rooms the viewer is in or invited to.
    pub fn mods_rooms(&self) -> Vec<&Conversation> {
        self.rooms
            .values()
            .filter(|c| c.mods_owner.is_some())
            .collect()
    }

    /// A conversation the viewer just started with `invited`: known at once
    /// (its heading names them, before the sync brings the room).
    pub fn created(&mut self, room_id: &str, invited: &[String]) {
        let Some(room) = self.room(room_id) else {
            return;
        };
        for user_id in invited {
            if !room.others.contains_key(user_id) {
                room.member(user_id, Membership::Invite, None);
            }
        }
        room.direct = invited.len() <= 1;
        room.encrypted = true;
    }

    /// Forgets a conversation (the viewer left it or declined its invite).
    pub fn remove(&mut self, room_id: &str) {
        self.rooms.remove(room_id);
    }

    /// Applies `change` from `room_id`, as seen by `me`. Returns the
    /// message change for the timeline, if it is one to show: the blocked
    /// person's lines are not.
    pub fn apply(&mut self, room_id: &str, me: &str, change: Change) -> Option<Change> {
        let blocked = match &change {
            Change::Said(m) => self.blocked.contains(&m.sender_id),
            Change::Edited { sender_id, .. } => self.blocked.contains(sender_id),
            _ => false,
        };
        let room = self.room(room_id)?;
        match change {
            Change::Member {
                user_id,
                membership,
                name,
            } => {
                if user_id != me {
                    room.member(&user_id, membership, name);
                }
                None
            }
            Change::Said(mut m) => {
                room.last_ts = room.last_ts.max(m.ts);
                // The sender's display name in this room, once known.
                if let Some(member) = room.others.get(&m.sender_id) {
                    m.sender.clone_from(&member.name);
                }
                (!blocked).then_some(Change::Said(m))
            }
            other => (!blocked).then_some(other),
        }
    }

    /// Invites waiting for an answer, not from blocked people.
    pub fn invites(&self) -> Vec<&Conversation> {
        self.rooms
            .values()
            .filter(|c| {
                c.invited_by
                    .as_ref()
                    .is_some_and(|by| !self.blocked.contains(by))
            })
            .collect()
    }

    /// Joined conversations, most recently active first; Notes first of all.
    pub fn list(&self) -> Vec<&Conversation> {
        let mut list: Vec<&Conversation> = self
            .rooms
            .values()
            .filter(|c| c.invited_by.is_none())
            .collect();
        list.sort_by_key(|c| (c.kind() != Kind::Notes, std::cmp::Reverse(c.last_ts)));
        list
    }

    /// The viewer's notes, if they have them.
    pub fn notes(&self) -> Option<&Conversation> {
        self.rooms
            .values()
            .find(|c| c.invited_by.is_none() && c.direct && c.kind() == Kind::Notes)
    }

    /// The direct conversation with `user_id`, if there is one.
    pub fn direct_with(&self, user_id: &str) -> Option<&Conversation> {
        self.list().into_iter().find(|c| {
            c.kind() == Kind::Direct && c.others.len() == 1 && c.others.contains_key(user_id)
        })
    }

    /// Blocks `user_id`; false if the list is full.
    pub fn block(&mut self, user_id: &str) -> bool {
        if self.blocked.len() >= MAX_BLOCKED && !self.blocked.contains(user_id) {
            return false;
        }
        self.blocked.insert(user_id.to_owned());
        true
    }

    /// Whether a conversation is with a blocked person only (its composer is
    /// locked).
    pub fn is_blocked(&self, room_id: &str) -> bool {
        self.rooms.get(room_id).is_some_and(|c| {
            c.kind() != Kind::Notes && c.others.keys().all(|u| self.blocked.contains(u))
        })
    }
}

#[cfg(test)]
mod tests;
