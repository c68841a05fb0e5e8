//! The token endpoint (RFC 6749 §3.2): `authorization_code` with PKCE, `client_credentials`
//! (which is how a trusted resource server gets its PAT), and `refresh_token` with rotation and
//! reuse detection. The UMA grant is in [`uma`], the requesting party's claims in [`claims`].

use axum::extract::State as Extract;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, StatusCode, Uri};
use sha2::{Digest, Sha256};
use umagate_proto::claims::{Audience, IdTokenClaims};
use umagate_proto::form::Form;
use umagate_proto::owner::OWNER_SCOPE;
use umagate_proto::scope::Scopes;
use umagate_proto::token::{CodeVerifier, TokenRequest, TokenRequestForm, TokenResponse};
use umagate_proto::{ErrorCode, Secret, UMA_PROTECTION_SCOPE};

use super::State;
use super::browser::throttle::GRANT_FAILURES;
use super::client_auth::ClientForm;
use super::error::{ApiError, json};
use crate::secrets;
use crate::store::{ClientRecord, CodeRedemption, Quota, Refresh, TokenKind, TokenRecord};

/// `POST /token`.
pub async fn token(
    Extract(state): Extract<State>,
    ClientForm {
        now,
        form,
        client,
        peer,
    }: ClientForm,
) -> Result<Response, ApiError> {
    let request = TokenRequestForm::from_form(&form)?;
    // D1: guessing codes or refresh tokens is throttled per client and peer, on top of their
    // 256 bits of entropy; a success clears the count.
    let guessable = matches!(
        request.grant,
        TokenRequest::AuthorizationCode { .. } | TokenRequest::RefreshToken { .. }
    );
    let throttle_key = format!(
        "{}|{}|{}",
        state.issuer,
        client.client_id,
        peer.map(|p| p.to_string()).unwrap_or_default()
    );
    if guessable && let Err(retry) = GRANT_FAILURES.check(&throttle_key, now) {
        return Err(ApiError::new(
            ErrorCode::InvalidGrant,
            format!("too many invalid grants; retry in {retry} s"),
        ));
    }
    let response = grant(&state, &client, request.grant, now).await;
    if guessable {
        match &response {
            Ok(_) => GRANT_FAILURES.succeeded(&throttle_key),
            Err(ApiError::Protocol(e)) if e.code() == ErrorCode::InvalidGrant => {
                GRANT_FAILURES.failed(&throttle_key, now);
            }
            Err(_) => {}
        }
    }
    Ok(json(
        StatusCode::OK,
        serde_json::to_string(&response?).unwrap_or_default(),
    ))
}

/// The grant itself, by type.
async fn grant(
    state: &State,
    client: &ClientRecord,
    grant: TokenRequest,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    Ok(match grant {
        TokenRequest::ClientCredentials { scope } => {
            client_credentials(state, client, scope, now).await?
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => authorization_code(state, client, &code, redirect_uri, code_verifier, now).await?,
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh(state, client, &refresh_token, scope, now).await?,
        TokenRequest::UmaTicket(request) => uma::uma_ticket(state, client, request, now).await?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                "grant type not supported",
            ));
        }
    })
}

/// The form body of a POST to an OAuth endpoint: form-encoded, nothing in the query (T1).
pub fn form_body(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Form, ApiError> {
    if uri.query().is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "parameters must be sent in the body, not the query",
        ));
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    Ok(Form::parse(body)?)
}

/// The OpenID Connect scopes every client may ask a user for.
pub(super) const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];

/// The scopes a client may obtain: its registered `scope`, the OIDC scopes and `uma_owner` (for
/// a user, with their consent), and `uma_protection` for trusted resource servers.
pub(super) fn allowed_scopes(client: &ClientRecord) -> Vec<String> {
    let mut allowed: Vec<String> = client
        .metadata
        .scope
        .iter()
        .flat_map(|s| s.iter())
        .map(|s| s.to_string())
        .collect();
    allowed.extend(OIDC_SCOPES.iter().map(|s| s.to_string()));
    allowed.push(OWNER_SCOPE.into());
    if client.resource_server {
        allowed.push(UMA_PROTECTION_SCOPE.into());
    }
    allowed.sort();
    allowed.dedup();
    allowed
}

