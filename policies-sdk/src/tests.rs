use crate::export::{from_wit, into_wit};
use crate::wit::umagate::policy::types as wit;
use crate::*;

fn wit_request(scopes: &[&str]) -> wit::Request {
    wit::Request {
        resource: wit::Resource {
            id: "r1".into(),
            type_: Some("https://example.com/album".into()),
            name: None,
            owner: "alice".into(),
            scopes: vec!["view".into(), "edit".into()],
            attributes: r#"{"share-domain": "example.com", "ask-scopes": ["edit"]}"#.into(),
        },
        scopes: scopes.iter().map(|s| (*s).into()).collect(),
        party: wit::Party {
            subject: Some("bob".into()),
            issuer: Some("https://idp.example.com".into()),
            claims:
                r#"{"email":"bob@example.com","email_verified":true,"email":"second@example.com"}"#
                    .into(),
        },
        context: wit::Context {
            now: 1_767_225_600,
            auth_time: None,
            client_id: "app".into(),
        },
    }
}

#[test]
fn converts_a_wit_request() {
    let (request, malformed) = from_wit(wit_request(&["view"]));
    assert_eq!(malformed, None);
    let resource = request.resource();
    assert_eq!(resource.id(), "r1");
    assert_eq!(resource.resource_type(), Some("https://example.com/album"));
    assert_eq!(resource.name(), None);
    assert_eq!(resource.owner(), "alice");
    assert_eq!(resource.scopes(), ["view", "edit"]);
    assert_eq!(request.scopes(), ["view"]);
    assert_eq!(request.party().subject(), Some("bob"));
    assert_eq!(request.party().issuer(), Some("https://idp.example.com"));
    assert_eq!(request.context().now(), 1_767_225_600);
    assert_eq!(request.context().auth_time(), None);
    assert_eq!(request.context().client_id(), "app");
}

#[test]
fn first_of_duplicate_names_wins() {
    let request = from_wit(wit_request(&[])).0;
    assert_eq!(request.party().claim_str("email"), Some("bob@example.com"));
    assert_eq!(request.party().claims().len(), 3);
}

