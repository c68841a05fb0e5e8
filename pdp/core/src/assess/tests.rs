use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn perm(id: &str, available: &[&str], ticket: &[&str]) -> TicketPermission {
    TicketPermission {
        resource_id: id.into(),
        available_scopes: strings(available),
        ticket_scopes: strings(ticket),
    }
}

fn input(
    permissions: Vec<TicketPermission>,
    registered: &[&str],
    requested: Option<&[&str]>,
) -> AssessInput {
    AssessInput {
        permissions,
        registered_scopes: strings(registered),
        requested_scopes: requested.map(strings),
    }
}

fn claim(name: &str) -> RequiredClaim {
    RequiredClaim {
        name: Some(name.into()),
        ..RequiredClaim::default()
    }
}

fn deny(why: &str) -> Outcome {
    Outcome::Deny(why.into())
}

fn ask(why: &str) -> Outcome {
    Outcome::AskOwner(why.into())
}

/// A source answering from a table keyed by (resource, scope); unlisted scopes get no outcome.
/// Records every call.
struct Table {
    outcomes: BTreeMap<(String, String), Outcome>,
    calls: Vec<(String, Vec<String>)>,
}

impl Table {
    fn new(entries: &[(&str, &str, Outcome)]) -> Self {
        Self {
            outcomes: entries
                .iter()
                .map(|(r, s, o)| ((r.to_string(), s.to_string()), o.clone()))
                .collect(),
            calls: Vec::new(),
        }
    }

    fn decide(&mut self, resource: &str, scopes: &[String]) -> Decision {
        self.calls.push((resource.to_string(), scopes.to_vec()));
        let decided: Vec<&str> = if scopes.is_empty() {
            vec![""]
        } else {
            scopes.iter().map(String::as_str).collect()
        };
        Decision {
            scopes: decided
                .into_iter()
                .filter_map(|s| {
                    self.outcomes
                        .get(&(resource.to_string(), s.to_string()))
                        .map(|o| (s.to_string(), o.clone()))
                })
                .collect(),
            explanation: "table".into(),
        }
    }
}

fn run(input: &AssessInput, partial: bool, table: &mut Table) -> Assessment {
    assess(input, AssessOptions { partial }, |r, s| table.decide(r, s))
}

fn grant(entries: &[(&str, &[&str])]) -> Assessment {
    Assessment::Grant(
        entries
            .iter()
            .map(|(r, s)| Granted {
                resource_id: r.to_string(),
                scopes: strings(s),
            })
            .collect(),
    )
}

fn reason(r: &str, s: &str, why: &str) -> Reason {
    Reason {
        resource_id: r.into(),
        scope: s.into(),
        reason: why.into(),
    }
}

/// The spec's worked example (Grant §3.3.4).
fn album_example() -> AssessInput {
    input(
        vec![
            perm("album", &["view", "edit", "download"], &["edit"]),
            perm("photo1", &["view", "download"], &["view"]),
            perm("photo2", &["view", "download"], &["view"]),
        ],
        &["download"],
        Some(&["download"]),
    )
}

#[test]
fn worked_example_computes_req_and_denies_by_default() {
    let mut t = Table::new(&[("photo1", "view", Outcome::Permit)]);
    let a = run(&album_example(), false, &mut t);
    assert_eq!(
        t.calls,
        vec![
            ("album".into(), strings(&["edit", "download"])),
            ("photo1".into(), strings(&["view", "download"])),
            ("photo2".into(), strings(&["view", "download"])),
        ]
    );
    let Assessment::Denied { reasons } = &a else {
        panic!("expected Denied, got {a:?}");
    };
    assert_eq!(reasons.len(), 5);
    assert!(reasons.iter().all(|r| r.reason == NO_DECISION));
    assert_eq!(
        a.error_response(None, None, None).unwrap().to_json(),
        r#"{"error":"request_denied"}"#
    );
}

