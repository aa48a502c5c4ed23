//! Contract test: the `common` crate's clients (what approuter and bsclient use) against the mock,
//! from the `VCAP_SERVICES` it publishes.

mod support;

use common::cf::VcapServices;
use common::destination::{DestinationClient, DestinationError};
use common::jwt::{JwtError, JwtValidator};
use common::oauth::OAuthClient;
use common::secret::Secret;
use support::*;

const SCOPE: &str = "Backend-service!t6131.AllAccess";

#[tokio::test]
async fn common_clients_log_in_validate_and_exchange_against_the_mock() {
    let p = start().await;
    let vcap = VcapServices::parse(&p.vcap_services().to_string()).unwrap();
    let xsuaa = vcap.xsuaa().unwrap();
    let http = common::http::client();

    let oauth = OAuthClient::from_xsuaa(&xsuaa, http.clone());
    let alice = oauth
        .password("alice", &Secret::new("alice-pass"))
        .await
        .unwrap();
    let bob = oauth
        .password("bob", &Secret::new("bob-pass"))
        .await
        .unwrap();
    let refreshed = oauth
        .refresh(alice.refresh_token.as_ref().unwrap())
        .await
        .unwrap();
    assert!(
        oauth
            .refresh(alice.refresh_token.as_ref().unwrap())
            .await
            .is_err(),
        "refresh tokens rotate"
    );

    let validator = JwtValidator::from_xsuaa(&xsuaa, http.clone());
    let claims = validator
        .validate_with_scope(alice.access_token.expose(), SCOPE)
        .await
        .unwrap();
    assert_eq!(claims.user_name.as_deref(), Some("alice"));
    validator
        .validate(refreshed.access_token.expose())
        .await
        .unwrap();
    assert!(matches!(
        validator
            .validate_with_scope(bob.access_token.expose(), SCOPE)
            .await,
        Err(JwtError::MissingScope(_))
    ));
    let expired = mock_token(&p, serde_json::json!({"user": "alice", "expires_in": -300})).await;
    assert!(matches!(
        validator.validate(&expired).await,
        Err(JwtError::Expired)
    ));
    let offline = JwtValidator::with_verification_key(&xsuaa).unwrap();
    offline.validate(alice.access_token.expose()).await.unwrap();

    let destinations = DestinationClient::new(&vcap.destination().unwrap(), http.clone());
    let lookup = destinations
        .find("BackendServiceAPI", Some(alice.access_token.expose()))
        .await
        .unwrap();
    let (header, value) = lookup.authorization().unwrap().unwrap();
    assert_eq!(header, "Authorization");
    assert!(lookup.token_expires_in().unwrap().as_secs() > 3600);
    let url = lookup.destination_configuration.url.clone().unwrap();
    let status = http
        .get(&url)
        .header(header.as_str(), value.expose())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);

    assert!(matches!(
        destinations.find("Nope", None).await,
        Err(DestinationError::NotFound { .. })
    ));
    let expired_user = destinations.find("BackendServiceAPI", Some(&expired)).await;
    assert!(
        matches!(expired_user, Err(DestinationError::TokenRetrieval { .. })),
        "{expired_user:?}"
    );
}
