//! Attacks on the mock platform's listeners (slowloris on XSUAA, the Destination service, the
//! Backend API and XSUAA's TLS port) and on the Backend API's token check (a token for another
//! app that happens to carry the scope).

mod support;

use common::server::ServerLimits;
use mock_platform::{MockConfig, Ports, RunningPlatform};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous upper bound for "closed within the timeout" on a loaded machine.
const MARGIN: Duration = Duration::from_secs(4);
const TIMEOUT: Duration = Duration::from_secs(1);

async fn platform_with_short_timeouts() -> RunningPlatform {
    let limits = ServerLimits {
        header_read_timeout: TIMEOUT,
        request_timeout: Some(TIMEOUT),
        ..ServerLimits::default()
    };
    mock_platform::start(
        MockConfig::builtin(),
        Ports {
            limits,
            ..Ports::default()
        },
    )
    .await
    .expect("the platform starts")
}

/// Connects to `url`'s host and port, sends `bytes`, and returns how long the server kept the
/// connection open; panics if it is still open after the timeout and a margin.
async fn held_for(url: &str, bytes: &[u8]) -> Duration {
    let addr = url::Url::parse(url).unwrap();
    let addr = format!("127.0.0.1:{}", addr.port().unwrap());
    let start = Instant::now();
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + TIMEOUT + MARGIN).into(), tcp.read(&mut buf)).await {
            Err(_) => panic!("{url} kept a slowloris connection open"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn slowloris_unfinished_request_head_is_cut_on_every_service() {
    let platform = platform_with_short_timeouts().await;
    let head = b"GET /health HTTP/1.1\r\nHost: mock\r\nX-Slow: ";
    let (xsuaa, destination, backend) = tokio::join!(
        held_for(&platform.xsuaa_url, head),
        held_for(&platform.destination_url, head),
        held_for(&platform.backend_url, head),
    );
    for (service, took) in [
        ("XSUAA", xsuaa),
        ("Destination", destination),
        ("Backend API", backend),
    ] {
        assert!(
            took >= TIMEOUT - Duration::from_millis(100),
            "{service}: {took:?}"
        );
    }
}

#[tokio::test]
async fn slowloris_unfinished_tls_handshake_is_cut_on_xsuaa_https() {
    let platform = platform_with_short_timeouts().await;
    let url = platform.xsuaa_tls_url.clone().expect("TLS listener");
    // The first bytes of a TLS record, then nothing.
    let took = held_for(&url, &[0x16, 0x03, 0x01]).await;
    assert!(took >= TIMEOUT - Duration::from_millis(100), "{took:?}");
}

#[tokio::test]
async fn token_for_another_app_is_refused_by_the_backend_api_despite_the_scope() {
    let platform = support::start().await;
    let service_url = platform.ready()["backend"]["service_url"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |token: String| {
        let url = format!("{service_url}Products");
        async move {
            support::client()
                .get(url)
                .bearer_auth(token)
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
        }
    };
    // alice's token for the App Router's client names the Backend API in `aud` (the scope's
    // prefix), as XSUAA issues it: accepted.
    let normal = support::user_token(&platform, "alice").await;
    assert_eq!(get(normal).await.status(), StatusCode::OK);

    // Same user, same scope, but issued for another app: neither `aud` nor `cid` names the
    // Backend API's client or xsappname.
    let other_app = platform.xsuaa_credentials()["clientid"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign = support::mock_token(
        &platform,
        json!({"user": "alice", "claims": {"aud": [other_app.clone()], "cid": other_app}}),
    )
    .await;
    let scope = platform.ready()["backend"]["required_scope"]
        .as_str()
        .unwrap();
    assert!(support::scopes(&foreign).iter().any(|s| s == scope));
    let answer = get(foreign).await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let body = answer.text().await.unwrap();
    assert!(body.contains("audience"), "{body}");
}
