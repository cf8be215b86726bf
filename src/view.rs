//! The widget's components. Thin: state and rules live in [`Captions`],
//! [`Announcer`] and [`Mode`]; this file only renders them and wires events.
//!
//! Chat text reaches the DOM only as text nodes (Leptos `{…}` children), never
//! as HTML, so a body like `<img onerror=…>` is shown, not run.

use crate::announce::Announcer;
use crate::browser::{now, use_interval, use_stored_mode};
use crate::captions::Captions;
use crate::config::Config;
use crate::mode::Mode;
use chyron_protocol::ServerFrame;
use leptos::prelude::*;
use std::time::Duration;

/// How often expiry and throttled announcements are checked.
const TICK: Duration = Duration::from_millis(250);

/// The reactive state of a mounted widget. `Copy`: signals are handles.
#[derive(Clone, Copy)]
pub struct Model {
    captions: RwSignal<Captions>,
    announcer: StoredValue<Announcer>,
    announcement: RwSignal<String>,
    mode: RwSignal<Mode>,
}

impl Model {
    /// Applies one feed frame. Safe to call after unmount (does nothing).
    pub fn apply(&self, frame: ServerFrame) {
        let now = now();
        let added = self
            .captions
            .try_update(|c| c.apply(frame, now))
            .unwrap_or(0);
        if added > 0
            && self
                .mode
                .try_get_untracked()
                .is_some_and(Mode::shows_captions)
        {
            self.captions.with_untracked(|c| {
                if let Some(line) = c.lines().last() {
                    self.announcer
                        .update_value(|a| a.note(added, &line.sender, &line.body));
                }
            });
        }
        self.announce(now);
    }

    /// Removes expired lines and makes any announcement that is due.
    fn tick(&self) {
        let now = now();
        let due = self
            .captions
            .try_with_untracked(|c| c.next_expiry().is_some_and(|t| t <= now))
            .unwrap_or(false);
        if due {
            self.captions.update(|c| {
                c.expire(now);
            });
        }
        self.announce(now);
    }

    fn announce(&self, now: f64) {
        if let Some(Some(text)) = self.announcer.try_update_value(|a| a.poll(now)) {
            self.announcement.set(text);
        }
    }
}

/// The captions widget for a valid configuration. `ready` receives the model
/// so a frame source (the feed socket, or a test) can drive it.
pub fn widget(config: &Config, ready: &dyn Fn(Model)) -> impl IntoView {
    let (mode, set_mode) = use_stored_mode(&config.channel);
    let model = Model {
        captions: RwSignal::new(Captions::new(config.lines, f64::from(config.fade_ms))),
        announcer: StoredValue::new(Announcer::default()),
        announcement: RwSignal::new(String::new()),
        mode,
    };
    use_interval(TICK, move || model.tick());
    ready(model);
    let toggle = move || {
        let next = mode.get_untracked().toggled();
        if !next.shows_captions() {
            model.announcer.update_value(Announcer::reset);
        }
        set_mode(next);
    };
    let class = format!(
        "chyron {} {}",
        config.placement.class(),
        config.position.classes()
    );
    view! {
        <div class=class>
            <div class="sr-only" aria-live="polite" aria-atomic="true">
                {model.announcement}
            </div>
            {move || {
                mode.get()
                    .shows_captions()
                    .then(|| caption_lines(model.captions))
            }}
            {toggle_button(mode, toggle)}
        </div>
    }
}

/// The caption lines, oldest first. Lines are keyed by message id, so an edit
/// changes only the body's text node and a line keeps its fade timing.
fn caption_lines(captions: RwSignal<Captions>) -> impl IntoView {
    let rows = move || {
        captions.with(|c| {
            c.lines()
                .iter()
                .map(|l| (l.id.clone(), l.sender.clone(), l.slot))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div part="captions" class="captions">
            <For each=rows key=|row| row.0.clone() let((id, sender, slot))>
                <div part="caption" class="caption">
                    <span part="caption-sender" class=format!("sender s{slot}")>{sender}</span>
                    " "
                    <span part="caption-body" class="body">
                        {move || captions.with(|c| c.get(&id).map(|l| l.body.clone()))}
                    </span>
                </div>
            </For>
        </div>
    }
}

/// Shows or hides the captions; the label says what pressing it does. Being
/// an action button with a changing label, it has no `aria-pressed` (a
/// pressed state with a changing label would contradict itself).
fn toggle_button(mode: RwSignal<Mode>, on_toggle: impl Fn() + 'static) -> impl IntoView {
    view! {
        <button
            part="toggle"
            class="toggle"
            type="button"
            on:click=move |_| on_toggle()
        >
            {move || mode.get().toggle_label()}
        </button>
    }
}

/// The message shown instead of captions when the attributes are unusable;
/// `placement_class` keeps it visible over the video in overlay placement.
pub fn error_view(message: String, placement_class: &'static str) -> impl IntoView {
    view! {
        <div class=format!("chyron error-box top left {placement_class}")>
            <div part="error" class="error" role="alert">{message}</div>
        </div>
    }
}
