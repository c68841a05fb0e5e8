//! `/admin/clients`: registered clients, including trusted resource servers (which dynamic
//! registration never creates).

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use umagate_proto::registration::ClientMetadata;
use umagate_proto::{ErrorCode, Secret};

use super::auth::Admin;
use super::{AdminError, blocking, json_body, not_found, to_json};
use crate::http::error::{ApiError, json, no_store};
use crate::http::{State, now};
use crate::store::ClientRecord;

/// `POST /admin/clients` body: RFC 7591 metadata (unknown members ignored, RFC 7591 §2), plus
/// an optional id and the resource-server flag.
#[derive(Deserialize)]
struct NewClient {
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    resource_server: bool,
    #[serde(flatten)]
    metadata: ClientMetadata,
}

/// A client as the admin API shows it: never the secret hash; the secret itself only in the
/// creation response.
#[derive(Serialize)]
struct ClientView<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
    resource_server: bool,
    created_at: i64,
    #[serde(flatten)]
    metadata: &'a ClientMetadata,
}

impl<'a> ClientView<'a> {
    fn new(c: &'a ClientRecord, secret: Option<&'a Secret>) -> Self {
        Self {
            client_id: &c.client_id,
            client_secret: secret,
            client_secret_expires_at: secret.map(|_| 0),
            resource_server: c.resource_server,
            created_at: c.created_at,
            metadata: &c.metadata,
        }
    }
}

/// `GET /admin/clients`.
#[tracing::instrument(name = "pdp.admin.clients.list", skip_all)]
pub(super) async fn list(_: Admin, Extract(state): Extract<State>) -> Result<Response, ApiError> {
    let clients = state.store.clients().await?;
    let clients: Vec<ClientView<'_>> = clients.iter().map(|c| ClientView::new(c, None)).collect();
    Ok(json(
        StatusCode::OK,
        to_json(&serde_json::json!({ "clients": clients }))?,
    ))
}

/// `POST /admin/clients`.
#[tracing::instrument(name = "pdp.admin.clients.create", skip_all)]
pub(super) async fn create(
    _: Admin,
    Extract(state): Extract<State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let now = now();
    let new: NewClient = json_body(&headers, &body, ErrorCode::InvalidClientMetadata)?;
    let (client, secret) = blocking(move || {
        ClientRecord::create(new.client_id, new.metadata, new.resource_server, now)
    })
    .await??;
    if !state.store.insert_client(&client).await? {
        return Err(AdminError::Conflict(format!(
            "client `{}` exists",
            client.client_id
        )));
    }
    tracing::info!(
        target: "audit",
        client_id = %client.client_id,
        resource_server = client.resource_server,
        "admin created client"
    );
    Ok(json(
        StatusCode::CREATED,
        to_json(&ClientView::new(&client, secret.as_ref()))?,
    ))
}

/// `DELETE /admin/clients/{client_id}`: the client and its tokens (revoked).
#[tracing::instrument(name = "pdp.admin.clients.delete", skip_all)]
pub(super) async fn remove(
    _: Admin,
    Extract(state): Extract<State>,
    Path(client_id): Path<String>,
) -> Result<Response, AdminError> {
    if !state.store.delete_client(&client_id, now()).await? {
        return Err(not_found("client"));
    }
    tracing::info!(target: "audit", %client_id, "admin deleted client");
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}
