//! Counters for `/metrics` in the Prometheus text format.
//!
//! One [`Metrics`] is built with the proxy and passed down (no global registry): plain atomics,
//! no label cardinality from requests (the outcome is a fixed enum, never a path or a host).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a request ended, as counted and logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded to an upstream with a verified, sufficient RPT.
    Authorized,
    /// Forwarded on a public route.
    Public,
    /// Answered 401 with a UMA challenge.
    Challenged,
    /// Answered 403: no ticket could be obtained.
    AsUnreachable,
    /// No route matched.
    NoRoute,
    /// Refused as malformed or ambiguous.
    BadRequest,
    /// The upstream failed or timed out.
    UpstreamError,
    /// The proxy could not build what it must send.
    Internal,
}

impl Outcome {
    const ALL: [Self; 8] = [
        Self::Authorized,
        Self::Public,
        Self::Challenged,
        Self::AsUnreachable,
        Self::NoRoute,
        Self::BadRequest,
        Self::UpstreamError,
        Self::Internal,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "authorized",
            Self::Public => "public",
            Self::Challenged => "challenged",
            Self::AsUnreachable => "as_unreachable",
            Self::NoRoute => "no_route",
            Self::BadRequest => "bad_request",
            Self::UpstreamError => "upstream_error",
            Self::Internal => "internal",
        }
    }
}

/// Latency buckets in milliseconds.
const BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000];

/// The proxy's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 8],
    latency: [AtomicU64; 10],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
    /// RPT decisions served from the verification cache.
    pub verify_cache_hits: AtomicU64,
    /// RPT decisions computed.
    pub verify_cache_misses: AtomicU64,
    /// JWKS fetches.
    pub jwks_fetches: AtomicU64,
    /// Calls to the authorization server that failed.
    pub as_errors: AtomicU64,
    /// Resources registered at the authorization server.
    pub resources_registered: AtomicU64,
    /// Configuration reloads refused.
    pub reload_failures: AtomicU64,
}

impl Metrics {
    /// Counts one finished request.
    pub fn record(&self, outcome: Outcome, elapsed_ms: u64) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
        for (bound, bucket) in BUCKETS_MS.iter().zip(&self.latency) {
            if elapsed_ms <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(elapsed_ms, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP umagate_proxy_requests_total Requests by outcome.\n");
        out.push_str("# TYPE umagate_proxy_requests_total counter\n");
        for (outcome, count) in Outcome::ALL.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "umagate_proxy_requests_total{{outcome=\"{}\"}} {}",
                outcome.as_str(),
                get(count)
            );
        }
        out.push_str("# HELP umagate_proxy_request_duration_ms Time to response headers.\n");
        out.push_str("# TYPE umagate_proxy_request_duration_ms histogram\n");
        for (bound, bucket) in BUCKETS_MS.iter().zip(&self.latency) {
            let _ = writeln!(
                out,
                "umagate_proxy_request_duration_ms_bucket{{le=\"{bound}\"}} {}",
                get(bucket)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "umagate_proxy_request_duration_ms_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(out, "umagate_proxy_request_duration_ms_count {count}");
        let _ = writeln!(
            out,
            "umagate_proxy_request_duration_ms_sum {}",
            get(&self.latency_sum_ms)
        );
        for (name, help, counter) in [
            (
                "verify_cache_hits_total",
                "RPT decisions from the cache.",
                &self.verify_cache_hits,
            ),
            (
                "verify_cache_misses_total",
                "RPT decisions computed.",
                &self.verify_cache_misses,
            ),
            ("jwks_fetches_total", "JWKS fetches.", &self.jwks_fetches),
            (
                "as_errors_total",
                "Failed calls to the authorization server.",
                &self.as_errors,
            ),
            (
                "resources_registered_total",
                "Resources registered.",
                &self.resources_registered,
            ),
            (
                "reload_failures_total",
                "Refused configuration reloads.",
                &self.reload_failures,
            ),
        ] {
            let _ = writeln!(out, "# HELP umagate_proxy_{name} {help}");
            let _ = writeln!(out, "# TYPE umagate_proxy_{name} counter");
            let _ = writeln!(out, "umagate_proxy_{name} {}", get(counter));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters() {
        let m = Metrics::default();
        m.record(Outcome::Challenged, 3);
        Metrics::inc(&m.jwks_fetches);
        let text = m.render();
        assert!(text.contains("umagate_proxy_requests_total{outcome=\"challenged\"} 1"));
        assert!(text.contains("umagate_proxy_request_duration_ms_bucket{le=\"5\"} 1"));
        assert!(text.contains("umagate_proxy_request_duration_ms_bucket{le=\"2\"} 0"));
        assert!(text.contains("umagate_proxy_jwks_fetches_total 1"));
    }
}
