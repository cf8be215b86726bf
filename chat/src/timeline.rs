//! One channel's conversation as the chat shows it: the lines the relay's
//! feed brought (snapshot, then events, in the order the feed's cursor
//! applied them) and the viewer's own posts that the feed has not brought
//! back yet. Plain Rust: the view renders [`Timeline::rows`].
//!
//! A post is shown at once as pending; once the homeserver has given it an
//! event id and the feed brings a message with that id, the feed's line
//! replaces it. The two can arrive in either order, and the post is shown
//! exactly once whichever comes first.

use chyron_protocol::{Message, ServerFrame};
use std::collections::{BTreeSet, HashSet};

/// Messages kept per channel; older ones give way (the relay keeps history).
pub const MAX_MESSAGES: usize = 500;
/// Own messages whose typed markdown is kept for editing.
pub const MAX_SOURCES: usize = 20;

/// How far a viewer has read in a channel: enough to place the "unread"
/// divider after a reload, even when that message is no longer shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadMark {
    /// The channel's history identity when it was read; another epoch means
    /// the history started over and the mark says nothing.
    pub epoch: String,
    /// The feed position read up to (the newest event then applied).
    pub seq: u64,
    /// The newest message read, if any: the divider goes after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
}

/// Where a post of the viewer's stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostState {
    /// Sent to the homeserver, no answer yet (or queued while it is away).
    Sending,
    /// The homeserver accepted it as this event; the feed has not shown it.
    Sent(String),
    /// The homeserver refused it, or it could not be sent: why, for people.
    Failed(String),
    /// Not sent yet, on purpose (a private message to a DJ who is live):
    /// why, for people. It goes out by itself once that is over.
    Held(String),
}

/// A post of the viewer's not (yet) confirmed by the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// The client's own id for it (also the Matrix transaction id).
    pub txn: String,
    /// What the viewer typed (markdown source), kept for retry.
    pub text: String,
    /// Where it stands.
    pub state: PostState,
    /// Who posts it (the viewer's Matrix ID).
    pub sender_id: String,
    /// The plain body the feed will bring back for it.
    pub plain: String,
    /// The feed position when it was posted: only lines after it can be it.
    pub after_seq: u64,
}

/// A message as the chat keeps it: the feed's message and the event that
/// brought it (0 for messages from a snapshot).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The message, with edits and profile changes applied.
    pub message: Message,
    /// The seq of the `message` event that brought it; 0 from a snapshot.
    pub seq: u64,
}

/// What the view shows, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    /// A line from the feed.
    Line(&'a Line),
    /// The "unread" divider: everything below is new since the last visit.
    Unread,
    /// The viewer's own post, not confirmed yet.
    Post(&'a Post),
}

/// One channel's lines and pending posts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Feed lines, oldest first.
    lines: Vec<Line>,
    /// Own posts waiting for the feed, oldest first.
    posts: Vec<Post>,
    /// The feed's epoch (None before the first snapshot).
    epoch: Option<String>,
    /// The newest event applied.
    seq: u64,
    /// Where the divider goes: index into `lines` of the first unread line.
    unread_from: Option<usize>,
    /// What the viewer typed for their recent messages (event id, markdown):
    /// editing starts from it, not from the plain body that lost the marks.
    sources: Vec<(String, String)>,
}