#[test]
fn worked_example_partial_grants_only_photo1_view() {
    let mut t = Table::new(&[("photo1", "view", Outcome::Permit)]);
    assert_eq!(
        run(&album_example(), true, &mut t),
        grant(&[("photo1", &["view"])])
    );
}

#[test]
fn worked_example_all_permitted_grants_everything() {
    let mut entries = Vec::new();
    for (r, scopes) in [
        ("album", &["edit", "download"]),
        ("photo1", &["view", "download"]),
        ("photo2", &["view", "download"]),
    ] {
        for s in scopes {
            entries.push((r, *s, Outcome::Permit));
        }
    }
    let mut t = Table::new(&entries);
    let expected = grant(&[
        ("album", &["edit", "download"]),
        ("photo1", &["view", "download"]),
        ("photo2", &["view", "download"]),
    ]);
    assert_eq!(run(&album_example(), false, &mut t), expected);
    assert_eq!(run(&album_example(), true, &mut t), expected);
    assert!(expected.error_response(None, None, None).is_none());
}

#[test]
fn empty_source_is_denied_with_or_without_partial() {
    for partial in [false, true] {
        for i in [
            album_example(),
            input(vec![perm("r", &["a"], &[])], &[], None),
            input(vec![perm("r", &[], &[])], &[], None),
        ] {
            let mut t = Table::new(&[]);
            let a = run(&i, partial, &mut t);
            assert!(matches!(a, Assessment::Denied { .. }), "{a:?}");
        }
    }
}

#[test]
fn empty_ticket_is_denied_and_source_not_called() {
    let mut t = Table::new(&[]);
    let a = run(&input(vec![], &["a"], None), true, &mut t);
    assert!(matches!(a, Assessment::Denied { .. }), "{a:?}");
    assert!(t.calls.is_empty());
}

#[test]
fn precedence_table() {
    let i = input(
        vec![perm("r", &["a", "b", "c"], &["a", "b", "c"])],
        &[],
        None,
    );
    let ni = |n: &str| Outcome::NeedInfo(vec![claim(n)]);
    // (outcomes for a, b, c (None = omitted), expected kind)
    let cases: Vec<([Option<Outcome>; 3], &str)> = vec![
        (
            [
                Some(Outcome::Permit),
                Some(Outcome::Permit),
                Some(Outcome::Permit),
            ],
            "grant",
        ),
        (
            [
                Some(Outcome::Permit),
                Some(deny("x")),
                Some(Outcome::Permit),
            ],
            "denied",
        ),
        (
            [Some(Outcome::Permit), Some(deny("x")), Some(ni("email"))],
            "denied",
        ),
        (
            [Some(ask("o")), Some(deny("x")), Some(ni("email"))],
            "denied",
        ),
        ([Some(ask("o")), None, Some(ni("email"))], "denied"),
        (
            [Some(Outcome::Permit), None, Some(Outcome::Permit)],
            "denied",
        ),
        (
            [Some(Outcome::Permit), Some(ni("email")), Some(ask("o"))],
            "need_info",
        ),
        (
            [Some(ni("a")), Some(ni("b")), Some(Outcome::Permit)],
            "need_info",
        ),
        (
            [Some(Outcome::Permit), Some(ask("o")), Some(Outcome::Permit)],
            "ask_owner",
        ),
        (
            [Some(ask("o")), Some(ask("p")), Some(ask("q"))],
            "ask_owner",
        ),
    ];
    for (outcomes, expected) in cases {
        let entries: Vec<(&str, &str, Outcome)> = ["a", "b", "c"]
            .into_iter()
            .zip(outcomes.iter())
            .filter_map(|(s, o)| o.clone().map(|o| ("r", s, o)))
            .collect();
        let mut t = Table::new(&entries);
        let a = run(&i, false, &mut t);
        let kind = match a {
            Assessment::Grant(_) => "grant",
            Assessment::Denied { .. } => "denied",
            Assessment::NeedInfo(_) => "need_info",
            Assessment::AskOwner { .. } => "ask_owner",
            Assessment::InvalidScope(_) => "invalid_scope",
        };
        assert_eq!(kind, expected, "{outcomes:?}");
    }
}

