use super::*;

fn parse(body: &str) -> Result<TokenRequestForm, ErrorResponse> {
    TokenRequestForm::parse(body.as_bytes())
}

#[test]
fn grant_3_3_1_uma_ticket_example() {
    let body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket\
&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
&claim_token=eyj0...\
&claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken\
&pct=c2F2ZWRjb25zZW50\
&rpt=sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv\
&scope=read";
    let TokenRequest::UmaTicket(req) = parse(body).unwrap().grant else {
        panic!("not the UMA grant");
    };
    assert_eq!(req.ticket.expose(), "016f84e8-f9b9-11e0-bd6f-0021cc6004de");
    let claim = req.claim_token.unwrap();
    assert!(claim.is_id_token());
    assert_eq!(claim.token.expose(), "eyj0...");
    assert_eq!(req.pct.unwrap().expose(), "c2F2ZWRjb25zZW50");
    assert_eq!(
        req.rpt.unwrap().expose(),
        "sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv"
    );
    assert!(req.scope.unwrap().contains("read"));
}

#[test]
fn other_grants_parse_with_body_credentials() {
    let f =
        parse("grant_type=client_credentials&scope=uma_protection&client_id=rs&client_secret=s3")
            .unwrap();
    assert_eq!(f.client_id.as_deref(), Some("rs"));
    assert_eq!(f.client_secret.as_ref().map(Secret::expose), Some("s3"));
    assert!(
        matches!(f.grant, TokenRequest::ClientCredentials { scope: Some(s) } if s.contains("uma_protection"))
    );

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let f = parse(&format!(
        "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb&code_verifier={verifier}"
    ))
    .unwrap();
    let TokenRequest::AuthorizationCode {
        code,
        redirect_uri,
        code_verifier,
    } = f.grant
    else {
        panic!("not authorization_code");
    };
    assert_eq!(code.expose(), "SplxlOBeZQQYbYS6WxSbIA");
    assert_eq!(
        redirect_uri.as_deref(),
        Some("https://client.example.com/cb")
    );
    assert_eq!(code_verifier.unwrap().expose(), verifier);

    let f = parse("grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA").unwrap();
    assert!(matches!(
        f.grant,
        TokenRequest::RefreshToken { scope: None, .. }
    ));
}

#[test]
fn empty_values_are_absent_and_unknown_parameters_ignored() {
    let f = parse(&format!(
        "grant_type={}&ticket=t1&pct=&rpt=&scope=&claim_token=&claim_token_format=&audience=x&submit_request=true",
        crate::UMA_TICKET_GRANT
    ))
    .unwrap();
    let TokenRequest::UmaTicket(req) = f.grant else {
        panic!()
    };
    assert!(
        req.pct.is_none() && req.rpt.is_none() && req.scope.is_none() && req.claim_token.is_none()
    );
}

#[test]
fn bad_token_requests_get_the_rfc_error() {
    let uma = crate::UMA_TICKET_GRANT;
    let cases: Vec<(String, ErrorCode)> = vec![
        ("ticket=t".into(), ErrorCode::InvalidRequest),
        ("grant_type=".into(), ErrorCode::InvalidRequest),
        (
            "grant_type=password&username=a&password=b".into(),
            ErrorCode::UnsupportedGrantType,
        ),
        (
            "grant_type=implicit".into(),
            ErrorCode::UnsupportedGrantType,
        ),
        (format!("grant_type={uma}"), ErrorCode::InvalidRequest),
        (
            format!("grant_type={uma}&ticket=a&ticket=b"),
            ErrorCode::InvalidRequest,
        ),
        (
            format!("grant_type={uma}&grant_type={uma}&ticket=a"),
            ErrorCode::InvalidRequest,
        ),
        (
            format!("grant_type={uma}&ticket=a&claim_token=x"),
            ErrorCode::InvalidRequest,
        ),
        (
            format!("grant_type={uma}&ticket=a&claim_token_format=x"),
            ErrorCode::InvalidRequest,
        ),
        (
            format!("grant_type={uma}&ticket=a+b"),
            ErrorCode::InvalidRequest,
        ),
        (
            format!("grant_type={uma}&ticket=a&scope=read++write"),
            ErrorCode::InvalidScope,
        ),
        (
            "grant_type=authorization_code".into(),
            ErrorCode::InvalidRequest,
        ),
        (
            "grant_type=authorization_code&code=c&code_verifier=short".into(),
            ErrorCode::InvalidRequest,
        ),
        ("grant_type=refresh_token".into(), ErrorCode::InvalidRequest),
        (
            "grant_type=client_credentials&client_id=a&client_id=b".into(),
            ErrorCode::InvalidRequest,
        ),
    ];
    for (body, code) in cases {
        assert_eq!(parse(&body).unwrap_err().code(), code, "{body}");
    }
}

#[test]
fn code_verifier_bounds() {
    assert!(CodeVerifier::new(&"a".repeat(43)).is_ok());
    assert!(CodeVerifier::new(&"a".repeat(128)).is_ok());
    assert!(CodeVerifier::new(&"a".repeat(42)).is_err());
    assert!(CodeVerifier::new(&"a".repeat(129)).is_err());
    assert!(CodeVerifier::new(&format!("{}+", "a".repeat(43))).is_err());
}

#[test]
fn grant_3_3_5_success_response_example() {
    let body = r#"{"access_token":"sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv","token_type":"Bearer","pct":"c2F2ZWRjb25zZW50","upgraded":true}"#;
    let r: TokenResponse = crate::json::object_from_slice(body.as_bytes()).unwrap();
    assert_eq!(r.upgraded, Some(true));
    assert_eq!(serde_json::to_string(&r).unwrap(), body);
    let mut pat = TokenResponse::bearer(Secret::from("p"));
    pat.scope = Some(Scopes::parse("uma_protection").unwrap());
    pat.expires_in = Some(3600);
    assert_eq!(
        serde_json::to_string(&pat).unwrap(),
        r#"{"access_token":"p","token_type":"Bearer","expires_in":3600,"scope":"uma_protection"}"#
    );
    assert!(
        crate::json::object_from_slice::<TokenResponse>(br#"{"token_type":"Bearer"}"#).is_err()
    );
}

#[test]
fn revocation_and_introspection_requests() {
    let form = Form::parse(b"token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token").unwrap();
    let r = TokenLookupRequest::from_form(&form).unwrap();
    assert_eq!(r.token.expose(), "45ghiukldjahdnhzdauz");
    assert_eq!(r.token_type_hint, Some(TokenTypeHint::RefreshToken));
    let form = Form::parse(b"token=x&token_type_hint=requesting_party_token").unwrap();
    assert_eq!(
        TokenLookupRequest::from_form(&form)
            .unwrap()
            .token_type_hint,
        Some(TokenTypeHint::Other("requesting_party_token".into())),
        "unknown hints are not an error (RFC 7662 §2.1)"
    );
    let form = Form::parse(b"token_type_hint=pct").unwrap();
    assert_eq!(
        TokenLookupRequest::from_form(&form).unwrap_err().code(),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn debug_output_hides_credentials() {
    let f = parse("grant_type=client_credentials&client_id=rs&client_secret=topsecret").unwrap();
    assert!(!format!("{f:?}").contains("topsecret"));
}
