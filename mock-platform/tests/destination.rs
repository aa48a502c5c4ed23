//! The mock Destination service over HTTP: the tutorial's token-exchange lookup, the SDK's way,
//! the other authentication types, and the failures it reports like the real service.

mod support;

use mock_platform::MockConfig;
use mock_platform::config::{RoleCollectionConfig, RoleRef, UserConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::*;

const FIND: &str = "/destination-configuration/v1/destinations";

async fn find(
    p: &mock_platform::RunningPlatform,
    name: &str,
    auth: &str,
    user_token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = client()
        .get(format!("{}{FIND}/{name}", p.destination_url))
        .header("authorization", auth);
    if let Some(token) = user_token {
        request = request.header("X-user-token", token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn products(url: &str, authorization: &str) -> StatusCode {
    client()
        .get(url)
        .header("authorization", authorization)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .status()
}

/// The builtin platform plus a user without `uaa.user` and destinations of the other types.
fn config_with_extras(token_url_override: Option<&str>) -> MockConfig {
    let mut config = MockConfig::builtin();
    config.xsuaa.role_collections.push(RoleCollectionConfig {
        name: "BackendOnly".into(),
        description: None,
        roles: vec![RoleRef {
            app: "Backend-service".into(),
            template: "AllAccess".into(),
        }],
    });
    config.xsuaa.users.push(UserConfig {
        name: "carol".into(),
        password: "carol-pass".into(),
        email: "carol@example.com".into(),
        given_name: "Carol".into(),
        family_name: "Nouaa".into(),
        id: None,
        origin: "sap.default".into(),
        role_collections: vec!["BackendOnly".into()],
        attributes: Default::default(),
    });
    let token_url = token_url_override.unwrap_or("{{xsuaa.url}}/oauth/token");
    let oauth = |name: &str, auth: &str| {
        json!({
            "Name": name, "Type": "HTTP", "URL": "{{backend.url}}/odata/v2/ProductService/Products",
            "Authentication": auth, "ProxyType": "Internet", "tokenServiceURL": token_url,
            "clientId": "{{XsuaaForScenario.clientid}}", "clientSecret": "{{XsuaaForScenario.clientsecret}}"
        })
    };
    config.destination.instances[0].init_data = Some(json!({"init_data": {
        "subaccount": {"existing_destinations_policy": "update", "destinations": [
            oauth("BackendServiceAPI", "OAuth2UserTokenExchange"),
            oauth("BackendJwtBearer", "OAuth2JWTBearer"),
            oauth("BackendTechnical", "OAuth2ClientCredentials"),
            {"Name": "Plain", "Type": "HTTP", "URL": "http://127.0.0.1:9/x", "Authentication": "NoAuthentication", "ProxyType": "Internet"},
            {"Name": "Basic", "Type": "HTTP", "URL": "http://127.0.0.1:9/x", "Authentication": "BasicAuthentication", "ProxyType": "Internet", "User": "u", "Password": "p:w"}
        ]},
        "instance": {"destinations": [
            {"Name": "InstanceOnly", "Type": "HTTP", "URL": "http://127.0.0.1:9/i", "Authentication": "NoAuthentication", "ProxyType": "Internet"}
        ]}
    }}));
    config
}

#[tokio::test]
async fn tutorial_lookup_exchanges_the_user_token_for_the_backend() {
    let p = start().await;
    let service_token = client_credentials(&p, &destination_client(&p)).await;
    let alice = user_token(&p, "alice").await;
    // The tutorial's app: `bearer` in lower case, the user's JWT in X-user-token.
    let (status, body) = find(
        &p,
        "BackendServiceAPI",
        &format!("bearer {service_token}"),
        Some(&alice),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let config = &body["destinationConfiguration"];
    assert_eq!(config["Name"], "BackendServiceAPI");
    assert_eq!(config["Type"], "HTTP");
    assert_eq!(config["Authentication"], "OAuth2UserTokenExchange");
    assert_eq!(config["ProxyType"], "Internet");
    assert_eq!(
        config["URL"],
        format!("{}/odata/v2/ProductService/Products", p.backend_url)
    );
    assert_eq!(config["clientId"], "sb-XsuaaForScenario!t1");
    assert!(body["owner"]["SubaccountId"].is_string());
    let token = &body["authTokens"][0];
    assert_eq!(token["type"], "bearer");
    assert_eq!(token["http_header"]["key"], "Authorization");
    let value = token["value"].as_str().unwrap();
    assert_eq!(token["http_header"]["value"], format!("Bearer {value}"));
    assert!(
        token["expires_in"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 3600,
        "expires_in is a string of seconds"
    );
    assert!(token.get("error").is_none());
    let exchanged = claims(value);
    assert_eq!(exchanged["user_name"], "alice");
    assert_eq!(
        exchanged["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_ne!(value, alice, "a fresh token");

    let url = config["URL"].as_str().unwrap();
    // `type + ' ' + value`, as the tutorial's app builds the header.
    assert_eq!(
        products(url, &format!("{} {value}", token["type"].as_str().unwrap())).await,
        StatusCode::OK
    );
    let stats = stats(&p.destination_url).await;
    assert_eq!(
        (stats["lookups"].as_u64(), stats["exchanges"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        support::stats(&p.xsuaa_url).await["token.jwt_bearer"],
        1,
        "one exchange at XSUAA over HTTP"
    );
}

#[tokio::test]
async fn sdk_style_lookup_with_a_user_token_of_the_binding_client() {
    let p = start().await;
    let alice = user_token(&p, "alice").await;
    let dest = destination_client(&p);
    let (status, body) = token_request(
        &p,
        &dest,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &alice),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let binding_user_token = body["access_token"].as_str().unwrap();
    let (status, body) = find(
        &p,
        "BackendServiceAPI",
        &format!("Bearer {binding_user_token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let value = body["authTokens"][0]["http_header"]["value"]
        .as_str()
        .unwrap();
    assert_eq!(
        products(
            body["destinationConfiguration"]["URL"].as_str().unwrap(),
            value
        )
        .await,
        StatusCode::OK
    );

    let (status, body) = client()
        .get(format!(
            "{}{FIND}/BackendServiceAPI?$skipTokenRetrieval=true",
            p.destination_url
        ))
        .bearer_auth(binding_user_token)
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let body: Value = body.json().await.unwrap();
    assert!(body.get("authTokens").is_none(), "{body}");
    assert_eq!(
        body["destinationConfiguration"]["Name"],
        "BackendServiceAPI"
    );
}

#[tokio::test]
/// Bob lacks the Backend API's scope, so his exchanged token names no Backend API audience either
/// (XSUAA derives `aud` from the scopes): `@sap/xssec` 4 refuses it with 401 before any scope check.
async fn bob_gets_a_token_but_the_backend_refuses_it() {
    let p = start().await;
    let service_token = client_credentials(&p, &destination_client(&p)).await;
    let bob = user_token(&p, "bob").await;
    let (status, body) = find(
        &p,
        "BackendServiceAPI",
        &format!("Bearer {service_token}"),
        Some(&bob),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let header = body["authTokens"][0]["http_header"]["value"]
        .as_str()
        .unwrap();
    assert_eq!(
        products(
            body["destinationConfiguration"]["URL"].as_str().unwrap(),
            header
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn failed_exchanges_answer_200_with_the_error_in_auth_tokens() {
    let p = start_with(config_with_extras(None)).await;
    let service_token = format!(
        "Bearer {}",
        client_credentials(&p, &destination_client(&p)).await
    );
    let expect_error = |body: &Value, needle: &str| {
        let token = &body["authTokens"][0];
        assert_eq!(token["type"], "");
        assert_eq!(token["value"], "");
        assert_eq!(token["expires_in"], "0");
        let error = token["error"].as_str().unwrap();
        assert!(
            error.starts_with("Retrieval of OAuthToken failed due to: "),
            "{error}"
        );
        assert!(error.contains(needle), "{error} should mention {needle}");
    };

    // A user without uaa.user: XSUAA refuses the exchange.
    let carol = password_token(&p, &xsuaa_client(&p), "carol", "carol-pass").await;
    let (status, body) = find(&p, "BackendServiceAPI", &service_token, Some(&carol)).await;
    assert_eq!(status, StatusCode::OK);
    expect_error(&body, "uaa.user");

    // An expired user token.
    let expired = mock_token(&p, json!({"user": "alice", "expires_in": -10})).await;
    let (_, body) = find(&p, "BackendServiceAPI", &service_token, Some(&expired)).await;
    expect_error(&body, "expired");

    // No user token at all (client-credentials token, no X-user-token).
    let (_, body) = find(&p, "BackendServiceAPI", &service_token, None).await;
    expect_error(&body, "X-user-token");
    assert_eq!(stats(&p.destination_url).await["exchange_errors"], 3);
}

#[tokio::test]
async fn token_service_down_is_reported_in_auth_tokens() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let p = start_with(config_with_extras(Some(&format!(
        "http://127.0.0.1:{port}/oauth/token"
    ))))
    .await;
    let service_token = format!(
        "Bearer {}",
        client_credentials(&p, &destination_client(&p)).await
    );
    let alice = user_token(&p, "alice").await;
    let (status, body) = find(&p, "BackendServiceAPI", &service_token, Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    let error = body["authTokens"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("cannot reach the token service URL"),
        "{error}"
    );
}

#[tokio::test]
async fn other_authentication_types() {
    let p = start_with(config_with_extras(None)).await;
    let service_token = format!(
        "Bearer {}",
        client_credentials(&p, &destination_client(&p)).await
    );
    let alice = user_token(&p, "alice").await;

    let (_, body) = find(&p, "Plain", &service_token, None).await;
    assert_eq!(
        body["destinationConfiguration"]["URL"],
        "http://127.0.0.1:9/x"
    );
    assert!(
        body.get("authTokens").is_none(),
        "NoAuthentication has no tokens: {body}"
    );

    let (_, body) = find(&p, "Basic", &service_token, None).await;
    assert_eq!(body["authTokens"][0]["type"], "Basic");
    assert_eq!(
        body["authTokens"][0]["http_header"]["value"],
        "Basic dTpwOnc="
    );

    let (_, body) = find(&p, "BackendTechnical", &service_token, None).await;
    let value = body["authTokens"][0]["value"].as_str().unwrap();
    assert_eq!(claims(value)["grant_type"], "client_credentials");
    assert_eq!(
        products(
            body["destinationConfiguration"]["URL"].as_str().unwrap(),
            &format!("Bearer {value}")
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "a technical token of another client names no Backend API audience (401 before the scope check, as @sap/xssec 4)"
    );

    let (_, body) = find(&p, "BackendJwtBearer", &service_token, Some(&alice)).await;
    let value = body["authTokens"][0]["value"].as_str().unwrap();
    assert_eq!(claims(value)["user_name"], "alice");

    // Instance destinations come first, and only for their instance.
    let (status, body) = find(&p, "InstanceOnly", &service_token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["owner"]["InstanceId"].is_string());
}

#[tokio::test]
async fn listings_and_single_destinations() {
    let p = start_with(config_with_extras(None)).await;
    let token = client_credentials(&p, &destination_client(&p)).await;
    let get = |path: &str| {
        let url = format!("{}/destination-configuration/v1/{path}", p.destination_url);
        let token = token.clone();
        async move {
            let r = client().get(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, list) = get("subaccountDestinations").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "BackendServiceAPI",
            "BackendJwtBearer",
            "BackendTechnical",
            "Plain",
            "Basic"
        ]
    );
    let (_, list) = get("instanceDestinations").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, one) = get("subaccountDestinations/Plain").await;
    assert_eq!(
        (status, one["URL"].as_str()),
        (StatusCode::OK, Some("http://127.0.0.1:9/x"))
    );
    let (status, body) = get("instanceDestinations/Plain").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"ErrorMessage": "Configuration with the specified name was not found"})
    );
}

#[tokio::test]
async fn unknown_destination_and_bad_service_tokens() {
    let p = start().await;
    let service_token = format!(
        "Bearer {}",
        client_credentials(&p, &destination_client(&p)).await
    );
    let (status, body) = find(&p, "Nope", &service_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"ErrorMessage": "Configuration with the specified name was not found"}),
        "exactly: the SDK matches on it"
    );

    let response = client()
        .get(format!("{}{FIND}/BackendServiceAPI", p.destination_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = find(&p, "BackendServiceAPI", "Bearer not.a.jwt", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let expired = mock_token(
        &p,
        json!({"client_id": destination_client(&p).id, "expires_in": -10}),
    )
    .await;
    let (status, _) = find(&p, "BackendServiceAPI", &format!("Bearer {expired}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A valid token, but of the app's client, not the destination binding's.
    let app_token = client_credentials(&p, &xsuaa_client(&p)).await;
    let (status, body) = find(
        &p,
        "BackendServiceAPI",
        &format!("Bearer {app_token}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["ErrorMessage"].as_str().unwrap().contains("not bound"));
}
