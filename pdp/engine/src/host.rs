//! Per-evaluation store state: resource caps, the `host.log` import, and the empty WASI context.
//!
//! A fresh [`State`] is built for every evaluation. The WASI context grants nothing: no
//! preopened directories, no environment, no arguments, no network (sockets refused), stdio
//! closed. Its clocks are frozen at the Unix epoch and its randomness is a fixed sequence, so a
//! component built by a toolchain that imports WASI (Python, JavaScript) still computes a pure
//! function of its input; the real time reaches policies only as `context.now`.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::bindings::umagate::policy::host::{Host, Level};
use crate::bindings::umagate::policy::types;
use crate::limits::Limits;

/// One line a policy logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: &'static str,
    /// The text, possibly truncated.
    pub message: String,
}

/// What a store carries for one evaluation.
pub(crate) struct State {
    memory_cap: usize,
    pub(crate) memory_cap_hit: bool,
    max_log_lines: usize,
    log_bytes_left: usize,
    logs: Vec<LogLine>,
    logs_dropped: usize,
    /// Built on first use: most policies import no WASI and never pay for it.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
}

impl State {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory_cap: limits.memory_bytes,
            memory_cap_hit: false,
            max_log_lines: limits.max_log_lines,
            log_bytes_left: limits.max_log_bytes,
            logs: Vec::new(),
            logs_dropped: 0,
            wasi: None,
            table: ResourceTable::new(),
        }
    }
}

impl State {
    /// Hands over this evaluation's log lines and the count of dropped ones, and restores the
    /// log budget for the next call on the same store.
    pub(crate) fn take_logs(&mut self, limits: &Limits) -> (Vec<LogLine>, usize) {
        self.log_bytes_left = limits.max_log_bytes;
        (
            std::mem::take(&mut self.logs),
            std::mem::take(&mut self.logs_dropped),
        )
    }
}

fn sealed_wasi() -> WasiCtx {
    let mut builder = WasiCtx::builder();
    builder
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .secure_random(StdRng::seed_from_u64(0x5eed))
        .insecure_random(StdRng::seed_from_u64(0x1dea))
        .insecure_random_seed(0);
    builder.build()
}

/// A clock stopped at the Unix epoch.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(sealed_wasi),
            table: &mut self.table,
        }
    }
}

impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_cap_hit = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes",
                self.memory_cap
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Interpreted guests (Python) need large tables; bounded all the same.
        Ok(desired <= 1 << 20)
    }
}

/// `types` defines no functions.
impl types::Host for State {}

impl Host for State {
    fn log(&mut self, level: Level, message: String) {
        if self.logs.len() >= self.max_log_lines || self.log_bytes_left == 0 {
            self.logs_dropped += 1;
            return;
        }
        let mut message = message;
        if message.len() > self.log_bytes_left {
            let mut cut = self.log_bytes_left;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        self.log_bytes_left -= message.len();
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
        };
        self.logs.push(LogLine { level, message });
    }
}
