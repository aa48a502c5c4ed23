//! Seed 003 against the mock HERE token endpoint, checked with HERE's own code:
//! - `@here/olp-sdk-authentication` 1.11 (from npm) gets tokens with `loadCredentialsFromFile` and
//!   `requestToken`, and is refused for a wrong secret, a stale timestamp and a replayed nonce;
//! - the seed's own `token-provider.js` (Express; only the lines the published listing lost are
//!   restored) runs unchanged against the mock and serves `/getToken`;
//! - a forged signature, a wrong secret, a stale timestamp and a replayed nonce get HERE's error
//!   JSON (`errorCode`, `message`, `httpStatus`).
//!
//! Needs `node`/`npm` (installed by `bash .ci/setup`) and the npm registry for the Node parts;
//! without them those parts say why and are skipped; the refusals are checked either way.

use common::oauth1;
use mock_platform::{MockConfig, Ports, RunningPlatform, Service};
use reqwest::StatusCode;
use scenario::{measure, node, process::AppProcess};
use serde_json::{Value, json};
use std::time::Duration;

async fn platform() -> RunningPlatform {
    mock_platform::start(
        MockConfig::builtin(),
        Ports {
            xsuaa_tls: None,
            ..Ports::default()
        },
    )
    .await
    .expect("mock platform starts")
}

