//! The authorization endpoint (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1) with its login
//! and consent pages.
//!
//! `GET /authorize` validates the request in two stages. First the client and the redirect URI
//! (compared exactly with the registered ones, R1): if either is wrong the user sees an error page
//! here and is never redirected (R3). Then everything else (response type, PKCE S256, scopes,
//! grant type): those errors go back to the client's redirect URI, with `state` and `iss`. A valid
//! request is stored server-side as a *pending request* (ten minutes, single use) and the user
//! gets the login page, or the consent page if already signed in.
//!
//! `POST /authorize` carries the forms of those pages: the pending request id, its CSRF token
//! (double submit: a `SameSite=Strict` cookie equal to the form field, whose digest is stored with
//! that one request, B3/B4), and `action=login|approve|deny`. Login checks the password
//! (throttled per username) and starts a session; approve and deny consume the pending request
//! — only with the session the consent page was shown to — and redirect to the client with
//! `303 See Other` (R6): a code, or `access_denied`. Consent is always asked (B5).
//!
//! Pages come from [`html`]; no response of this endpoint carries CORS headers (R7).

use super::browser::{cookie, html, throttle};

pub mod claims;
mod consent;
mod login;
mod pages;
mod request;
#[cfg(test)]
mod tests;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as Extract};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use umagate_proto::ErrorResponse;
use umagate_proto::authorize::redirect_with;
use umagate_proto::form::Form;

use self::cookie::{Cookies, is_handle};
use self::pages::View;
use super::{State, now};
use crate::secrets;
use crate::store::{ClientRecord, SessionRecord, StoreError, UserRecord};

/// How long a pending request (and its CSRF cookie) lives: the user's time to sign in and decide.
const PENDING_SECS: i64 = 600;

