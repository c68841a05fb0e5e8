use super::*;
use crate::json;

fn parse(body: &str) -> Result<ErrorResponse, json::JsonError> {
    json::object_from_slice(body.as_bytes())
}

#[test]
fn every_code_round_trips_with_its_status() {
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        assert!(code.status().is_client_error() || code.status().is_server_error());
    }
    assert_eq!(ErrorCode::NeedInfo.status(), StatusCode::FORBIDDEN);
    assert_eq!(ErrorCode::RequestDenied.status(), StatusCode::FORBIDDEN);
    assert_eq!(ErrorCode::RequestSubmitted.status(), StatusCode::FORBIDDEN);
    assert_eq!(ErrorCode::InvalidGrant.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        ErrorCode::InvalidResourceId.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(ErrorCode::InvalidClient.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ErrorCode::InvalidToken.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ErrorCode::NotFound.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        ErrorCode::UnsupportedMethodType.status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[test]
fn grant_3_3_6_invalid_grant_example() {
    let e = ErrorResponse::bare(ErrorCode::InvalidGrant);
    assert_eq!(e.to_json(), r#"{"error":"invalid_grant"}"#);
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
}

#[test]
fn grant_3_3_6_need_info_example_with_required_claims() {
    let body = r#"{"error":"need_info","ticket":"ZXJyb3JfZGV0YWlscw==",
 "required_claims":[{"claim_token_format":["http://openid.net/specs/openid-connect-core-1_0.html#IDToken"],
                     "claim_type":"urn:oid:0.9.2342.19200300.100.1.3",
                     "friendly_name":"email",
                     "issuer":["https://example.com/idp"],
                     "name":"email23423453ou453"}]}"#;
    let e = parse(body).unwrap();
    assert_eq!(e.code(), ErrorCode::NeedInfo);
    assert_eq!(e.ticket().unwrap().expose(), "ZXJyb3JfZGV0YWlscw==");
    assert_eq!(
        e.required_claims()[0].friendly_name.as_deref(),
        Some("email")
    );
    assert_eq!(
        e.required_claims()[0].issuer.as_deref(),
        Some(&["https://example.com/idp".to_string()][..])
    );
    let back: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    let orig: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(back, orig, "serializes to exactly the spec body");
}

#[test]
fn grant_3_3_6_need_info_example_with_redirect_user() {
    let body = r#"{"error":"need_info","ticket":"ZXJyb3JfZGV0YWlscw==","redirect_user":"https://as.example.com/rqp_claims?id=2346576421"}"#;
    let e = parse(body).unwrap();
    assert_eq!(
        e.redirect_user(),
        Some("https://as.example.com/rqp_claims?id=2346576421")
    );
    assert_eq!(e.to_json(), body);
}

#[test]
fn grant_3_3_6_request_denied_and_submitted_examples() {
    assert_eq!(
        ErrorResponse::request_denied().to_json(),
        r#"{"error":"request_denied"}"#
    );
    let body = r#"{"error":"request_submitted","ticket":"ZXJyb3JfZGV0YWlscw==","interval":5}"#;
    let e = parse(body).unwrap();
    assert_eq!(e.interval(), Some(5));
    assert_eq!(
        ErrorResponse::request_submitted(Secret::new("ZXJyb3JfZGV0YWlscw=="), Some(5)).to_json(),
        body
    );
}

#[test]
fn fedauthz_6_error_example() {
    let body = r#"{"error":"invalid_resource_id","error_description":"Permission request failed with bad resource ID.","error_uri":"https://as.example.com/uma_errors/invalid_resource_id"}"#;
    let e = parse(body).unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidResourceId);
    assert_eq!(e.to_json(), body);
}

#[test]
fn need_info_requires_a_way_forward() {
    assert!(ErrorResponse::need_info(Secret::new("t"), vec![], None).is_none());
    assert!(parse(r#"{"error":"need_info","ticket":"t"}"#).is_err());
    assert!(
        parse(r#"{"error":"need_info","redirect_user":"https://as/x"}"#).is_err(),
        "no ticket"
    );
}

#[test]
fn malformed_error_bodies_are_refused() {
    for body in [
        r#"{}"#,
        r#"{"error":"access_denied_please"}"#,
        r#"{"error":42}"#,
        r#"{"error":"request_denied","ticket":"t"}"#,
        r#"{"error":"request_submitted"}"#,
        r#"{"error":"request_submitted","ticket":"t","redirect_user":"https://x"}"#,
        r#"{"error":"invalid_grant","error":"invalid_scope"}"#,
        r#"{"error":"request_submitted","ticket":"t","interval":-1}"#,
    ] {
        assert!(parse(body).is_err(), "{body}");
    }
}

#[test]
fn debug_never_shows_the_ticket() {
    let e = ErrorResponse::request_submitted(Secret::new("sekrit-ticket"), None);
    assert!(!format!("{e:?}").contains("sekrit"));
}
