//! RPT checks: is this bearer token a valid RPT that covers this resource and these scopes?
//!
//! - [`bearer`] reads `Authorization: Bearer <token68>` strictly; anything else (two headers,
//!   another scheme, stray spaces) counts as no token at all (D-MALFORMED-AUTHZ).
//! - JWT mode: ES256 signature against the AS's JWKS (cached, fetched again once older than
//!   `as.jwks_max_age_secs` so that a withdrawn key stops being trusted; an unknown `kid`
//!   triggers at most one refresh per `as.jwks_min_refresh_secs`), then `iss` = issuer,
//!   `aud` ∋ the proxy's client id, `exp` > now ≥ `nbf`, and permissions for the resource that are in force (their own
//!   `exp`/`nbf` honoured) and together carry every needed scope. A positive decision is cached
//!   under SHA-256(token, resource id, scopes) until the earliest of the token's `exp`, the
//!   permission's `exp` and `as.verify_cache_secs`: a token good for one resource can never
//!   answer for another.
//! - Introspection mode: the AS's answer for a token is cached (keyed by the token's digest) for
//!   at most `as.introspection_cache_secs` and never past its `exp` — the bound on how long a
//!   revoked RPT is still honoured — and the same permission check runs on it per request.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use umagate_proto::claims::{Audience, RptClaims};
use umagate_proto::introspection::{ActiveToken, IntrospectionResponse};
use umagate_proto::jwk::Jwks;
use umagate_proto::jws::{self, JwsError};
use umagate_proto::permission::Permission;
use umagate_proto::scope::ScopeToken;

use crate::as_client::{AsClient, AsError};
use crate::cache::{self, TtlCache};
use crate::config::{AuthServer, RptMode};
use crate::metrics::Metrics;

/// Who the upstream is told made the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The requesting party (`sub`).
    pub subject: String,
    /// The client (`azp` / `client_id`).
    pub client: String,
    /// The scopes the RPT grants on this resource, sorted.
    pub scopes: Vec<String>,
}

/// The bearer token of a request, or `None` (no, several, or unparsable `Authorization`).
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    let token68 = |t: &str| {
        let body = t.trim_end_matches('=');
        !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    };
    (scheme.eq_ignore_ascii_case("bearer") && token68(token)).then_some(token)
}

