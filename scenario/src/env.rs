//! The Cloud Foundry-style env each app gets, built from the mock platform's ready file and the
//! names in `scenario.yaml`: what `cf push` plus the service bindings would give on BTP.

use common::generated::approuter_destinations;
use common::names::ScenarioNames;
use serde::Deserialize;
use serde_json::{Value, json};

/// What mock-platform writes to `--ready-file` once all its listeners are bound.
#[derive(Debug, Clone, Deserialize)]
pub struct MockReady {
    pub xsuaa: XsuaaReady,
    pub destination: ServiceUrl,
    pub backend: ServiceUrl,
    /// The HERE token endpoint (seed 003's token provider); absent from older mocks.
    #[serde(default)]
    pub here: Option<HereReady>,
    /// Exactly what a bound app gets as `VCAP_SERVICES`.
    pub vcap_services: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct XsuaaReady {
    pub url: String,
    #[serde(default)]
    pub tls_url: Option<String>,
    #[serde(default)]
    pub uaadomain: Option<String>,
    #[serde(default)]
    pub ca_cert_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HereReady {
    pub url: String,
    pub token_endpoint_url: String,
    /// The protected demo API the client page calls with the token.
    pub demo_url: String,
    /// A HERE `credentials.properties` for the mock's first access key.
    pub credentials_properties: Option<String>,
}

/// The page's files (`scenario/token-client/`), and its `config.json` naming the demo API.
pub fn token_client_files(demo_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "index.html",
            include_str!("../token-client/index.html").to_owned(),
        ),
        (
            "client.js",
            include_str!("../token-client/client.js").to_owned(),
        ),
        ("config.json", json!({ "demoUrl": demo_url }).to_string()),
    ]
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceUrl {
    pub url: String,
}

/// `VCAP_SERVICES` restricted to the given labels (the approuter binds only xsuaa).
pub fn vcap_services_with(ready: &MockReady, labels: &[&str]) -> Value {
    let mut out = serde_json::Map::new();
    if let Value::Object(all) = &ready.vcap_services {
        for (label, bindings) in all {
            if labels.contains(&label.as_str()) {
                out.insert(label.clone(), bindings.clone());
            }
        }
    }
    Value::Object(out)
}

pub fn vcap_application(app_name: &str, port: u16) -> Value {
    json!({
        "application_name": app_name,
        "name": app_name,
        "application_uris": [format!("127.0.0.1:{port}")],
        "uris": [format!("127.0.0.1:{port}")],
        "space_name": "local",
        "organization_name": "local",
        "limits": {"mem": 64},
    })
}

pub fn bsclient_env(names: &ScenarioNames, ready: &MockReady, port: u16) -> Vec<(String, String)> {
    vec![
        ("PORT".into(), port.to_string()),
        (
            "VCAP_SERVICES".into(),
            vcap_services_with(ready, &["xsuaa", "destination"]).to_string(),
        ),
        (
            "VCAP_APPLICATION".into(),
            vcap_application(&names.apps.bsclient.name, port).to_string(),
        ),
        (
            "BACKEND_DESTINATION".into(),
            names.destinations.bsclient_to_backend.clone(),
        ),
    ]
}

pub fn approuter_env(
    names: &ScenarioNames,
    ready: &MockReady,
    port: u16,
    bsclient_url: &str,
    xs_app_path: &str,
) -> Vec<(String, String)> {
    vec![
        ("PORT".into(), port.to_string()),
        (
            "VCAP_SERVICES".into(),
            vcap_services_with(ready, &["xsuaa"]).to_string(),
        ),
        (
            "VCAP_APPLICATION".into(),
            vcap_application(&names.apps.approuter.name, port).to_string(),
        ),
        (
            "destinations".into(),
            approuter_destinations(names, bsclient_url).to_string(),
        ),
        ("XS_APP_JSON".into(), xs_app_path.to_string()),
    ]
}
