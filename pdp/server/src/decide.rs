//! The AS's one decision function (design: "one decision function"): what the owner says about
//! one resource and the scopes asked for it, for one requesting party and client.
//!
//! Per scope, in order:
//! 1. a share in force naming the party (by subject of this AS, or by verified email) permits;
//! 2. the owner's answer to the pending request this ticket polls: approved scopes permit (until
//!    the approval's expiry), denied ones deny, a request still pending asks the owner again;
//! 3. the remaining scopes go to what the owner bound to the resource — to it, else to its
//!    type, else to all the owner's resources: a policy component (run in the engine, fresh
//!    instance, fail closed) or "ask me";
//! 4. nothing bound: an unidentified party is asked to identify (`need_info`), anyone else is
//!    denied — default deny (Grant §5.6).
//!
//! Policies see only verified claims ([`Carried::party`]); the server-owned context (clock,
//! client, authentication time) is built here and cannot be overwritten by claims.

pub mod runtime;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use umagate_core::policy::{Context, Decision, Outcome, Party, PolicyInput, ResourceFacts};
use umagate_proto::error::RequiredClaim;
use umagate_proto::owner::RequestedPermission;
use umagate_proto::resource::ResourceDescription;
use umagate_proto::token::ID_TOKEN_FORMATS;

use crate::http::AppState;
use crate::store::{AccessRequestRecord, ResourceRecord, StoreError, status};

/// What the AS knows about the requesting party, carried from ticket to ticket (and in PCTs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carried {
    /// Verified subject, issuer and claims.
    pub party: Party,
    /// When the party authenticated, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Whether the party consented to persist these claims in a PCT.
    #[serde(default)]
    pub persist: bool,
}

impl Carried {
    /// The party's subject at this AS, if the claims were vouched for by this AS.
    pub fn local_subject(&self, issuer: &str) -> Option<&str> {
        match (&self.party.subject, &self.party.issuer) {
            (Some(subject), Some(iss)) if iss == issuer => Some(subject),
            _ => None,
        }
    }

    /// The identifier the party goes by in RPTs, requests and the log: the local subject, or
    /// `issuer|subject` for a party vouched for by a trusted issuer; `None` when unidentified.
    pub fn party_id(&self, issuer: &str) -> Option<String> {
        if let Some(local) = self.local_subject(issuer) {
            return Some(local.to_string());
        }
        match (&self.party.issuer, &self.party.subject) {
            (Some(iss), Some(sub)) => Some(format!("{iss}|{sub}")),
            _ => None,
        }
    }

    /// The party's email address, lower-cased, when a claim says it is verified.
    pub fn verified_email(&self) -> Option<String> {
        let claims = &self.party.claims;
        let verified = claims.get("email_verified") == Some(&serde_json::Value::Bool(true));
        let email = claims.get("email").and_then(|v| v.as_str())?;
        verified.then(|| email.to_ascii_lowercase())
    }
}

/// One resource and the scopes asked for it (`Req(r)`; empty means the resource itself).
pub struct Asked<'a> {
    /// The registered resource.
    pub resource: &'a ResourceRecord,
    /// Its description.
    pub description: &'a ResourceDescription,
    /// The scopes to decide.
    pub scopes: &'a [String],
    /// The requesting party.
    pub carried: &'a Carried,
    /// The client asking.
    pub client_id: &'a str,
    /// The owner's request this ticket polls, if any.
    pub request: Option<&'a AccessRequestRecord>,
}

/// A decision with, for permitted scopes a share or approval limits, when they end.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    /// One outcome per decided scope.
    pub decision: Decision,
    /// Scope → expiry, for permits that end.
    pub until: BTreeMap<String, i64>,
}

/// The claim that identifies a requesting party: an ID token from this AS or a trusted issuer.
pub fn identity_claim(state: &AppState) -> RequiredClaim {
    let mut issuers = vec![state.issuer.clone()];
    issuers.extend(
        state
            .config
            .uma
            .trusted_issuers
            .iter()
            .map(|t| t.issuer.clone()),
    );
    RequiredClaim {
        claim_token_format: Some(vec![ID_TOKEN_FORMATS[0].to_string()]),
        claim_type: None,
        friendly_name: Some("subject".into()),
        issuer: Some(issuers),
        name: Some("sub".into()),
    }
}

