use crate::support::*;
use axum::{Json, Router, extract::State, routing::get};
use base64::Engine;
use common::jwt::{JwtError, JwtValidator, decode_unverified};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone)]
struct Jwks {
    keys: Value,
    hits: Arc<AtomicUsize>,
}

async fn token_keys(State(s): State<Jwks>) -> Json<Value> {
    s.hits.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": s.keys }))
}

/// A JWKS endpoint at `{url}/token_keys`; returns the URL and its hit counter.
async fn jwks_server(keys: Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let state = Jwks {
        keys,
        hits: hits.clone(),
    };
    let url = serve(
        Router::new()
            .route("/token_keys", get(token_keys))
            .with_state(state),
    )
    .await;
    (url, hits)
}

/// The binding's XSUAA (key1 as n/e, kid "k1") and a validator for it.
async fn setup() -> (String, Arc<AtomicUsize>, JwtValidator) {
    let (url, hits) = jwks_server(json!([jwk_ne("k1")])).await;
    let validator =
        JwtValidator::from_xsuaa(&xsuaa_creds(&url, "localhost:1"), common::http::client());
    (url, hits, validator)
}

#[tokio::test]
async fn accepts_a_good_token_and_caches_the_keys() {
    let (url, hits, v) = setup().await;
    let token = sign(&user_claims(&url), "k1", None, KEY1);
    let claims = v.validate(&token).await.unwrap();
    assert_eq!(claims.user_name.as_deref(), Some("alice"));
    assert_eq!(claims.user_key().as_deref(), Some("zone-1/u-1"));
    assert_eq!(claims.client_id(), Some(CLIENT_ID));
    assert!(claims.has_scope(SCOPE));
    assert!(!claims.has_scope("AllAccess"), "scopes match exactly");
    let claims = v.validate_with_scope(&token, SCOPE).await.unwrap();
    assert_eq!(
        claims.xs_system_attributes.unwrap()["xs.rolecollections"][0],
        "BackendAccess"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "keys fetched once, then cached by kid"
    );
}

#[tokio::test]
async fn rejects_a_bad_signature() {
    let (url, _, v) = setup().await;
    let token = sign(&user_claims(&url), "k1", None, KEY2);
    assert_eq!(
        v.validate(&token).await.unwrap_err(),
        JwtError::BadSignature
    );
    // a tampered payload with the original signature
    let good = sign(&user_claims(&url), "k1", None, KEY1);
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = user_claims(&url);
    claims["scope"] = json!(["openid", SCOPE, "Backend-service!t6131.Admin"]);
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(
        v.validate(&forged).await.unwrap_err(),
        JwtError::BadSignature
    );
}

