use super::*;

fn parse(body: &str) -> Result<ResourceDescription, ErrorResponse> {
    ResourceDescription::parse(body.as_bytes())
}

#[test]
fn fedauthz_3_1_photo_album_example() {
    let body = r#"{
   "resource_scopes":[
      "view",
      "http://photoz.example.com/dev/scopes/print"
   ],
   "description":"Collection of digital photographs",
   "icon_uri":"http://www.example.com/icons/flower.png",
   "name":"Photo Album",
   "type":"http://www.example.com/rsrcs/photoalbum"
}"#;
    let r = parse(body).unwrap();
    assert_eq!(r.resource_scopes.len(), 2);
    assert!(r.has_scope("http://photoz.example.com/dev/scopes/print"));
    assert_eq!(r.name.as_deref(), Some("Photo Album"));
    assert_eq!(
        r.resource_type.as_deref(),
        Some("http://www.example.com/rsrcs/photoalbum")
    );
    assert_eq!(r.id, None);
}

#[test]
fn only_resource_scopes_is_required_and_may_be_empty() {
    let r = parse(r#"{"resource_scopes":[]}"#).unwrap();
    assert!(r.resource_scopes.is_empty());
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"resource_scopes":[]}"#
    );
}

#[test]
fn read_response_carries_the_id() {
    let mut r = parse(r#"{"resource_scopes":["view"],"name":"Tweedl Social Service"}"#).unwrap();
    r.id = Some("KX3A-39WE".into());
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(
        json,
        r#"{"_id":"KX3A-39WE","resource_scopes":["view"],"name":"Tweedl Social Service"}"#
    );
    assert_eq!(parse(&json).unwrap(), r, "round trip");
}

#[test]
fn fedauthz_3_2_update_response_example() {
    let body = r#"{"_id":"9UQU-DUWW"}"#;
    let r: ResourceIdResponse = serde_json::from_str(body).unwrap();
    assert_eq!(r.id, "9UQU-DUWW");
    assert_eq!(serde_json::to_string(&r).unwrap(), body);
}

#[test]
fn localized_members_are_kept_and_other_extensions_ignored() {
    let r = parse(
        r##"{"resource_scopes":["view"],"name#fr":"Album photo","description#de-CH":"Fotos","x-vendor":{"a":1},"uris":["/a"]}"##,
    )
    .unwrap();
    assert_eq!(
        r.localized.get("name#fr").map(String::as_str),
        Some("Album photo")
    );
    assert_eq!(r.localized.len(), 2);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains(r##""name#fr":"Album photo""##));
    assert!(!json.contains("x-vendor"));
}

#[test]
fn scope_description_example() {
    let body = r#"{"description":"Print out and produce PDF files of photos","icon_uri":"http://www.example.com/icons/printer","name":"Print"}"#;
    let s: ScopeDescription = serde_json::from_str(body).unwrap();
    assert_eq!(s.name.as_deref(), Some("Print"));
}

#[test]
fn strict_server_refuses_bad_descriptions() {
    for body in [
        r#"{}"#,
        r#"{"resource_scopes":"view"}"#,
        r#"{"resource_scopes":null}"#,
        r#"{"resource_scopes":[1]}"#,
        r#"{"resource_scopes":[{"name":"view"}]}"#,
        r#"{"resource_scopes":["view","view"]}"#,
        r#"{"resource_scopes":["has space"]}"#,
        r#"{"resource_scopes":[""]}"#,
        r#"{"resource_scopes":["view"],"resource_scopes":["admin"]}"#,
        r#"{"resource_scopes":["view"],"icon_uri":"not a uri"}"#,
        r#"{"resource_scopes":["view"],"icon_uri":"javascript:alert(1)"}"#,
        r#"{"resource_scopes":["view"],"name":42}"#,
        r#"{"resource_scopes":["view"],"name":"a\u0000b"}"#,
        r##"{"resource_scopes":["view"],"name#":"x"}"##,
        r##"{"resource_scopes":["view"],"name#fr":7}"##,
        r#"[{"resource_scopes":["view"]}]"#,
        r#"["view"]"#,
        r#"{"resource_scopes":["view"]} trailing"#,
        "not json",
    ] {
        let e = parse(body).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest, "{body}");
    }
    let long = format!(
        r#"{{"resource_scopes":[],"name":"{}"}}"#,
        "n".repeat(MAX_NAME_LEN + 1)
    );
    assert!(parse(&long).is_err());
}
