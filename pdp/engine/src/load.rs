//! Loading a policy: size check, validation, import check, compilation (or a cached artifact),
//! and pre-instantiation, all before any request needs the policy.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};

use crate::bindings::PolicyPre;
use crate::error::LoadError;
use crate::host::State;

/// The policy world's own imports: `host` (the log function) and `types`, which carries only
/// type definitions.
const WORLD_INTERFACES: &[&str] = &["umagate:policy/host@0.2.0", "umagate:policy/types@0.2.0"];
/// WASI 0.2 packages a component may import; they are served by the sealed context of
/// `host.rs`. Anything else (`wasi:http`, custom interfaces) is refused.
const WASI_PACKAGES: &[&str] = &[
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
];
/// Compiled policies kept in memory.
const MEMORY_CACHE_ENTRIES: usize = 256;

/// A compiled, pre-instantiated policy. Cheap to clone.
#[derive(Clone)]
pub struct LoadedPolicy {
    pub(crate) inner: Arc<PolicyInner>,
}

pub(crate) struct PolicyInner {
    pub(crate) pre: PolicyPre<State>,
    pub(crate) info: PolicyInfo,
}

/// What `load` learned about a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    /// SHA-256 of the component bytes, hex.
    pub digest: String,
    /// Component size in bytes.
    pub size: usize,
    /// Imported interfaces, sorted.
    pub imports: Vec<String>,
    /// Whether it imports WASI (and so runs with the sealed WASI context).
    pub uses_wasi: bool,
    /// Time spent compiling, or deserializing the cached artifact.
    pub compile_time: Duration,
    /// Whether the compiled artifact came from the cache.
    pub cached: bool,
}

impl LoadedPolicy {
    /// What `load` learned about the policy.
    pub fn info(&self) -> &PolicyInfo {
        &self.inner.info
    }
}

impl std::fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LoadedPolicy")
            .field(&self.inner.info.digest)
            .finish()
    }
}

/// Compiled artifacts by component digest: in memory, and on disk when a directory is set.
pub(crate) struct ArtifactCache {
    dir: Option<PathBuf>,
    memory: Mutex<(HashMap<String, LoadedPolicy>, VecDeque<String>)>,
}

impl ArtifactCache {
    pub(crate) fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            memory: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn get(&self, digest: &str) -> Option<LoadedPolicy> {
        let guard = self.memory.lock().ok()?;
        guard.0.get(digest).cloned()
    }

    fn put(&self, policy: &LoadedPolicy) {
        let Ok(mut guard) = self.memory.lock() else {
            return;
        };
        let (map, order) = &mut *guard;
        let digest = policy.inner.info.digest.clone();
        if map.insert(digest.clone(), policy.clone()).is_none() {
            order.push_back(digest);
        }
        while order.len() > MEMORY_CACHE_ENTRIES {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
}

/// Loads `bytes` as a policy, using and filling the cache.
pub(crate) fn load(
    engine: &wasmtime::Engine,
    linker: &Linker<State>,
    cache: &ArtifactCache,
    max_bytes: usize,
    bytes: &[u8],
) -> Result<LoadedPolicy, LoadError> {
    if bytes.len() > max_bytes {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let digest = hex(&Sha256::digest(bytes));
    if let Some(hit) = cache.get(&digest) {
        return Ok(hit);
    }
    let started = Instant::now();
    let artifact = cache
        .dir
        .as_deref()
        .map(|d| artifact_path(d, engine, &digest));
    let (component, cached) = match artifact.as_deref().and_then(|p| read_artifact(engine, p)) {
        Some(component) => (component, true),
        None => {
            let component = compile(engine, bytes)?;
            if let Some(path) = &artifact {
                write_artifact(&component, path)?;
            }
            (component, false)
        }
    };
    let compile_time = started.elapsed();
    let (imports, uses_wasi) = check_imports(engine, &component)?;
    let pre = linker
        .instantiate_pre(&component)
        .and_then(PolicyPre::new)
        .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
    let policy = LoadedPolicy {
        inner: Arc::new(PolicyInner {
            pre,
            info: PolicyInfo {
                digest,
                size: bytes.len(),
                imports,
                uses_wasi,
                compile_time,
                cached,
            },
        }),
    };
    cache.put(&policy);
    Ok(policy)
}

/// The preamble of a core module (version 1), as opposed to a component (layer 1).
const CORE_MODULE_PREAMBLE: &[u8] = b"\0asm\x01\0\0\0";

fn compile(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    if bytes.starts_with(CORE_MODULE_PREAMBLE) {
        return Err(LoadError::Invalid(
            "this is a core module, not a component (wrap it with `wasm-tools component new`)"
                .into(),
        ));
    }
    // `Component::new` also accepts the component text format, which fixtures use.
    Component::new(engine, bytes).map_err(|e| {
        // Text-format errors continue with a source excerpt on further lines: keep one line.
        let message = format!("{e:#}")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        if message.contains("pooling allocator") {
            LoadError::ExceedsLimits(message)
        } else {
            LoadError::Invalid(message)
        }
    })
}

/// Lists imports; refuses anything but the host interface and sandboxed WASI 0.2.
fn check_imports(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<(Vec<String>, bool), LoadError> {
    let mut names = Vec::new();
    let mut uses_wasi = false;
    for (name, item) in component.component_type().imports(engine) {
        let is_instance = matches!(item.ty, ComponentItem::ComponentInstance(_));
        let wasi = is_instance
            && WASI_PACKAGES.iter().any(|p| name.starts_with(p))
            && name
                .rsplit_once('@')
                .is_some_and(|(_, v)| v.starts_with("0.2."));
        if !(wasi || (is_instance && WORLD_INTERFACES.contains(&name))) {
            return Err(LoadError::ForbiddenImport(name.to_string()));
        }
        uses_wasi |= wasi;
        names.push(name.to_string());
    }
    names.sort();
    Ok((names, uses_wasi))
}

fn artifact_path(dir: &Path, engine: &wasmtime::Engine, digest: &str) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
}

/// Reads an artifact this engine wrote. The file starts with the SHA-256 of the rest, so a
/// truncated or altered file is recompiled instead of deserialized.
fn read_artifact(engine: &wasmtime::Engine, path: &Path) -> Option<Component> {
    let data = fs::read(path).ok()?;
    let (stored, artifact) = data.split_at_checked(32)?;
    if Sha256::digest(artifact).as_slice() != stored {
        return None;
    }
    deserialize_own_artifact(engine, artifact)
}

#[expect(
    unsafe_code,
    reason = "deserializing skips validation; the bytes are an artifact this engine serialized \
              into its own cache directory, checked against the SHA-256 it wrote beside them"
)]
fn deserialize_own_artifact(engine: &wasmtime::Engine, artifact: &[u8]) -> Option<Component> {
    // SAFETY: see the reason above; the compatibility hash in the file name ties it to this
    // engine's configuration, and wasmtime re-checks version and configuration itself.
    unsafe { Component::deserialize(engine, artifact) }.ok()
}

fn write_artifact(component: &Component, path: &Path) -> Result<(), LoadError> {
    let artifact = component
        .serialize()
        .map_err(|e| LoadError::Cache(std::io::Error::other(format!("{e:#}"))))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut data = Sha256::digest(&artifact).to_vec();
    data.extend_from_slice(&artifact);
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, &data)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