fn key(platform: &RunningPlatform) -> (String, String) {
    let key = &platform.ready()["here"]["access_keys"][0];
    (
        key["id"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    )
}

fn token_url(platform: &RunningPlatform) -> url::Url {
    url::Url::parse(&format!(
        "{}/oauth2/token?sentWith=rust-test",
        platform.here_url
    ))
    .unwrap()
}

/// A token request signed by `common::oauth1` with the given secret, nonce and timestamp.
async fn signed_request(
    platform: &RunningPlatform,
    secret: &str,
    nonce: &str,
    timestamp: u64,
    tamper: impl Fn(String) -> String,
) -> (StatusCode, Value) {
    let url = token_url(platform);
    let (id, _) = key(platform);
    let header = oauth1::authorization("POST", &url, &[], &id, secret, nonce, timestamp).unwrap();
    let response = reqwest::Client::new()
        .post(url)
        .header("authorization", tamper(header))
        .json(&json!({"grantType": "client_credentials", "expiresIn": 600}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn assert_here_error(what: &str, (status, body): &(StatusCode, Value), code: u64) {
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    assert_eq!(body["errorCode"], code, "{what}: {body}");
    assert_eq!(body["httpStatus"], 401, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert!(
        body["errorId"]
            .as_str()
            .is_some_and(|m| m.starts_with("ERROR-")),
        "{what}: {body}"
    );
    assert_eq!(body["error"], "invalid_client", "{what}: {body}");
}

#[tokio::test]
async fn forged_signature_wrong_secret_stale_timestamp_and_replayed_nonce_are_refused() {
    let platform = platform().await;
    let (_, secret) = key(&platform);
    let now = oauth1::timestamp();

    let good = signed_request(&platform, &secret, &oauth1::nonce(), now, |h| h).await;
    assert_eq!(good.0, StatusCode::OK, "{}", good.1);
    assert_eq!(good.1["tokenType"], "bearer");
    assert_eq!(good.1["expiresIn"], 600);

    let forged = signed_request(&platform, &secret, &oauth1::nonce(), now, |h| {
        // Another signature of the right length: one base64 character changed.
        let i = h.find("oauth_signature=\"").unwrap() + "oauth_signature=\"".len();
        let mut bytes = h.into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    })
    .await;
    assert_here_error("forged signature", &forged, 401300);

    let wrong = signed_request(&platform, "not-the-secret", &oauth1::nonce(), now, |h| h).await;
    assert_here_error("wrong secret", &wrong, 401300);

    let stale = signed_request(&platform, &secret, &oauth1::nonce(), now - 310, |h| h).await;
    assert_here_error("stale timestamp", &stale, 401204);
    let future = signed_request(&platform, &secret, &oauth1::nonce(), now + 310, |h| h).await;
    assert_here_error("timestamp in the future", &future, 401204);

    let nonce = oauth1::nonce();
    let first = signed_request(&platform, &secret, &nonce, now, |h| h).await;
    assert_eq!(first.0, StatusCode::OK);
    let replay = signed_request(&platform, &secret, &nonce, now, |h| h).await;
    assert_here_error("replayed nonce", &replay, 401207);

    let missing = reqwest::Client::new()
        .post(token_url(&platform))
        .json(&json!({"grantType": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_here_error(
        "no Authorization",
        &(missing.status(), missing.json().await.unwrap()),
        401200,
    );

    let stats = platform.stats(Service::Here);
    assert_eq!(stats["tokens"], 2);
    assert_eq!(stats["signature_mismatch"], 2);
    assert_eq!(stats["stale_timestamp"], 2);
    assert_eq!(stats["nonce_replayed"], 1);
    // Only requests with a valid signature cost a remembered nonce.
    assert_eq!(platform.state().here.remembered_nonces(), 2);
}

#[tokio::test]
async fn a_form_body_is_signed_too_and_expires_in_is_clamped_to_a_day() {
    let platform = platform().await;
    let (id, secret) = key(&platform);
    let url = token_url(&platform);
    let form = vec![
        ("grant_type".to_owned(), "client_credentials".to_owned()),
        ("expires_in".to_owned(), "999999".to_owned()),
    ];
    let sign = |params: &[(String, String)]| {
        oauth1::authorization(
            "POST",
            &url,
            params,
            &id,
            &secret,
            &oauth1::nonce(),
            oauth1::timestamp(),
        )
        .unwrap()
    };
    let send = |header: String| {
        reqwest::Client::new()
            .post(url.clone())
            .header("authorization", header)
            .form(&form)
            .send()
    };
    // Signed over the form's parameters (RFC 5849 §3.4.1.3.1): accepted, clamped to 24 h.
    let answer = send(sign(&form)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["expiresIn"], 86_400);
    // Signed without them: the body was not what was signed.
    let answer = send(sign(&[])).await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn heres_own_client_and_the_seeds_token_provider_work_against_the_mock() {
    let Some(node_binary) = measure::which("node") else {
        eprintln!("SKIPPED: node is not on the PATH (bash .ci/setup installs it)");
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("here-token-provider");
    if let Err(reason) = node::prepare_here(&dir) {
        eprintln!("SKIPPED: cannot install @here/olp-sdk-authentication and express: {reason}");
        return;
    }
    let platform = platform().await;
    let ready = platform.ready()["here"].clone();
    std::fs::write(
        dir.join("credentials.properties"),
        ready["credentials_properties"].as_str().unwrap(),
    )
    .unwrap();
    let demo_url = ready["demo_url"].as_str().unwrap().to_owned();

    // HERE's client: loadCredentialsFromFile, requestToken, the demo API, refusals.
    let output = tokio::process::Command::new(&node_binary)
        .current_dir(&dir)
        .args(["here-client-check.js", "credentials.properties", &demo_url])
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the HERE client check finishes within a minute")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_str(stdout.trim()).unwrap();
    let (id, secret) = key(&platform);
    assert_eq!(
        results["loadCredentialsFromFile"]["accessKeyId"],
        id.as_str()
    );
    assert_eq!(
        results["loadCredentialsFromFile"]["secretLength"],
        secret.len()
    );
    assert_eq!(results["requestToken"]["tokenType"], "bearer");
    assert_eq!(results["requestToken"]["expiresIn"], 600);
    assert_eq!(results["requestToken"]["parts"], 3);
    assert_eq!(results["demo"]["status"], 200);
    assert_eq!(results["demo"]["body"]["accessKeyId"], id.as_str());
    assert_eq!(results["clamped"]["expiresIn"], 86_400);
    for refused in ["wrongSecret", "staleTimestamp", "replayedNonce"] {
        assert_eq!(results[refused]["refused"], true, "{refused}: {results}");
        assert_eq!(results[refused]["status"], 401, "{refused}: {results}");
    }

    // The seed's token-provider.js, unchanged: reads ./credentials.properties, listens on 3000.
    let mut provider = AppProcess::spawn(
        "token-provider.js",
        &node_binary,
        &["token-provider.js".to_string()],
        &[],
        &dir,
        false,
    )
    .unwrap();
    let url = "http://127.0.0.1:3000/getToken";
    provider
        .wait_healthy(&format!("{url}?ttl=600"), Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| {
            panic!("token-provider.js did not serve /getToken (is port 3000 free?): {e}")
        });
    let client = reqwest::Client::new();
    let first = client.get(format!("{url}?ttl=600")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["access-control-allow-origin"], "*");
    let token = first.text().await.unwrap();
    let second = client.get(url).send().await.unwrap().text().await.unwrap();
    assert_eq!(second, token, "cached until it expires, as the seed does");
    let me = client
        .get(&demo_url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["accessKeyId"], id.as_str());
    // The seed logs the expiry after it answers: wait for the line (CI once read the log first).
    assert!(
        provider
            .log
            .wait_for("The token expires on", Duration::from_secs(10))
            .await,
        "{}",
        provider.log.tail(20)
    );
}
