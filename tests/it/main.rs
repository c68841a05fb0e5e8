//! End-to-end tests: the `umagate` binary and, as they land, the AS and the proxy running
//! in-process on ephemeral loopback ports. One test binary (`it`), one module per area.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails loudly"
)]

mod admin;
mod cli;
mod crash;
mod dev;
mod e2e;
mod oauth;
mod policy;
mod replicas;
mod wire;