/// Decides `asked` at `now`.
pub async fn decide(state: &AppState, asked: &Asked<'_>, now: i64) -> Result<Decided, StoreError> {
    let decided: Vec<String> = if asked.scopes.is_empty() {
        vec![String::new()]
    } else {
        asked.scopes.to_vec()
    };
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut until: BTreeMap<String, i64> = BTreeMap::new();
    let mut why: Vec<String> = Vec::new();
    let party_id = asked.carried.party_id(&state.issuer);

    if let Some(party_id) = &party_id {
        by_shares(
            state,
            asked,
            &decided,
            now,
            &mut outcomes,
            &mut until,
            &mut why,
        )
        .await?;
        if let Some(request) = asked.request.filter(|r| {
            r.subject == *party_id
                && r.client_id == asked.client_id
                && r.owner == asked.resource.owner
        }) {
            by_request(
                asked,
                request,
                &decided,
                now,
                &mut outcomes,
                &mut until,
                &mut why,
            );
        }
    }

    let remaining: Vec<String> = decided
        .iter()
        .filter(|s| !outcomes.contains_key(*s))
        .cloned()
        .collect();
    if !remaining.is_empty() {
        by_binding(
            state,
            asked,
            &remaining,
            party_id.is_none(),
            now,
            &mut outcomes,
            &mut why,
        )
        .await?;
    }
    Ok(Decided {
        decision: Decision {
            scopes: outcomes,
            explanation: why.join("; "),
        },
        until,
    })
}

/// Permits the scopes a share in force grants the party.
async fn by_shares(
    state: &AppState,
    asked: &Asked<'_>,
    decided: &[String],
    now: i64,
    outcomes: &mut BTreeMap<String, Outcome>,
    until: &mut BTreeMap<String, i64>,
    why: &mut Vec<String>,
) -> Result<(), StoreError> {
    let carried = asked.carried;
    let subject = carried.local_subject(&state.issuer).unwrap_or("");
    let email = carried.verified_email();
    if subject.is_empty() && email.is_none() {
        return Ok(());
    }
    let shares = state
        .store
        .applicable_shares(
            &asked.resource.owner,
            &asked.resource.id,
            asked.description.resource_type.as_deref(),
            subject,
            email.as_deref(),
            now,
        )
        .await?;
    for scope in decided {
        // A resource-level request ("") is covered by any share of the resource.
        let covering = shares
            .iter()
            .filter(|s| scope.is_empty() || s.scopes.contains(scope));
        let mut found = false;
        let mut end: Option<i64> = None;
        let mut unlimited = false;
        for share in covering {
            found = true;
            match share.expires_at {
                Some(e) => end = Some(end.map_or(e, |x| x.max(e))),
                None => unlimited = true,
            }
        }
        if found {
            outcomes.insert(scope.clone(), Outcome::Permit);
            if let (false, Some(end)) = (unlimited, end) {
                until.insert(scope.clone(), end);
            }
        }
    }
    if !outcomes.is_empty() {
        why.push(format!(
            "shared by the owner: {}",
            scope_list(outcomes.keys())
        ));
    }
    Ok(())
}

/// Applies the owner's answer to the request the ticket polls.
fn by_request(
    asked: &Asked<'_>,
    request: &AccessRequestRecord,
    decided: &[String],
    now: i64,
    outcomes: &mut BTreeMap<String, Outcome>,
    until: &mut BTreeMap<String, i64>,
    why: &mut Vec<String>,
) {
    let scopes_in = |json: Option<&str>| -> Option<Vec<String>> {
        let list: Vec<RequestedPermission> = serde_json::from_str(json?).ok()?;
        list.into_iter()
            .find(|p| p.resource_id == asked.resource.id)
            .map(|p| p.resource_scopes)
    };
    let Some(asked_scopes) = scopes_in(Some(&request.permissions)) else {
        return;
    };
    let covers = |list: &[String], scope: &String| scope.is_empty() || list.contains(scope);
    let open: Vec<&String> = decided
        .iter()
        .filter(|s| !outcomes.contains_key(*s) && covers(&asked_scopes, s))
        .collect();
    if open.is_empty() {
        return;
    }
    match request.status.as_str() {
        status::APPROVED => {
            let granted = scopes_in(request.granted.as_deref()).unwrap_or_default();
            let lapsed = request.grant_expires_at.is_some_and(|e| e <= now);
            for scope in open {
                let outcome = if lapsed {
                    Outcome::Deny("the owner's approval has expired".into())
                } else if covers(&granted, scope) {
                    if let Some(end) = request.grant_expires_at {
                        until.insert(scope.clone(), end);
                    }
                    Outcome::Permit
                } else {
                    Outcome::Deny("the owner approved fewer scopes".into())
                };
                outcomes.insert(scope.clone(), outcome);
            }
            why.push("the owner approved the request".into());
        }
        status::DENIED => {
            for scope in open {
                outcomes.insert(
                    scope.clone(),
                    Outcome::Deny("the owner denied the request".into()),
                );
            }
            why.push("the owner denied the request".into());
        }
        _ => {
            for scope in open {
                outcomes.insert(
                    scope.clone(),
                    Outcome::AskOwner("waiting for the owner".into()),
                );
            }
            why.push("waiting for the owner".into());
        }
    }
}

