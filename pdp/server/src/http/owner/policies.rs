//! Policies: upload a component (validated and compiled at upload, never on the request path;
//! size and count limits per owner), keep its versions, bind a version — or "ask me" — to one
//! resource, a resource type or all the owner's resources, unbind, and dry-run a request.

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode, Uri};
use umagate_core::policy::{Context, Party, PolicyInput};
use umagate_proto::owner::{Binding, BindingRequest, BindingTarget, DryRun, PolicyVersion};

use super::{Owner, body, invalid_request, not_found, owned, query, reply};
use crate::http::error::{ApiError, no_store};
use crate::http::{State, now};
use crate::secrets;
use crate::store::{BindingRecord, PolicyInsert, PolicyQuota, target};

/// `GET /owner/policies`: each policy with its latest version.
pub(super) async fn list(
    Extract(state): Extract<State>,
    owner: Owner,
) -> Result<Response, ApiError> {
    let policies = state.store.policies(&owner.subject).await?;
    let out: Vec<serde_json::Value> = policies
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "policy_id": p.id, "name": p.name, "latest": p.latest, "created_at": p.created_at
            })
        })
        .collect();
    reply(StatusCode::OK, &out)
}

/// `POST /owner/policies?name=<name>` with the component as `application/wasm` → 201 with the
/// new version. The component must load (world, imports, limits) before anything is stored.
pub(super) async fn upload(
    Extract(state): Extract<State>,
    owner: Owner,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let now = now();
    let q = query(&uri)?;
    let name = q.require("name")?.to_string();
    let valid_name = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid_name {
        return Err(invalid_request(
            "name: 1 to 64 characters of A-Z a-z 0-9 . _ -",
        ));
    }
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !media.eq_ignore_ascii_case("application/wasm") {
        return Err(invalid_request("Content-Type must be application/wasm"));
    }
    let pdp = state.pdp.clone();
    let component = bytes.clone();
    let loaded = tokio::task::spawn_blocking(move || pdp.check(&component))
        .await
        .map_err(|e| ApiError::Internal(format!("policy check task: {e}")))?
        .map_err(|e| invalid_request(format!("the component was refused: {e}")))?;
    let info = loaded.info().clone();
    let new_id = secrets::new_id().map_err(|e| ApiError::Internal(e.to_string()))?;
    let quota = PolicyQuota {
        policies: state.config.policies.max_per_owner,
        versions: state.config.policies.max_versions,
    };
    let stored = state
        .store
        .insert_policy_version(
            &owner.subject,
            &name,
            &new_id,
            &info.digest,
            &STANDARD.encode(&bytes),
            i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            quota,
            now,
        )
        .await?;
    let (policy_id, version) = match stored {
        PolicyInsert::Stored { policy_id, version } => (policy_id, version),
        PolicyInsert::OverQuota(why) => return Err(invalid_request(why)),
    };
    state.pdp.remember((policy_id.clone(), version), loaded);
    tracing::info!(target: "audit", owner = %owner.subject, policy = %policy_id, version, digest = %info.digest, "policy uploaded");
    let body = serde_json::json!({
        "policy": PolicyVersion {
            policy_id, name, version, digest: info.digest,
            size: i64::try_from(info.size).unwrap_or(i64::MAX), created_at: now,
        },
        "imports": info.imports,
        "uses_wasi": info.uses_wasi,
        "compile_ms": info.compile_time.as_secs_f64() * 1000.0,
    });
    reply(StatusCode::CREATED, &body)
}

/// `GET /owner/policies/{id}/versions`.
pub(super) async fn versions(
    Extract(state): Extract<State>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let name = policy_name(&state, &owner, &id).await?;
    let versions = state.store.policy_versions(&owner.subject, &id).await?;
    let out: Vec<PolicyVersion> = versions
        .into_iter()
        .map(|v| PolicyVersion {
            policy_id: v.policy_id,
            name: name.clone(),
            version: v.version,
            digest: v.digest,
            size: v.size,
            created_at: v.created_at,
        })
        .collect();
    reply(StatusCode::OK, &out)
}

/// The name of the owner's policy `id`, or 404.
async fn policy_name(state: &State, owner: &Owner, id: &str) -> Result<String, ApiError> {
    state
        .store
        .policies(&owner.subject)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.name)
        .ok_or_else(|| not_found("policy"))
}

/// The stored (kind, target) of a binding target the owner may bind: their own resource, any
/// type, or everything.
async fn target_of(
    state: &State,
    owner: &Owner,
    t: &BindingTarget,
) -> Result<(&'static str, String), ApiError> {
    match (&t.resource_id, &t.resource_type, t.all) {
        (Some(id), None, false) => {
            owned(state, owner, id).await?;
            Ok((target::RESOURCE, id.clone()))
        }
        (None, Some(ty), false) if !ty.is_empty() && ty.len() <= 512 => {
            Ok((target::TYPE, ty.clone()))
        }
        (None, None, true) => Ok((target::ALL, String::new())),
        _ => Err(invalid_request(
            "target: exactly one of resource_id, resource_type, all",
        )),
    }
}