#[test]
fn deny_on_one_resource_overrides_need_info_on_another() {
    let i = input(
        vec![perm("r1", &["a"], &["a"]), perm("r2", &["a"], &["a"])],
        &[],
        None,
    );
    let mut t = Table::new(&[
        ("r1", "a", Outcome::NeedInfo(vec![claim("email")])),
        ("r2", "a", deny("blocked")),
    ]);
    assert_eq!(
        run(&i, false, &mut t),
        Assessment::Denied {
            reasons: vec![reason("r2", "a", "blocked")]
        }
    );
}

#[test]
fn need_info_claims_are_merged_deduplicated_in_order() {
    let i = input(
        vec![
            perm("r1", &["a", "b"], &["a", "b"]),
            perm("r2", &["a"], &["a"]),
        ],
        &[],
        None,
    );
    let mut t = Table::new(&[
        (
            "r1",
            "a",
            Outcome::NeedInfo(vec![claim("email"), claim("age")]),
        ),
        (
            "r1",
            "b",
            Outcome::NeedInfo(vec![claim("age"), claim("email")]),
        ),
        (
            "r2",
            "a",
            Outcome::NeedInfo(vec![claim("org"), claim("email")]),
        ),
    ]);
    let a = run(&i, false, &mut t);
    let expected = vec![claim("email"), claim("age"), claim("org")];
    assert_eq!(a, Assessment::NeedInfo(expected.clone()));
    assert!(a.needs_ticket());
    let e = a
        .error_response(Some(Secret::new("t2")), None, None)
        .unwrap();
    assert_eq!(e.code(), ErrorCode::NeedInfo);
    assert_eq!(e.ticket().unwrap().expose(), "t2");
    assert_eq!(e.required_claims(), expected.as_slice());
}

#[test]
fn need_info_without_claims_needs_redirect_user_else_fails_closed() {
    let a = Assessment::NeedInfo(Vec::new());
    let e = a
        .error_response(Some(Secret::new("t")), None, None)
        .unwrap();
    assert_eq!(e.code(), ErrorCode::RequestDenied);
    let e = a
        .error_response(
            Some(Secret::new("t")),
            Some("https://as.example.com/rqp_claims?id=1".into()),
            None,
        )
        .unwrap();
    assert_eq!(e.code(), ErrorCode::NeedInfo);
    assert_eq!(
        e.redirect_user(),
        Some("https://as.example.com/rqp_claims?id=1")
    );
}

#[test]
fn ask_owner_maps_to_request_submitted_with_ticket_and_interval() {
    let i = input(vec![perm("r", &["a"], &["a"])], &[], None);
    let mut t = Table::new(&[("r", "a", ask("please"))]);
    let a = run(&i, false, &mut t);
    assert_eq!(
        a,
        Assessment::AskOwner {
            reasons: vec![reason("r", "a", "please")]
        }
    );
    assert!(a.needs_ticket());
    let e = a
        .error_response(Some(Secret::new("t3")), None, Some(5))
        .unwrap();
    assert_eq!(
        e.to_json(),
        r#"{"error":"request_submitted","ticket":"t3","interval":5}"#
    );
}