async fn client_credentials(
    state: &State,
    client: &ClientRecord,
    scope: Option<Scopes>,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    if client.secret_hash.is_none() {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    if !client.metadata.uses_grant("client_credentials") {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is not registered for this client",
        ));
    }
    let allowed = allowed_scopes(client);
    let granted: Vec<String> = match &scope {
        // D-PAT-DEFAULT: a resource server asking for nothing in particular (or only `openid`,
        // as some client libraries do) gets its PAT scope; other clients get their registered
        // scopes (the OIDC ones mean nothing without a user).
        None if client.resource_server => vec![UMA_PROTECTION_SCOPE.into()],
        None => allowed
            .iter()
            .filter(|s| !OIDC_SCOPES.contains(&s.as_str()) && *s != OWNER_SCOPE)
            .cloned()
            .collect(),
        Some(s) if client.resource_server && s.iter().all(|t| t.as_str() == "openid") => {
            vec![UMA_PROTECTION_SCOPE.into()]
        }
        Some(s) => {
            // A PAT without an owner's consent is only for trusted resource servers.
            // `uma_owner` acts for a user: never without one.
            let forbidden = |t: &str| {
                !allowed.iter().any(|a| a == t)
                    || (t == UMA_PROTECTION_SCOPE && !client.resource_server)
                    || t == OWNER_SCOPE
            };
            if let Some(bad) = s.iter().find(|t| forbidden(t.as_str())) {
                return Err(ApiError::new(
                    ErrorCode::InvalidScope,
                    format!("scope `{bad}` is not allowed for this client"),
                ));
            }
            s.iter().map(|t| t.to_string()).collect()
        }
    };
    let family = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    let (access, expires_in) = issue(
        state,
        TokenKind::Access,
        &family,
        client,
        None,
        &granted.join(" "),
        now,
    )
    .await?;
    let mut response = TokenResponse::bearer(access);
    response.expires_in = Some(expires_in);
    response.scope = Scopes::parse(&granted.join(" ")).ok();
    Ok(response)
}

async fn authorization_code(
    state: &State,
    client: &ClientRecord,
    code: &Secret,
    redirect_uri: Option<String>,
    verifier: Option<CodeVerifier>,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    let invalid = |why: &str| ApiError::new(ErrorCode::InvalidGrant, why);
    let code = match state
        .store
        .redeem_code(&secrets::digest(code.expose()), now)
        .await?
    {
        CodeRedemption::Consumed(code) => code,
        CodeRedemption::Replayed { family_id } => {
            // C5: a replayed code revokes everything issued from it.
            let revoked = state.store.revoke_family(&family_id, now).await?;
            tracing::warn!(target: "audit", client = %client.client_id, revoked, "authorization code replayed");
            return Err(invalid("authorization code already used"));
        }
        CodeRedemption::Unknown => return Err(invalid("unknown authorization code")),
    };
    if code.client_id != client.client_id {
        return Err(invalid("authorization code was issued to another client"));
    }
    if now >= code.expires_at {
        return Err(invalid("authorization code expired"));
    }
    if code.redirect_uri != redirect_uri.unwrap_or_default() {
        return Err(invalid(
            "redirect_uri differs from the authorization request",
        ));
    }
    let verifier = verifier
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "code_verifier is required"))?;
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
    if !secrets::equal(&computed, &code.code_challenge) {
        return Err(invalid("code_verifier does not match the code_challenge"));
    }
    let user = state
        .store
        .user(&code.subject)
        .await?
        .ok_or_else(|| invalid("the user no longer exists"))?;
    // D2: a bound on the grants one client holds for one user (refreshing replaces, so only
    // new grants are counted).
    if state
        .store
        .quota_reached(
            Quota::Tokens,
            &client.client_id,
            &code.subject,
            state.config.quotas.tokens_per_user_client,
            now,
        )
        .await?
    {
        return Err(invalid(
            "too many active tokens for this user and client: revoke some first",
        ));
    }
    state.store.start_family(&code.family_id, now).await?;
    let (access, expires_in) = issue(
        state,
        TokenKind::Access,
        &code.family_id,
        client,
        Some(&code.subject),
        &code.scope,
        now,
    )
    .await?;
    let mut response = TokenResponse::bearer(access);
    response.expires_in = Some(expires_in);
    response.scope = Scopes::parse(&code.scope).ok();
    if client.metadata.uses_grant("refresh_token") {
        let (refresh, _) = issue(
            state,
            TokenKind::Refresh,
            &code.family_id,
            client,
            Some(&code.subject),
            &code.scope,
            now,
        )
        .await?;
        response.refresh_token = Some(refresh);
    }
    if code.scope.split(' ').any(|s| s == "openid") {
        let claims = IdTokenClaims {
            iss: state.issuer.clone(),
            sub: user.subject.clone(),
            aud: Audience::One(client.client_id.clone()),
            exp: now + state.config.tokens.id_token_secs,
            iat: now,
            auth_time: Some(code.auth_time),
            nonce: code.nonce.clone(),
            azp: None,
            email: user.email.clone(),
            email_verified: user.email.as_ref().map(|_| user.email_verified),
            name: None,
            preferred_username: Some(user.username.clone()),
            other: Default::default(),
        };
        let token = state
            .keys
            .signer()
            .sign("JWT", &claims)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        response.id_token = Some(Secret::new(token));
    }
    Ok(response)
}

