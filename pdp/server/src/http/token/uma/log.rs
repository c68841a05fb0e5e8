//! The owner's decision log: one line per assessed resource, with each scope's outcome and
//! the explanation ("why can Bob see this?").

use std::collections::BTreeMap;

use umagate_core::policy::{Decision, Outcome};

use crate::decide::{Carried, Decided};
use crate::http::State;
use crate::http::error::ApiError;
use crate::secrets;
use crate::store::{ClientRecord, DecisionRecord, TicketRecord};

/// One decision-log line per assessed resource.
pub(super) fn lines(
    state: &State,
    client: &ClientRecord,
    ticket: &TicketRecord,
    carried: &Carried,
    decided: &BTreeMap<String, Decided>,
    now: i64,
) -> Result<Vec<DecisionRecord>, ApiError> {
    let subject = carried.party_id(&state.issuer);
    let mut lines = Vec::with_capacity(decided.len());
    for (resource_id, d) in decided {
        let outcome = overall(&d.decision);
        let scopes: BTreeMap<&str, &str> = d
            .decision
            .scopes
            .iter()
            .map(|(s, o)| (s.as_str(), o.kind()))
            .collect();
        lines.push(DecisionRecord {
            id: log_id(now)?,
            owner: ticket.owner.clone(),
            resource_id: resource_id.clone(),
            client_id: client.client_id.clone(),
            subject: subject.clone(),
            outcome: outcome.into(),
            scopes: serde_json::to_string(&scopes).unwrap_or_default(),
            explanation: d.decision.explanation.clone(),
            created_at: now,
        });
    }
    Ok(lines)
}

/// A decision-log id that sorts by time, then by order of writing within this process (the
/// log lists newest first), then randomly.
fn log_id(now: i64) -> Result<String, ApiError> {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let random = secrets::new_handle().map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!(
        "{now:012}{seq:012}{}",
        random.chars().take(8).collect::<String>()
    ))
}

/// A resource's result for the log, by the assessment's precedence.
fn overall(decision: &Decision) -> &'static str {
    let has = |kind: &str| decision.scopes.values().any(|o| o.kind() == kind);
    if decision.permits_all() {
        "permit"
    } else if has("deny") || decision.scopes.is_empty() {
        "deny"
    } else if has("need_info") {
        "need_info"
    } else if decision
        .scopes
        .values()
        .any(|o| matches!(o, Outcome::AskOwner(_)))
    {
        "ask_owner"
    } else {
        "deny"
    }
}