impl Timeline {
    /// The feed's epoch, once a snapshot came.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// The newest event applied.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The feed lines, oldest first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The line with this message id.
    pub fn get(&self, id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.message.id == id)
    }

    /// Applies a frame the feed's cursor accepted (in order, once).
    pub fn apply(&mut self, frame: ServerFrame) {
        if let Some(seq) = frame.event_seq() {
            self.seq = seq;
        }
        match frame {
            ServerFrame::Snapshot(snapshot) => {
                if self.epoch.as_deref() != Some(snapshot.epoch.as_str()) {
                    self.unread_from = None;
                }
                self.epoch = Some(snapshot.epoch);
                self.seq = snapshot.seq;
                // Lines still in the snapshot keep the seq they came with.
                let old = std::mem::take(&mut self.lines);
                self.lines = snapshot
                    .messages
                    .into_iter()
                    .map(|message| {
                        let seq = old
                            .iter()
                            .find(|l| l.message.id == message.id)
                            .map_or(0, |l| l.seq);
                        Line { message, seq }
                    })
                    .collect();
                self.unread_from = None;
                self.confirm_posts();
            }
            ServerFrame::Message { seq, message } => match self.line_mut(&message.id) {
                None => {
                    self.lines.push(Line { message, seq });
                    self.trim();
                    self.confirm_posts();
                }
                // The same event again, readable now (a private message
                // decrypted once its key came): its line shows the text.
                Some(line) if line.message.body == crate::private::UNABLE_TO_DECRYPT => {
                    line.message = message;
                }
                Some(_) => {}
            },
            ServerFrame::Edit { id, body, html, .. } => {
                if let Some(line) = self.line_mut(&id) {
                    line.message.body = body;
                    line.message.html = html;
                    line.message.edited = true;
                }
            }
            ServerFrame::Delete { id, .. } => self.retain(|l| l.message.id != id),
            ServerFrame::Clear { sender_id, .. } => {
                self.retain(|l| l.message.sender_id != sender_id)
            }
            ServerFrame::Profile {
                sender_id,
                sender,
                avatar,
                ..
            } => {
                for line in self
                    .lines
                    .iter_mut()
                    .filter(|l| l.message.sender_id == sender_id)
                {
                    line.message.sender.clone_from(&sender);
                    line.message.avatar.clone_from(&avatar);
                }
            }
            ServerFrame::Mark { id, mark, .. } => {
                let line = self.line_mut(&id);
                if let Some(media) = line.and_then(|l| l.message.media.as_mut()) {
                    media.mark = Some(mark);
                }
            }
            ServerFrame::Bridge { .. } | ServerFrame::Error { .. } | ServerFrame::Unknown => {}
        }
    }

    fn line_mut(&mut self, id: &str) -> Option<&mut Line> {
        self.lines.iter_mut().find(|l| l.message.id == id)
    }

    /// Removes lines, keeping the divider on the same first unread line.
    fn retain(&mut self, keep: impl Fn(&Line) -> bool) {
        let first_unread = self
            .unread_from
            .and_then(|i| self.lines.get(i))
            .map(|l| l.message.id.clone());
        self.lines.retain(|l| keep(l));
        self.unread_from = first_unread.and_then(|id| self.index_of(&id));
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.message.id == id)
    }

    fn trim(&mut self) {
        let excess = self.lines.len().saturating_sub(MAX_MESSAGES);
        if excess > 0 {
            self.lines.drain(..excess);
            self.unread_from = self.unread_from.map(|i| i.saturating_sub(excess));
        }
    }

    /// Event ids the feed has shown.
    fn event_ids(&self) -> HashSet<&str> {
        self.lines
            .iter()
            .filter_map(|l| l.message.matrix_event_id())
            .collect()
    }

    /// Drops own posts the feed now shows: by event id once the homeserver
    /// answered, else (the feed was quicker than that answer) by a line
    /// from the viewer with the post's body that came after it and is not
    /// already another post's.
    fn confirm_posts(&mut self) {
        let shown: HashSet<String> = self.event_ids().into_iter().map(str::to_owned).collect();
        self.posts.retain(|p| match &p.state {
            PostState::Sent(event_id) => !shown.contains(event_id),
            _ => true,
        });
        let mut i = 0;
        while i < self.posts.len() {
            let post = &self.posts[i];
            let claimed = |id: &str| self.sources.iter().any(|(e, _)| e == id);
            let line = (!matches!(post.state, PostState::Sent(_)))
                .then(|| {
                    self.lines.iter().find_map(|l| {
                        let id = l.message.matrix_event_id()?;
                        (l.seq > post.after_seq
                            && l.message.sender_id == post.sender_id
                            && l.message.body == post.plain
                            && !claimed(id))
                        .then(|| id.to_owned())
                    })
                })
                .flatten();
            match line {
                Some(event_id) => {
                    let post = self.posts.remove(i);
                    self.remember_source(event_id, post.text);
                }
                None => i += 1,
            }
        }
    }

    /// A new own post by `sender_id`, shown at once as sending.
    pub fn post(&mut self, txn: String, text: String, sender_id: String) {
        let plain = crate::markdown::format(&text).plain;
        self.posts.push(Post {
            txn,
            text,
            state: PostState::Sending,
            sender_id,
            plain,
            after_seq: self.seq,
        });
    }

    /// The homeserver's answer to a post: its event id, or why it failed.
    /// A post the feed already brought back disappears (its line is shown).
    pub fn settle(&mut self, txn: &str, result: Result<String, String>) {
        let Some(post) = self.posts.iter_mut().find(|p| p.txn == txn) else {
            return;
        };
        post.state = match result {
            Ok(event_id) => PostState::Sent(event_id),
            Err(why) => PostState::Failed(why),
        };
        if let PostState::Sent(event_id) = &post.state {
            let (id, text) = (event_id.clone(), post.text.clone());
            self.remember_source(id, text);
        }
        self.confirm_posts();
    }

    /// Keeps what the viewer typed for their message `event_id` (a post or
    /// an edit), so a later edit starts from their markdown.
    pub fn remember_source(&mut self, event_id: String, text: String) {
        self.sources.retain(|(id, _)| *id != event_id);
        self.sources.push((event_id, text));
        let excess = self.sources.len().saturating_sub(MAX_SOURCES);
        self.sources.drain(..excess);
    }

    /// The text to edit `line` from: what was typed when known, else its body.
    pub fn edit_text(&self, line: &Line) -> String {
        line.message
            .matrix_event_id()
            .and_then(|id| self.sources.iter().find(|(e, _)| e == id))
            .map_or_else(|| line.message.body.clone(), |(_, text)| text.clone())
    }

    /// Marks a failed post as sending again (retry); returns its text.
    pub fn retry(&mut self, txn: &str) -> Option<String> {
        let post = self.posts.iter_mut().find(|p| p.txn == txn)?;
        matches!(post.state, PostState::Failed(_)).then(|| {
            post.state = PostState::Sending;
            post.text.clone()
        })
    }

    /// Holds a post not sent yet (`why`), or (`None`) lets it go again.
    pub fn hold(&mut self, txn: &str, why: Option<String>) {
        if let Some(post) = self.posts.iter_mut().find(|p| p.txn == txn) {
            if matches!(post.state, PostState::Sending | PostState::Held(_)) {
                post.state = why.map_or(PostState::Sending, PostState::Held);
            }
        }
    }

    /// Forgets a failed post (the viewer gave up on it).
    pub fn discard(&mut self, txn: &str) {
        self.posts
            .retain(|p| p.txn != txn || !matches!(p.state, PostState::Failed(_)));
    }

    /// What to show, oldest first: lines not from muted senders, the
    /// divider before the first unread one, then own pending posts.
    pub fn rows<'a>(&'a self, muted: &BTreeSet<String>) -> Vec<Row<'a>> {
        let mut rows = Vec::with_capacity(self.lines.len() + self.posts.len() + 1);
        for (i, line) in self.lines.iter().enumerate() {
            if Some(i) == self.unread_from {
                rows.push(Row::Unread);
            }
            if !muted.contains(&line.message.sender_id) {
                rows.push(Row::Line(line));
            }
        }
        rows.extend(self.posts.iter().map(Row::Post));
        rows
    }

    /// Where the viewer is now, to remember as read.
    pub fn read_mark(&self) -> Option<ReadMark> {
        Some(ReadMark {
            epoch: self.epoch.clone()?,
            seq: self.seq,
            last_id: self.lines.last().map(|l| l.message.id.clone()),
        })
    }

    /// Places the divider from a stored mark: after the marked message if it
    /// is shown, else (same epoch) before the first line that came after the
    /// marked seq. No divider when nothing is unread or the epoch changed.
    pub fn place_unread(&mut self, mark: Option<&ReadMark>) {
        self.unread_from = mark.and_then(|mark| {
            if Some(mark.epoch.as_str()) != self.epoch.as_deref() {
                return None;
            }
            let from = match mark.last_id.as_deref().and_then(|id| self.index_of(id)) {
                Some(i) => i + 1,
                None if self.seq <= mark.seq => return None,
                None => self
                    .lines
                    .iter()
                    .position(|l| l.seq == 0 || l.seq > mark.seq)?,
            };
            (from < self.lines.len()).then_some(from)
        });
    }

    /// Lines not read since `mark` from people other than `me` and not
    /// muted: the count shown beside a channel's name.
    pub fn unread_count(
        &self,
        mark: Option<&ReadMark>,
        me: &str,
        muted: &BTreeSet<String>,
    ) -> usize {
        let counts = |l: &&Line| l.message.sender_id != me && !muted.contains(&l.message.sender_id);
        let Some(mark) = mark.filter(|m| Some(m.epoch.as_str()) == self.epoch.as_deref()) else {
            return self.lines.iter().filter(counts).count();
        };
        let after = match mark.last_id.as_deref().and_then(|id| self.index_of(id)) {
            Some(i) => &self.lines[i + 1..],
            None if self.seq <= mark.seq => &[],
            None => {
                &self.lines[self
                    .lines
                    .iter()
                    .position(|l| l.seq == 0 || l.seq > mark.seq)
                    .unwrap_or(self.lines.len())..]
            }
        };
        after.iter().filter(counts).count()
    }

    /// The newest line `me` sent that can be edited (it has an event id).
    pub fn last_own(&self, me: &str) -> Option<&Line> {
        self.lines
            .iter()
            .rev()
            .find(|l| l.message.sender_id == me && l.message.matrix_event_id().is_some())
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