async fn refresh(
    state: &State,
    client: &ClientRecord,
    token: &Secret,
    scope: Option<Scopes>,
    now: i64,
) -> Result<TokenResponse, ApiError> {
    let invalid = |why: &str| ApiError::new(ErrorCode::InvalidGrant, why);
    if !client.metadata.uses_grant("refresh_token") {
        return Err(ApiError::new(
            ErrorCode::UnauthorizedClient,
            "refresh_token is not registered for this client",
        ));
    }
    // A narrower scope is checked before rotating, so a refused request does not burn the token.
    let hash = secrets::digest(token.expose());
    if let (Some(requested), Some(current)) = (&scope, state.store.token(&hash).await?) {
        let granted: Vec<&str> = current.scope.split(' ').filter(|s| !s.is_empty()).collect();
        if let Some(bad) = requested.iter().find(|t| !granted.contains(&t.as_str())) {
            return Err(ApiError::new(
                ErrorCode::InvalidScope,
                format!("scope `{bad}` was not granted"),
            ));
        }
    }
    let old = match state
        .store
        .rotate_refresh(&hash, &client.client_id, now)
        .await?
    {
        Refresh::Rotated(old) => old,
        Refresh::Replayed { family_id } => {
            // F2: reuse of a rotated token revokes the whole family.
            let revoked = state.store.revoke_family(&family_id, now).await?;
            tracing::warn!(target: "audit", client = %client.client_id, revoked, "refresh token reused");
            return Err(invalid("refresh token already used; the grant is revoked"));
        }
        Refresh::Invalid => return Err(invalid("invalid refresh token")),
    };
    if let Some(subject) = &old.subject
        && state.store.user(subject).await?.is_none()
    {
        return Err(invalid("the user no longer exists"));
    }
    // F6: however often rotated, a grant's refresh tokens end `refresh_absolute_secs` after
    // the authorization.
    let started = state
        .store
        .family_started(&old.family_id)
        .await?
        .unwrap_or(old.issued_at);
    if now.saturating_sub(started) >= state.config.tokens.refresh_absolute_secs {
        state.store.revoke_family(&old.family_id, now).await?;
        return Err(invalid("the authorization is too old: sign in again"));
    }
    // F4/F5: never wider than the original grant (checked above, before rotating), nor than
    // what the client may still have.
    let allowed = allowed_scopes(client);
    let granted: Vec<String> = match &scope {
        Some(s) => s.iter().map(|t| t.to_string()).collect(),
        None => old
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let granted: Vec<String> = granted
        .into_iter()
        .filter(|s| allowed.contains(s))
        .collect();
    let granted = granted.join(" ");
    let subject = old.subject.as_deref();
    let (access, expires_in) = issue(
        state,
        TokenKind::Access,
        &old.family_id,
        client,
        subject,
        &granted,
        now,
    )
    .await?;
    let (refresh, _) = issue(
        state,
        TokenKind::Refresh,
        &old.family_id,
        client,
        subject,
        &granted,
        now,
    )
    .await?;
    let mut response = TokenResponse::bearer(access);
    response.expires_in = Some(expires_in);
    response.refresh_token = Some(refresh);
    response.scope = Scopes::parse(&granted).ok();
    Ok(response)
}

/// Creates and stores a token; returns it and its lifetime.
pub(super) async fn issue(
    state: &State,
    kind: TokenKind,
    family: &str,
    client: &ClientRecord,
    subject: Option<&str>,
    scope: &str,
    now: i64,
) -> Result<(Secret, u64), ApiError> {
    let lifetime = match kind {
        TokenKind::Access => state.config.tokens.access_secs,
        TokenKind::Refresh => state.config.tokens.refresh_secs,
    };
    let token = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .insert_token(&TokenRecord {
            token_hash: secrets::digest(&token),
            kind,
            family_id: family.to_string(),
            client_id: client.client_id.clone(),
            subject: subject.map(str::to_string),
            scope: scope.to_string(),
            issued_at: now,
            expires_at: now + lifetime,
            used_at: None,
            revoked_at: None,
        })
        .await?;
    Ok((Secret::new(token), u64::try_from(lifetime).unwrap_or(0)))
}

pub(crate) mod claims;
#[cfg(test)]
mod tests;
mod uma;
