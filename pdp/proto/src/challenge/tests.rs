use super::*;

#[test]
fn grant_3_2_1_example_round_trips() {
    let c = UmaChallenge {
        realm: "example".into(),
        as_uri: "https://as.example.com".into(),
        ticket: "016f84e8-f9b9-11e0-bd6f-0021cc6004de".into(),
    };
    let header = c.to_header_value().unwrap();
    assert_eq!(
        header,
        r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#
    );
    assert_eq!(UmaChallenge::parse(&header).unwrap(), c);
}

#[test]
fn parses_keycloak_spacing_and_any_order() {
    let c = UmaChallenge::parse(r#"uma ticket="t1",as_uri="https://as",realm="r""#).unwrap();
    assert_eq!(
        (c.realm.as_str(), c.as_uri.as_str(), c.ticket.as_str()),
        ("r", "https://as", "t1")
    );
    let c = UmaChallenge::parse("UMA as_uri=\"https://as\" ,\t, ticket=tok68, ext=\"x\"").unwrap();
    assert_eq!(c.ticket, "tok68");
    assert_eq!(c.realm, "");
}

#[test]
fn quoted_string_escapes_round_trip() {
    let c = UmaChallenge {
        realm: r#"we "quote" \ slash"#.into(),
        as_uri: "https://as".into(),
        ticket: "t".into(),
    };
    let header = c.to_header_value().unwrap();
    assert!(
        header.starts_with(r#"UMA realm="we \"quote\" \\ slash""#),
        "{header}"
    );
    assert_eq!(UmaChallenge::parse(&header).unwrap(), c);
}

#[test]
fn builder_refuses_header_splitting() {
    for realm in ["a\r\nSet-Cookie: x=1", "a\u{0}", "caf\u{e9}", "tab\there"] {
        let c = UmaChallenge {
            realm: realm.into(),
            as_uri: "https://as".into(),
            ticket: "t".into(),
        };
        assert_eq!(
            c.to_header_value(),
            Err(ChallengeError::BadValue("realm")),
            "{realm:?}"
        );
    }
}

#[test]
fn strict_parser_refuses_malformed_challenges() {
    let cases: &[(&str, ChallengeError)] = &[
        (r#"Bearer realm="r""#, ChallengeError::NotUma),
        (r#"UMAX as_uri="a", ticket="t""#, ChallengeError::NotUma),
        (r#"UMA as_uri="a""#, ChallengeError::Missing("ticket")),
        (r#"UMA ticket="t""#, ChallengeError::Missing("as_uri")),
        (
            r#"UMA as_uri="", ticket="t""#,
            ChallengeError::Missing("as_uri"),
        ),
        (
            r#"UMA as_uri="a", ticket="t", TICKET="u""#,
            ChallengeError::Duplicate("TICKET".into()),
        ),
    ];
    for (header, expected) in cases {
        assert_eq!(
            &UmaChallenge::parse(header).unwrap_err(),
            expected,
            "{header}"
        );
    }
    for header in [
        "",
        "UMA",
        r#"UMA as_uri="a" ticket="t""#,
        r#"UMA as_uri="a", ticket="t"#,
        r#"UMA as_uri="a", ticket="t\"#,
        "UMA as_uri=\"a\", ticket=\"t\r\n\"",
        r#"UMA as_uri=, ticket="t""#,
        r#"UMA as_uri="a", ticket="t" trailing"#,
        r#"UMA as_uri="a", ticket="t", Bearer realm="x""#,
        "UMA as_uri=\"a\", ticket=\"caf\u{e9}\"",
    ] {
        assert!(
            matches!(UmaChallenge::parse(header), Err(ChallengeError::Syntax(_))),
            "{header:?}"
        );
    }
}

#[test]
fn rfc_6750_bearer_challenges() {
    let none = BearerChallenge {
        realm: Some("umagate".into()),
        ..Default::default()
    };
    assert_eq!(none.to_header_value().unwrap(), r#"Bearer realm="umagate""#);
    let invalid = BearerChallenge {
        realm: Some("umagate".into()),
        error: Some(ErrorCode::InvalidToken),
        scope: None,
    };
    assert_eq!(
        invalid.to_header_value().unwrap(),
        r#"Bearer realm="umagate", error="invalid_token""#
    );
    let scope = BearerChallenge {
        realm: None,
        error: Some(ErrorCode::InsufficientScope),
        scope: Some(crate::UMA_PROTECTION_SCOPE.into()),
    };
    assert_eq!(
        scope.to_header_value().unwrap(),
        r#"Bearer error="insufficient_scope", scope="uma_protection""#
    );
    assert_eq!(
        BearerChallenge::default().to_header_value().unwrap(),
        "Bearer"
    );
}

#[test]
fn grant_3_2_2_unreachable_fallback() {
    assert_eq!(
        AS_UNREACHABLE_WARNING,
        r#"199 - "UMA Authorization Server Unreachable""#
    );
    assert!(http::HeaderValue::from_str(AS_UNREACHABLE_WARNING).is_ok());
    let body = as_unreachable_body();
    assert_eq!(body.code(), ErrorCode::TemporarilyUnavailable);
}