/// `GET /authorize`.
#[tracing::instrument(name = "pdp.authorize", skip_all)]
pub async fn authorize(
    Extract(state): Extract<State>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let now = now();
    request::start(&state, query.as_deref().unwrap_or_default(), &headers, now)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /authorize` (the login and consent forms).
#[tracing::instrument(name = "pdp.authorize.submit", skip_all)]
pub async fn submit(
    Extract(state): Extract<State>,
    super::PeerIp(peer): super::PeerIp,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = now();
    dispatch(&state, &uri, &headers, &body, peer, now)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

// === impl Failure ===

/// Why a page could not go on: shown to the user here, never redirected.
#[derive(Debug)]
enum Failure {
    /// An error page with a fixed title and sentence.
    Page(StatusCode, &'static str, &'static str),
    /// A failure of ours; the cause is logged, not shown.
    Internal(String),
}

impl Failure {
    fn bad_request(title: &'static str, message: &'static str) -> Self {
        Self::Page(StatusCode::BAD_REQUEST, title, message)
    }

    /// The pending request is unknown, used or expired.
    fn gone() -> Self {
        Self::bad_request(
            "Request expired",
            "This sign-in request has expired or was already completed. Return to the application and start again.",
        )
    }

    fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Self::Page(status, title, message) => html::error_page(status, title, message),
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error at the authorization endpoint");
                html::error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete this request. Return to the application and try again.",
                )
            }
        }
    }
}

/// A new random handle.
fn handle() -> Result<String, Failure> {
    secrets::new_handle().map_err(Failure::internal)
}

// === the pending request ===

/// The validated request, as stored with a pending request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Params {
    /// The client.
    client_id: String,
    /// Where responses go: the `redirect_uri` parameter, or the one registered URI.
    redirect_to: String,
    /// The `redirect_uri` parameter as sent, if it was (the token request must repeat it).
    redirect_uri: Option<String>,
    /// The scopes to grant, in request order.
    scope: Vec<String>,
    /// The client's `state`.
    state: Option<String>,
    /// PKCE S256 challenge.
    code_challenge: String,
    /// OIDC nonce.
    nonce: Option<String>,
    /// Set when this is claims gathering for the UMA grant (Grant §3.3.2), not an
    /// authorization request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claims: Option<claims::Gathering>,
}

impl Params {
    fn back<'a>(&'a self, issuer: &'a str) -> Back<'a> {
        Back {
            redirect_to: &self.redirect_to,
            state: self.state.as_deref(),
            issuer,
        }
    }
}

/// A pending request named by a form, with everything a decision needs.
struct Pending<'a> {
    /// The request id, from the form.
    id: &'a str,
    /// The CSRF token, from the form (already checked).
    csrf: &'a str,
    /// SHA-256 of the request id.
    request_hash: String,
    /// SHA-256 of the session the consent page was last shown to.
    session_hash: Option<String>,
    params: Params,
    client: ClientRecord,
}

impl Pending<'_> {
    fn view(&self, issuer: &str) -> View<'_> {
        View::new(issuer, self.id, self.csrf, &self.client)
    }
}

// === impl Back ===

/// Where and how the authorization response for one request goes (RFC 6749 §4.1.2, §4.1.2.1,
/// RFC 9207): the redirect URI, with `state` if the client sent one and always `iss` (R5).
struct Back<'a> {
    redirect_to: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
}

impl Back<'_> {
    /// An error response.
    fn error(&self, e: &ErrorResponse, cookies: &[String]) -> Response {
        // RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E.
        let description: Option<String> = e.description().map(|d| {
            d.chars()
                .map(|c| {
                    if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                        c
                    } else {
                        '?'
                    }
                })
                .collect()
        });
        let mut params = vec![("error", e.code().as_str())];
        if let Some(d) = &description {
            params.push(("error_description", d));
        }
        self.send(params, cookies)
    }

    /// The success response.
    fn code(&self, code: &str, cookies: &[String]) -> Response {
        self.send(vec![("code", code)], cookies)
    }

    fn send(&self, params: Vec<(&str, &str)>, cookies: &[String]) -> Response {
        let mut params = params;
        if let Some(state) = self.state {
            params.push(("state", state));
        }
        params.push(("iss", self.issuer));
        match redirect_with(self.redirect_to, &params) {
            Some(location) => see_other(&location, cookies),
            None => Failure::internal("a registered redirect URI does not parse").into_response(),
        }
    }
}

/// `303 See Other` (R6: never 307, which would repost the user's credentials), not cacheable.
fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::try_from(location) {
        Ok(value) => headers.insert(LOCATION, value),
        Err(e) => return Failure::internal(e).into_response(),
    };
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::try_from(cookie.as_str()) {
            headers.append(SET_COOKIE, value);
        }
    }
    response
}

// === sessions ===

/// The browser's signed-in session.
struct Session {
    /// SHA-256 of the session id.
    hash: String,
    record: SessionRecord,
    user: UserRecord,
}

/// The session named by the request's session cookie, if it is live and its user exists.
async fn current_session(
    state: &State,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Session>, Failure> {
    let name = Cookies::for_issuer(&state.issuer).session_name();
    for value in cookie::values(headers, &name)
        .into_iter()
        .filter(|v| is_handle(v))
        .take(2)
    {
        let hash = secrets::digest(value);
        if let Some(record) = state.store.session(&hash, now).await?
            && let Some(user) = state.store.user(&record.subject).await?
        {
            return Ok(Some(Session { hash, record, user }));
        }
    }
    Ok(None)
}

/// The consent page for `pending`, shown to `session` (after recording that it was).
async fn show_consent(
    state: &State,
    pending: &Pending<'_>,
    session: &Session,
    cookies: &[String],
    now: i64,
) -> Result<Response, Failure> {
    if !state
        .store
        .bind_pending_session(&pending.request_hash, &session.hash, now)
        .await?
    {
        return Err(Failure::gone());
    }
    let page = pages::consent(&pending.view(&state.issuer), &pending.params, &session.user);
    Ok(html::response(StatusCode::OK, page, cookies))
}

// === POST ===

/// Reads a form post, finds its pending request and checks its CSRF token, then acts.
async fn dispatch(
    state: &State,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<std::net::IpAddr>,
    now: i64,
) -> Result<Response, Failure> {
    let form = post_form(uri, headers, body)?;
    let id = form
        .get("request")
        .filter(|id| is_handle(id))
        .ok_or_else(Failure::gone)?;
    let record = state
        .store
        .pending_authorization(&secrets::digest(id), now)
        .await?
        .ok_or_else(Failure::gone)?;
    let params: Params = serde_json::from_str(&record.params).map_err(Failure::internal)?;
    let csrf = form.get("csrf").unwrap_or_default();
    check_csrf(
        state,
        headers,
        id,
        csrf,
        &record.csrf_hash,
        &params.client_id,
    )?;
    let Some(client) = state.store.client(&params.client_id).await? else {
        return Err(Failure::bad_request(
            "Unknown application",
            "The application is no longer registered with this server.",
        ));
    };
    let pending = Pending {
        id,
        csrf,
        request_hash: record.request_hash,
        session_hash: record.session_hash,
        params,
        client,
    };
    match form.get("action") {
        Some("login") => login::login(state, headers, &form, &pending, peer, now).await,
        Some(action @ ("approve" | "deny")) => {
            let persist = form.get("persist") == Some("yes");
            consent::decide(state, headers, &pending, action == "approve", persist, now).await
        }
        _ => Err(Failure::bad_request(
            "Invalid request",
            "The form was not understood.",
        )),
    }
}

/// The form body of a post: `application/x-www-form-urlencoded`, nothing in the query, no
/// parameter twice.
fn post_form(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Form, Failure> {
    let invalid = || Failure::bad_request("Invalid request", "The form was not understood.");
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if uri.query().is_some()
        || !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    {
        return Err(invalid());
    }
    Form::parse(body).map_err(|_| invalid())
}

/// B3/B4: the form's token must equal this request's CSRF cookie (so the post comes from a page
/// of ours in this browser), and its digest must be the one stored with this request (so a form
/// for one request cannot act on another, nor a request started in one browser be completed
/// from another).
fn check_csrf(
    state: &State,
    headers: &HeaderMap,
    id: &str,
    csrf: &str,
    csrf_hash: &str,
    client_id: &str,
) -> Result<(), Failure> {
    let name = Cookies::for_issuer(&state.issuer).csrf_name(id);
    let in_cookie = cookie::values(headers, &name)
        .iter()
        .any(|v| secrets::equal(v, csrf));
    let bound = secrets::equal(&secrets::digest(csrf), csrf_hash);
    if is_handle(csrf) && in_cookie && bound {
        return Ok(());
    }
    tracing::warn!(target: "audit", client = %client_id, "authorization form failed the CSRF check");
    Err(Failure::Page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form could not be verified. Return to the application and start again.",
    ))
}
