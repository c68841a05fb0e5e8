//! A reusable instance: the same limits per call, re-instantiated after any failure.

use std::time::Instant;

use umagate_core::policy::PolicyInput;
use wasmtime::Store;

use crate::PolicyEngine;
use crate::bindings::Policy;
use crate::error::Failure;
use crate::evaluate::{self, Evaluation};
use crate::host::State;
use crate::load::LoadedPolicy;

/// A policy instance kept between evaluations. State a policy keeps in memory survives from one
/// call to the next, so use it only where that cannot leak between requesting parties.
pub struct WarmInstance<'e> {
    engine: &'e PolicyEngine,
    policy: LoadedPolicy,
    live: Option<(Store<State>, Policy)>,
}

impl<'e> WarmInstance<'e> {
    pub(crate) fn new(engine: &'e PolicyEngine, policy: LoadedPolicy) -> Self {
        Self {
            engine,
            policy,
            live: None,
        }
    }

    /// Decides `input` in the kept instance (instantiating it first if needed).
    pub fn evaluate(&mut self, input: &PolicyInput) -> Evaluation {
        let started = Instant::now();
        let limits = &self.engine.limits;
        if let Err(e) = input.validate() {
            return Evaluation::failed(input, Failure::InvalidInput(e.to_string()), started);
        }
        let Some(_slot) = self.engine.slots.acquire(limits.timeout) else {
            return Evaluation::failed(input, Failure::Overloaded, started);
        };
        let (mut store, instance) = match self.live.take() {
            Some(live) => live,
            None => {
                let mut store = evaluate::new_store(&self.engine.engine, limits);
                match evaluate::instantiate(&mut store, &self.policy) {
                    Ok(instance) => (store, instance),
                    Err(failure) => {
                        let logs = store.data_mut().take_logs(limits);
                        return evaluate::finish(input, Err(failure), logs, started);
                    }
                }
            }
        };
        let result = evaluate::call(&mut store, &instance, input, limits);
        let logs = store.data_mut().take_logs(limits);
        // A failed call may have left the instance mid-way: start afresh next time.
        if result.is_ok() {
            self.live = Some((store, instance));
        }
        evaluate::finish(input, result, logs, started)
    }
}
