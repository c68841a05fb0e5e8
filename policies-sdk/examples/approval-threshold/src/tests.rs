use super::*;
use umagate_policies_sdk::Party;

fn invoice(amount: f64, limit: f64) -> Resource {
    Resource::new("invoice-7", "alice")
        .with_scopes(["view", "pay"])
        .with_attribute("amount", amount)
        .with_attribute("approve-above", limit)
}

fn decide(resource: Resource, party: Party, scopes: &[&str]) -> Decision {
    let request = Request::new(resource)
        .with_party(party)
        .with_scopes(scopes.iter().copied());
    ApprovalThreshold::decide(&request)
}

fn bob() -> Party {
    Party::new().with_subject("bob")
}

#[test]
fn permits_amounts_up_to_the_threshold() {
    for amount in [0.0, 499.99, 500.0] {
        let decision = decide(invoice(amount, 500.0), bob(), &["view", "pay"]);
        assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
        assert_eq!(decision.outcome("pay"), Some(&Outcome::Permit), "{amount}");
    }
}

#[test]
fn asks_the_owner_above_the_threshold() {
    let decision = decide(invoice(1200.0, 500.0), bob(), &["view", "pay"]);
    assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
    assert_eq!(
        decision.outcome("pay"),
        Some(&Outcome::ask_owner("amount 1200 above threshold 500"))
    );
    let decision = decide(invoice(500.5, 500.0), bob(), &["pay"]);
    assert_eq!(
        decision.outcome("pay"),
        Some(&Outcome::ask_owner("amount 500.5 above threshold 500"))
    );
}

#[test]
fn asks_an_unknown_party_for_an_email() {
    let decision = decide(invoice(1.0, 500.0), Party::new(), &["view", "pay"]);
    let expected = Outcome::need_info([email_claim()]);
    assert_eq!(decision.outcome("view"), Some(&expected));
    assert_eq!(decision.outcome("pay"), Some(&expected));
    let decision = decide(invoice(1.0, 500.0), Party::new(), &[]);
    assert_eq!(decision.outcome(""), Some(&expected));
}

#[test]
fn denies_without_both_numbers_but_still_lets_view() {
    let no_limit = Resource::new("invoice-7", "alice").with_attribute("amount", 10);
    let decision = decide(no_limit, bob(), &["view", "pay"]);
    assert_eq!(decision.outcome("view"), Some(&Outcome::Permit));
    assert_eq!(
        decision.outcome("pay"),
        Some(&Outcome::deny("attribute `approve-above` not set"))
    );

    let text_amount = Resource::new("invoice-7", "alice")
        .with_attribute("amount", "10")
        .with_attribute("approve-above", 500);
    let decision = decide(text_amount, bob(), &["pay"]);
    assert!(matches!(decision.outcome("pay"), Some(Outcome::Deny(r)) if r.contains("amount")));
}

#[test]
fn the_empty_scope_is_not_view() {
    let decision = decide(invoice(1200.0, 500.0), bob(), &[]);
    assert!(matches!(decision.outcome(""), Some(Outcome::AskOwner(_))));
}
