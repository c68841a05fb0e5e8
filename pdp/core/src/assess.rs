//! The UMA grant's authorization assessment (UMA Grant §3.3.4; spec notes §4.4, D-ASSESS,
//! D-UNREG-SCOPE, D-PARTIAL).
//!
//! [`assess`] is pure: it takes the ticket's permissions, the client's registered and requested
//! scopes, and a decision source (the caller's closure that combines shares and the owner's
//! policy into a [`Decision`]), and computes:
//!
//! ```text
//! extra   = RegisteredScopes ∩ RequestedScopes
//! Req(r)  = TicketScopes(r) ∪ (extra ∩ AvailableScopes(r))
//! a requested scope available on no ticket resource -> invalid_scope (before any decision)
//! a requested scope not registered for the client   -> ignored
//! Cand(r) = { s ∈ Req(r) | outcome(r, s) = Permit }
//! ```
//!
//! The source is called once per resource with `Req(r)`; an empty `Req(r)` is decided as the
//! scope `""` (the convention of [`crate::policy::PolicyInput::decided_scopes`]).
//!
//! Precedence when not every `Req(r)` is fully permitted ([`Assessment`]):
//! 1. any `Deny` — or a scope the source gave no outcome for (default deny) — wins:
//!    [`Assessment::Denied`], even when other scopes need information or the owner;
//! 2. else any `NeedInfo`: [`Assessment::NeedInfo`] with every required claim, merged;
//! 3. else `AskOwner`: [`Assessment::AskOwner`].
//!
//! With [`AssessOptions::partial`] (off by default, D-PARTIAL) a request where some but not all
//! scopes are permitted yields a [`Assessment::Grant`] of only the permitted scopes instead.
//!
//! [`Assessment::error_response`] maps a refusal to the token endpoint's wire error; the caller
//! mints the new ticket (storage is I/O) only when [`Assessment::needs_ticket`] says so.

use umagate_proto::error::RequiredClaim;
use umagate_proto::{ErrorCode, ErrorResponse, Secret};

use crate::policy::{Decision, Outcome};

/// The reason recorded when the source gave no outcome for a scope it was asked about.
pub const NO_DECISION: &str = "no decision";

/// One permission of the ticket, with what the resource offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketPermission {
    /// The registered resource.
    pub resource_id: String,
    /// Every scope currently registered on the resource (`AvailableScopes(r)`).
    pub available_scopes: Vec<String>,
    /// The scopes the resource server asked for (`TicketScopes(r)`); may be empty. Passed to the
    /// source as they are: a scope no longer registered is the source's to refuse.
    pub ticket_scopes: Vec<String>,
}

/// Everything the assessment looks at besides the decisions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssessInput {
    /// The ticket's permissions. A resource listed twice is assessed once, with the union of its
    /// ticket scopes and the available scopes of its first listing.
    pub permissions: Vec<TicketPermission>,
    /// The scopes the client is pre-registered for (`RegisteredScopes`).
    pub registered_scopes: Vec<String>,
    /// The token request's `scope` parameter (`RequestedScopes`); `None` when absent.
    pub requested_scopes: Option<Vec<String>>,
}

/// Configuration switches of the assessment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssessOptions {
    /// Issue an RPT with only the permitted scopes when some, but not all, are permitted
    /// (D-PARTIAL: off by default, an error is preferred).
    pub partial: bool,
}

/// Scopes granted on one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The resource.
    pub resource_id: String,
    /// The granted scopes; empty for a resource-level (zero-scope) permission.
    pub scopes: Vec<String>,
}

/// Why one scope of one resource was not permitted, for the decision log (never sent to clients).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// The resource.
    pub resource_id: String,
    /// The scope; `""` for a resource-level decision.
    pub scope: String,
    /// The source's text, or [`NO_DECISION`].
    pub reason: String,
}

/// The result of an assessment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assessment {
    /// Issue an RPT with these permissions, in ticket order (never empty).
    Grant(Vec<Granted>),
    /// A requested scope is available on no resource of the ticket: `400 invalid_scope`.
    InvalidScope(String),
    /// Some scope was denied or had no decision: `403 request_denied`.
    Denied {
        /// Every denied scope.
        reasons: Vec<Reason>,
    },
    /// Nothing denied, but claims are needed: `403 need_info`. Claims are merged without
    /// duplicates, in order of first appearance (ticket order, then `Req(r)` order).
    NeedInfo(Vec<RequiredClaim>),
    /// Nothing denied or needing claims, but the owner must approve: `403 request_submitted`.
    AskOwner {
        /// Every scope awaiting the owner, with the text for the owner.
        reasons: Vec<Reason>,
    },
}

