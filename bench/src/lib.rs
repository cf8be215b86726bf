//! What the benchmark binaries share: the server under test in its own
//! process, loopback clients that behave badly on purpose, and the fan-out
//! benchmark's viewers.

pub mod net;
pub mod relay;
pub mod viewers;
