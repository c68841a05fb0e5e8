//! Lets anyone known view a resource (an invoice, say); for every other scope, amounts above
//! the owner's threshold need the owner's approval.
//!
//! Resource attributes: `amount` (number) and `approve-above` (number, set by the owner).
//!
//! - A party without a subject is asked for a verified `email` claim (`need_info`).
//! - `view` is permitted for any party with a subject.
//! - Any other scope is permitted if `amount <= approve-above`; otherwise the owner is asked.
//!   If either number is missing (or not a number), those scopes are denied.

use umagate_policies_sdk::{
    Decision, ID_TOKEN_FORMAT, Outcome, Policy, Request, RequiredClaim, Resource, log,
};

/// The policy.
pub struct ApprovalThreshold;

impl Policy for ApprovalThreshold {
    fn decide(request: &Request) -> Decision {
        if request.party().subject().is_none() {
            let outcome = Outcome::need_info([email_claim()]);
            return Decision::all(request, outcome, "requesting party unknown");
        }
        let amounts = amounts(request.resource());
        if let Ok((amount, limit)) = amounts {
            log::debug(format!("amount {amount}, approve-above {limit}"));
        }
        Decision::for_each_scope(request, |scope| match (scope, &amounts) {
            ("view", _) => Outcome::Permit,
            (_, Err(reason)) => Outcome::deny(reason),
            (_, Ok((amount, limit))) if amount <= limit => Outcome::Permit,
            (_, Ok((amount, limit))) => {
                Outcome::ask_owner(format!("amount {amount} above threshold {limit}"))
            }
        })
    }
}

umagate_policies_sdk::export_policy!(ApprovalThreshold);

/// The resource's `amount` and `approve-above`, or why they cannot be compared.
fn amounts(resource: &Resource) -> Result<(f64, f64), String> {
    let number = |name: &str| match resource.attribute::<f64>(name) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(format!("attribute `{name}` not set")),
        Err(err) => Err(err.to_string()),
    };
    Ok((number("amount")?, number("approve-above")?))
}

/// What to ask an unknown party for: the `email` claim of an OIDC ID token.
fn email_claim() -> RequiredClaim {
    RequiredClaim::new("email")
        .friendly_name("Email address")
        .format(ID_TOKEN_FORMAT)
}

#[cfg(test)]
mod tests;
