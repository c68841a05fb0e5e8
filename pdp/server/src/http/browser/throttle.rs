//! Throttling of failed password logins and client authentications (RFC 6819 §4.4.3.6,
//! §5.1.4.2.3; T5).
//!
//! Logins: at most [`MAX_FAILURES`] failed logins per username within [`WINDOW_SECS`]; after that
//! the login form answers 429 without checking the password until the window has passed.
//! Logins are also limited to [`SOURCE_MAX_FAILURES`] per peer address (password spraying).
//! Client secrets: at most [`CLIENT_MAX_FAILURES`] failures per client and peer address within
//! [`CLIENT_WINDOW_SECS`]; an attacker elsewhere cannot lock a client out. Counters
//! expire with their window, so nobody is locked out for longer than that, and a success clears
//! the username's counter. Each attempt is counted before its password is checked, so a burst of
//! parallel guesses cannot overrun the limit either.
//!
//! Limits: the counters live in this process's memory (several replicas each allow the limit, a
//! restart forgets them); the per-address limits need the peer address, which `Server::serve`
//! provides. The table holds at most
//! [`CAPACITY`] usernames; when it is full, expired entries are dropped first and then the
//! oldest, so spraying usernames costs memory nothing beyond that bound.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

/// Failed logins allowed per username per window.
pub(crate) const MAX_FAILURES: u32 = 5;
/// The window, in seconds.
pub(crate) const WINDOW_SECS: i64 = 300;
/// Most usernames tracked at once.
pub(crate) const CAPACITY: usize = 10_000;
/// Failed client authentications allowed per (client, peer address) per client window.
pub(crate) const CLIENT_MAX_FAILURES: u32 = 20;
/// The client window, in seconds.
pub(crate) const CLIENT_WINDOW_SECS: i64 = 60;

#[derive(Clone, Copy, Debug)]
struct Window {
    started: i64,
    failures: u32,
}

/// Failure counters by key.
#[derive(Debug)]
pub(crate) struct Throttle {
    windows: Mutex<HashMap<String, Window>>,
    max_failures: u32,
    window_secs: i64,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(MAX_FAILURES, WINDOW_SECS)
    }
}

/// The process-wide login throttle; keys name the issuer and the username, so servers sharing a
/// process (tests) do not share counters.
pub(crate) static LOGINS: LazyLock<Throttle> = LazyLock::new(Throttle::default);

/// Failed logins allowed per source address per window (several users may share one address).
pub(crate) const SOURCE_MAX_FAILURES: u32 = 30;

/// The process-wide per-source login throttle; keys name the issuer and the peer address.
pub(crate) static LOGIN_SOURCES: LazyLock<Throttle> =
    LazyLock::new(|| Throttle::new(SOURCE_MAX_FAILURES, WINDOW_SECS));

/// Invalid codes or refresh tokens allowed per (client, peer address) per client window (D1).
pub(crate) const GRANT_MAX_FAILURES: u32 = 30;

/// The process-wide throttle of invalid grants at the token endpoint.
pub(crate) static GRANT_FAILURES: LazyLock<Throttle> =
    LazyLock::new(|| Throttle::new(GRANT_MAX_FAILURES, CLIENT_WINDOW_SECS));

/// The process-wide client-secret throttle; keys name the issuer, the client and the peer.
pub(crate) static CLIENT_SECRETS: LazyLock<Throttle> =
    LazyLock::new(|| Throttle::new(CLIENT_MAX_FAILURES, CLIENT_WINDOW_SECS));

impl Throttle {
    /// A throttle allowing `max_failures` per key per `window_secs`.
    pub(crate) fn new(max_failures: u32, window_secs: i64) -> Self {
        Self {
            windows: Mutex::new(HashMap::new()),
            max_failures,
            window_secs,
        }
    }