/// Assesses a token request against a ticket (Grant §3.3.4, D-ASSESS).
///
/// `decide(resource_id, req)` is called at most once per distinct resource, in ticket order,
/// with `Req(r)` (ticket scopes first, then extra scopes in request order; empty means the
/// resource-level scope `""`). Outcomes for scopes not asked about are ignored; a scope asked
/// about but missing from the decision counts as a deny ([`NO_DECISION`]). The source is not
/// called at all when the result is [`Assessment::InvalidScope`].
pub fn assess<F>(input: &AssessInput, options: AssessOptions, mut decide: F) -> Assessment
where
    F: FnMut(&str, &[String]) -> Decision,
{
    let resources = merge_permissions(&input.permissions);
    let requested: &[String] = input.requested_scopes.as_deref().unwrap_or(&[]);

    if let Some(s) = requested
        .iter()
        .find(|s| !resources.iter().any(|r| r.available_scopes.contains(s)))
    {
        return Assessment::InvalidScope(s.clone());
    }
    if resources.is_empty() {
        // Default deny: an empty ticket never yields an (empty) RPT.
        return Assessment::Denied {
            reasons: vec![Reason {
                resource_id: String::new(),
                scope: String::new(),
                reason: "the ticket holds no permission".into(),
            }],
        };
    }

    // extra = RegisteredScopes ∩ RequestedScopes, in request order; unregistered ones ignored.
    let mut extra: Vec<&String> = Vec::new();
    for s in requested {
        if input.registered_scopes.contains(s) && !extra.contains(&s) {
            extra.push(s);
        }
    }

    let mut granted = Vec::new();
    let mut all_permitted = true;
    let mut denied = Vec::new();
    let mut claims: Vec<RequiredClaim> = Vec::new();
    let mut need_info = false;
    let mut ask_owner = Vec::new();

    for r in &resources {
        let mut req: Vec<String> = r.ticket_scopes.clone();
        for s in &extra {
            if r.available_scopes.contains(s) && !req.contains(s) {
                req.push((*s).clone());
            }
        }
        let decision = decide(&r.resource_id, &req);
        let decided: Vec<&str> = if req.is_empty() {
            vec![""]
        } else {
            req.iter().map(String::as_str).collect()
        };

        let mut permitted = Vec::new();
        for scope in decided {
            let reason = |text: &str| Reason {
                resource_id: r.resource_id.clone(),
                scope: scope.to_string(),
                reason: text.to_string(),
            };
            match decision.scopes.get(scope) {
                Some(Outcome::Permit) => permitted.push(scope.to_string()),
                Some(Outcome::Deny(text)) => denied.push(reason(text)),
                None => denied.push(reason(NO_DECISION)),
                Some(Outcome::NeedInfo(needed)) => {
                    need_info = true;
                    for c in needed {
                        if !claims.contains(c) {
                            claims.push(c.clone());
                        }
                    }
                }
                Some(Outcome::AskOwner(text)) => ask_owner.push(reason(text)),
            }
        }

        if req.is_empty() {
            // A resource-level permission: granted with no scope iff `""` was permitted.
            if permitted.is_empty() {
                all_permitted = false;
            } else {
                granted.push(Granted {
                    resource_id: r.resource_id.clone(),
                    scopes: Vec::new(),
                });
            }
        } else {
            if permitted.len() != req.len() {
                all_permitted = false;
            }
            if !permitted.is_empty() {
                granted.push(Granted {
                    resource_id: r.resource_id.clone(),
                    scopes: permitted,
                });
            }
        }
    }

    if all_permitted || (options.partial && !granted.is_empty()) {
        Assessment::Grant(granted)
    } else if !denied.is_empty() {
        Assessment::Denied { reasons: denied }
    } else if need_info {
        Assessment::NeedInfo(claims)
    } else if !ask_owner.is_empty() {
        Assessment::AskOwner { reasons: ask_owner }
    } else {
        // Unreachable by construction (something was not permitted, so some refusal was
        // recorded); fail closed all the same.
        Assessment::Denied {
            reasons: Vec::new(),
        }
    }
}

/// One distinct resource, its ticket scopes de-duplicated.
fn merge_permissions(permissions: &[TicketPermission]) -> Vec<TicketPermission> {
    let mut out: Vec<TicketPermission> = Vec::new();
    for p in permissions {
        let i = match out.iter().position(|o| o.resource_id == p.resource_id) {
            Some(i) => i,
            None => {
                out.push(TicketPermission {
                    resource_id: p.resource_id.clone(),
                    available_scopes: p.available_scopes.clone(),
                    ticket_scopes: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(o) = out.get_mut(i) {
            for s in &p.ticket_scopes {
                if !o.ticket_scopes.contains(s) {
                    o.ticket_scopes.push(s.clone());
                }
            }
        }
    }
    out
}

impl Assessment {
    /// Whether the error for this result carries a new ticket (`need_info`,
    /// `request_submitted`): mint one, then pass it to [`Assessment::error_response`].
    pub fn needs_ticket(&self) -> bool {
        matches!(self, Self::NeedInfo(_) | Self::AskOwner { .. })
    }

    /// The token endpoint's error for a refusal (Grant §3.3.6); `None` for a grant.
    ///
    /// `ticket` is the freshly minted ticket (must differ from the presented one),
    /// `redirect_user` the claims interaction URI for `need_info`, `interval_secs` the polling
    /// interval for `request_submitted`. Fails closed to `request_denied` when a ticket is
    /// needed but `None` is given, or when `need_info` would carry neither claims nor
    /// `redirect_user` (the spec requires one). Deny reasons never reach the client.
    pub fn error_response(
        &self,
        ticket: Option<Secret>,
        redirect_user: Option<String>,
        interval_secs: Option<u32>,
    ) -> Option<ErrorResponse> {
        Some(match (self, ticket) {
            (Self::Grant(_), _) => return None,
            (Self::InvalidScope(s), _) => ErrorResponse::new(
                ErrorCode::InvalidScope,
                format!(
                    "scope `{}` is not available on any resource of the ticket",
                    shorten(s)
                ),
            ),
            (Self::NeedInfo(claims), Some(t)) => {
                ErrorResponse::need_info(t, claims.clone(), redirect_user)
                    .unwrap_or_else(ErrorResponse::request_denied)
            }
            (Self::AskOwner { .. }, Some(t)) => ErrorResponse::request_submitted(t, interval_secs),
            (Self::Denied { .. } | Self::NeedInfo(_) | Self::AskOwner { .. }, _) => {
                ErrorResponse::request_denied()
            }
        })
    }
}

/// At most 64 characters of client-supplied text, escaped, for an error description.
fn shorten(text: &str) -> String {
    const MAX: usize = 64;
    let mut out: String = text
        .chars()
        .take(MAX)
        .flat_map(char::escape_default)
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