#[test]
fn members_keep_their_json_text_and_order() {
    let request = from_wit(wit_request(&[])).0;
    let attributes = request.resource().attributes();
    let members: Vec<_> = attributes.iter().collect();
    assert_eq!(
        members,
        [
            ("share-domain", r#""example.com""#),
            ("ask-scopes", r#"["edit"]"#)
        ]
    );
    assert_eq!(
        request
            .resource()
            .attribute::<Vec<String>>("ask-scopes")
            .unwrap(),
        Some(vec!["edit".to_string()])
    );
    let escaped =
        Attributes::from_json_object(r#"{"a\u0062": "x\ny", "n": {"k": [1, 2]}}"#.into()).unwrap();
    assert_eq!(escaped.get_str("ab"), Some("x\ny"));
    assert_eq!(escaped.get_json("n"), Some(r#"{"k": [1, 2]}"#));
    assert!(
        Attributes::from_json_object("{}".into())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn attributes_or_claims_that_are_not_an_object_deny_every_scope() {
    struct PermitAll;
    impl Policy for PermitAll {
        fn decide(request: &Request) -> Decision {
            Decision::permit_all(request, "open")
        }
    }
    for bad in ["", "[]", r#"{"a":"#, r#"{"a":1} x"#, "null"] {
        let mut request = wit_request(&["view", "edit"]);
        request.party.claims = bad.into();
        let decision = export::decide::<PermitAll>(request);
        assert_eq!(decision.scopes.len(), 2, "{bad}");
        assert!(
            decision
                .scopes
                .iter()
                .all(|s| matches!(s.outcome, wit::Outcome::Deny(_))),
            "{bad}"
        );
        assert!(
            decision
                .explanation
                .starts_with("party claims are not a JSON object"),
            "{}",
            decision.explanation
        );
    }
}

#[test]
fn invalid_json_is_present_but_unreadable() {
    let resource = Resource::new("r", "alice").with_attribute_json("bad", "{");
    let attributes = resource.attributes();
    assert!(attributes.contains("bad"));
    assert_eq!(attributes.get("bad"), None);
    assert_eq!(attributes.get_json("bad"), Some("{"));
    let err = resource.attribute::<String>("bad").unwrap_err();
    assert_eq!(err.name(), "bad");
    assert!(err.to_string().starts_with("attribute `bad`: "), "{err}");
}

#[test]
fn typed_attribute_reads() {
    let resource = Resource::new("r", "alice")
        .with_attribute("n", 42)
        .with_attribute("s", "x")
        .with_attribute_json("list", r#"["a", "b"]"#);
    assert_eq!(resource.attribute::<i64>("n").unwrap(), Some(42));
    assert_eq!(resource.attribute::<f64>("n").unwrap(), Some(42.0));
    assert_eq!(
        resource.attribute::<Vec<String>>("list").unwrap().unwrap(),
        ["a", "b"]
    );
    assert_eq!(resource.attribute::<i64>("absent").unwrap(), None);
    let err = resource.attribute::<i64>("s").unwrap_err();
    assert_eq!(
        err.to_string(),
        "attribute `s`: invalid type: string \"x\", expected i64 at line 1 column 3"
    );
    assert_eq!(resource.attributes().get_i64("n"), Some(42));
    assert_eq!(resource.attributes().get_f64("s"), None);
}

#[test]
fn empty_scope_list_is_decided_as_the_empty_scope() {
    let request = from_wit(wit_request(&[])).0;
    let decision = Decision::for_each_scope(&request, |_| Outcome::Permit);
    assert_eq!(decision.outcome(""), Some(&Outcome::Permit));
    assert_eq!(decision.scopes().len(), 1);
    assert_eq!(decision.explanation(), "(no scope): permit");
}

#[test]
fn setting_a_scope_twice_keeps_the_last_outcome() {
    let decision = Decision::new("x")
        .permit("view")
        .deny("view", "changed my mind");
    assert_eq!(decision.scopes().len(), 1);
    assert_eq!(
        decision.outcome("view"),
        Some(&Outcome::deny("changed my mind"))
    );
    assert_eq!(decision.outcome("edit"), None);
}

#[test]
fn summary_names_every_outcome() {
    let request = Request::new(Resource::new("r", "alice")).with_scopes(["a", "b", "c", "d"]);
    let decision = Decision::for_each_scope(&request, |scope| match scope {
        "a" => Outcome::Permit,
        "b" => Outcome::deny("no"),
        "c" => Outcome::need_info([RequiredClaim::new("email"), RequiredClaim::default()]),
        _ => Outcome::ask_owner("why"),
    });
    assert_eq!(
        decision.explanation(),
        "a: permit; b: deny (no); c: need-info (email); d: ask-owner (why)"
    );
    let decision = decision.with_explanation("custom");
    assert_eq!(decision.explanation(), "custom");
}

#[test]
fn deny_all_and_permit_all() {
    let request = Request::new(Resource::new("r", "alice")).with_scopes(["a", "b"]);
    let denied = Decision::deny_all(&request, "closed");
    assert_eq!(denied.explanation(), "closed");
    assert!(
        denied
            .scopes()
            .iter()
            .all(|s| s.outcome == Outcome::deny("closed"))
    );
    let permitted = Decision::permit_all(&request, "open");
    assert!(permitted.scopes().iter().all(|s| s.outcome.is_permit()));
    assert_eq!(permitted.scopes().len(), 2);
}

#[test]
fn converts_a_decision_to_wit() {
    let claim = RequiredClaim::new("email")
        .friendly_name("Email address")
        .claim_type("string")
        .format(ID_TOKEN_FORMAT)
        .issuer("https://idp.example.com");
    let decision = Decision::new("why")
        .permit("a")
        .deny("b", "no")
        .need_info("c", [claim])
        .ask_owner("d", "please");
    let wit = into_wit(decision);
    assert_eq!(wit.explanation, "why");
    let scopes: Vec<&str> = wit.scopes.iter().map(|s| s.scope.as_str()).collect();
    assert_eq!(scopes, ["a", "b", "c", "d"]);
    assert!(matches!(wit.scopes[0].outcome, wit::Outcome::Permit));
    assert!(matches!(&wit.scopes[1].outcome, wit::Outcome::Deny(r) if r == "no"));
    assert!(matches!(&wit.scopes[3].outcome, wit::Outcome::AskOwner(w) if w == "please"));
    let wit::Outcome::NeedInfo(claims) = &wit.scopes[2].outcome else {
        panic!("expected need-info, got {:?}", wit.scopes[2].outcome);
    };
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].name.as_deref(), Some("email"));
    assert_eq!(claims[0].friendly_name.as_deref(), Some("Email address"));
    assert_eq!(claims[0].claim_type.as_deref(), Some("string"));
    assert_eq!(claims[0].claim_token_formats, [ID_TOKEN_FORMAT]);
    assert_eq!(claims[0].issuers, ["https://idp.example.com"]);
}

#[test]
fn decide_runs_the_policy_on_wit_types() {
    struct ViewOnly;
    impl Policy for ViewOnly {
        fn decide(request: &Request) -> Decision {
            log::info("deciding");
            Decision::for_each_scope(request, |scope| match scope {
                "view" => Outcome::Permit,
                _ => Outcome::deny("view only"),
            })
        }
    }
    let wit = export::decide::<ViewOnly>(wit_request(&["view", "edit"]));
    assert_eq!(wit.explanation, "view: permit; edit: deny (view only)");
}

#[test]
fn attributes_compare_by_json_text() {
    let built = Attributes::new().with("a", 1).with("b", "x");
    let received = Attributes::new()
        .with_json("a", "1")
        .with_json("b", r#""x""#);
    assert_eq!(built, received);
    assert_eq!(received.get_i64("a"), Some(1)); // parsing on read does not change equality
    assert_eq!(built, received);
    assert_ne!(
        built,
        Attributes::new().with_json("a", "1.0").with("b", "x")
    );
    assert_eq!(format!("{received:?}"), r#"{"a": "1", "b": "\"x\""}"#);
}

#[test]
fn string_and_bool_reads_agree_with_the_parser() {
    let texts = [
        r#""bob@example.com""#,
        r#""""#,
        r#""caf\u00e9""#,
        r#""a\"b""#,
        r#" "padded" "#,
        "\"tab\there\"",
        r#"""#,
        r#""unterminated"#,
        r#""x"y""#,
        "true",
        "false",
        " true",
        "tru",
        "1",
        "null",
        r#"["a"]"#,
        "",
    ];
    for text in texts {
        let attributes = Attributes::new().with_json("v", text);
        let parsed: Option<JsonValue> = serde_json::from_str(text).ok();
        assert_eq!(
            attributes.get_str("v"),
            parsed.as_ref().and_then(JsonValue::as_str),
            "{text}"
        );
        assert_eq!(
            attributes.get_bool("v"),
            parsed.as_ref().and_then(JsonValue::as_bool),
            "{text}"
        );
        let owned = attributes.get_as::<String>("v");
        match attributes.get_as_str("v") {
            Ok(text) => assert_eq!(text, owned.unwrap().as_deref()),
            Err(err) => assert_eq!(err.to_string(), owned.unwrap_err().to_string()),
        }
    }
    assert_eq!(Attributes::new().get_as_str("absent").unwrap(), None);
}

#[test]
fn objects_split_as_the_parser_reads_them() {
    let objects = [
        "{}",
        " { } ",
        r#"{"email":"bob@example.com","email_verified":true}"#,
        r#"{ "a" : 1 , "b":[1, "]", {"c": "}\"{"}], "d": {"e": [[], {}]}, "f": null, "g": false }"#,
        r#"{"n": -1.5e+3, "m": 0, "s": "caf\u00e9 \\", "t": "\"quoted\""}"#,
        r#"{"na\u006de": "escaped name", "\"": "quote", "é": "unicode name"}"#,
        "{\"nested\": {\"deep\": [1, 2, {\"x\": [true]}]}}",
    ];
    for object in objects {
        let parsed: serde_json::Map<String, JsonValue> = serde_json::from_str(object).unwrap();
        let split = Attributes::from_json_object(object.to_string()).unwrap();
        assert_eq!(split.len(), parsed.len(), "{object}");
        for (name, json) in split.iter() {
            let value = &parsed[name];
            assert_eq!(
                &serde_json::from_str::<JsonValue>(json).unwrap(),
                value,
                "{object}"
            );
            assert_eq!(split.get(name), Some(value), "{object}");
        }
    }
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(127), "]".repeat(127));
    assert!(Attributes::from_json_object(deep).is_some());
    let too_deep = format!("{{\"a\":{}1{}}}", "[".repeat(129), "]".repeat(129));
    assert!(Attributes::from_json_object(too_deep).is_none());
}

#[test]
fn text_that_is_not_one_object_is_refused() {
    for text in [
        "",
        "[]",
        "null",
        r#""{}""#,
        "{",
        "}",
        r#"{"a"}"#,
        r#"{"a":}"#,
        r#"{"a":1,}"#,
        r#"{"a":1 "b":2}"#,
        r#"{"a":1} x"#,
        r#"{"a":1}{}"#,
        "{'a':1}",
        r#"{a:1}"#,
        r#"{"a":"x}"#,
        r#"{"a\"}"#,
        "{\"a\":\"tab\there\"}",
        r#"{"a":[1,2}"#,
        r#"{"a":{"b":1]}"#,
        r#"{"a":tru}"#,
        r#"{"a":nul}"#,
        r#"{"a":+}"#,
        r#"{"\x": 1}"#,
    ] {
        assert!(
            Attributes::from_json_object(text.to_string()).is_none(),
            "accepted {text:?}"
        );
    }
}
