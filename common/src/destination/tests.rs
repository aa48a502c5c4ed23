use super::*;

fn lookup(json: &str) -> DestinationLookup {
    serde_json::from_str(json).unwrap()
}

const CONFIG: &str = r#""destinationConfiguration":{"Name":"BackendServiceAPI","Type":"HTTP","URL":"http://127.0.0.1:9/odata/v2/ProductService/Products","Authentication":"OAuth2UserTokenExchange","ProxyType":"Internet","tokenServiceURL":"http://x/oauth/token","clientId":"sb-x"}"#;

#[test]
fn prefers_http_header() {
    let l = lookup(&format!(
        r#"{{"owner":{{"SubaccountId":"s"}},{CONFIG},"authTokens":[{{"type":"bearer","value":"tok","http_header":{{"key":"Authorization","value":"Bearer tok"}},"expires_in":"43199"}}]}}"#
    ));
    let (k, v) = l.authorization().unwrap().unwrap();
    assert_eq!((k.as_str(), v.expose()), ("Authorization", "Bearer tok"));
    assert_eq!(l.token_expires_in(), Some(Duration::from_secs(43199)));
    assert_eq!(
        l.destination_configuration.authentication.as_deref(),
        Some("OAuth2UserTokenExchange")
    );
    assert_eq!(l.destination_configuration.properties["clientId"], "sb-x");
    assert!(!format!("{l:?}").contains("tok\""));
}

#[test]
fn builds_header_from_type_and_value() {
    let l = lookup(&format!(
        r#"{{{CONFIG},"authTokens":[{{"type":"bearer","value":"tok","expires_in":600}}]}}"#
    ));
    let (k, v) = l.authorization().unwrap().unwrap();
    assert_eq!((k.as_str(), v.expose()), ("Authorization", "Bearer tok"));
    assert_eq!(l.token_expires_in(), Some(Duration::from_secs(600)));
}

#[test]
fn no_tokens_is_none() {
    let l = lookup(&format!("{{{CONFIG}}}"));
    assert!(l.authorization().unwrap().is_none());
    assert_eq!(l.token_expires_in(), None);
    // round trip keeps the wire names and omits empty authTokens
    let json = serde_json::to_value(&l).unwrap();
    assert_eq!(
        json["destinationConfiguration"]["Name"],
        "BackendServiceAPI"
    );
    assert_eq!(
        json["destinationConfiguration"]["tokenServiceURL"],
        "http://x/oauth/token"
    );
    assert!(json.get("authTokens").is_none());
}

#[test]
fn token_error_is_an_error() {
    let l = lookup(&format!(
        r#"{{{CONFIG},"authTokens":[{{"type":"","value":"","error":"Retrieval of OAuthToken failed due to: invalid_grant","expires_in":"0"}}]}}"#
    ));
    assert_eq!(
        l.authorization().unwrap_err().to_string(),
        "destination \"BackendServiceAPI\": token retrieval failed: Retrieval of OAuthToken failed due to: invalid_grant"
    );
    let l = lookup(&format!(
        r#"{{{CONFIG},"authTokens":[{{"type":"bearer","value":""}}]}}"#
    ));
    assert_eq!(
        l.authorization().unwrap_err().to_string(),
        "destination \"BackendServiceAPI\": token retrieval failed: the Destination service returned an empty token"
    );
}
