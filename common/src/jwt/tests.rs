use super::*;

#[test]
fn subdomain_matching_is_label_based() {
    assert!(same_or_subdomain("localhost", "localhost"));
    assert!(same_or_subdomain(
        "tenant.authentication.eu10.hana.ondemand.com",
        "authentication.eu10.hana.ondemand.com"
    ));
    assert!(!same_or_subdomain(
        "evilauthentication.eu10.hana.ondemand.com",
        "authentication.eu10.hana.ondemand.com"
    ));
    assert!(!same_or_subdomain(
        "authentication.eu10.hana.ondemand.com.evil.org",
        "authentication.eu10.hana.ondemand.com"
    ));
}

#[test]
fn uaadomain_with_and_without_port() {
    assert_eq!(
        uaadomain_authority("localhost:8443"),
        Some(("localhost".into(), 8443))
    );
    assert_eq!(
        uaadomain_authority("authentication.eu10.hana.ondemand.com"),
        Some(("authentication.eu10.hana.ondemand.com".into(), 443))
    );
    assert_eq!(
        uaadomain_authority("https://Localhost:1/"),
        Some(("localhost".into(), 1))
    );
}

fn claims(json: serde_json::Value) -> Claims {
    serde_json::from_value(json).unwrap()
}

#[test]
fn aud_and_scope_as_string_or_array() {
    let c = claims(
        serde_json::json!({"iss": "x", "exp": 1, "aud": "a", "scope": "openid app!t1.Read"}),
    );
    assert_eq!(c.aud, vec!["a"]);
    assert_eq!(c.scope, vec!["openid", "app!t1.Read"]);
    let c = claims(serde_json::json!({"iss": "x", "exp": 1, "aud": ["a", "b"], "scope": null}));
    assert_eq!(c.aud, vec!["a", "b"]);
    assert!(c.scope.is_empty());
    assert!(serde_json::from_value::<Claims>(serde_json::json!({"exp": 1})).is_err());
}

#[test]
fn audiences_like_xssec() {
    let c = claims(
        serde_json::json!({"iss": "x", "exp": 1, "scope": ["openid", "app!t1.Read", "other!b2.Write"], "cid": "sb-x"}),
    );
    assert_eq!(c.audiences(), vec!["app!t1", "other!b2", "sb-x"]);
    let c = claims(
        serde_json::json!({"iss": "x", "exp": 1, "aud": ["app!t1.Read", "app!t1"], "azp": "app!t1"}),
    );
    assert_eq!(c.audiences(), vec!["app!t1"]);
}

#[test]
fn user_key_needs_zone_and_user() {
    let c = claims(serde_json::json!({"iss": "x", "exp": 1, "zid": "z", "user_id": "u"}));
    assert_eq!(c.user_key().as_deref(), Some("z/u"));
    let c = claims(serde_json::json!({"iss": "x", "exp": 1, "zid": "z"}));
    assert_eq!(c.user_key(), None);
}

#[test]
fn pem_without_line_breaks_is_accepted() {
    let pem = "-----BEGIN PUBLIC KEY-----MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA1NMLQArFbRkMvIV6WlmI-----END PUBLIC KEY-----";
    // truncated key: the PEM framing is accepted, the DER inside is not a key
    assert!(keys::decoding_key_from_pem(pem).is_err());
    assert_eq!(
        keys::decoding_key_from_pem("garbage").err().as_deref(),
        Some("not a PEM public key")
    );
}
