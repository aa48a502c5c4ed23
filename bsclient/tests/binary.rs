//! The `bsclient` binary as Cloud Foundry runs it: env only, start-up errors, SIGTERM.

mod support;

use mock_platform::Service;
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Platform;

const BIN: &str = env!("CARGO_BIN_EXE_bsclient");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child if a test fails before it is stopped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(env: &[(String, String)]) -> Running {
    let child = Command::new(BIN)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bsclient binary starts");
    Running(child)
}

async fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "bsclient did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stderr_of(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test]
async fn missing_bindings_stop_the_start_with_the_expected_name() {
    let platform = Platform::start().await;
    let mut vcap = platform.mock.vcap_services().clone();
    vcap.as_object_mut().unwrap().remove("destination");
    let mut running = spawn(&[
        ("PORT".into(), free_port().to_string()),
        ("VCAP_SERVICES".into(), vcap.to_string()),
    ]);
    let status = wait_for_exit(&mut running.0).await;
    assert!(!status.success());
    let stderr = stderr_of(&mut running.0);
    assert!(
        stderr.contains("label \"destination\"") && stderr.contains("mydestination"),
        "{stderr}"
    );

    let mut running = spawn(&[("PORT".into(), free_port().to_string())]);
    assert!(!wait_for_exit(&mut running.0).await.success());
    let stderr = stderr_of(&mut running.0);
    assert!(stderr.contains("VCAP_SERVICES is not set"), "{stderr}");

    let mut running = spawn(&[
        ("PORT".into(), free_port().to_string()),
        (
            "VCAP_SERVICES".into(),
            platform.mock.vcap_services().to_string(),
        ),
        ("SCHED_SLICE_US".into(), "fast".into()),
    ]);
    assert!(!wait_for_exit(&mut running.0).await.success());
    let stderr = stderr_of(&mut running.0);
    assert!(
        stderr.contains("SCHED_SLICE_US=\"fast\"") && stderr.contains("microseconds"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish() {
    let platform = Platform::start().await;
    let port = free_port();
    let mut running = spawn(&platform.env(port));
    let base = format!("http://127.0.0.1:{port}");
    support::wait_healthy(&base).await;
    let alice = platform.user_token("alice").await;

    // The backend holds the request for a while, so it is in flight when SIGTERM arrives.
    platform
        .fail(
            Service::Backend,
            json!({"count": 1, "path_prefix": "/odata", "delay_ms": 1500}),
        )
        .await;
    let url = format!("{base}/mainentry");
    let in_flight = tokio::spawn(async move { support::get_json(&url, Some(&alice)).await });
    platform
        .wait_until("the backend call", |p| p.backend_requests() >= 1)
        .await;

    let pid = running.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());

    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.json()["d"]["results"].is_array());
    let status = wait_for_exit(&mut running.0).await;
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

#[tokio::test]
async fn the_binary_serves_the_scenario_from_cf_env() {
    let platform = Platform::start().await;
    let port = free_port();
    let mut env = platform.env(port);
    env.push(("BACKEND_DESTINATION".into(), "BackendServiceAPI".into()));
    let _running = spawn(&env);
    let base = format!("http://127.0.0.1:{port}");
    support::wait_healthy(&base).await;
    let alice = platform.user_token("alice").await;
    let page = support::get_html(&format!("{base}/mainentry"), Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<table>"));
}

/// An https Backend API is checked against the webpki roots plus `SSL_CERT_FILE`, as every other
/// outbound call: with the mock's CA there it answers, without it the certificate is refused (502).
#[tokio::test]
async fn an_https_backend_is_trusted_through_ssl_cert_file() {
    let mut config = mock_platform::MockConfig::builtin();
    // Any JSON over the mock's TLS listener will do as the "Backend API": its token keys.
    config.destination.instances[0]
        .init_data
        .as_mut()
        .expect("the built-in destination instance has init_data")["init_data"]["subaccount"]["destinations"]
        [0]["URL"] = json!("{{xsuaa.tls_url}}/token_keys");
    let platform = Platform::start_with_tls(config).await;
    let ca = platform
        .mock
        .ca_cert_file
        .clone()
        .expect("the mock writes its CA certificate");
    let alice = platform.user_token("alice").await;

    for trusted in [true, false] {
        let port = free_port();
        let mut env = platform.env(port);
        if trusted {
            env.push(("SSL_CERT_FILE".into(), ca.display().to_string()));
        }
        let _running = spawn(&env);
        let base = format!("http://127.0.0.1:{port}");
        support::wait_healthy(&base).await;
        let answer = support::get_json(&format!("{base}/mainentry"), Some(&alice)).await;
        if trusted {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            assert!(answer.json()["keys"].is_array(), "{}", answer.body);
        } else {
            assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
            assert!(
                answer.message().to_lowercase().contains("certificate"),
                "{}",
                answer.body
            );
        }
    }
}
