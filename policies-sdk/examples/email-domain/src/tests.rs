use super::*;
use umagate_policies_sdk::serde_json::{self, Value};
use umagate_policies_sdk::{Context, Resource};

fn resource() -> Resource {
    Resource::new("album-1", "alice")
        .with_scopes(["view", "delete"])
        .with_attribute("share-domain", "example.com")
}

fn person(email: &str, verified: bool) -> Party {
    Party::new()
        .with_subject("bob")
        .with_claim("email", email)
        .with_claim("email_verified", verified)
}

fn decide(resource: Resource, party: Party, scopes: &[&str]) -> Decision {
    let request = Request::new(resource)
        .with_party(party)
        .with_scopes(scopes.iter().copied());
    EmailDomain::decide(&request)
}

#[test]
fn permits_a_verified_address_at_the_domain_in_any_case() {
    let decision = decide(resource(), person("Bob@Example.COM", true), &["view"]);
    assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
}

#[test]
fn asks_for_a_verified_email() {
    let expected = Outcome::need_info([email_claim()]);
    for party in [
        Party::new(),
        person("bob@example.com", false),
        Party::new().with_claim("email", "bob@example.com"),
        Party::new().with_claim("email_verified", true),
        Party::new()
            .with_claim("email", "bob@example.com")
            .with_claim("email_verified", "true"),
    ] {
        let decision = decide(resource(), party, &["view"]);
        assert_eq!(decision.outcome("view"), Some(&expected));
    }
    let Outcome::NeedInfo(claims) = expected else {
        unreachable!()
    };
    assert_eq!(claims[0].name.as_deref(), Some("email"));
    assert_eq!(claims[0].friendly_name.as_deref(), Some("Email address"));
    assert_eq!(claims[0].claim_token_formats, [ID_TOKEN_FORMAT]);
    assert!(claims[0].issuers.is_empty());
}

#[test]
fn denies_other_domains() {
    for email in [
        "bob@example.org",
        "bob@sub.example.com",
        "example.com",
        "bob@example.com@evil.test",
    ] {
        let decision = decide(resource(), person(email, true), &["view"]);
        assert_eq!(
            decision.outcome("view"),
            Some(&Outcome::deny("email domain not shared")),
            "{email}"
        );
    }
}

#[test]
fn the_last_at_sign_counts() {
    let decision = decide(resource(), person("\"a@b\"@example.com", true), &["view"]);
    assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
}

#[test]
fn asks_the_owner_for_ask_scopes() {
    let resource = resource().with_attribute_json("ask-scopes", r#"["delete"]"#);
    let decision = decide(
        resource,
        person("bob@example.com", true),
        &["view", "delete"],
    );
    assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
    assert_eq!(
        decision.outcome("delete"),
        Some(&Outcome::ask_owner("bob@example.com asks for delete"))
    );
}

#[test]
fn denies_everything_without_a_valid_share_domain() {
    let unset = Resource::new("album-1", "alice");
    let decision = decide(unset, person("bob@example.com", true), &["view", "delete"]);
    assert_eq!(
        decision,
        Decision::new("no share-domain set")
            .deny("view", "no share-domain set")
            .deny("delete", "no share-domain set")
    );

    let not_a_string = Resource::new("album-1", "alice").with_attribute("share-domain", 7);
    let decision = decide(not_a_string, Party::new(), &["view"]);
    assert!(
        matches!(decision.outcome("view"), Some(Outcome::Deny(r)) if r.contains("share-domain"))
    );

    let bad_ask = resource().with_attribute("ask-scopes", "delete");
    let decision = decide(bad_ask, person("bob@example.com", true), &["view"]);
    assert!(matches!(decision.outcome("view"), Some(Outcome::Deny(r)) if r.contains("ask-scopes")));
}

#[test]
fn decides_the_empty_scope_when_none_is_requested() {
    let decision = decide(resource(), person("bob@example.com", true), &[]);
    assert_eq!(decision.scopes().len(), 1);
    assert_eq!(decision.outcome(""), Some(&Outcome::Permit));
    let decision = decide(resource(), Party::new(), &[]);
    assert!(matches!(decision.outcome(""), Some(Outcome::NeedInfo(_))));
}

/// The cases every language's email-domain policy must pass. Each case's `input` is a JSON
/// merge patch (RFC 7396: `null` removes) on `defaults`; `expect` maps scopes to outcomes.
const SHARED_CASES: &str = include_str!("../../email-domain.cases.json");

#[test]
fn passes_the_shared_cases() {
    let cases: Value = serde_json::from_str(SHARED_CASES).unwrap();
    let list = cases["cases"].as_array().unwrap();
    assert!(!list.is_empty());
    for case in list {
        let name = case["name"].as_str().unwrap();
        let mut input = cases["defaults"].clone();
        merge_patch(&mut input, &case["input"]);
        let decision = EmailDomain::decide(&request_from_json(&input));
        let expect = case["expect"].as_object().unwrap();
        assert_eq!(
            decision.scopes().len(),
            expect.len(),
            "{name}: {decision:?}"
        );
        for (scope, outcome) in expect {
            let got = decision.outcome(scope).map(|outcome| match outcome {
                Outcome::Permit => "permit",
                Outcome::Deny(_) => "deny",
                Outcome::NeedInfo(_) => "need_info",
                Outcome::AskOwner(_) => "ask_owner",
            });
            assert_eq!(got, outcome.as_str(), "{name}: scope {scope:?}");
        }
    }
}

fn merge_patch(target: &mut Value, patch: &Value) {
    let (Value::Object(target), Value::Object(patch)) = (&mut *target, patch) else {
        *target = patch.clone();
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn request_from_json(input: &Value) -> Request {
    let str_list = |value: &Value| -> Vec<String> {
        let list = value.as_array().map(Vec::as_slice).unwrap_or_default();
        list.iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let (r, p, c) = (&input["resource"], &input["party"], &input["context"]);
    let mut resource = Resource::new(r["id"].as_str().unwrap(), r["owner"].as_str().unwrap())
        .with_scopes(str_list(&r["scopes"]));
    if let Some(resource_type) = r["type"].as_str() {
        resource = resource.with_type(resource_type);
    }
    if let Some(name) = r["name"].as_str() {
        resource = resource.with_name(name);
    }
    for (name, value) in r["attributes"].as_object().into_iter().flatten() {
        resource = resource.with_attribute(name.as_str(), value.clone());
    }
    let mut party = Party::new();
    if let Some(subject) = p["subject"].as_str() {
        party = party.with_subject(subject);
    }
    if let Some(issuer) = p["issuer"].as_str() {
        party = party.with_issuer(issuer);
    }
    for (name, value) in p["claims"].as_object().into_iter().flatten() {
        party = party.with_claim(name.as_str(), value.clone());
    }
    let mut context = Context::new(c["now"].as_i64().unwrap(), c["client_id"].as_str().unwrap());
    if let Some(auth_time) = c["auth_time"].as_i64() {
        context = context.with_auth_time(auth_time);
    }
    Request::new(resource)
        .with_scopes(str_list(&input["scopes"]))
        .with_party(party)
        .with_context(context)
}
