//! `/admin/users`: local accounts.

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use umagate_proto::ErrorCode;

use super::auth::Admin;
use super::{AdminError, blocking, json_body, not_found, to_json};
use crate::http::error::{ApiError, json, no_store};
use crate::http::{State, now};
use crate::store::UserRecord;

/// `POST /admin/users` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

/// A user as the admin API shows it: never the password hash.
#[derive(Serialize)]
struct UserView<'a> {
    subject: &'a str,
    username: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    email_verified: bool,
    created_at: i64,
}

impl<'a> From<&'a UserRecord> for UserView<'a> {
    fn from(u: &'a UserRecord) -> Self {
        Self {
            subject: &u.subject,
            username: &u.username,
            email: u.email.as_deref(),
            email_verified: u.email_verified,
            created_at: u.created_at,
        }
    }
}

/// `GET /admin/users`.
#[tracing::instrument(name = "pdp.admin.users.list", skip_all)]
pub(super) async fn list(_: Admin, Extract(state): Extract<State>) -> Result<Response, ApiError> {
    let users = state.store.users().await?;
    let users: Vec<UserView<'_>> = users.iter().map(UserView::from).collect();
    Ok(json(
        StatusCode::OK,
        to_json(&serde_json::json!({ "users": users }))?,
    ))
}

/// `POST /admin/users`.
#[tracing::instrument(name = "pdp.admin.users.create", skip_all)]
pub(super) async fn create(
    _: Admin,
    Extract(state): Extract<State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AdminError> {
    let now = now();
    let new: NewUser = json_body(&headers, &body, ErrorCode::InvalidRequest)?;
    let user = blocking(move || {
        UserRecord::create(
            &new.username,
            &new.password,
            new.email,
            new.email_verified,
            now,
        )
    })
    .await??;
    if !state.store.insert_user(&user).await? {
        return Err(AdminError::Conflict(format!(
            "username `{}` is taken",
            user.username
        )));
    }
    tracing::info!(target: "audit", subject = %user.subject, username = %user.username, "admin created user");
    Ok(json(StatusCode::CREATED, to_json(&UserView::from(&user))?))
}

/// `DELETE /admin/users/{subject}`: the user, their sessions, and their tokens (revoked).
#[tracing::instrument(name = "pdp.admin.users.delete", skip_all)]
pub(super) async fn remove(
    _: Admin,
    Extract(state): Extract<State>,
    Path(subject): Path<String>,
) -> Result<Response, AdminError> {
    if !state.store.delete_user(&subject, now()).await? {
        return Err(not_found("user"));
    }
    tracing::info!(target: "audit", %subject, "admin deleted user");
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}
