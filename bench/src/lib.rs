//! What the benchmark binaries share: the relay under test in its own process,
//! and loopback clients that behave badly on purpose.

pub mod net;
pub mod relay;