/// The RPT checker with its caches.
pub struct RptChecker {
    mode: RptMode,
    issuer: String,
    audience: String,
    verify_secs: i64,
    introspection_secs: i64,
    min_refresh: Duration,
    jwks: RwLock<Option<(Arc<Jwks>, Instant)>>,
    max_age: Duration,
    last_refresh: tokio::sync::Mutex<Option<Instant>>,
    decisions: TtlCache<Grant>,
    introspections: TtlCache<Arc<ActiveToken>>,
    metrics: Arc<Metrics>,
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl RptChecker {
    /// A checker for the AS in `config`.
    pub fn new(config: &AuthServer, metrics: Arc<Metrics>) -> Self {
        Self {
            mode: config.rpt_mode,
            issuer: config.issuer.clone(),
            audience: config.client_id.clone(),
            verify_secs: secs(config.verify_cache_secs),
            introspection_secs: secs(config.introspection_cache_secs),
            min_refresh: Duration::from_secs(config.jwks_min_refresh_secs),
            max_age: Duration::from_secs(config.jwks_max_age_secs),
            jwks: RwLock::new(None),
            last_refresh: tokio::sync::Mutex::new(None),
            decisions: TtlCache::new(config.cache_entries),
            introspections: TtlCache::new(config.cache_entries),
            metrics,
        }
    }

    /// Fetches the JWKS in JWT mode; `true` when the checker can work.
    pub async fn warm_up(&self, as_client: &AsClient) -> bool {
        self.mode == RptMode::Introspection
            || self.refresh(as_client, None, Why::First).await.is_ok()
    }

    /// Whether `token` grants every scope of `needed` on `resource_id` at `now`.
    /// `Ok(None)` means no; an error means the AS could not be asked.
    pub async fn check(
        &self,
        as_client: &AsClient,
        now: i64,
        token: &str,
        resource_id: &str,
        needed: &[ScopeToken],
    ) -> Result<Option<Grant>, AsError> {
        let scope_list: Vec<&str> = needed.iter().map(ScopeToken::as_str).collect();
        let joined = scope_list.join(" ");
        let key = cache::key(&[token.as_bytes(), resource_id.as_bytes(), joined.as_bytes()]);
        if let Some(grant) = self.decisions.get(&key, now) {
            Metrics::inc(&self.metrics.verify_cache_hits);
            return Ok(Some(grant));
        }
        Metrics::inc(&self.metrics.verify_cache_misses);
        let decision = match self.mode {
            RptMode::Jwt => self.verify_jwt(as_client, token).await?.and_then(|claims| {
                let token = Token {
                    iss: Some(&claims.iss),
                    aud: Some(&claims.aud),
                    exp: Some(claims.exp),
                    nbf: claims.nbf,
                    subject: &claims.sub,
                    client: &claims.azp,
                    permissions: &claims.permissions,
                };
                self.evaluate(&token, now, resource_id, &scope_list)
            }),
            RptMode::Introspection => {
                let Some(active) = self.introspect(as_client, now, token).await? else {
                    return Ok(None);
                };
                let token = Token {
                    iss: active.iss.as_deref(),
                    aud: active.aud.as_ref(),
                    exp: active.exp,
                    nbf: active.nbf,
                    subject: active.sub.as_deref().unwrap_or_default(),
                    client: active.client_id.as_deref().unwrap_or_default(),
                    permissions: active.permissions.as_deref().unwrap_or_default(),
                };
                // The introspection answer is what is cached; the decision is re-made per request.
                return Ok(self
                    .evaluate(&token, now, resource_id, &scope_list)
                    .map(|(grant, _)| grant));
            }
        };
        Ok(decision.map(|(grant, until)| {
            let until = until.min(now.saturating_add(self.verify_secs));
            self.decisions.insert(key, grant.clone(), now, until);
            grant
        }))
    }

    /// The verified claims, or `None` for a token that does not verify.
    async fn verify_jwt(
        &self,
        as_client: &AsClient,
        token: &str,
    ) -> Result<Option<RptClaims>, AsError> {
        let current = self.jwks.read().ok().and_then(|k| k.clone());
        let keys = match current {
            Some((keys, fetched)) if fetched.elapsed() < self.max_age => keys,
            Some((keys, _)) => match self.refresh(as_client, Some(&keys), Why::Aged).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS refresh failed; the keys in hand stay in use");
                    keys
                }
            },
            None => self.refresh(as_client, None, Why::First).await?,
        };
        match jws::verify::<RptClaims>(token, &keys) {
            Ok(claims) => Ok(Some(claims)),
            Err(JwsError::UnknownKey) => {
                let fresh = self
                    .refresh(as_client, Some(&keys), Why::UnknownKid)
                    .await?;
                if Arc::ptr_eq(&fresh, &keys) {
                    return Ok(None);
                }
                Ok(jws::verify::<RptClaims>(token, &fresh).ok())
            }
            Err(_) => Ok(None),
        }
    }

    /// Fetches the JWKS unless another task already replaced the keys in `seen`, or — for an
    /// unknown `kid` — the last such fetch is more recent than the minimum interval. Returns the
    /// keys to use.
    async fn refresh(
        &self,
        as_client: &AsClient,
        seen: Option<&Arc<Jwks>>,
        why: Why,
    ) -> Result<Arc<Jwks>, AsError> {
        let mut last = self.last_refresh.lock().await;
        let current = self.jwks.read().ok().and_then(|k| k.clone());
        if let Some((current, _)) = &current {
            let replaced = seen.is_none_or(|seen| !Arc::ptr_eq(current, seen));
            let rate_limited =
                why == Why::UnknownKid && last.is_some_and(|t| t.elapsed() < self.min_refresh);
            if replaced || rate_limited {
                return Ok(current.clone());
            }
        }
        let keys = Arc::new(as_client.jwks().await?);
        if why == Why::UnknownKid {
            *last = Some(Instant::now());
        }
        if let Ok(mut slot) = self.jwks.write() {
            *slot = Some((keys.clone(), Instant::now()));
        }
        Ok(keys)
    }

    async fn introspect(
        &self,
        as_client: &AsClient,
        now: i64,
        token: &str,
    ) -> Result<Option<Arc<ActiveToken>>, AsError> {
        let key = cache::key(&[b"introspection", token.as_bytes()]);
        if let Some(active) = self.introspections.get(&key, now) {
            return Ok(Some(active));
        }
        match as_client.introspect(now, token).await? {
            IntrospectionResponse::Inactive => Ok(None),
            IntrospectionResponse::Active(active) => {
                let active: Arc<ActiveToken> = Arc::from(active);
                let until = now.saturating_add(self.introspection_secs);
                let until = active.exp.map_or(until, |exp| until.min(exp));
                self.introspections.insert(key, active.clone(), now, until);
                Ok(Some(active))
            }
        }
    }

    /// The grant and how long it holds, if the token covers the resource and every scope.
    fn evaluate(
        &self,
        token: &Token<'_>,
        now: i64,
        resource_id: &str,
        needed: &[&str],
    ) -> Option<(Grant, i64)> {
        if token.iss.is_some_and(|iss| iss != self.issuer) {
            return None;
        }
        if token.aud.is_some_and(|aud| !aud.contains(&self.audience)) {
            return None;
        }
        if self.mode == RptMode::Jwt && (token.iss.is_none() || token.aud.is_none()) {
            return None;
        }
        if token.exp.is_some_and(|exp| now >= exp) || token.nbf.is_some_and(|nbf| now < nbf) {
            return None;
        }
        let in_force: Vec<&Permission> = token
            .permissions
            .iter()
            .filter(|p| p.resource_id == resource_id && p.in_force(now, token.exp, token.nbf))
            .collect();
        let mut scopes: Vec<String> = in_force
            .iter()
            .flat_map(|p| p.resource_scopes.iter().map(|s| s.as_str().to_string()))
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        if in_force.is_empty() || !needed.iter().all(|n| scopes.iter().any(|s| s == n)) {
            return None;
        }
        let until = in_force
            .iter()
            .filter_map(|p| p.exp)
            .chain(token.exp)
            .min()
            .unwrap_or(i64::MAX);
        let grant = Grant {
            subject: token.subject.to_string(),
            client: token.client.to_string(),
            scopes,
        };
        Some((grant, until))
    }
}