#[test]
fn missing_ticket_fails_closed_to_request_denied() {
    for a in [
        Assessment::NeedInfo(vec![claim("email")]),
        Assessment::AskOwner {
            reasons: Vec::new(),
        },
    ] {
        let e = a.error_response(None, None, Some(5)).unwrap();
        assert_eq!(e.code(), ErrorCode::RequestDenied);
    }
    let d = Assessment::Denied {
        reasons: vec![reason("r", "a", "secret reason")],
    };
    assert!(!d.needs_ticket());
    let e = d
        .error_response(Some(Secret::new("t")), None, None)
        .unwrap();
    assert_eq!(e.to_json(), r#"{"error":"request_denied"}"#);
}

#[test]
fn invalid_scope_before_any_decision() {
    let cases: Vec<(Vec<&str>, Vec<&str>, Option<&str>)> = vec![
        // (registered, requested, expected invalid scope)
        (vec!["print"], vec!["print"], Some("print")),
        (vec![], vec!["print"], Some("print")),
        (vec!["download"], vec!["download", "print"], Some("print")),
        (vec![], vec!["download"], None),
        (vec![], vec![], None),
    ];
    for (registered, requested, expected) in cases {
        let mut i = album_example();
        i.registered_scopes = strings(&registered);
        i.requested_scopes = Some(strings(&requested));
        let mut t = Table::new(&[]);
        let a = run(&i, true, &mut t);
        match expected {
            Some(s) => {
                assert_eq!(a, Assessment::InvalidScope(s.into()));
                assert!(t.calls.is_empty());
                let e = a.error_response(None, None, None).unwrap();
                assert_eq!(e.code(), ErrorCode::InvalidScope);
                assert!(e.description().unwrap().contains(s));
            }
            None => assert!(!matches!(a, Assessment::InvalidScope(_)), "{a:?}"),
        }
    }
}

#[test]
fn invalid_scope_description_is_escaped_and_bounded() {
    let long = format!("\"{}", "x".repeat(200));
    let e = Assessment::InvalidScope(long)
        .error_response(None, None, None)
        .unwrap();
    let d = e.description().unwrap();
    assert!(d.contains("\\\"xxx"));
    assert!(d.len() < 150, "{d}");
}

#[test]
fn unregistered_requested_scope_is_ignored() {
    // `download` is available but the client is not registered for it.
    let mut i = album_example();
    i.registered_scopes = Vec::new();
    let mut t = Table::new(&[
        ("album", "edit", Outcome::Permit),
        ("photo1", "view", Outcome::Permit),
        ("photo2", "view", Outcome::Permit),
    ]);
    assert_eq!(
        run(&i, false, &mut t),
        grant(&[
            ("album", &["edit"]),
            ("photo1", &["view"]),
            ("photo2", &["view"])
        ])
    );
    assert!(t.calls.iter().all(|(_, s)| !s.contains(&"download".into())));
}

#[test]
fn registered_but_not_requested_scope_is_not_added() {
    let mut i = album_example();
    i.requested_scopes = None;
    let mut t = Table::new(&[]);
    run(&i, false, &mut t);
    assert_eq!(
        t.calls,
        vec![
            ("album".into(), strings(&["edit"])),
            ("photo1".into(), strings(&["view"])),
            ("photo2".into(), strings(&["view"])),
        ]
    );
}

#[test]
fn extra_scopes_only_on_resources_that_offer_them() {
    let i = input(
        vec![
            perm("doc", &["read", "print"], &["read"]),
            perm("img", &["read"], &["read"]),
        ],
        &["print", "read"],
        Some(&["print", "print"]),
    );
    let mut t = Table::new(&[]);
    run(&i, false, &mut t);
    assert_eq!(
        t.calls,
        vec![
            ("doc".into(), strings(&["read", "print"])),
            ("img".into(), strings(&["read"])),
        ]
    );
}

#[test]
fn zero_scope_permission_needs_a_resource_level_permit() {
    let i = input(vec![perm("r", &["a"], &[])], &[], None);
    // Permits for real scopes do not stand in for the resource-level "".
    let mut t = Table::new(&[("r", "a", Outcome::Permit)]);
    assert!(matches!(run(&i, false, &mut t), Assessment::Denied { .. }));
    assert_eq!(t.calls, vec![("r".into(), Vec::new())]);

    let mut t = Table::new(&[("r", "", Outcome::Permit)]);
    assert_eq!(run(&i, false, &mut t), grant(&[("r", &[])]));

    let mut t = Table::new(&[("r", "", deny("no"))]);
    assert_eq!(
        run(&i, false, &mut t),
        Assessment::Denied {
            reasons: vec![reason("r", "", "no")]
        }
    );
}

#[test]
fn zero_scope_permission_gains_extra_scopes() {
    // With an extra scope Req(r) is no longer empty: "" is not consulted.
    let i = input(vec![perm("r", &["a"], &[])], &["a"], Some(&["a"]));
    let mut t = Table::new(&[("r", "a", Outcome::Permit)]);
    assert_eq!(run(&i, false, &mut t), grant(&[("r", &["a"])]));
    assert_eq!(t.calls, vec![("r".into(), strings(&["a"]))]);
}

#[test]
fn partial_includes_zero_scope_resources_and_skips_empty_candidates() {
    let i = input(
        vec![
            perm("r1", &[], &[]),
            perm("r2", &["a", "b"], &["a", "b"]),
            perm("r3", &["a"], &["a"]),
        ],
        &[],
        None,
    );
    let mut t = Table::new(&[
        ("r1", "", Outcome::Permit),
        ("r2", "b", Outcome::Permit),
        ("r2", "a", Outcome::NeedInfo(vec![claim("x")])),
        ("r3", "a", deny("no")),
    ]);
    assert_eq!(run(&i, true, &mut t), grant(&[("r1", &[]), ("r2", &["b"])]));
    assert!(matches!(run(&i, false, &mut t), Assessment::Denied { .. }));
}

#[test]
fn duplicate_resources_are_assessed_once() {
    let i = input(
        vec![
            perm("r", &["a", "b"], &["a"]),
            perm("r", &["a", "b"], &["b", "a"]),
        ],
        &[],
        None,
    );
    let mut t = Table::new(&[("r", "a", Outcome::Permit), ("r", "b", Outcome::Permit)]);
    assert_eq!(run(&i, false, &mut t), grant(&[("r", &["a", "b"])]));
    assert_eq!(t.calls, vec![("r".into(), strings(&["a", "b"]))]);
}

#[test]
fn outcomes_for_scopes_not_asked_about_are_ignored() {
    let i = input(vec![perm("r", &["a", "b"], &["a"])], &[], None);
    let mut t = Table::new(&[]);
    let a = assess(&i, AssessOptions::default(), |r, s| {
        let mut d = t.decide(r, s);
        d.scopes.insert("b".into(), Outcome::Permit);
        d.scopes.insert("".into(), Outcome::Permit);
        d
    });
    assert!(matches!(a, Assessment::Denied { .. }), "{a:?}");
}

#[test]
fn partial_defaults_off() {
    assert!(!AssessOptions::default().partial);
}

// Small domain: three resources, scopes from {a, b, c}, outcomes from a fixed table (or absent,
// or extra permits for scopes not asked about).
fn arb_outcome() -> impl Strategy<Value = Option<Outcome>> {
    prop_oneof![
        Just(None),
        Just(Some(Outcome::Permit)),
        Just(Some(Outcome::Permit)),
        Just(Some(deny("d"))),
        Just(Some(Outcome::NeedInfo(vec![claim("c")]))),
        Just(Some(ask("o"))),
    ]
}

fn arb_subset() -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(vec!["a", "b", "c"], 0..=3)
        .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn arb_case() -> impl Strategy<Value = (AssessInput, Vec<Option<Outcome>>, bool, bool)> {
    let perms = proptest::collection::vec((arb_subset(), arb_subset()), 0..=3).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (available, ticket))| TicketPermission {
                resource_id: format!("r{}", i % 2),
                // Ticket scopes are registered on the resource, as the permission endpoint
                // guarantees.
                ticket_scopes: ticket
                    .into_iter()
                    .filter(|s| available.contains(s))
                    .collect(),
                available_scopes: available,
            })
            .collect::<Vec<_>>()
    });
    (
        perms,
        arb_subset(),
        proptest::option::of(arb_subset()),
        proptest::collection::vec(arb_outcome(), 8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(permissions, registered, requested, outcomes, partial, flood)| {
                (
                    AssessInput {
                        permissions,
                        registered_scopes: registered,
                        requested_scopes: requested,
                    },
                    outcomes,
                    partial,
                    flood,
                )
            },
        )
}

