use super::*;

fn input() -> PolicyInput {
    serde_json::from_str(
        r#"{
        "resource": {"id":"r1","type":"photo-album","name":"Summer","owner":"alice",
                     "scopes":["view","edit"],"attributes":{"share-domain":"example.com"}},
        "scopes":["view"],
        "party": {"subject":"bob","issuer":"https://as.example.com",
                  "claims":{"email":"bob@example.com","email_verified":true}},
        "context": {"now":1767225600,"client_id":"demo-client"}
    }"#,
    )
    .unwrap()
}

#[test]
fn input_parses_and_validates() {
    let i = input();
    i.validate().unwrap();
    assert_eq!(i.resource.attributes["share-domain"], "example.com");
    assert_eq!(i.party.claims["email_verified"], true);
    assert_eq!(i.decided_scopes(), ["view"]);
}

#[test]
fn claims_cannot_smuggle_context_fields() {
    let mut v: serde_json::Value = serde_json::to_value(input()).unwrap();
    v["party"]["now"] = 0.into();
    assert!(
        serde_json::from_value::<PolicyInput>(v).is_err(),
        "unknown members are refused"
    );
}

#[test]
fn invalid_inputs_are_refused() {
    let mut i = input();
    i.scopes = vec!["delete".into()];
    assert_eq!(i.validate(), Err(InputError::UnknownScope("delete".into())));
    let mut i = input();
    i.scopes = vec!["view".into(), "view".into()];
    assert_eq!(i.validate(), Err(InputError::DuplicateScope("view".into())));
    let mut i = input();
    i.party
        .claims
        .insert("big".into(), "x".repeat(MAX_VALUE_BYTES).into());
    assert!(matches!(i.validate(), Err(InputError::TooLarge(_))));
}

#[test]
fn deny_all_covers_every_decided_scope() {
    let mut i = input();
    i.scopes = vec!["view".into(), "edit".into()];
    let d = Decision::deny_all(&i, "policy trapped");
    assert_eq!(d.scopes.len(), 2);
    assert!(
        d.scopes
            .values()
            .all(|o| *o == Outcome::Deny("policy trapped".into()))
    );
    assert!(!d.permits_all());
    i.scopes.clear();
    assert_eq!(
        Decision::deny_all(&i, "x")
            .scopes
            .keys()
            .collect::<Vec<_>>(),
        [""]
    );
}

#[test]
fn outcomes_serialize_with_their_kind() {
    let o = Outcome::Deny("no".into());
    assert_eq!(
        serde_json::to_string(&o).unwrap(),
        r#"{"outcome":"deny","detail":"no"}"#
    );
    assert_eq!(
        serde_json::to_string(&Outcome::Permit).unwrap(),
        r#"{"outcome":"permit"}"#
    );
    assert_eq!(Outcome::AskOwner(String::new()).kind(), "ask_owner");
}
