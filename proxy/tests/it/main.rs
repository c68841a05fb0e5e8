//! Integration tests of the proxy against a fake AS and a recording upstream, on real sockets.
//! One test binary (`it`), one module per area.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails loudly"
)]

mod fake_as;
mod support;

mod auth;
mod hygiene;
mod operations;
mod transport;