fn outcome_index(resource: &str, scope: &str) -> usize {
    let r = if resource == "r0" { 0 } else { 4 };
    r + match scope {
        "a" => 0,
        "b" => 1,
        "c" => 2,
        _ => 3,
    }
}

proptest! {
    #[test]
    fn grant_only_holds_what_the_source_permitted(
        (i, outcomes, partial, flood) in arb_case()
    ) {
        let mut asked: Vec<(String, Vec<String>, Decision)> = Vec::new();
        let a = assess(&i, AssessOptions { partial }, |r, s| {
            let mut scopes = BTreeMap::new();
            let decided: Vec<&str> =
                if s.is_empty() { vec![""] } else { s.iter().map(String::as_str).collect() };
            for sc in decided {
                if let Some(o) = &outcomes[outcome_index(r, sc)] {
                    scopes.insert(sc.to_string(), o.clone());
                }
            }
            if flood {
                // Unasked-for permits must never widen the grant.
                for extra in ["a", "b", "c", "", "zzz"] {
                    scopes.entry(extra.to_string()).or_insert(Outcome::Permit);
                }
            }
            let d = Decision { scopes, explanation: String::new() };
            asked.push((r.to_string(), s.to_vec(), d.clone()));
            d
        });

        // Called at most once per resource.
        let mut ids: Vec<&String> = asked.iter().map(|(r, _, _)| r).collect();
        let n = ids.len();
        ids.dedup();
        prop_assert_eq!(ids.len(), n);

        if let Assessment::Grant(granted) = &a {
            prop_assert!(!granted.is_empty());
            for g in granted {
                let (_, req, d) = asked
                    .iter()
                    .find(|(r, _, _)| *r == g.resource_id)
                    .ok_or_else(|| TestCaseError::fail("granted resource never asked"))?;
                if g.scopes.is_empty() {
                    prop_assert!(req.is_empty());
                    prop_assert_eq!(d.scopes.get(""), Some(&Outcome::Permit));
                }
                for s in &g.scopes {
                    prop_assert!(req.contains(s), "granted scope {} not requested", s);
                    prop_assert_eq!(d.scopes.get(s), Some(&Outcome::Permit));
                    let available = i.permissions.iter()
                        .filter(|p| p.resource_id == g.resource_id)
                        .any(|p| p.available_scopes.contains(s));
                    prop_assert!(available);
                }
            }
            if !partial {
                // A full grant covers every Req(r), all permitted.
                for (r, req, d) in &asked {
                    let g = granted.iter().find(|g| &g.resource_id == r);
                    prop_assert_eq!(g.map(|g| &g.scopes), Some(req));
                    if req.is_empty() {
                        prop_assert_eq!(d.scopes.get(""), Some(&Outcome::Permit));
                    }
                }
            }
        }

        // Deny overrides: with partial off, any asked-about deny or missing outcome is Denied.
        if !partial && !asked.is_empty() {
            let any_deny = asked.iter().any(|(_, req, d)| {
                let decided: Vec<&str> =
                    if req.is_empty() { vec![""] } else { req.iter().map(String::as_str).collect() };
                decided.iter().any(|s| !matches!(
                    d.scopes.get(*s),
                    Some(Outcome::Permit | Outcome::NeedInfo(_) | Outcome::AskOwner(_))
                ))
            });
            prop_assert_eq!(any_deny, matches!(a, Assessment::Denied { .. }));
        }
    }
}
