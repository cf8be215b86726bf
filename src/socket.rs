//! The feed websocket: connects, resumes and reconnects for as long as the
//! component that called [`use_feed`] is mounted, and hands every frame the
//! [`Cursor`] says to apply to the caller.
//!
//! The first connection may already be open: embed.js opens the feed while
//! the wasm loads and hands that socket over. It is adopted when its URL is
//! the one the cursor would open (else closed). embed.js then calls the
//! handlers with what the socket received before they were set: the
//! buffered frames, and `close` if it already closed.

use crate::backoff::Backoff;
use crate::browser::{now, random, warn};
use crate::decode;
use crate::feed::{Cursor, Step};
use chyron_protocol::ServerFrame;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

type Handler = Closure<dyn FnMut(JsValue)>;

/// One live socket and the callbacks it holds.
struct Conn {
    /// The browser's socket.
    ws: WebSocket,
    /// onopen, onmessage, onclose: kept alive exactly as long as the socket.
    _handlers: [Handler; 3],
}

impl Conn {
    /// Detaches the callbacks and closes.
    fn close(&self) {
        detach(&self.ws);
    }
}

/// Detaches `ws`'s callbacks and closes it; events already queued then find
/// nothing to call.
fn detach(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
}

/// Everything one `use_feed` keeps between callbacks.
struct State {
    /// `ws(s)://…/feed/{channel}`, without resume parameters.
    feed_url: String,
    /// Snapshot size to ask for: the widget shows no more lines than this.
    limit: usize,
    /// Epoch and last applied seq: what a reconnect resumes from.
    cursor: Cursor,
    /// Delay before the next reconnect, growing while the relay is away.
    backoff: Backoff,
    /// The open (or opening) socket.
    conn: Option<Conn>,
    /// A closed connection kept until the next timer fires, so a callback is
    /// never freed while it runs.
    retired: Option<Conn>,
    /// The pending reconnect; at most one, so close and error never race.
    timer: Option<TimeoutHandle>,
    /// Set on unmount: nothing reconnects after it.
    stopped: bool,
    /// Where frames the cursor accepts go: the caption model.
    on_frame: Rc<dyn Fn(ServerFrame)>,
}

/// Keeps the widget connected to `feed_url`, asking for at most `limit`
/// messages in a snapshot; `on_frame` gets each frame to apply, in order and
/// once. `early` is a socket embed.js opened already, used as the first
/// connection if it goes where this one would. Socket and timers go when the
/// calling component unmounts.
pub fn use_feed(
    feed_url: String,
    limit: usize,
    early: Option<WebSocket>,
    on_frame: impl Fn(ServerFrame) + 'static,
) {
    let state = Rc::new(RefCell::new(State {
        feed_url,
        limit,
        cursor: Cursor::default(),
        backoff: Backoff::default(),
        conn: None,
        retired: None,
        timer: None,
        stopped: false,
        on_frame: Rc::new(on_frame),
    }));
    connect(&state, early);
    let state = SendWrapper::new(state);
    on_cleanup(move || {
        let mut s = state.borrow_mut();
        s.stopped = true;
        if let Some(timer) = s.timer.take() {
            timer.clear();
        }
        for conn in [s.conn.take(), s.retired.take()].into_iter().flatten() {
            conn.close();
        }
    });
}

fn connect(state: &Rc<RefCell<State>>, early: Option<WebSocket>) {
    let url = {
        let s = state.borrow();
        if s.stopped {
            return;
        }
        s.cursor.url(&s.feed_url, s.limit)
    };
    let early = early.filter(|ws| {
        let adopt = ws.url() == url;
        if !adopt {
            detach(ws);
        }
        adopt
    });
    let ws = match early.map_or_else(|| WebSocket::new(&url), Ok) {
        Ok(ws) => ws,
        Err(_) => {
            warn("could not open the feed");
            schedule_reconnect(state);
            return;
        }
    };
    let weak = Rc::downgrade(state);
    let on_open = handler(&weak, |state, _| state.borrow_mut().backoff.opened(now()));
    let on_message = handler(&weak, |state, event| {
        if let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() {
            on_text(state, &text);
        }
    });
    let on_close = handler(&weak, |state, _| schedule_reconnect(state));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // An error is always followed by a close, which does the reconnecting.
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut s = state.borrow_mut();
    s.retired = None;
    s.conn = Some(Conn {
        ws,
        _handlers: [on_open, on_message, on_close],
    });
}

fn handler(weak: &Weak<RefCell<State>>, f: fn(&Rc<RefCell<State>>, JsValue)) -> Handler {
    let weak = weak.clone();
    Closure::new(move |event: JsValue| {
        if let Some(state) = weak.upgrade() {
            f(&state, event);
        }
    })
}

fn on_text(state: &Rc<RefCell<State>>, text: &str) {
    let parsed = js_sys::JSON::parse(text)
        .ok()
        .and_then(|value| decode::frame(&value));
    let Some(frame) = parsed else {
        return warn("ignoring a malformed feed frame");
    };
    if let ServerFrame::Error { code, message } = &frame {
        warn(&format!("relay error {code}: {message}"));
    }
    let step = state.borrow_mut().cursor.step(&frame);
    match step {
        Step::Apply => {
            // Not borrowed while the view updates.
            let on_frame = state.borrow().on_frame.clone();
            on_frame(frame);
        }
        Step::Skip => {}
        Step::Resync => schedule_reconnect(state),
    }
}

/// Drops the current connection and tries again after the backoff delay.
fn schedule_reconnect(state: &Rc<RefCell<State>>) {
    let mut s = state.borrow_mut();
    if s.stopped || s.timer.is_some() {
        return;
    }
    if let Some(conn) = s.conn.take() {
        conn.close();
        s.retired = Some(conn);
    }
    let delay = s.backoff.next_delay(now(), random());
    let weak = Rc::downgrade(state);
    let fire = move || {
        if let Some(state) = weak.upgrade() {
            state.borrow_mut().timer = None;
            connect(&state, None);
        }
    };
    match set_timeout_with_handle(fire, Duration::from_millis(delay as u64)) {
        Ok(timer) => s.timer = Some(timer),
        Err(_) => warn("could not schedule a reconnect"),
    }
}
