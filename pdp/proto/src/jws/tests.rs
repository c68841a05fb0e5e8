use super::*;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

fn setup() -> (SigningKey, Jwks) {
    let key = SigningKey::generate("k1").unwrap();
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    (key, jwks)
}

fn claims() -> Claims {
    Claims {
        sub: "bob".into(),
        exp: 1_900_000_000,
    }
}

#[test]
fn sign_and_verify_round_trip() {
    let (key, jwks) = setup();
    let token = key.sign("JWT", &claims()).unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(verify::<Claims>(&token, &jwks).unwrap(), claims());
    // The published set survives the strict JWKS parser (no private members).
    let published = Jwks::parse(serde_json::to_string(&jwks).unwrap().as_bytes()).unwrap();
    assert_eq!(verify::<Claims>(&token, &published).unwrap(), claims());
}

#[test]
fn stored_keys_sign_the_same() {
    let (key, jwks) = setup();
    let restored = SigningKey::from_pkcs8_der("k1", &key.to_pkcs8_der().unwrap()).unwrap();
    assert_eq!(restored.public_jwk(), key.public_jwk());
    assert!(verify::<Claims>(&restored.sign("JWT", &claims()).unwrap(), &jwks).is_ok());
}

fn forge(header: &str, payload: &str, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn algorithm_confusion_is_refused() {
    let (_, jwks) = setup();
    let payload = r#"{"sub":"bob","exp":1900000000}"#;
    for header in [
        r#"{"alg":"none","kid":"k1"}"#,
        r#"{"alg":"HS256","kid":"k1"}"#,
        r#"{"alg":"RS256","kid":"k1"}"#,
        r#"{"alg":"es256","kid":"k1"}"#,
    ] {
        let err = verify::<Claims>(&forge(header, payload, ""), &jwks).unwrap_err();
        assert!(matches!(err, JwsError::Header(_)), "{header}: {err:?}");
    }
    let sneaky = r#"{"alg":"ES256","kid":"k1","jwk":{"kty":"EC"}}"#;
    assert!(matches!(
        verify::<Claims>(&forge(sneaky, payload, "AA"), &jwks),
        Err(JwsError::Header(_))
    ));
    let crit = r#"{"alg":"ES256","kid":"k1","crit":["exp"]}"#;
    assert!(matches!(
        verify::<Claims>(&forge(crit, payload, "AA"), &jwks),
        Err(JwsError::Header(_))
    ));
}

#[test]
fn tampering_is_detected() {
    let (key, jwks) = setup();
    let token = key.sign("JWT", &claims()).unwrap();
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let other = URL_SAFE_NO_PAD.encode(r#"{"sub":"mallory","exp":1900000000}"#);
    assert_eq!(
        verify::<Claims>(&format!("{head}.{other}.{signature}"), &jwks),
        Err(JwsError::BadSignature)
    );
    let (other_key, _) = setup();
    let foreign = other_key.sign("JWT", &claims()).unwrap();
    assert_eq!(
        verify::<Claims>(&foreign, &jwks),
        Err(JwsError::BadSignature),
        "same kid, other key"
    );
    let unknown = SigningKey::generate("k2")
        .unwrap()
        .sign("JWT", &claims())
        .unwrap();
    assert_eq!(verify::<Claims>(&unknown, &jwks), Err(JwsError::UnknownKey));
}

#[test]
fn malformed_tokens_are_refused() {
    let (key, jwks) = setup();
    let token = key.sign("JWT", &claims()).unwrap();
    for bad in [
        String::new(),
        "a.b".into(),
        format!("{token}.x"),
        format!("{token}="),
        token.replace('.', ".."),
        "x".repeat(MAX_TOKEN_LEN + 1),
    ] {
        assert!(verify::<Claims>(&bad, &jwks).is_err(), "{bad:.40}");
    }
    let wrong_shape = key.sign("JWT", &serde_json::json!({"sub": 1})).unwrap();
    assert!(matches!(
        verify::<Claims>(&wrong_shape, &jwks),
        Err(JwsError::Payload(_))
    ));
}
