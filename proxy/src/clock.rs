//! The one place the proxy reads the wall clock (style rule 7): the request edge calls [`now`]
//! once and passes the value down, so every check in a request sees the same time and tests can
//! pass any time they like.

/// Seconds since the Unix epoch.
#[expect(
    clippy::disallowed_methods,
    reason = "the proxy's request edge is where the clock is read (style rule 7)"
)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
