//! Attacks on bsclient: a slowloris against its listener, a token past `exp`, which the
//! platform refuses in the exchange and which must therefore get a 401 (the App Router then logs
//! the user in again), not a 502, and a user without the token provider's scope calling
//! `/getToken` directly (bsclient has its own route on Cloud Foundry).

mod support;

use mock_platform::Service;
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{App, Platform, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_bsclient");
/// Generous upper bound for "closed within the timeout" on a loaded machine.
const MARGIN: Duration = Duration::from_secs(4);

#[tokio::test]
async fn slowloris_unfinished_request_head_is_cut_after_the_header_read_timeout() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[("INCOMING_REQUEST_TIMEOUT", "1000")])).await;
    let start = Instant::now();
    let mut tcp = TcpStream::connect(app.url.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(b"GET /mainentry HTTP/1.1\r\nHost: bsclient\r\nAuthorization: Bearer ")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(1) + MARGIN, tcp.read(&mut buf))
        .await
        .expect("bsclient kept an unfinished request head open");
    assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer");
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
}

/// The real binary, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn expired_user_token_gets_401_not_a_502_from_the_failed_exchange() {
    let platform = Platform::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _bsclient = Running(
        Command::new(BIN)
            .env_clear()
            .envs(platform.env(port))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("bsclient starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    support::wait_healthy(&base).await;

    // Expired 30 s ago: within `@sap/xssec`'s 60 s leeway, but XSUAA refuses it in the exchange.
    let expired = platform
        .mock_token(json!({"user": "alice", "expires_in": -30}))
        .await;
    let answer = support::get_json(&format!("{base}/mainentry"), Some(&expired)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(platform.exchanges(), 0, "no exchange is tried with it");

    // The same user with a valid token is served.
    let fresh = platform.user_token("alice").await;
    let answer = support::get_json(&format!("{base}/mainentry"), Some(&fresh)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// A user with a valid token but without the token provider's scope (bob: no role collection
/// granting `$XSAPPNAME.TokenProvider`) must not get the application's technical token.
#[tokio::test]
async fn get_token_without_the_token_provider_scope_is_forbidden() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let scope = format!("{}.TokenProvider", platform.vcap.xsuaa().unwrap().xsappname);

    let bob = platform.user_token("bob").await;
    let claims = common::jwt::decode_unverified(&bob).unwrap();
    assert!(!claims.has_scope(&scope), "bob must lack {scope}");
    let answer = get(&app.url("/getToken?ttl=600"), Some(&bob), &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        answer.body.contains(&scope),
        "names the scope: {}",
        answer.body
    );
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        0,
        "no token was fetched for bob"
    );

    let alice = platform.user_token("alice").await;
    assert!(
        common::jwt::decode_unverified(&alice)
            .unwrap()
            .has_scope(&scope)
    );
    let answer = get(&app.url("/getToken?ttl=600"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body.split('.').count(),
        3,
        "a token: {}",
        answer.body
    );
}

/// The required scope is configurable: with `uaa.user` required, bob (who has it) gets a token.
#[tokio::test]
async fn get_token_scope_is_configurable() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[("TOKEN_PROVIDER_REQUIRED_SCOPE", "uaa.user")])).await;
    let bob = platform.user_token("bob").await;
    let answer = get(&app.url("/getToken"), Some(&bob), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}