/// `PUT /owner/bindings`: binds a target to a policy version (default: the latest) or to
/// "ask me", replacing the target's previous binding.
pub(super) async fn bind(
    Extract(state): Extract<State>,
    owner: Owner,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let request: BindingRequest = body(&headers, &bytes)?;
    let (kind, target) = target_of(&state, &owner, &request.target).await?;
    let policy = match (request.policy_id, request.ask_owner) {
        (Some(id), false) => {
            let versions = state.store.policy_versions(&owner.subject, &id).await?;
            let version = match request.version {
                Some(v) if versions.iter().any(|x| x.version == v) => v,
                Some(_) => return Err(not_found("policy version")),
                None => versions
                    .last()
                    .map(|v| v.version)
                    .ok_or_else(|| not_found("policy"))?,
            };
            Some((id, version))
        }
        (None, true) if request.version.is_none() => None,
        _ => return Err(invalid_request("exactly one of policy_id and ask_owner")),
    };
    let record = BindingRecord {
        owner: owner.subject.clone(),
        target_kind: kind.into(),
        target,
        policy,
        created_at: now(),
    };
    state.store.bind(&record).await?;
    tracing::info!(target: "audit", owner = %owner.subject, kind, "policy bound");
    reply(StatusCode::OK, &wire(record))
}

fn wire(b: BindingRecord) -> Binding {
    let target = BindingTarget {
        resource_id: (b.target_kind == target::RESOURCE).then(|| b.target.clone()),
        resource_type: (b.target_kind == target::TYPE).then(|| b.target.clone()),
        all: b.target_kind == target::ALL,
    };
    Binding {
        target,
        ask_owner: b.policy.is_none(),
        policy_id: b.policy.as_ref().map(|p| p.0.clone()),
        version: b.policy.map(|p| p.1),
    }
}

/// `GET /owner/bindings`.
pub(super) async fn bindings(
    Extract(state): Extract<State>,
    owner: Owner,
) -> Result<Response, ApiError> {
    let out: Vec<Binding> = state
        .store
        .bindings(&owner.subject)
        .await?
        .into_iter()
        .map(wire)
        .collect();
    reply(StatusCode::OK, &out)
}

/// `DELETE /owner/bindings?resource_id=…` (or `resource_type=…`, or `all=true`) → 204.
pub(super) async fn unbind(
    Extract(state): Extract<State>,
    owner: Owner,
    uri: Uri,
) -> Result<Response, ApiError> {
    let q = query(&uri)?;
    let t = BindingTarget {
        resource_id: q.get("resource_id").map(str::to_string),
        resource_type: q.get("resource_type").map(str::to_string),
        all: q.get("all") == Some("true"),
    };
    let (kind, target) = match (&t.resource_id, &t.resource_type, t.all) {
        (Some(id), None, false) => (target::RESOURCE, id.clone()),
        _ => target_of(&state, &owner, &t).await?,
    };
    if !state.store.unbind(&owner.subject, kind, &target).await? {
        return Err(not_found("binding"));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}

/// `POST /owner/policies/{id}/versions/{version}/dry-run`: what the version would decide for
/// a request on one of the owner's resources, under the production limits. Nothing is stored.
pub(super) async fn dry_run(
    Extract(state): Extract<State>,
    owner: Owner,
    Path((id, version)): Path<(String, i64)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let request: DryRun = body(&headers, &bytes)?;
    let versions = state.store.policy_versions(&owner.subject, &id).await?;
    if !versions.iter().any(|v| v.version == version) {
        return Err(not_found("policy version"));
    }
    let (record, description) = owned(&state, &owner, &request.resource_id).await?;
    let input = PolicyInput {
        resource: crate::decide::resource_facts(&state, &record, &description).await?,
        scopes: request.scopes,
        party: Party {
            subject: request.subject,
            issuer: Some(state.issuer.clone()),
            claims: request.claims.into_iter().collect(),
        },
        context: Context {
            now: now(),
            auth_time: None,
            client_id: request.client_id.unwrap_or_default(),
        },
    };
    let evaluation = state
        .pdp
        .evaluate(&state.store, &owner.subject, &(id, version), input)
        .await?;
    let body = serde_json::json!({
        "scopes": evaluation.decision.scopes,
        "explanation": evaluation.decision.explanation,
        "failure": evaluation.failure.map(|f| f.to_string()),
        "logs": evaluation.logs.iter().map(|l| serde_json::json!({"level": l.level, "message": l.message})).collect::<Vec<_>>(),
        "elapsed_us": evaluation.elapsed.as_micros(),
    });
    reply(StatusCode::OK, &body)
}
