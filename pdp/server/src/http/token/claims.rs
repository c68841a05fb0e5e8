//! Who the requesting party is, for the UMA grant (Grant §3.3.1, §5.7; security U5).
//!
//! A pushed `claim_token` must be an OpenID Connect ID token issued by this AS or by an issuer
//! in `[[uma.trusted_issuers]]`, with a valid ES256 signature from that issuer's keys, not
//! expired, and issued to the presenting client (`aud` contains it; with several audiences,
//! `azp` names it). Anything else is refused as a whole — its claims are never half-used — and
//! the client gets `need_info` naming the formats and issuers accepted.
//!
//! Without a claim token, the party is what the presented ticket carries (the claims gathered
//! earlier in this authorization process), else what a PCT of this client carries
//! (D-PCT-FOREIGN: another client's, revoked or unknown PCT is ignored), else unknown.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use umagate_core::policy::Party;
use umagate_proto::claims::IdTokenClaims;
use umagate_proto::jwk::Jwks;
use umagate_proto::jws;
use umagate_proto::token::{ClaimToken, UmaTicketRequest};

use crate::decide::Carried;
use crate::http::State;
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::{ClientRecord, TicketRecord};

/// Claims that describe the token rather than the party; not passed to policies.
const TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "azp",
    "auth_time",
    "jti",
];

/// The requesting party, or why the pushed claims were refused.
pub enum PartyFrom {
    /// Verified (possibly unknown: [`Carried::default`]).
    Known(Carried),
    /// The claim token was refused, for the log.
    Invalid(String),
}

/// Establishes the requesting party of a token request.
pub async fn establish(
    state: &State,
    client: &ClientRecord,
    request: &UmaTicketRequest,
    ticket: &TicketRecord,
    now: i64,
) -> Result<PartyFrom, ApiError> {
    if let Some(token) = &request.claim_token {
        return Ok(match verify_id_token(state, client, token, now).await? {
            Ok(carried) => PartyFrom::Known(carried),
            Err(reason) => PartyFrom::Invalid(reason),
        });
    }
    if let Some(carried) = ticket
        .party
        .as_deref()
        .and_then(|p| serde_json::from_str::<Carried>(p).ok())
        .filter(|c| c.party.subject.is_some())
    {
        return Ok(PartyFrom::Known(carried));
    }
    if let Some(pct) = &request.pct
        && let Some(record) = state
            .store
            .live_pct(&secrets::digest(pct.expose()), &client.client_id, now)
            .await?
        && let Ok(carried) = serde_json::from_str::<Carried>(&record.party)
    {
        return Ok(PartyFrom::Known(carried));
    }
    Ok(PartyFrom::Known(Carried::default()))
}

/// Verifies a pushed ID token; `Ok(Err(reason))` when it is refused.
pub(crate) async fn verify_id_token(
    state: &State,
    client: &ClientRecord,
    token: &ClaimToken,
    now: i64,
) -> Result<Result<Carried, String>, ApiError> {
    if !token.is_id_token() {
        return Ok(Err("unsupported claim_token_format".into()));
    }
    let raw = token.token.expose();
    let Some(issuer) = unverified_issuer(raw) else {
        return Ok(Err("the claim token is not a JWT with an issuer".into()));
    };
    let local = issuer == state.issuer;
    let keys = if local {
        state.keys.jwks()
    } else {
        let trusted = state
            .config
            .uma
            .trusted_issuers
            .iter()
            .find(|t| t.issuer == issuer);
        match trusted.map(|t| Jwks::parse(t.jwks.as_bytes())) {
            Some(Ok(keys)) => keys,
            Some(Err(e)) => return Ok(Err(format!("trusted issuer's keys: {e}"))),
            None => return Ok(Err("the issuer is not trusted".into())),
        }
    };
    let claims: IdTokenClaims = match jws::verify(raw, &keys) {
        Ok(claims) => claims,
        Err(e) => return Ok(Err(format!("claim token: {e}"))),
    };
    if claims.iss != issuer {
        return Ok(Err("issuer mismatch".into()));
    }
    if claims.exp <= now {
        return Ok(Err("the claim token has expired".into()));
    }
    let audiences = claims.aud.values();
    let for_client = audiences.contains(&client.client_id)
        && (audiences.len() == 1 || claims.azp.as_deref() == Some(client.client_id.as_str()));
    if !for_client {
        return Ok(Err("the claim token was not issued to this client".into()));
    }
    if local && state.store.user(&claims.sub).await?.is_none() {
        return Ok(Err("the user no longer exists".into()));
    }
    Ok(Ok(carried(issuer, claims)))
}

/// The party an ID token vouches for: its subject and issuer, and its claims about the person.
fn carried(issuer: String, claims: IdTokenClaims) -> Carried {
    let auth_time = claims.auth_time;
    let subject = claims.sub.clone();
    let mut about: BTreeMap<String, serde_json::Value> = match serde_json::to_value(&claims) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    about.retain(|name, _| !TOKEN_CLAIMS.contains(&name.as_str()));
    Carried {
        party: Party {
            subject: Some(subject),
            issuer: Some(issuer),
            claims: about,
        },
        auth_time,
        persist: false,
    }
}

/// The `iss` of a compact JWS, read without verifying (to pick the keys to verify with).
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    serde_json::from_slice::<Iss>(&bytes).ok().map(|i| i.iss)
}