#[tokio::test]
async fn rejects_alg_none() {
    let (url, hits, v) = setup().await;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg":"none","kid":"k1"})),
        b64(&user_claims(&url))
    );
    let err = v.validate(&token).await.unwrap_err();
    assert_eq!(err, JwtError::UnsupportedAlgorithm("none".into()));
    assert_eq!(
        err.to_string(),
        "unsupported token algorithm \"none\" (only RS256 is accepted)"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "rejected before any key lookup"
    );
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key() {
    let (url, hits, v) = setup().await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    let key = jsonwebtoken::EncodingKey::from_secret(KEY1_PUB.as_bytes());
    let token = jsonwebtoken::encode(&header, &user_claims(&url), &key).unwrap();
    assert_eq!(
        v.validate(&token).await.unwrap_err(),
        JwtError::UnsupportedAlgorithm("HS256".into())
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_kid_refreshes_once_then_is_rate_limited() {
    let (url, hits, v) = setup().await;
    let token = sign(&user_claims(&url), "rotated", None, KEY1);
    assert_eq!(
        v.validate(&token).await.unwrap_err(),
        JwtError::UnknownKid("rotated".into())
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    for _ in 0..5 {
        assert_eq!(
            v.validate(&token).await.unwrap_err(),
            JwtError::UnknownKid("rotated".into())
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no further fetch within the refresh interval"
    );
    // known keys still work meanwhile
    v.validate(&sign(&user_claims(&url), "k1", None, KEY1))
        .await
        .unwrap();
}

#[tokio::test]
async fn rejects_expired_and_tolerates_small_skew_on_nbf_only() {
    let (url, _, v) = setup().await;
    let mut claims = user_claims(&url);
    claims["exp"] = json!(now() - 120);
    assert_eq!(
        v.validate(&sign(&claims, "k1", None, KEY1))
            .await
            .unwrap_err(),
        JwtError::Expired
    );
    // No leeway after `exp`: XSUAA refuses such a token in the exchange, so accepting it would
    // only turn a 401 (log in again) into a 502 further on.
    claims["exp"] = json!(now() - 10);
    assert_eq!(
        v.validate(&sign(&claims, "k1", None, KEY1))
            .await
            .unwrap_err(),
        JwtError::Expired
    );
    claims["exp"] = json!(now() + 600);
    claims["nbf"] = json!(now() + 10);
    v.validate(&sign(&claims, "k1", None, KEY1))
        .await
        .expect("nbf within the 60 s leeway: XSUAA's clock may be ahead of ours");
    claims["nbf"] = json!(now() + 300);
    assert_eq!(
        v.validate(&sign(&claims, "k1", None, KEY1))
            .await
            .unwrap_err(),
        JwtError::NotYetValid
    );
}

#[tokio::test]
async fn rejects_a_wrong_issuer() {
    let (url, _, v) = setup().await;
    let mut claims = user_claims(&url);
    claims["iss"] = json!("http://evil.example/oauth/token");
    let err = v
        .validate(&sign(&claims, "k1", None, KEY1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "untrusted token issuer \"http://evil.example/oauth/token\""
    );
    // same host, other port
    claims["iss"] = json!("http://127.0.0.1:1/oauth/token");
    assert!(matches!(
        v.validate(&sign(&claims, "k1", None, KEY1)).await,
        Err(JwtError::WrongIssuer(_))
    ));
    // a suffix that is not a subdomain of uaadomain
    claims["iss"] = json!("https://evillocalhost:1/oauth/token");
    assert!(matches!(
        v.validate(&sign(&claims, "k1", None, KEY1)).await,
        Err(JwtError::WrongIssuer(_))
    ));
    // a tenant subdomain of uaadomain is fine
    claims["iss"] = json!("https://tenant.localhost:1/oauth/token");
    v.validate(&sign(&claims, "k1", None, KEY1)).await.unwrap();
}

#[tokio::test]
async fn rejects_a_missing_scope() {
    let (url, _, v) = setup().await;
    let mut claims = user_claims(&url);
    claims["scope"] = json!(["openid", "Backend-service!t6131.Read"]);
    let err = v
        .validate_with_scope(&sign(&claims, "k1", None, KEY1), SCOPE)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "missing scope \"Backend-service!t6131.AllAccess\""
    );
}

#[tokio::test]
async fn rejects_other_zone_and_audience() {
    let (url, _, v) = setup().await;
    let mut claims = user_claims(&url);
    claims["zid"] = json!("zone-2");
    assert_eq!(
        v.validate(&sign(&claims, "k1", None, KEY1))
            .await
            .unwrap_err()
            .to_string(),
        "token is for another identity zone (zone-2)"
    );
    let mut claims = user_claims(&url);
    for c in ["cid", "client_id", "azp"] {
        claims[c] = json!("sb-other!t1");
    }
    claims["aud"] = json!(["sb-other!t1", "other!t1"]);
    assert_eq!(
        v.validate(&sign(&claims, "k1", None, KEY1))
            .await
            .unwrap_err()
            .to_string(),
        "token audience does not include this application (audiences: sb-other!t1, other!t1)"
    );
}

#[tokio::test]
async fn audience_from_scopes_or_cid() {
    let (url, _, v) = setup().await;
    // exchanged token of another client carrying our scope: no aud, audience from the scope prefix
    let mut claims = user_claims(&url);
    for c in ["cid", "client_id", "azp"] {
        claims[c] = json!("sb-clone-dest!b1");
    }
    claims.as_object_mut().unwrap().remove("aud");
    v.validate(&sign(&claims, "k1", None, KEY1)).await.unwrap();
    // aud entries are cut at the first '.'
    claims["aud"] = json!(["Backend-service!t6131.AllAccess"]);
    v.validate(&sign(&claims, "k1", None, KEY1)).await.unwrap();
    // client-credentials token of our own client, audience only via cid
    let mut claims = user_claims(&url);
    claims["aud"] = json!("uaa");
    claims["scope"] = json!("uaa.resource");
    let c = v.validate(&sign(&claims, "k1", None, KEY1)).await.unwrap();
    assert_eq!(c.aud, vec!["uaa"]);
}

#[tokio::test]
async fn trusted_jku_is_used_untrusted_is_ignored() {
    // uaadomain's own JWKS (key2) is reachable as localhost:PORT; the binding url serves key1
    let (uaa_url, uaa_hits) = jwks_server(json!([jwk_pem("k2", KEY2_PUB)])).await;
    let uaadomain = uaa_url
        .trim_start_matches("http://")
        .replace("127.0.0.1", "localhost");
    let (url, url_hits) = jwks_server(json!([jwk_ne("k1")])).await;
    let (evil, evil_hits) = jwks_server(json!([jwk_pem("evil", KEY2_PUB)])).await;
    let v = JwtValidator::from_xsuaa(&xsuaa_creds(&url, &uaadomain), common::http::client());

    let jku = format!("http://{uaadomain}/token_keys");
    v.validate(&sign(&user_claims(&url), "k2", Some(&jku), KEY2))
        .await
        .unwrap();
    assert_eq!(uaa_hits.load(Ordering::SeqCst), 1);

    let v = JwtValidator::from_xsuaa(&xsuaa_creds(&url, &uaadomain), common::http::client());
    let token = sign(
        &user_claims(&url),
        "evil",
        Some(&format!("{evil}/token_keys")),
        KEY2,
    );
    assert_eq!(
        v.validate(&token).await.unwrap_err(),
        JwtError::UnknownKid("evil".into())
    );
    assert_eq!(
        evil_hits.load(Ordering::SeqCst),
        0,
        "an untrusted jku is never fetched"
    );
    assert_eq!(
        url_hits.load(Ordering::SeqCst),
        1,
        "keys came from {{url}}/token_keys"
    );
}

#[tokio::test]
async fn key_fetch_errors_are_clear() {
    let url = closed_port_url();
    let v = JwtValidator::from_xsuaa(&xsuaa_creds(&url, "localhost:1"), common::http::client());
    let err = v
        .validate(&sign(&user_claims(&url), "k1", None, KEY1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JwtError::KeyFetch(m) if m.starts_with(&format!("{url}/token_keys: "))),
        "{err}"
    );
    let again = v
        .validate(&sign(&user_claims(&url), "k1", None, KEY1))
        .await
        .unwrap_err();
    assert_eq!(
        again, err,
        "while rate-limited the fetch error is repeated, not \"unknown kid\""
    );
}

#[tokio::test]
async fn offline_validation_with_the_verification_key() {
    let url = closed_port_url();
    let mut creds = xsuaa_creds(&url, "localhost:1");
    // XSUAA sometimes hands out the PEM on one line
    creds.verificationkey = Some(KEY1_PUB.replace('\n', ""));
    let v = JwtValidator::with_verification_key(&creds).unwrap();
    let claims = v
        .validate(&sign(&user_claims(&url), "any-kid", None, KEY1))
        .await
        .unwrap();
    assert_eq!(claims.zid.as_deref(), Some(ZONE));
    assert_eq!(
        v.validate(&sign(&user_claims(&url), "any-kid", None, KEY2))
            .await
            .unwrap_err(),
        JwtError::BadSignature
    );
    creds.verificationkey = None;
    assert!(JwtValidator::with_verification_key(&creds).is_err());
}

#[tokio::test]
async fn malformed_tokens() {
    let (_, _, v) = setup().await;
    for bad in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.x"] {
        assert!(
            matches!(v.validate(bad).await, Err(JwtError::Malformed(_))),
            "{bad:?}"
        );
    }
}

#[test]
fn decode_unverified_reads_claims() {
    let claims = decode_unverified(&sign(&user_claims("http://x"), "k1", None, KEY1)).unwrap();
    assert_eq!(claims.iss, "http://x/oauth/token");
    assert_eq!(claims.scope, vec!["openid", SCOPE]);
    assert!(claims.expires_at() > std::time::SystemTime::now());
    assert!(decode_unverified("nope").is_err());
}

#[tokio::test]
async fn a_burst_of_tokens_fetches_the_keys_once() {
    let (url, hits, v) = setup().await;
    let token = sign(&user_claims(&url), "k1", None, KEY1);
    let all = futures::future::join_all((0..20).map(|_| v.validate(&token))).await;
    assert!(all.iter().all(Result::is_ok));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}
