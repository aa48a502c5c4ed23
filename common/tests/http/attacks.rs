//! Attacks on what `common` provides to every app: the server (slowloris, slow bodies, idle
//! connections, connection floods) and the JWKS cache (withdrawn signing keys).

use crate::support::*;
use axum::{Json, Router, extract::State, routing::get, routing::post};
use common::jwt::{JwksPolicy, JwtError, JwtValidator};
use common::server::ServerLimits;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::net::{closed_by_peer, held_until_closed, open_with};

/// Generous upper bound for "closed within the timeout" on a loaded machine.
const MARGIN: Duration = Duration::from_secs(4);

fn limits(header: Duration) -> ServerLimits {
    ServerLimits {
        header_read_timeout: header,
        request_timeout: Some(header),
        connection_timeout: Some(Duration::from_secs(60)),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(1),
        ..ServerLimits::default()
    }
}

/// Serves a router (`/ok`, and `/upload` that reads the whole body) with `limits`.
async fn server(limits: ServerLimits) -> std::net::SocketAddr {
    let router = Router::new().route("/ok", get(|| async { "ok" })).route(
        "/upload",
        post(|body: String| async move { body.len().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        common::server::serve(listener, router, &limits, std::future::pending()).await
    });
    addr
}

#[tokio::test]
async fn slowloris_partial_request_head_is_cut_after_the_header_read_timeout() {
    let addr = server(limits(Duration::from_secs(1))).await;
    let (took, sent) = held_until_closed(
        addr,
        b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_secs(1) + MARGIN,
    )
    .await;
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
    assert!(
        sent.is_empty(),
        "nothing is answered to half a head: {sent}"
    );
}

#[tokio::test]
async fn slow_request_body_gets_408_after_the_request_timeout() {
    let addr = server(limits(Duration::from_secs(1))).await;
    let (took, sent) = held_until_closed(
        addr,
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly ten b",
        Duration::from_secs(1) + MARGIN,
    )
    .await;
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(
        sent.to_ascii_lowercase().contains("connection: close"),
        "{sent}"
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn idle_connection_is_closed_after_the_connection_timeout() {
    let addr = server(ServerLimits {
        header_read_timeout: Duration::from_secs(60),
        connection_timeout: Some(Duration::from_secs(1)),
        ..limits(Duration::from_secs(60))
    })
    .await;
    let (took, _) = held_until_closed(addr, b"", Duration::from_secs(1) + MARGIN).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test]
async fn connection_flood_waits_for_a_slot_and_a_normal_client_is_served_once_slow_ones_are_cut() {
    let addr = server(ServerLimits {
        max_connections: 2,
        ..limits(Duration::from_secs(1))
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        slow.push(open_with(addr, b"GET /ok HTTP/1.1\r\nHost: x\r\n").await);
    }
    let start = Instant::now();
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/ok"))
        .timeout(Duration::from_secs(1) + MARGIN)
        .send()
        .await
        .expect("served once a slot is free");
    assert_eq!(answer.text().await.unwrap(), "ok");
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "served while both slots were taken: the limit is not enforced ({:?})",
        start.elapsed()
    );
    for mut tcp in slow {
        assert!(closed_by_peer(&mut tcp).await, "slow client cut off");
    }
}

/// A JWKS endpoint whose key list the test can change, as XSUAA's during a key rotation.
async fn rotating_jwks(keys: Value) -> (String, Arc<Mutex<Value>>) {
    let published = Arc::new(Mutex::new(keys));
    let state = published.clone();
    let url = serve(
        Router::new()
            .route(
                "/token_keys",
                get(|State(keys): State<Arc<Mutex<Value>>>| async move {
                    Json(json!({ "keys": keys.lock().unwrap().clone() }))
                }),
            )
            .with_state(state),
    )
    .await;
    (url, published)
}

#[tokio::test]
async fn withdrawn_signing_key_is_refused_once_a_new_kid_causes_a_refresh() {
    let (url, published) = rotating_jwks(json!([jwk_pem("k1", KEY1_PUB)])).await;
    let v = JwtValidator::from_xsuaa_with_policy(
        &xsuaa_creds(&url, "localhost:1"),
        common::http::client(),
        JwksPolicy {
            min_refresh_interval: Duration::ZERO,
            max_age: Duration::from_secs(600),
        },
    );
    let old = sign(&user_claims(&url), "k1", None, KEY1);
    let claims = v.validate(&old).await.expect("k1 is published");
    // XSUAA rotates: k2 signs, k1 is withdrawn.
    *published.lock().unwrap() = json!([jwk_pem("k2", KEY2_PUB)]);
    v.validate(&sign(&user_claims(&url), "k2", None, KEY2))
        .await
        .expect("the new key is fetched");
    assert_eq!(
        v.validate(&old).await.unwrap_err(),
        JwtError::UnknownKid("k1".into()),
        "a token signed with the withdrawn key"
    );
    assert!(
        !v.key_still_published(&claims).await,
        "remembered tokens are dropped too"
    );
}

#[tokio::test]
async fn withdrawn_signing_key_is_refused_after_the_periodic_refresh() {
    let (url, published) = rotating_jwks(json!([jwk_pem("k1", KEY1_PUB)])).await;
    let max_age = Duration::from_millis(300);
    let v = JwtValidator::from_xsuaa_with_policy(
        &xsuaa_creds(&url, "localhost:1"),
        common::http::client(),
        JwksPolicy {
            min_refresh_interval: Duration::from_millis(100),
            max_age,
        },
    );
    let old = sign(&user_claims(&url), "k1", None, KEY1);
    let claims = v.validate(&old).await.expect("k1 is published");
    *published.lock().unwrap() = json!([jwk_pem("k2", KEY2_PUB)]);
    assert!(
        v.key_still_published(&claims).await,
        "within max_age the fetched set is used as is"
    );
    // What the key set's maximum age needs, no more: the next use fetches it again.
    tokio::time::sleep(max_age).await;
    assert!(!v.key_still_published(&claims).await);
    assert_eq!(
        v.validate(&old).await.unwrap_err(),
        JwtError::UnknownKid("k1".into())
    );
}

#[tokio::test]
async fn key_endpoint_down_at_the_periodic_refresh_keeps_the_known_keys() {
    let (url, published) = rotating_jwks(json!([jwk_pem("k1", KEY1_PUB)])).await;
    let max_age = Duration::from_millis(200);
    let v = JwtValidator::from_xsuaa_with_policy(
        &xsuaa_creds(&url, "localhost:1"),
        common::http::client(),
        JwksPolicy {
            min_refresh_interval: Duration::from_millis(50),
            max_age,
        },
    );
    let token = sign(&user_claims(&url), "k1", None, KEY1);
    v.validate(&token).await.unwrap();
    // Not a JWKS any more: the refresh fails, and logging everybody out would not help.
    *published.lock().unwrap() = json!("broken");
    tokio::time::sleep(max_age).await;
    v.validate(&token)
        .await
        .expect("the keys fetched before stay trusted while XSUAA's keys cannot be read");
}
