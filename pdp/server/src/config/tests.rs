use super::*;

#[test]
fn empty_file_gives_a_working_default() {
    let c = Config::parse("").unwrap();
    assert_eq!(c.issuer(), "http://127.0.0.1:8080");
    assert_eq!(c.database_url(), "sqlite://data/umagate.db");
    assert_eq!(c.tokens.code_secs, 60);
}

#[test]
fn full_file_parses() {
    let c = Config::parse(
        r#"
        [server]
        listen = "0.0.0.0:9000"
        issuer = "https://as.example.com"
        [database]
        url = "postgres://umagate@localhost/umagate"
        [tokens]
        access_secs = 600
        [registration]
        mode = "token"
        initial_access_token_sha256 = ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]
        [[clients]]
        client_id = "photoz"
        secret = "s3cret"
        resource_server = true
        grant_types = ["client_credentials"]
        [[clients]]
        client_id = "spa"
        token_endpoint_auth_method = "none"
        redirect_uris = ["https://spa.example.com/cb"]
        [[users]]
        username = "alice"
        password = "alice"
        email = "alice@example.com"
        email_verified = true
    "#,
    )
    .unwrap();
    assert_eq!(c.clients.len(), 2);
    assert!(c.clients[0].resource_server);
    assert_eq!(c.registration.mode, RegistrationMode::Token);
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[server]\nlisten = \"nope\"", "listen"),
        ("[server]\nport = 1", "port"),
        ("[tokens]\ncode_secs = 0", "tokens.code_secs"),
        ("[tokens]\ncode_secs = 3600", "tokens.code_secs"),
        (
            "[server]\nissuer = \"http://as.example.com\"",
            "server.issuer",
        ),
        (
            "[keys]\nrotation_overlap_secs = 10",
            "keys.rotation_overlap_secs",
        ),
        (
            "[[clients]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]",
            "clients[0] (c)",
        ),
        (
            "[[clients]]\nclient_id = \"c\"\nsecret = \"s\"\nredirect_uris = [\"http://evil.example/cb\"]",
            "clients[0] (c)",
        ),
        ("[[users]]\nusername = \"a\"", "users[0] (a)"),
        (
            "[[users]]\nusername = \"a\"\npassword = \"x\"\nshoe_size = 9",
            "shoe_size",
        ),
        ("[registration]\nmode = \"sometimes\"", "sometimes"),
        ("[admin]\ntoken_sha256 = \"abc\"", "admin.token_sha256"),
        ("[uma]\nticket_secs = 0", "uma.ticket_secs"),
        (
            "[[clients]]\nclient_id = \"u-alice\"\nsecret = \"s\"\ngrant_types = [\"client_credentials\"]",
            "clients[0] (u-alice).client_id",
        ),
        ("[uma]\nticket_secs = 86400", "uma.ticket_secs"),
        (
            "[registration]\ninitial_access_token_sha256 = [\"xyz\"]",
            "initial_access_token_sha256[0]",
        ),
    ];
    for (text, key) in cases {
        let err = Config::parse(text).unwrap_err();
        assert!(err.contains(key), "{text:?}: {err}");
    }
}