/// Why the JWKS is fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    /// Nothing fetched yet.
    First,
    /// The keys in hand are older than `as.jwks_max_age_secs`.
    Aged,
    /// A token names a `kid` the keys in hand lack.
    UnknownKid,
}

/// The parts of a JWT or an introspection answer a decision reads.
struct Token<'a> {
    iss: Option<&'a str>,
    aud: Option<&'a Audience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    subject: &'a str,
    client: &'a str,
    permissions: &'a [Permission],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker() -> RptChecker {
        let config = crate::config::Config::from_toml(crate::config::tests::MINIMAL).unwrap();
        RptChecker::new(&config.auth_server, Arc::default())
    }

    fn permission(id: &str, scopes: &[&str], exp: Option<i64>) -> Permission {
        Permission {
            resource_id: id.into(),
            resource_scopes: scopes
                .iter()
                .map(|s| ScopeToken::new(*s).unwrap())
                .collect(),
            exp,
            iat: None,
            nbf: None,
        }
    }

    #[test]
    fn decisions_need_every_scope_and_hold_until_the_earliest_expiry() {
        let c = checker();
        let aud = Audience::Many(vec!["other".into(), "proxy".into()]);
        let permissions = [
            permission("r1", &["view"], Some(900)),
            permission("r1", &["edit"], None),
            permission("r2", &["delete"], None),
            permission("r1", &["delete"], Some(50)),
        ];
        let token = Token {
            iss: Some("http://127.0.0.1:8000"),
            aud: Some(&aud),
            exp: Some(1000),
            nbf: Some(10),
            subject: "bob",
            client: "app",
            permissions: &permissions,
        };
        let (grant, until) = c.evaluate(&token, 100, "r1", &["view", "edit"]).unwrap();
        assert_eq!(
            grant.scopes,
            vec!["edit", "view"],
            "expired permissions grant nothing"
        );
        assert_eq!(until, 900);
        assert!(
            c.evaluate(&token, 100, "r1", &["delete"]).is_none(),
            "scope on another resource or expired"
        );
        assert!(
            c.evaluate(&token, 5, "r1", &["view"]).is_none(),
            "before nbf"
        );
        assert!(
            c.evaluate(&token, 1000, "r1", &["edit"]).is_none(),
            "at exp"
        );
        assert!(
            c.evaluate(&token, 100, "r3", &[]).is_none(),
            "no permission for the resource"
        );
        let wrong_aud = Audience::One("other".into());
        let other = Token {
            aud: Some(&wrong_aud),
            ..token
        };
        assert!(c.evaluate(&other, 100, "r1", &["view"]).is_none());
        let jwt_without_iss = Token {
            iss: None,
            aud: Some(&aud),
            ..other
        };
        assert!(c.evaluate(&jwt_without_iss, 100, "r1", &["view"]).is_none());
    }

    fn headers(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append(http::header::AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn bearer_is_strict() {
        assert_eq!(
            bearer(&headers(&["Bearer abc.def-_~+/=="])),
            Some("abc.def-_~+/==")
        );
        assert_eq!(bearer(&headers(&["bearer abc"])), Some("abc"));
        for bad in [
            &["Bearer"][..],
            &["Bearer  abc"],
            &["Bearer\tabc"],
            &["Basic abc"],
            &["Bearer a b"],
            &["Bearer ="],
            &["Bearer abc", "Bearer abc"],
        ] {
            assert_eq!(bearer(&headers(bad)), None, "{bad:?}");
        }
    }
}
