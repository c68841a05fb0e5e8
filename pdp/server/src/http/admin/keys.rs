//! `/admin/keys`: the published signing keys and their rotation (see [`crate::keys`]).

use axum::extract::State as Extract;
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;

use super::auth::Admin;
use super::to_json;
use crate::http::error::{ApiError, json};
use crate::http::{State, now};
use crate::store::KeyRecord;

/// A published key: never the private key.
#[derive(Serialize)]
struct KeyView<'a> {
    kid: &'a str,
    alg: &'a str,
    /// `signing` (the newest unretired key), `retired` (published until `expires_at`), or
    /// `standby` (unretired but not the newest).
    status: &'static str,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// The status of each key of a newest-first list, as [`crate::keys`] picks the signer.
fn status(keys: &[KeyRecord], key: &KeyRecord) -> &'static str {
    let signer = keys
        .iter()
        .find(|k| k.retired_at.is_none() && k.alg == umagate_proto::jws::ES256);
    match (signer, key.retired_at) {
        (_, Some(_)) => "retired",
        (Some(s), None) if s.kid == key.kid => "signing",
        _ => "standby",
    }
}

/// `GET /admin/keys`: every key still published, newest first.
#[tracing::instrument(name = "pdp.admin.keys.list", skip_all)]
pub(super) async fn list(_: Admin, Extract(state): Extract<State>) -> Result<Response, ApiError> {
    let records = state.store.published_keys(now()).await?;
    let keys: Vec<KeyView<'_>> = records
        .iter()
        .map(|k| KeyView {
            kid: &k.kid,
            alg: &k.alg,
            status: status(&records, k),
            created_at: k.created_at,
            retired_at: k.retired_at,
            expires_at: k.expires_at,
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        to_json(&serde_json::json!({ "keys": keys }))?,
    ))
}

/// `POST /admin/keys/rotate`: a new signing key; the others are retired and stay published for
/// `keys.rotation_overlap_secs`. Other replicas pick the change up on their next reload.
#[tracing::instrument(name = "pdp.admin.keys.rotate", skip_all)]
pub(super) async fn rotate(_: Admin, Extract(state): Extract<State>) -> Result<Response, ApiError> {
    let now = now();
    let kid = state
        .keys
        .rotate(&state.store, now, state.config.keys.rotation_overlap_secs)
        .await?;
    tracing::info!(target: "audit", %kid, "admin rotated signing keys");
    Ok(json(
        StatusCode::CREATED,
        to_json(&serde_json::json!({ "kid": kid }))?,
    ))
}