/// Decides the scopes nothing else decided with what the owner bound to the resource.
async fn by_binding(
    state: &AppState,
    asked: &Asked<'_>,
    remaining: &[String],
    unidentified: bool,
    now: i64,
    outcomes: &mut BTreeMap<String, Outcome>,
    why: &mut Vec<String>,
) -> Result<(), StoreError> {
    let resource = asked.resource;
    let binding = state
        .store
        .binding_for(
            &resource.owner,
            &resource.id,
            asked.description.resource_type.as_deref(),
        )
        .await?;
    let fixed = |outcomes: &mut BTreeMap<String, Outcome>, outcome: Outcome| {
        for scope in remaining {
            outcomes.insert(scope.clone(), outcome.clone());
        }
    };
    match binding.map(|b| b.policy) {
        Some(Some(policy)) => {
            let facts = resource_facts(state, resource, asked.description).await?;
            let input = policy_input(asked, remaining, facts, now);
            let evaluation = state
                .pdp
                .evaluate(&state.store, &resource.owner, &policy, input)
                .await?;
            if let Some(failure) = &evaluation.failure {
                tracing::warn!(target: "audit", owner = %resource.owner, resource = %resource.id,
                    policy = %policy.0, version = policy.1, %failure, "policy failed; denied");
            }
            why.push(format!(
                "policy {} v{}: {}",
                policy.0, policy.1, evaluation.decision.explanation
            ));
            for scope in remaining {
                let outcome = evaluation
                    .decision
                    .scopes
                    .get(scope)
                    .cloned()
                    .unwrap_or_else(|| Outcome::Deny("the policy gave no decision".into()));
                outcomes.insert(scope.clone(), outcome);
            }
        }
        Some(None) if unidentified => {
            fixed(outcomes, Outcome::NeedInfo(vec![identity_claim(state)]));
            why.push("the owner reviews requests; the requesting party must identify".into());
        }
        Some(None) => {
            fixed(
                outcomes,
                Outcome::AskOwner("the owner reviews each request".into()),
            );
            why.push("the owner reviews each request".into());
        }
        None if unidentified => {
            fixed(outcomes, Outcome::NeedInfo(vec![identity_claim(state)]));
            why.push("no share for an unidentified party; identity needed".into());
        }
        None => {
            fixed(outcomes, Outcome::Deny("no share or policy applies".into()));
            why.push(format!(
                "no share or policy applies to {}",
                scope_list(remaining.iter())
            ));
        }
    }
    Ok(())
}

/// The resource as a policy sees it: as registered, with the attributes its owner set (none if
/// unset or unreadable). Used by the grant and by the owner's dry runs.
pub async fn resource_facts(
    state: &AppState,
    record: &ResourceRecord,
    description: &ResourceDescription,
) -> Result<ResourceFacts, StoreError> {
    let attributes = state
        .store
        .attributes(&record.owner, &record.id)
        .await?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    Ok(ResourceFacts {
        id: record.id.clone(),
        resource_type: description.resource_type.clone(),
        name: description.name.clone(),
        owner: record.owner.clone(),
        scopes: description
            .resource_scopes
            .iter()
            .map(|s| s.to_string())
            .collect(),
        attributes,
    })
}

/// The policy's view of the request: the resource (see [`resource_facts`]), the scopes (none
/// for a resource-level request), the verified party, and the server's own context.
pub(crate) fn policy_input(
    asked: &Asked<'_>,
    remaining: &[String],
    resource: ResourceFacts,
    now: i64,
) -> PolicyInput {
    PolicyInput {
        resource,
        scopes: remaining
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
        party: asked.carried.party.clone(),
        context: Context {
            now,
            auth_time: asked.carried.auth_time,
            client_id: asked.client_id.to_string(),
        },
    }
}

fn scope_list<'a>(scopes: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<&str> = scopes
        .map(|s| {
            if s.is_empty() {
                "(resource)"
            } else {
                s.as_str()
            }
        })
        .collect();
    list.join(", ")
}