    /// Admits one login attempt for `key` at `now`, counting it as a failure until
    /// [`Throttle::succeeded`] says otherwise (so parallel guesses cannot overrun the limit);
    /// `Err` carries the seconds until `key` may try again.
    pub(crate) fn attempt(&self, key: &str, now: i64) -> Result<(), i64> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = windows.get(key) {
            let remaining = w.started + self.window_secs - now;
            if w.failures >= self.max_failures && remaining > 0 {
                return Err(remaining);
            }
        } else if windows.len() >= CAPACITY {
            windows.retain(|_, w| w.started + self.window_secs > now);
            if windows.len() >= CAPACITY {
                let oldest = windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let w = windows.entry(key.to_string()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= w.started + self.window_secs {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        Ok(())
    }

    /// Whether `key` may try at `now`, without counting anything: for credentials a legitimate
    /// caller presents many times at once (client secrets, codes and refresh tokens), where
    /// counting every attempt in flight as a failure would lock out a client that simply sends
    /// more than the limit concurrently. Failures are counted afterwards with
    /// [`Throttle::failed`]; parallel guesses can then overrun the limit by the number in
    /// flight, which the 256-bit entropy of those credentials makes harmless.
    pub(crate) fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        match windows.get(key) {
            Some(w) if w.failures >= self.max_failures => {
                let remaining = w.started + self.window_secs - now;
                if remaining > 0 {
                    Err(remaining)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure of `key` at `now` (after [`Throttle::check`]).
    pub(crate) fn failed(&self, key: &str, now: i64) {
        // `attempt` admits and counts; its verdict is irrelevant here (the caller already
        // failed), only the count matters.
        let _ = self.attempt(key, now);
    }

    /// Forgets `key`'s failures (after a successful login).
    pub(crate) fn succeeded(&self, key: &str) {
        self.windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_within_the_window() {
        let t = Throttle::default();
        for i in 0..MAX_FAILURES {
            assert_eq!(
                t.attempt("alice", 1000 + i64::from(i)),
                Ok(()),
                "attempt {i}"
            );
        }
        assert_eq!(t.attempt("alice", 1010), Err(WINDOW_SECS - 10));
        assert_eq!(
            t.attempt("bob", 1010),
            Ok(()),
            "other keys are not affected"
        );
    }

    #[test]
    fn never_locks_out_forever() {
        let t = Throttle::default();
        for _ in 0..(MAX_FAILURES * 3) {
            let _ = t.attempt("alice", 1000);
        }
        assert!(t.attempt("alice", 1000 + WINDOW_SECS - 1).is_err());
        // A new window starts counting from zero.
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.attempt("alice", 1000 + WINDOW_SECS), Ok(()));
        }
        assert!(t.attempt("alice", 1000 + WINDOW_SECS).is_err());
    }

    #[test]
    fn success_clears_the_counter() {
        let t = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(t.attempt("alice", 1000), Ok(()));
        }
        t.succeeded("alice");
        assert_eq!(t.attempt("alice", 1001), Ok(()));
    }

    #[test]
    fn check_counts_nothing_and_failed_counts_one() {
        let t = Throttle::new(3, 60);
        for _ in 0..100 {
            assert_eq!(
                t.check("rs", 1000),
                Ok(()),
                "concurrent callers are all admitted"
            );
        }
        for _ in 0..3 {
            t.failed("rs", 1000);
        }
        assert_eq!(t.check("rs", 1010), Err(50));
        assert_eq!(t.check("rs", 1060), Ok(()), "the window ends");
        t.succeeded("rs");
        assert_eq!(t.check("rs", 1011), Ok(()));
    }

    #[test]
    fn the_table_is_bounded() {
        let t = Throttle::default();
        for i in 0..(CAPACITY + 10) {
            assert_eq!(
                t.attempt(&format!("user{i}"), 1000 + i64::try_from(i).unwrap()),
                Ok(())
            );
        }
        let windows = t.windows.lock().unwrap();
        assert!(windows.len() <= CAPACITY);
        assert!(windows.contains_key(&format!("user{}", CAPACITY + 9)));
    }
}
