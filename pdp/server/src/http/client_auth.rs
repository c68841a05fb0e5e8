//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, or a public client's bare
//! `client_id` — exactly one method per request, and only the one the client registered (T3).
//! Secrets are verified in constant time (`secrets::verify_client_secret`); an unknown client
//! costs the same as a wrong secret.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use umagate_proto::form::Form;
use umagate_proto::{ErrorCode, ErrorResponse};

use super::State;
use super::browser::throttle::CLIENT_SECRETS;
use super::error::ApiError;
use crate::secrets;
use crate::store::ClientRecord;

/// A form POST from an authenticated client: what the token, introspection and revocation
/// endpoints all start with. Extracting it reads the clock (the request's `now`), checks the
/// body is a form with nothing in the query (T1), parses it strictly, and authenticates the
/// client.
pub struct ClientForm {
    /// The time of this request.
    pub now: i64,
    /// The parsed body.
    pub form: Form,
    /// The authenticated client.
    pub client: ClientRecord,
    /// The peer's address, when the server knows it.
    pub peer: Option<IpAddr>,
}

impl axum::extract::FromRequest<State> for ClientForm {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &State,
    ) -> Result<Self, ApiError> {
        let now = super::now();
        let (mut parts, body) = request.into_parts();
        let super::PeerIp(peer) =
            match <super::PeerIp as axum::extract::FromRequestParts<State>>::from_request_parts(
                &mut parts, state,
            )
            .await
            {
                Ok(peer) => peer,
                Err(never) => match never {},
            };
        let body = axum::body::to_bytes(body, state.config.server.max_body_bytes)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    "request body too large or unreadable",
                )
            })?;
        let form = super::token::form_body(&parts.uri, &parts.headers, &body)?;
        let client = authenticate(state, &parts.headers, &form, peer, now).await?;
        Ok(Self {
            now,
            form,
            client,
            peer,
        })
    }
}

/// A stored secret no presented secret matches (64 zero digits are no SHA-256 of anything known).
const UNKNOWN_CLIENT_SECRET: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// How the client presented itself.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Public { id: String },
}

/// Authenticates the client of a request whose form body is `form`, from `peer` at `now`.
/// Secret failures are throttled per client and peer (T5): past the limit the secret is not
/// even checked until the window ends.
async fn authenticate(
    state: &State,
    headers: &HeaderMap,
    form: &Form,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<ClientRecord, ApiError> {
    let presented = presented(headers, form)?;
    let (id, method) = match &presented {
        Presented::Basic { id, .. } => (id, "client_secret_basic"),
        Presented::Post { id, .. } => (id, "client_secret_post"),
        Presented::Public { id } => (id, "none"),
    };
    let basic = matches!(presented, Presented::Basic { .. });
    let fail = |why: &str| {
        let e = ErrorResponse::new(ErrorCode::InvalidClient, why);
        if basic {
            ApiError::BasicClient(e)
        } else {
            ApiError::Protocol(e)
        }
    };
    let throttle_key = format!(
        "{}|{id}|{}",
        state.issuer,
        peer.map(|p| p.to_string()).unwrap_or_default()
    );
    let uses_secret = !matches!(presented, Presented::Public { .. });
    if uses_secret && let Err(retry) = CLIENT_SECRETS.check(&throttle_key, now) {
        return Err(fail(&format!(
            "too many failed attempts; retry in {retry} s"
        )));
    }
    let client = state.store.client(id).await?;
    let registered = client.as_ref().map(|c| {
        c.metadata
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic")
    });
    let secret_ok = match (
        &presented,
        client.as_ref().and_then(|c| c.secret_hash.as_deref()),
    ) {
        (Presented::Basic { secret, .. } | Presented::Post { secret, .. }, Some(hash)) => {
            secrets::verify_client_secret(secret, hash)
        }
        (Presented::Basic { secret, .. } | Presented::Post { secret, .. }, None) => {
            // Unknown client (or public one sending a secret): do the comparison anyway. Client
            // ids are not secret (RFC 6749 §2.2), so matching argon2id's cost is not needed.
            let _ = secrets::verify_client_secret(secret, UNKNOWN_CLIENT_SECRET);
            false
        }
        (Presented::Public { .. }, hash) => hash.is_none(),
    };
    if uses_secret {
        if secret_ok {
            CLIENT_SECRETS.succeeded(&throttle_key);
        } else {
            CLIENT_SECRETS.failed(&throttle_key, now);
        }
    }
    match client {
        Some(client) if secret_ok && registered == Some(method) => Ok(client),
        Some(_) if secret_ok => Err(fail(
            "client authentication method not registered for this client",
        )),
        _ => Err(fail("client authentication failed")),
    }
}

fn presented(headers: &HeaderMap, form: &Form) -> Result<Presented, ApiError> {
    let invalid = |why: &str| ApiError::new(ErrorCode::InvalidRequest, why);
    let mut authorization = headers.get_all(AUTHORIZATION).iter();
    let header = authorization.next();
    if authorization.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match header {
        Some(value) => {
            if body_secret.is_some() {
                return Err(invalid("use one client authentication method, not two"));
            }
            let (id, secret) =
                parse_basic(value.to_str().unwrap_or_default()).ok_or_else(|| {
                    ApiError::BasicClient(ErrorResponse::new(
                        ErrorCode::InvalidClient,
                        "malformed Basic credentials",
                    ))
                })?;
            if body_id.is_some_and(|b| b != id) {
                return Err(invalid(
                    "client_id in the body differs from the Authorization header",
                ));
            }
            Ok(Presented::Basic { id, secret })
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post {
                id: id.into(),
                secret: secret.into(),
            }),
            (Some(id), None) => Ok(Presented::Public { id: id.into() }),
            (None, _) => Err(ApiError::new(
                ErrorCode::InvalidClient,
                "client authentication required",
            )),
        },
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = Form::parse(format!("v={id}").as_bytes())
        .ok()?
        .get("v")?
        .to_string();
    let secret = Form::parse(format!("v={secret}").as_bytes())
        .ok()?
        .get("v")?
        .to_string();
    Some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
        let value = format!("Basic {}", STANDARD.encode("my%20client:p%40ss%3Aword"));
        assert_eq!(
            parse_basic(&value),
            Some(("my client".into(), "p@ss:word".into()))
        );
        assert_eq!(
            parse_basic(&format!("basic {}", STANDARD.encode("a:b"))),
            Some(("a".into(), "b".into()))
        );
        for bad in [
            "Bearer abc",
            "Basic",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            assert_eq!(parse_basic(bad), None, "{bad}");
        }
    }
}
