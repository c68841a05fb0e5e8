//! umagate's policy decision point: owners' policies as sandboxed WebAssembly components.
//!
//! A policy is a component targeting `wit/policy.wit` (`umagate:policy/policy@0.2.0`). The
//! engine's whole surface is: [`PolicyEngine::load`] (validate, check imports, compile or reuse a
//! cached artifact, pre-instantiate — off the request path) and [`PolicyEngine::evaluate`]
//! (a fresh instance per call, so nothing leaks between requesting parties).
//!
//! Every evaluation is bounded ([`Limits`]): an epoch deadline, a memory cap, a stack cap, an
//! output cap and a cap on concurrent evaluations. Every abnormal end — trap, timeout, memory
//! cap, stack overflow, malformed or oversized output, instantiation failure, saturation — is a
//! deny of every requested scope with the reason in [`Evaluation::failure`]; nothing panics and
//! nothing is an `Err` the caller could mistake for "no opinion".

mod bindings;
mod error;
mod evaluate;
mod host;
mod limits;
mod load;
mod slots;
mod warm;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use umagate_core::policy::PolicyInput;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use error::{Failure, LoadError};
pub use evaluate::Evaluation;
pub use host::LogLine;
pub use limits::Limits;
pub use load::{LoadedPolicy, PolicyInfo};
pub use warm::WarmInstance;

use crate::host::State;
use crate::load::ArtifactCache;
use crate::slots::Slots;

/// Could not build the engine (a configuration wasmtime refuses).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the policy engine: {0}")]
pub struct EngineError(String);

/// Loads and evaluates policies. One per process; share it by reference.
pub struct PolicyEngine {
    engine: wasmtime::Engine,
    linker: Linker<State>,
    limits: Limits,
    cache: ArtifactCache,
    slots: Slots,
    ticking: Arc<AtomicBool>,
}

impl PolicyEngine {
    /// An engine with `limits` and an in-memory artifact cache only.
    pub fn new(limits: Limits) -> Result<Self, EngineError> {
        Self::build(limits, None)
    }

    /// An engine that also keeps compiled artifacts in `dir`, keyed by component digest and the
    /// engine's compatibility hash.
    pub fn with_cache_dir(limits: Limits, dir: PathBuf) -> Result<Self, EngineError> {
        Self::build(limits, Some(dir))
    }

    fn build(limits: Limits, cache_dir: Option<PathBuf>) -> Result<Self, EngineError> {
        let fail = |e: wasmtime::Error| EngineError(format!("{e:#}"));
        let engine = wasmtime::Engine::new(&config(&limits)).map_err(fail)?;
        let mut linker = Linker::new(&engine);
        bindings::Policy::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(fail)?;
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(fail)?;
        let ticking = Arc::new(AtomicBool::new(true));
        // Without the ticker no deadline would ever fire: no engine rather than an unbounded one.
        start_ticker(engine.clone(), ticking.clone())
            .map_err(|e| EngineError(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            engine,
            linker,
            slots: Slots::new(limits.max_concurrent),
            limits,
            cache: ArtifactCache::new(cache_dir),
            ticking,
        })
    }

    /// Validates, compiles and pre-instantiates a component. Costs milliseconds to seconds:
    /// call it when a policy is uploaded or at start-up, never per request.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedPolicy, LoadError> {
        load::load(
            &self.engine,
            &self.linker,
            &self.cache,
            self.limits.max_component_bytes,
            bytes,
        )
    }

    /// Decides `input` with `policy` in a fresh instance. Never fails: see [`Evaluation`].
    pub fn evaluate(&self, policy: &LoadedPolicy, input: &PolicyInput) -> Evaluation {
        let started = Instant::now();
        if let Err(e) = input.validate() {
            return Evaluation::failed(input, Failure::InvalidInput(e.to_string()), started);
        }
        let Some(_slot) = self.slots.acquire(self.limits.timeout) else {
            return Evaluation::failed(input, Failure::Overloaded, started);
        };
        evaluate::run_fresh(&self.engine, policy, input, &self.limits, started)
    }

    /// An instance kept across evaluations, for callers that accept state carried between
    /// calls (benchmarks, a single requesting party's batch). Same limits per call.
    pub fn warm(&self, policy: &LoadedPolicy) -> WarmInstance<'_> {
        WarmInstance::new(self, policy.clone())
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Drop for PolicyEngine {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

fn config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(limits.stack_bytes);
    let mut pool = PoolingAllocationConfig::default();
    let instances = u32::try_from(limits.max_concurrent.saturating_mul(2))
        .unwrap_or(u32::MAX)
        .max(16);
    // The pool's per-memory maximum sits above the limiter's cap, so the limiter (which records
    // the reason) is what stops a growing guest.
    let pool_memory = limits.memory_bytes.saturating_mul(2);
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .total_memories(instances.saturating_mul(4))
        .total_tables(instances.saturating_mul(16))
        .max_memory_size(pool_memory)
        .max_core_instance_size(8 << 20)
        .max_component_instance_size(8 << 20)
        .table_elements(200_000)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advances the epoch every tick until the engine is dropped.
fn start_ticker(engine: wasmtime::Engine, ticking: Arc<AtomicBool>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("umagate-epoch".into())
        .spawn(move || {
            while ticking.load(Ordering::Relaxed) {
                std::thread::sleep(limits::EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .map(drop)
}
