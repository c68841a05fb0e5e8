//! The glue between a [`Policy`] and the component's `decide` export: [`export_policy!`] and
//! the conversions between the generated WIT types and this crate's types.

use crate::wit::umagate::policy::types as wit;
use crate::{Attributes, Context, Decision, Outcome, Party, Policy, Request, RequiredClaim};
use crate::{Resource, ScopeDecision};

/// Makes a [`Policy`] the component's `decide` export.
///
/// Use it once, in the policy crate's `lib.rs` (a `cdylib` built for
/// `wasm32-unknown-unknown`, then wrapped with `wasm-tools component new`). On other targets
/// it compiles too, so `cargo test` works on the host.
///
/// ```
/// use umagate_policies_sdk::{Decision, Policy, Request};
///
/// struct PermitAll;
///
/// impl Policy for PermitAll {
///     fn decide(request: &Request) -> Decision {
///         Decision::permit_all(request, "shared with everyone")
///     }
/// }
///
/// umagate_policies_sdk::export_policy!(PermitAll);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        const _: () = {
            struct __UmagatePolicy;

            impl $crate::wit::Guest for __UmagatePolicy {
                fn decide(request: $crate::wit::Request) -> $crate::wit::Decision {
                    $crate::__private::decide::<$policy>(request)
                }
            }

    $crate::wit::export!(__UmagatePolicy with_types_in $crate::wit);
        };
    };
}

/// Runs `P` on a request in its WIT form. Attributes or claims that are not one JSON object
/// (umagate always sends one) deny every scope without running the policy.
#[doc(hidden)]
pub fn decide<P: Policy>(request: wit::Request) -> wit::Decision {
    into_wit(match from_wit(request) {
        (request, None) => P::decide(&request),
        (request, Some(reason)) => Decision::deny_all(&request, reason),
    })
}

/// The request in this crate's types, and why it is not usable if its attributes or claims are
/// malformed (then they are left empty).
pub(crate) fn from_wit(request: wit::Request) -> (Request, Option<String>) {
    let wit::Request {
        resource,
        scopes,
        party,
        context,
    } = request;
    let mut malformed = None;
    let mut members = |what: &str, object: String| {
        Attributes::from_json_object(object).unwrap_or_else(|| {
            malformed.get_or_insert_with(|| format!("{what} are not a JSON object"));
            Attributes::new()
        })
    };
    let attributes = members("resource attributes", resource.attributes);
    let claims = members("party claims", party.claims);
    let request = Request {
        resource: Resource {
            id: resource.id,
            resource_type: resource.type_,
            name: resource.name,
            owner: resource.owner,
            scopes: resource.scopes,
            attributes,
        },
        scopes,
        party: Party {
            subject: party.subject,
            issuer: party.issuer,
            claims,
        },
        context: Context {
            now: context.now,
            auth_time: context.auth_time,
            client_id: context.client_id,
        },
    };
    (request, malformed)
}

pub(crate) fn into_wit(decision: Decision) -> wit::Decision {
    let (scopes, explanation) = decision.into_parts();
    wit::Decision {
        scopes: scopes
            .into_iter()
            .map(|ScopeDecision { scope, outcome }| wit::ScopeDecision {
                scope,
                outcome: outcome_into_wit(outcome),
            })
            .collect(),
        explanation,
    }
}

fn outcome_into_wit(outcome: Outcome) -> wit::Outcome {
    match outcome {
        Outcome::Permit => wit::Outcome::Permit,
        Outcome::Deny(reason) => wit::Outcome::Deny(reason),
        Outcome::AskOwner(why) => wit::Outcome::AskOwner(why),
        Outcome::NeedInfo(claims) => {
            wit::Outcome::NeedInfo(claims.into_iter().map(claim_into_wit).collect())
        }
    }
}

fn claim_into_wit(claim: RequiredClaim) -> wit::RequiredClaim {
    let RequiredClaim {
        name,
        friendly_name,
        claim_type,
        claim_token_formats,
        issuers,
    } = claim;
    wit::RequiredClaim {
        name,
        friendly_name,
        claim_type,
        claim_token_formats,
        issuers,
    }
}
