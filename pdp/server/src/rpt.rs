//! Requesting party tokens (Grant §1.3, §3.3.5): JWTs signed by the AS with its current ES256
//! key (`kid` in the header), carrying `iss`, `sub` (the requesting party), `aud` (the resource
//! server's client id), `azp` (the client), `exp`, `iat`, `jti` and the granted `permissions`.
//!
//! Only the `jti` is stored, with the RPT's bindings (client, requesting party, resource server,
//! owner) and its revocation time: an RPT verifies only if its signature checks against the
//! published keys, its `iss` is this AS, it has not expired, and its record exists, agrees with
//! the claims and is not revoked. Introspection (FedAuthz §5) then lists only the permissions
//! whose resources are still registered (D-RESOURCE-DELETE).

use umagate_proto::claims::{Audience, RptClaims};
use umagate_proto::jws::{self, JwsError};
use umagate_proto::permission::Permission;

use crate::http::AppState;
use crate::secrets;
use crate::store::{RptRecord, Store, StoreError};

/// What an RPT is issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minted {
    /// The client the RPT is issued to (`azp`).
    pub client_id: String,
    /// The requesting party (`sub`).
    pub subject: String,
    /// The resource server the RPT is for (`aud`).
    pub rs_client_id: String,
    /// The owner of the resources the permissions name.
    pub owner: String,
    /// The granted permissions.
    pub permissions: Vec<Permission>,
    /// Seconds until the RPT expires.
    pub lifetime_secs: i64,
}

/// Why an RPT could not be issued or looked up.
#[derive(Debug, thiserror::Error)]
pub enum RptError {
    /// Signing failed.
    #[error("signing the RPT: {0}")]
    Sign(#[from] JwsError),
    /// The random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The permissions could not be written as JSON.
    #[error("permissions: {0}")]
    Json(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues an RPT at `now`: signs its claims with the current key and stores its record.
/// Returns the JWT (never stored) and the record.
pub async fn mint(
    state: &AppState,
    minted: Minted,
    now: i64,
) -> Result<(String, RptRecord), RptError> {
    let (token, record) = sign(state, minted, now)?;
    state.store.insert_rpt(&record, now).await?;
    Ok((token, record))
}

/// Signs an RPT and builds its record without storing it: the caller stores the record (with
/// [`crate::store::Store::record_grant`]) before handing the token out.
pub fn sign(state: &AppState, minted: Minted, now: i64) -> Result<(String, RptRecord), RptError> {
    let jti = secrets::new_id().map_err(|e| RptError::Random(e.to_string()))?;
    let expires_at = now.saturating_add(minted.lifetime_secs.max(0));
    let permissions =
        serde_json::to_string(&minted.permissions).map_err(|e| RptError::Json(e.to_string()))?;
    let claims = RptClaims {
        iss: state.issuer.clone(),
        sub: minted.subject.clone(),
        aud: Audience::One(minted.rs_client_id.clone()),
        azp: minted.client_id.clone(),
        exp: expires_at,
        iat: now,
        nbf: None,
        jti: jti.clone(),
        permissions: minted.permissions,
    };
    let token = state.keys.signer().sign("JWT", &claims)?;
    let record = RptRecord {
        jti,
        client_id: minted.client_id,
        subject: minted.subject,
        rs_client_id: minted.rs_client_id,
        owner: minted.owner,
        permissions,
        issued_at: now,
        expires_at,
        revoked_at: None,
    };
    Ok((token, record))
}

/// Whether `token` can be an RPT at all: a compact JWS has two dots, the AS's opaque handles
/// (base64url) have none.
pub fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|&b| b == b'.').count() == 2
}

/// The claims and record of `token` if it is an RPT issued by this AS that is in force at `now`:
/// signature valid against the published keys, `iss` this AS, not expired, not before its `nbf`,
/// its record present, agreeing with the claims, and not revoked. `Ok(None)` for anything else.
pub async fn verify(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Option<(RptClaims, RptRecord)>, StoreError> {
    let Some((claims, record)) = issued(state, token).await? else {
        return Ok(None);
    };
    let in_force = claims.exp > now
        && claims.nbf.is_none_or(|nbf| nbf <= now)
        && record.revoked_at.is_none()
        && record.expires_at > now;
    Ok(in_force.then_some((claims, record)))
}

/// The claims and record of `token` if this AS issued it (signature, `iss` and record checked;
/// neither expiry nor revocation).
async fn issued(
    state: &AppState,
    token: &str,
) -> Result<Option<(RptClaims, RptRecord)>, StoreError> {
    if !looks_like_jwt(token) {
        return Ok(None);
    }
    let Ok(claims) = jws::verify::<RptClaims>(token, &state.keys.jwks()) else {
        return Ok(None);
    };
    if claims.iss != state.issuer {
        return Ok(None);
    }
    let Some(record) = state.store.rpt(&claims.jti).await? else {
        return Ok(None);
    };
    let agrees = record.client_id == claims.azp
        && record.subject == claims.sub
        && claims.aud.values() == std::slice::from_ref(&record.rs_client_id);
    Ok(agrees.then_some((claims, record)))
}

/// Revokes `token` if it is an RPT this AS issued to `client_id` (expired or not); `Ok(false)`
/// for anything else, which the revocation endpoint answers with the same 200 (RFC 7009 §2.2,
/// D-REVOKE-FOREIGN).
pub async fn revoke(
    state: &AppState,
    token: &str,
    client_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    match issued(state, token).await? {
        Some((claims, _)) => state.store.revoke_rpt(&claims.jti, client_id, now).await,
        None => Ok(false),
    }
}

/// The permissions of an RPT still to report at `now`: those whose resource is still registered
/// by the RPT's resource server for its owner (D-RESOURCE-DELETE) and whose own `exp` has not
/// passed (FedAuthz §5.1.1: the earlier of the token's and the permission's `exp` wins), with
/// only the scopes its record still holds (a revoked share removes them at once).
pub async fn live_permissions(
    store: &Store,
    claims: &RptClaims,
    record: &RptRecord,
    now: i64,
) -> Result<Vec<Permission>, StoreError> {
    // The record is what still holds: a revoked share narrows it, never the signed claims.
    let recorded: Vec<Permission> = serde_json::from_str(&record.permissions)
        .map_err(|e| StoreError::new(format!("RPT record {}: {e}", record.jti)))?;
    let mut live = Vec::with_capacity(claims.permissions.len());
    // The record lists the same permissions in the same order, only ever narrowed.
    for (i, permission) in claims.permissions.iter().enumerate() {
        if permission.exp.is_some_and(|exp| exp <= now) {
            continue;
        }
        let Some(still) = recorded
            .get(i)
            .filter(|r| r.resource_id == permission.resource_id)
        else {
            continue;
        };
        let was_scoped = !permission.resource_scopes.is_empty();
        let mut permission = permission.clone();
        permission
            .resource_scopes
            .retain(|s| still.resource_scopes.contains(s));
        if was_scoped && permission.resource_scopes.is_empty() {
            continue;
        }
        if store
            .resource(&record.rs_client_id, &record.owner, &permission.resource_id)
            .await?
            .is_some()
        {
            live.push(permission);
        }
    }
    Ok(live)
}
