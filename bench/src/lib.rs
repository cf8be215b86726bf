//! What the benchmark binaries share: the server under test in its own
//! process, loopback clients that behave badly on purpose, and the fan-out
//! benchmark's viewers.

pub mod net;
pub mod relay;
pub mod seqcheck;
pub mod viewers;

/// Prints `report` as pretty JSON and writes it to `out` (its folder made
/// if missing).
pub fn save_report(out: &str, report: &impl serde::Serialize) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    println!("{json}");
    if let Some(dir) = std::path::Path::new(out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, json)
}
