//! umagate's authorization server: OAuth 2.0 and OpenID Connect (RFC 6749, 6750, 7009, 7591,
//! 7636, 7662, 8414, 9700), the base the UMA 2.0 protection API and grant are built on.
//!
//! Layout: [`config`] parses the TOML file once into typed settings; [`store`] is the one
//! storage interface over SQLite and PostgreSQL; [`keys`] holds the signing keys; [`http`] is
//! the axum router with one error-to-response mapping. The clock is read once per request at
//! the HTTP edge and passed down as `now`.

pub mod config;
pub mod decide;
pub mod http;
pub mod keys;
pub mod rpt;
pub mod secrets;
mod setup;
pub mod store;
pub mod webhook;

pub use setup::{Server, ServerError};
