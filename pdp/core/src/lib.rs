//! umagate's domain rules, free of HTTP, wasmtime and the clock (`now` is always a parameter).
//!
//! - [`policy`]: the one decision function's input and output — what a policy sees about a
//!   permission request and what it answers per scope. The Wasm engine, the UMA grant and
//!   `umagate policy` all speak these types.
//! - [`assess`]: the UMA grant's authorization assessment (Grant §3.3.4): which scopes each
//!   ticket resource needs, how per-scope outcomes combine (deny overrides), the wire error.

pub mod assess;
pub mod policy;
