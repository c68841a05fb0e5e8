//! Signing keys: generated on first start, stored, rotated with overlap, published at
//! `jwks_uri`.
//!
//! The newest unretired key signs. Rotation adds a key and retires the others: a retired key
//! signs nothing more but stays in the published set until `expires_at`, which the caller sets
//! past the lifetime of anything it signed, so tokens issued before a rotation keep verifying.
//! Every key is pinned to ES256. Replicas reload the set from the store periodically.

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use umagate_proto::jwk::Jwks;
use umagate_proto::jws::{ES256, SigningKey};

use crate::store::{KeyRecord, Store, StoreError};

/// The keys in force.
struct KeySet {
    signer: Arc<SigningKey>,
    published: Jwks,
}

/// The AS's signing keys, shared by all requests.
pub struct KeyRing {
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// Loads the published keys, creating the first one if there is none that signs.
    pub async fn load_or_create(store: &Store, now: i64) -> Result<Self, StoreError> {
        let set = load(store, now).await?;
        let set = match set {
            Some(set) => set,
            None => {
                store.insert_key(&new_record(now)?).await?;
                load(store, now)
                    .await?
                    .ok_or_else(|| StoreError::new("the new signing key did not load"))?
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// Re-reads the keys (another replica may have rotated them).
    pub async fn reload(&self, store: &Store, now: i64) -> Result<(), StoreError> {
        if let Some(set) = load(store, now).await?
            && let Ok(mut current) = self.current.write()
        {
            *current = Arc::new(set);
        }
        Ok(())
    }

    /// Adds a new signing key and retires the others, which stay published until
    /// `now + overlap_secs`. Returns the new key id.
    pub async fn rotate(
        &self,
        store: &Store,
        now: i64,
        overlap_secs: i64,
    ) -> Result<String, StoreError> {
        let record = new_record(now)?;
        let old: Vec<KeyRecord> = store
            .published_keys(now)
            .await?
            .into_iter()
            .filter(|k| k.retired_at.is_none())
            .collect();
        store.insert_key(&record).await?;
        for key in old {
            store
                .retire_key(&key.kid, now, now.saturating_add(overlap_secs))
                .await?;
        }
        self.reload(store, now).await?;
        Ok(record.kid)
    }

    /// The key that signs now.
    pub fn signer(&self) -> Arc<SigningKey> {
        self.snapshot().signer.clone()
    }

    /// Every published public key.
    pub fn jwks(&self) -> Jwks {
        self.snapshot().published.clone()
    }

    fn snapshot(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

fn new_record(now: i64) -> Result<KeyRecord, StoreError> {
    let kid = crate::secrets::new_handle().map_err(|e| StoreError::new(e.to_string()))?;
    let kid: String = kid.chars().take(16).collect();
    let key = SigningKey::generate(kid.clone()).map_err(|e| StoreError::new(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| StoreError::new(e.to_string()))?;
    Ok(KeyRecord {
        kid,
        alg: ES256.into(),
        private_der: STANDARD.encode(der),
        created_at: now,
        retired_at: None,
        expires_at: None,
    })
}

/// The published keys and the newest signing one, or `None` if no key can sign.
async fn load(store: &Store, now: i64) -> Result<Option<KeySet>, StoreError> {
    let records = store.published_keys(now).await?;
    let mut keys = Vec::new();
    let mut signer = None;
    for record in records.iter().filter(|r| r.alg == ES256) {
        let der = STANDARD
            .decode(&record.private_der)
            .map_err(|e| StoreError::new(format!("key {}: {e}", record.kid)))?;
        let key = SigningKey::from_pkcs8_der(record.kid.clone(), &der)
            .map_err(|e| StoreError::new(format!("key {}: {e}", record.kid)))?;
        keys.push(key.public_jwk());
        if signer.is_none() && record.retired_at.is_none() {
            signer = Some(Arc::new(key));
        }
    }
    Ok(signer.map(|signer| KeySet {
        signer,
        published: Jwks { keys },
    }))
}
