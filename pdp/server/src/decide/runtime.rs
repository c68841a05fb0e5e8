//! The policy engine as the AS uses it: built on first use (most deployments, and most tests,
//! never evaluate a component), with the compiled policies it has loaded kept in memory by
//! (policy, version) so no request compiles anything after the first.
//!
//! Loading and evaluating block a thread for milliseconds; the async callers go through
//! `spawn_blocking`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use umagate_core::policy::PolicyInput;
use umagate_engine::{Evaluation, Failure, Limits, LoadedPolicy, PolicyEngine};

use crate::config::PoliciesConfig;
use crate::store::{Store, StoreError};

/// Loaded policies kept in memory; past this the cache is emptied and refilled on demand.
const MAX_LOADED: usize = 512;

/// The engine and the policies it has loaded.
pub struct PolicyRuntime {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    engine: OnceLock<Result<PolicyEngine, String>>,
    loaded: Mutex<HashMap<(String, i64), LoadedPolicy>>,
}

impl PolicyRuntime {
    /// A runtime with the configured limits, caching compiled artifacts in `cache_dir`.
    pub fn new(config: &PoliciesConfig, cache_dir: Option<PathBuf>) -> Self {
        let limits = Limits {
            timeout: Duration::from_millis(config.timeout_ms),
            memory_bytes: config.memory_bytes,
            max_concurrent: config.max_concurrent.max(1),
            max_component_bytes: config.max_component_bytes,
            ..Limits::default()
        };
        Self {
            limits,
            cache_dir,
            engine: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    fn engine(&self) -> Result<&PolicyEngine, String> {
        self.engine
            .get_or_init(|| {
                let built = match &self.cache_dir {
                    Some(dir) => PolicyEngine::with_cache_dir(self.limits.clone(), dir.clone()),
                    None => PolicyEngine::new(self.limits.clone()),
                };
                built.map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Validates and compiles a component (blocking): what an upload must pass.
    pub fn check(&self, bytes: &[u8]) -> Result<LoadedPolicy, String> {
        self.engine()?.load(bytes).map_err(|e| e.to_string())
    }

    /// Evaluates `input` with the owner's policy version in a fresh instance. Never fails: a
    /// missing component, a compile error or any abnormal end is a deny of every scope.
    pub async fn evaluate(
        self: &Arc<Self>,
        store: &Store,
        owner: &str,
        policy: &(String, i64),
        input: PolicyInput,
    ) -> Result<Evaluation, StoreError> {
        let cached = self.loaded_policy(policy);
        let component = match cached {
            Some(_) => None,
            None => store.policy_component(owner, &policy.0, policy.1).await?,
        };
        let this = self.clone();
        let key = policy.clone();
        let evaluation = tokio::task::spawn_blocking(move || {
            let loaded = match cached {
                Some(loaded) => loaded,
                None => match this.load_stored(&key, component) {
                    Ok(loaded) => loaded,
                    Err(reason) => return failed(&input, reason),
                },
            };
            match this.engine() {
                Ok(engine) => engine.evaluate(&loaded, &input),
                Err(reason) => failed(&input, reason),
            }
        })
        .await
        .map_err(|e| StoreError::new(format!("policy evaluation task: {e}")))?;
        Ok(evaluation)
    }

    /// Keeps a policy just checked at upload, so its first evaluation compiles nothing.
    pub fn remember(&self, key: (String, i64), loaded: LoadedPolicy) {
        if let Ok(mut map) = self.loaded.lock() {
            if map.len() >= MAX_LOADED {
                map.clear();
            }
            map.insert(key, loaded);
        }
    }

    fn loaded_policy(&self, key: &(String, i64)) -> Option<LoadedPolicy> {
        self.loaded.lock().ok()?.get(key).cloned()
    }

    fn load_stored(
        &self,
        key: &(String, i64),
        component: Option<(String, String)>,
    ) -> Result<LoadedPolicy, String> {
        let (_, encoded) = component.ok_or("the bound policy version no longer exists")?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| format!("stored component is corrupt: {e}"))?;
        let loaded = self.check(&bytes)?;
        self.remember(key.clone(), loaded.clone());
        Ok(loaded)
    }
}

/// A deny of every scope of `input`, as the engine reports its own failures.
fn failed(input: &PolicyInput, reason: String) -> Evaluation {
    Evaluation {
        decision: umagate_core::policy::Decision::deny_all(input, reason.clone()),
        failure: Some(Failure::Instantiate(reason)),
        logs: Vec::new(),
        logs_dropped: 0,
        elapsed: Duration::ZERO,
    }
}
