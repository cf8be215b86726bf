//! What the property tests against a real relay share: a proptest runner
//! that drives async checks from the test thread, and a runtime whose named
//! worker threads run the relay, so its panics can be counted.
#![allow(dead_code)]

use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A runner for `cases` cases that keeps failing seeds beside `source`
/// (the test's `file!()`).
pub fn runner(cases: u32, source: &'static str) -> TestRunner {
    TestRunner::new(Config {
        cases,
        source_file: Some(source),
        max_shrink_iters: 64,
        ..Config::default()
    })
}

/// The name of the runtime's worker threads, where the relay's tasks run.
pub const RELAY_THREAD: &str = "relay-under-test";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(RELAY_THREAD)
        .enable_all()
        .build()
        .unwrap()
}

/// Panics on the runtime's worker threads (where the relay's tasks run),
/// counted since the hook was installed.
pub fn count_relay_panics() -> &'static AtomicUsize {
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            if thread.name() == Some(RELAY_THREAD) {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
    &PANICS
}
