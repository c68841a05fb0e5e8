//! Resource ids: (owner, type, name) → the `_id` registered at the AS.
//!
//! A resource is registered the first time a request names it, or declared in the
//! configuration. Registration is idempotent across restarts and replicas of the proxy: before
//! registering anything for an owner, the proxy lists that owner's resources at the AS once and
//! adopts those whose type and name match (updating their scopes if the configuration added
//! some). Registrations are serialized by one lock, so two concurrent first requests register
//! once. The cache is bounded ([`MAX_CACHED`]): templates with path variables let clients name
//! any number of resources, so when the bound is reached the cache is emptied (declared resources
//! stay) and every owner is listed again on its next miss — costly, but never a duplicate
//! registration and never unbounded memory.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use umagate_proto::resource::ResourceDescription;
use umagate_proto::scope::ScopeToken;

use crate::as_client::{AsClient, AsError};
use crate::config::DeclaredResource;
use crate::metrics::Metrics;

/// Most resource ids held before the cache is emptied.
pub const MAX_CACHED: usize = 100_000;

/// What identifies a resource for the proxy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// The owner's subject.
    pub owner: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource name.
    pub name: String,
}

/// The registry of resource ids.
pub struct Resources {
    ids: Mutex<HashMap<ResourceKey, String>>,
    declared: Mutex<HashMap<ResourceKey, String>>,
    listed: Mutex<HashSet<String>>,
    registering: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
}

fn keyed(declared: &[DeclaredResource]) -> HashMap<ResourceKey, String> {
    declared
        .iter()
        .map(|d| {
            let key = ResourceKey {
                owner: d.owner.clone(),
                resource_type: d.resource_type.clone(),
                name: d.name.clone(),
            };
            (key, d.id.clone())
        })
        .collect()
}

impl Resources {
    /// A registry seeded with the declared resources.
    pub fn new(declared: &[DeclaredResource], metrics: Arc<Metrics>) -> Self {
        let declared = keyed(declared);
        Self {
            ids: Mutex::new(declared.clone()),
            declared: Mutex::new(declared),
            listed: Mutex::new(HashSet::new()),
            registering: tokio::sync::Mutex::new(()),
            metrics,
        }
    }

    /// Adds resources declared in a reloaded configuration.
    pub fn declare(&self, declared: &[DeclaredResource]) {
        let declared = keyed(declared);
        if let Ok(mut ids) = self.ids.lock() {
            ids.extend(declared.clone());
        }
        if let Ok(mut slot) = self.declared.lock() {
            *slot = declared;
        }
    }

    /// Drops a cached id the AS no longer knows (a declared one too: the AS is the authority).
    pub fn forget(&self, key: &ResourceKey) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.remove(key);
        }
        if let Ok(mut declared) = self.declared.lock() {
            declared.remove(key);
        }
    }

    fn cached(&self, key: &ResourceKey) -> Option<String> {
        self.ids.lock().ok()?.get(key).cloned()
    }

    /// Caches an id (a registered one replaces, an adopted one does not), within the bound.
    fn remember(&self, key: ResourceKey, id: String, replace: bool) {
        let Ok(mut ids) = self.ids.lock() else {
            return;
        };
        if ids.len() >= MAX_CACHED {
            ids.clear();
            ids.extend(self.declared.lock().map(|d| d.clone()).unwrap_or_default());
            if let Ok(mut listed) = self.listed.lock() {
                listed.clear();
            }
            tracing::warn!(bound = MAX_CACHED, "resource id cache full: emptied");
        }
        if replace {
            ids.insert(key, id);
        } else {
            ids.entry(key).or_insert(id);
        }
    }

    /// The id of the resource, registering it (with `scopes`) if the AS does not know it.
    pub async fn resolve(
        &self,
        as_client: &AsClient,
        now: i64,
        key: &ResourceKey,
        scopes: &[ScopeToken],
    ) -> Result<String, AsError> {
        if let Some(id) = self.cached(key) {
            return Ok(id);
        }
        let _guard = self.registering.lock().await;
        if let Some(id) = self.cached(key) {
            return Ok(id);
        }
        let description = ResourceDescription {
            id: None,
            resource_scopes: scopes.to_vec(),
            description: None,
            icon_uri: None,
            name: Some(key.name.clone()),
            resource_type: Some(key.resource_type.clone()),
            localized: Default::default(),
            user_access_policy_uri: None,
        };
        let first_time = self
            .listed
            .lock()
            .map(|l| !l.contains(&key.owner))
            .unwrap_or(true);
        if first_time {
            self.adopt(as_client, now, &key.owner, &description).await?;
            if let Ok(mut listed) = self.listed.lock() {
                listed.insert(key.owner.clone());
            }
            if let Some(id) = self.cached(key) {
                return Ok(id);
            }
        }
        let id = as_client.register(now, &key.owner, &description).await?;
        Metrics::inc(&self.metrics.resources_registered);
        tracing::info!(resource = %id, resource_type = %key.resource_type, "resource registered");
        self.remember(key.clone(), id.clone(), true);
        Ok(id)
    }

    /// Adopts the owner's already registered resources; extends their scopes where the
    /// configuration needs more than is registered for the one being resolved.
    async fn adopt(
        &self,
        as_client: &AsClient,
        now: i64,
        owner: &str,
        wanted: &ResourceDescription,
    ) -> Result<(), AsError> {
        for id in as_client.list(now, owner).await? {
            let found = as_client.read(now, owner, &id).await?;
            let (Some(name), Some(resource_type)) =
                (found.name.clone(), found.resource_type.clone())
            else {
                continue;
            };
            let same = Some(&name) == wanted.name.as_ref()
                && Some(&resource_type) == wanted.resource_type.as_ref();
            if same
                && wanted
                    .resource_scopes
                    .iter()
                    .any(|s| !found.has_scope(s.as_str()))
            {
                let mut merged = found.clone();
                merged.id = None;
                for s in &wanted.resource_scopes {
                    if !merged.has_scope(s.as_str()) {
                        merged.resource_scopes.push(s.clone());
                    }
                }
                as_client.update(now, owner, &id, &merged).await?;
            }
            let key = ResourceKey {
                owner: owner.to_string(),
                resource_type,
                name,
            };
            self.remember(key, id, false);
        }
        Ok(())
    }
}
