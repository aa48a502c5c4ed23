//! The mock platform (XSUAA, Destination service, backend, HERE) started in-process on free
//! loopback ports, and what tests read from it.

use mock_platform::{MockConfig, Ports, RunningPlatform, Service};
use serde_json::Value;

/// Starts `config` without the mock XSUAA's TLS listener (what most tests need).
pub async fn start(config: MockConfig) -> RunningPlatform {
    start_on(
        config,
        Ports {
            xsuaa_tls: None,
            ..Ports::default()
        },
    )
    .await
}

/// Starts `config` with the mock XSUAA's TLS listener too.
pub async fn start_with_tls(config: MockConfig) -> RunningPlatform {
    start_on(config, Ports::default()).await
}

async fn start_on(config: MockConfig, ports: Ports) -> RunningPlatform {
    mock_platform::start(config, ports)
        .await
        .unwrap_or_else(|e| panic!("the platform did not start: {e}"))
}

/// A counter of a service's `/__mock/stats`, 0 when it was never counted.
pub fn count(platform: &RunningPlatform, service: Service, counter: &str) -> u64 {
    platform.stats(service).get(counter).copied().unwrap_or(0)
}

/// The demo password of `user`, from the platform's ready description.
pub fn password(platform: &RunningPlatform, user: &str) -> String {
    platform.ready()["users"]
        .as_array()
        .expect("users in the ready description")
        .iter()
        .find(|u| u["name"] == user)
        .and_then(|u| u["password"].as_str())
        .unwrap_or_else(|| panic!("no demo user {user}"))
        .to_owned()
}

/// `GET {url}/__mock/stats` over HTTP.
pub async fn stats(url: &str) -> Value {
    crate::net::client()
        .get(format!("{url}/__mock/stats"))
        .send()
        .await
        .expect("the mock answers")
        .json()
        .await
        .expect("stats are JSON")
}
