//! The admin API under `/admin`: users, clients and signing keys, as JSON.
//!
//! Every route requires `Authorization: Bearer <admin token>`, whose SHA-256 must equal
//! `admin.token_sha256`; without that setting every route answers `404 not_found`, exactly like
//! a path that does not exist. Password and secret hashes and private keys never leave the
//! store; a confidential client's new secret is in the creation response only.
//!
//! | Route                          | Success                                   |
//! |--------------------------------|-------------------------------------------|
//! | `GET /admin/users`             | 200 `{"users":[…]}`                       |
//! | `POST /admin/users`            | 201 the user (409 if the username exists) |
//! | `DELETE /admin/users/{sub}`    | 204, tokens revoked (404 if unknown)      |
//! | `GET /admin/clients`           | 200 `{"clients":[…]}`                     |
//! | `POST /admin/clients`          | 201 the client (+ secret, once)           |
//! | `DELETE /admin/clients/{id}`   | 204, tokens revoked (404 if unknown)      |
//! | `GET /admin/keys`              | 200 `{"keys":[…]}` (published keys)       |
//! | `POST /admin/keys/rotate`      | 201 `{"kid":…}`                           |

pub(super) mod auth;
mod clients;
mod keys;
#[cfg(test)]
mod tests;
mod users;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::State;
use super::error::ApiError;
use crate::store::StoreError;

/// The admin API, nested at `/admin`.
pub fn router() -> Router<State> {
    Router::new()
        .route("/users", get(users::list).post(users::create))
        .route("/users/{subject}", delete(users::remove))
        .route("/clients", get(clients::list).post(clients::create))
        .route("/clients/{client_id}", delete(clients::remove))
        .route("/keys", get(keys::list))
        .route("/keys/rotate", post(keys::rotate))
}

/// What an admin handler fails with: an [`ApiError`], or a conflict with an existing record
/// (`409`, body `invalid_request`; no RFC defines a code for it).
#[derive(Debug)]
enum AdminError {
    Api(ApiError),
    Conflict(String),
}

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<ErrorResponse> for AdminError {
    fn from(e: ErrorResponse) -> Self {
        Self::Api(e.into())
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            Self::Api(e) => e.into_response(),
            Self::Conflict(message) => {
                let mut response =
                    ApiError::new(ErrorCode::InvalidRequest, message).into_response();
                *response.status_mut() = StatusCode::CONFLICT;
                response
            }
        }
    }
}

/// `404 not_found` for an unknown user or client.
fn not_found(what: &str) -> AdminError {
    AdminError::Api(ApiError::new(
        ErrorCode::NotFound,
        format!("no such {what}"),
    ))
}

/// A JSON object body (strict: duplicate members refused). A missing or other `Content-Type`
/// and unparsable JSON are `code` (D-CT: 400, never 415).
fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    code: ErrorCode,
) -> Result<T, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::new(code, "Content-Type must be application/json"));
    }
    umagate_proto::json::object_from_slice(body)
        .map_err(|e| ApiError::Protocol(ErrorResponse::new(code, e.to_string())))
}

/// Whether the request says its body is `application/json` (parameters allowed).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// A JSON response body.
fn to_json(value: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Runs CPU-heavy work (argon2id) off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task: {e}")))
}
