//! The bounds every policy evaluation runs under, and how they map onto wasmtime settings.

use std::time::Duration;

use serde::Deserialize;

/// Limits for loading and evaluating policies. The defaults suit an AS answering UMA grants:
/// tens of milliseconds per decision, a few MiB of memory, small outputs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wall-clock budget of one evaluation, instantiation included (epoch deadline).
    #[serde(with = "millis", rename = "timeout_ms")]
    pub timeout: Duration,
    /// Linear memory one instance may use, across all its memories, in bytes.
    pub memory_bytes: usize,
    /// Wasm stack a call may use, in bytes (wasmtime `max_wasm_stack`).
    pub stack_bytes: usize,
    /// Total bytes of strings a decision may carry (scopes, reasons, explanation).
    pub max_output_bytes: usize,
    /// Evaluations running at once; more wait up to `timeout`, then are denied.
    pub max_concurrent: usize,
    /// Largest component accepted by `load`, in bytes.
    pub max_component_bytes: usize,
    /// Log lines kept per evaluation; further lines are counted, not kept.
    pub max_log_lines: usize,
    /// Bytes of log text kept per evaluation.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(50),
            memory_bytes: 64 << 20,
            stack_bytes: 256 << 10,
            max_output_bytes: 64 << 10,
            max_concurrent: 64,
            max_component_bytes: 32 << 20,
            max_log_lines: 32,
            max_log_bytes: 8 << 10,
        }
    }
}

/// How often the engine's epoch advances; deadlines are whole ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

impl Limits {
    /// The epoch deadline, in ticks, for `timeout` (at least one tick).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let ticks = self.timeout.as_micros() / EPOCH_TICK.as_micros().max(1);
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_section_parses_with_defaults() {
        let l: Limits =
            serde_json::from_str(r#"{"timeout_ms": 20, "memory_bytes": 1048576}"#).unwrap();
        assert_eq!(l.timeout, Duration::from_millis(20));
        assert_eq!(l.deadline_ticks(), 20);
        assert_eq!(l.stack_bytes, Limits::default().stack_bytes);
        assert!(serde_json::from_str::<Limits>(r#"{"timeout": 20}"#).is_err());
    }
}
