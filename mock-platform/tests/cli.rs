//! The `mock-platform` binary and its configuration files: ready file contract, `--names`,
//! `--config` with real `xs-security.json` / `init_data` files, and errors naming file and key.

mod support;

use mock_platform::MockConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_mock-platform");

/// Kills the child when the test ends, however it ends.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn spawn_and_wait(args: &[&str], ready: &Path) -> (Running, Value) {
    let child = Command::new(BIN)
        .args(args)
        .arg("--ready-file")
        .arg(ready)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(Some(child));
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(ready) {
            return (
                running,
                serde_json::from_str(&text).expect("the ready file is complete JSON"),
            );
        }
        if let Some(status) = running.0.as_mut().unwrap().try_wait().unwrap() {
            let output = running.0.take().unwrap().wait_with_output().unwrap();
            panic!(
                "mock-platform exited ({status}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no ready file after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn binary_writes_the_ready_file_and_prints_urls_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let ready_path = dir.path().join("ready.json");
    let (mut running, ready) = spawn_and_wait(&[], &ready_path).await;

    for service in ["xsuaa", "destination", "backend"] {
        let url = ready[service]["url"].as_str().unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let health = client().get(format!("{url}/health")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
    }
    let tls = ready["xsuaa"]["tls_url"].as_str().unwrap();
    assert_eq!(
        tls,
        format!("https://{}", ready["xsuaa"]["uaadomain"].as_str().unwrap())
    );
    let ca_file = ready["xsuaa"]["ca_cert_file"].as_str().unwrap();
    assert!(
        std::fs::read_to_string(ca_file)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let xsuaa = &ready["vcap_services"]["xsuaa"][0];
    assert_eq!(
        (
            xsuaa["name"].as_str(),
            xsuaa["label"].as_str(),
            xsuaa["plan"].as_str()
        ),
        (Some("XsuaaForScenario"), Some("xsuaa"), Some("application"))
    );
    assert_eq!(xsuaa["tags"], json!(["xsuaa"]));
    for field in [
        "clientid",
        "clientsecret",
        "url",
        "uaadomain",
        "xsappname",
        "identityzone",
        "identityzoneid",
        "tenantid",
        "zoneid",
        "verificationkey",
    ] {
        assert!(
            xsuaa["credentials"][field].is_string(),
            "xsuaa credentials.{field}"
        );
    }
    assert_eq!(xsuaa["credentials"]["tenantmode"], "dedicated");
    assert_eq!(xsuaa["credentials"]["xsappname"], "XsuaaForScenario!t1");
    assert_eq!(xsuaa["credentials"]["url"], ready["xsuaa"]["url"]);
    let dest = &ready["vcap_services"]["destination"][0];
    assert_eq!(
        (
            dest["name"].as_str(),
            dest["label"].as_str(),
            dest["plan"].as_str()
        ),
        (Some("mydestination"), Some("destination"), Some("lite"))
    );
    assert_eq!(dest["tags"], json!(["destination", "conn", "connsvc"]));
    for field in [
        "clientid",
        "clientsecret",
        "uri",
        "url",
        "uaadomain",
        "xsappname",
        "identityzone",
        "tenantid",
    ] {
        assert!(
            dest["credentials"][field].is_string(),
            "destination credentials.{field}"
        );
    }
    assert_eq!(dest["credentials"]["uri"], ready["destination"]["url"]);
    assert_eq!(
        ready["vcap_services"].as_object().unwrap().len(),
        2,
        "only the bound instances"
    );

    // The running binary really serves what the ready file says.
    let secret = xsuaa["credentials"]["clientsecret"].as_str().unwrap();
    let response = testkit::tokens::password_grant(
        ready["xsuaa"]["url"].as_str().unwrap(),
        "sb-XsuaaForScenario!t1",
        secret,
        "alice",
        "alice-pass",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    let mut child = running.0.take().unwrap();
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(ready["xsuaa"]["url"].as_str().unwrap()),
        "{stdout}"
    );
    assert!(stdout.contains(ready["backend"]["url"].as_str().unwrap()));
    assert!(
        stdout.contains("alice / alice-pass") && stdout.contains("bob / bob-pass"),
        "{stdout}"
    );
    assert!(!stdout.contains(secret), "client secrets are not printed");
}

#[tokio::test]
async fn names_file_changes_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let names = common::names::DEFAULT_SCENARIO_YAML
        .replace("xsappname: Backend-service", "xsappname: Shop-backend")
        .replace("tenant_index: 6131", "tenant_index: 42")
        .replace("instance: XsuaaForScenario", "instance: ShopXsuaa");
    let names_path = dir.path().join("scenario.yaml");
    std::fs::write(&names_path, names).unwrap();
    let (_running, ready) = spawn_and_wait(
        &["--names", names_path.to_str().unwrap(), "--no-tls"],
        &dir.path().join("ready.json"),
    )
    .await;
    assert_eq!(
        ready["backend"]["required_scope"],
        "Shop-backend!t42.AllAccess"
    );
    assert_eq!(ready["vcap_services"]["xsuaa"][0]["name"], "ShopXsuaa");
    assert_eq!(ready["users"][0]["scopes"][0], "Shop-backend!t42.AllAccess");
    assert!(ready["xsuaa"]["tls_url"].is_null());
}

#[test]
fn bad_config_exits_with_an_error_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    let yaml = MockConfig::builtin().to_yaml().replace(
        "role_collections:\n    - BackendServiceAllAccess",
        "role_collections:\n    - NoSuchCollection",
    );
    assert!(yaml.contains("NoSuchCollection"), "test setup");
    std::fs::write(&path, yaml).unwrap();
    let output = Command::new(BIN)
        .args(["--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(
        stderr.contains("xsuaa.users[0].role_collections[0]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown role collection \"NoSuchCollection\""),
        "{stderr}"
    );

    let output = Command::new(BIN)
        .args(["--config", "/nonexistent/mock.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/mock.yaml"));
}

#[test]
fn print_config_gives_a_loadable_config() {
    let output = Command::new(BIN).arg("--print-config").output().unwrap();
    assert!(output.status.success());
    let yaml = String::from_utf8(output.stdout).unwrap();
    let config = MockConfig::parse(&yaml, "printed").unwrap();
    config.validate().unwrap();
    assert_eq!(config.xsuaa.users.len(), 2);
}

/// The files one would give `cf create-service`: a real `xs-security.json` and an `init_data` file.
#[tokio::test]
async fn config_file_with_xs_security_and_init_data_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("xs-security.json"),
        json!({
            "xsappname": "shop", "tenant-mode": "dedicated",
            "scopes": [{"name": "$XSAPPNAME.Display"}, {"name": "uaa.user"}],
            "role-templates": [{"name": "Viewer", "scope-references": ["$XSAPPNAME.Display", "uaa.user"]}],
            "role-collections": [{"name": "ShopViewer", "role-template-references": ["$XSAPPNAME.Viewer"]}],
            "oauth2-configuration": {"redirect-uris": ["https://*.example.com/**"], "token-validity": 600}
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("init.json"),
        json!({"init_data": {"instance": {"existing_destinations_policy": "update", "destinations": [{
            "Name": "ShopApi", "Type": "HTTP", "URL": "{{backend.url}}/odata/v2/ProductService/Products",
            "Authentication": "OAuth2UserTokenExchange", "ProxyType": "Internet",
            "tokenServiceURL": "{{xsuaa.url}}/oauth/token", "clientId": "{{shop-xsuaa.clientid}}", "clientSecret": "{{shop-xsuaa.clientsecret}}"
        }]}}})
        .to_string(),
    )
    .unwrap();
    let yaml = r#"
xsuaa:
  apps:
    - instance: shop-xsuaa
      tenant_index: 3
      xs_security_file: xs-security.json
      clientsecret: fixed-secret
  users:
    - { name: dora, password: dora-pass, email: dora@example.com, given_name: Dora, family_name: D, role_collections: [ShopViewer] }
destination:
  instances:
    - name: shop-destination
      init_data_file: init.json
backend:
  required_scope: shop!t3.Display
  properties:
    - { name: Code, type: Edm.String, key: true }
    - { name: Amount, type: Edm.Int64 }
  data:
    - { Code: A1, Amount: 5 }
"#;
    let path = dir.path().join("mock.yaml");
    std::fs::write(&path, yaml).unwrap();
    let config = MockConfig::load(&path).unwrap();
    let p = start_with(config).await;
    assert_eq!(p.xsuaa_credentials()["clientsecret"], "fixed-secret");
    let app = xsuaa_client(&p);
    let token = password_token(&p, &app, "dora", "dora-pass").await;
    assert_eq!(
        scopes(&token),
        vec!["openid", "shop!t3.Display", "uaa.user"]
    );
    let claims = claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600,
        "token-validity from xs-security.json"
    );

    let service_token = client_credentials(&p, &destination_client(&p)).await;
    let lookup: Value = client()
        .get(format!(
            "{}/destination-configuration/v1/destinations/ShopApi",
            p.destination_url
        ))
        .bearer_auth(service_token)
        .header("x-user-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let value = lookup["authTokens"][0]["value"].as_str().unwrap();
    let response = client()
        .get(format!(
            "{}/odata/v2/ProductService/Products('A1')",
            p.backend_url
        ))
        .bearer_auth(value)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["d"]["Amount"], "5", "Edm.Int64 as a string");

    // Mistakes in the referenced files name that file.
    std::fs::write(
        dir.path().join("xs-security.json"),
        r#"{"xsappname": "shop", "scope": []}"#,
    )
    .unwrap();
    let err = MockConfig::load(&path).unwrap_err();
    assert!(err.file.ends_with("xs-security.json"), "{err}");
    assert!(err.reason.contains("unknown field `scope`"), "{err}");
}

#[tokio::test]
async fn keys_from_a_pem_file_give_stable_key_ids_and_ready_is_served() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let dir = tempfile::tempdir().unwrap();
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pem_path = dir.path().join("keys.pem");
    std::fs::write(
        &pem_path,
        key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let mut config = MockConfig::builtin();
    config.xsuaa.keys_pem = Some(pem_path);
    let first = start_with(config.clone()).await;
    let second = start_with(config).await;
    let kid = |p: &mock_platform::RunningPlatform| p.state().keys.current().kid.clone();
    assert_eq!(kid(&first), kid(&second));
    let token = user_token(&first, "alice").await;
    assert_eq!(header(&token)["kid"], kid(&first));

    let ready: Value = client()
        .get(format!("{}/__mock/ready", first.backend_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(&ready, first.ready());
}
