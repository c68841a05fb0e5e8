//! `action=login`: check the password, start a session, show the consent page.
//!
//! An unknown user costs the same argon2id verification as a wrong password (against the decoy
//! hash) and gets the same answer. Failures are throttled per username (`throttle`); while a
//! username is blocked the password is not even checked. A successful login always starts a new
//! session (a session id planted before login is never promoted), replacing the browser's
//! previous one.

use axum::response::Response;
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, StatusCode};
use umagate_proto::form::Form;

use super::cookie::{self, Cookies, is_handle};
use super::throttle::{LOGIN_SOURCES, LOGINS};
use super::{Failure, Pending, Session, State, handle, html, pages, show_consent};
use crate::secrets;
use crate::store::SessionRecord;

/// Longest username looked up (configured usernames are at most 64 characters).
const MAX_USERNAME_LEN: usize = 256;

pub(super) async fn login(
    state: &State,
    headers: &HeaderMap,
    form: &Form,
    pending: &Pending<'_>,
    peer: Option<std::net::IpAddr>,
    now: i64,
) -> Result<Response, Failure> {
    let username = form.get("username").unwrap_or_default();
    let password = form.get("password").unwrap_or_default().to_string();
    let view = pending.view(&state.issuer);
    let key = format!("{}\n{username}", state.issuer);
    // Per source too, against one password tried on many usernames (spraying).
    let source = peer.map(|ip| format!("{}\n{ip}", state.issuer));
    let throttled = LOGINS.attempt(&key, now).and_then(|()| {
        source
            .as_ref()
            .map_or(Ok(()), |s| LOGIN_SOURCES.attempt(s, now))
    });
    if let Err(wait) = throttled {
        tracing::warn!(target: "audit", %username, "login refused: too many failures");
        let minutes = (wait + 59) / 60;
        let notice = format!("Too many failed sign-in attempts. Try again in {minutes} minute(s).");
        let mut response = html::response(
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(&view, Some(username), Some(&notice)),
            &[],
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(wait));
        return Ok(response);
    }
    let user = if username.is_empty() || username.len() > MAX_USERNAME_LEN {
        None
    } else {
        state.store.user_by_username(username).await?
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = tokio::task::spawn_blocking(move || {
        secrets::verify_password(
            &password,
            hash.as_deref().unwrap_or_else(|| secrets::decoy_hash()),
        )
    })
    .await
    .map_err(Failure::internal)?;
    let user = match user {
        Some(user) if verified => user,
        _ => {
            tracing::warn!(target: "audit", %username, client = %pending.client.client_id, "login failed");
            let page = pages::login(
                &view,
                Some(username),
                Some("Incorrect username or password."),
            );
            return Ok(html::response(StatusCode::OK, page, &[]));
        }
    };
    LOGINS.succeeded(&key);
    if let Some(source) = &source {
        LOGIN_SOURCES.succeeded(source);
    }

    let cookies = Cookies::for_issuer(&state.issuer);
    for old in cookie::values(headers, &cookies.session_name())
        .into_iter()
        .filter(|v| is_handle(v))
        .take(2)
    {
        state.store.delete_session(&secrets::digest(old)).await?;
    }
    let session_id = handle()?;
    let record = SessionRecord {
        subject: user.subject.clone(),
        auth_time: now,
        expires_at: now + state.config.tokens.session_secs,
    };
    let hash = secrets::digest(&session_id);
    state.store.insert_session(&hash, &record).await?;
    tracing::info!(target: "audit", subject = %user.subject, client = %pending.client.client_id, "login succeeded");
    let session = Session { hash, record, user };
    let set = [cookies.set_session(&session_id, state.config.tokens.session_secs)];
    show_consent(state, pending, &session, &set, now).await
}
