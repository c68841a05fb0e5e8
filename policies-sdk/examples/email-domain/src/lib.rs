//! Shares a resource with everyone whose verified email address is at one domain.
//!
//! Resource attributes set by the owner:
//! - `share-domain` (string, required): e.g. `"example.com"`. Without it every scope is denied.
//! - `ask-scopes` (list of strings, optional): scopes the owner wants to approve in person,
//!   e.g. `["delete"]`.
//!
//! For each requested scope: a party without a verified `email` claim is asked for one
//! (`need_info`); an address at another domain is denied; a scope in `ask-scopes` goes to the
//! owner; anything else is permitted.

use umagate_policies_sdk::{
    Decision, ID_TOKEN_FORMAT, Outcome, Party, Policy, Request, RequiredClaim,
};

/// The policy.
pub struct EmailDomain;

impl Policy for EmailDomain {
    fn decide(request: &Request) -> Decision {
        let resource = request.resource();
        let domain = match resource.attribute_str("share-domain") {
            Ok(Some(domain)) => domain,
            Ok(None) => return Decision::deny_all(request, "no share-domain set"),
            Err(err) => return Decision::deny_all(request, err.to_string()),
        };
        let ask_scopes: Vec<String> = match resource.attribute("ask-scopes") {
            Ok(scopes) => scopes.unwrap_or_default(),
            Err(err) => return Decision::deny_all(request, err.to_string()),
        };
        let email = verified_email(request.party());

        Decision::for_each_scope(request, |scope| match email {
            None => Outcome::need_info([email_claim()]),
            Some(email) if !at_domain(email, domain) => Outcome::deny("email domain not shared"),
            Some(email) if ask_scopes.iter().any(|s| s == scope) => {
                Outcome::ask_owner(format!("{email} asks for {scope}"))
            }
            Some(_) => Outcome::Permit,
        })
    }
}

umagate_policies_sdk::export_policy!(EmailDomain);

/// The `email` claim, if the party has one and its issuer says it is verified.
fn verified_email(party: &Party) -> Option<&str> {
    let verified = party.claim_bool("email_verified") == Some(true);
    party.claim_str("email").filter(|_| verified)
}

/// Whether the part after the address's last `@` is `domain`, ignoring ASCII case.
fn at_domain(email: &str, domain: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, email_domain)| email_domain.eq_ignore_ascii_case(domain))
}

/// What to ask a party without a verified email for: the `email` claim of an OIDC ID token.
fn email_claim() -> RequiredClaim {
    RequiredClaim::new("email")
        .friendly_name("Email address")
        .format(ID_TOKEN_FORMAT)
}

#[cfg(test)]
mod tests;
