//! SAP's own Node.js libraries against the running mock: `@sap/xssec` validates tokens of the mock
//! XSUAA (fetching keys from `https://{uaadomain}/token_keys?zid=`), and SAP Cloud SDK's
//! `getDestination` gets the exchanged token from the mock Destination service.
//!
//! The packages are installed from the npm registry into `target/mock-platform-node-compat` (kept
//! between runs). Without `node`/`npm`, or when the registry cannot be reached, the test says so
//! loudly and skips.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const PACKAGES: &[&str] = &["@sap/xssec@4", "@sap-cloud-sdk/connectivity@4"];

/// Says why the test did not run, on the real stderr: the test harness hides `eprintln!` of
/// passing tests, and a skip must not go unnoticed.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n=== SKIPPED node_compat (SAP client compatibility): {reason} ===\n"
    );
}

fn scratch_dir() -> PathBuf {
    // target/<profile>/mock-platform -> target/mock-platform-node-compat
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_mock-platform"));
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    target.join("mock-platform-node-compat")
}

fn installed(dir: &Path) -> bool {
    ["@sap/xssec", "@sap-cloud-sdk/connectivity"]
        .iter()
        .all(|p| {
            dir.join("node_modules")
                .join(p)
                .join("package.json")
                .exists()
        })
}

fn tool_version(tool: &str) -> Option<String> {
    let output = Command::new(tool).arg("--version").output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `command`, killing it after `limit`; returns (success, combined output).
fn run_bounded(mut command: Command, limit: Duration) -> Result<(bool, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let start = Instant::now();
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            return Ok((output.status.success(), text));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            return Err(format!(
                "timed out after {} s: {}{}",
                limit.as_secs(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn install(dir: &Path) -> Result<(), String> {
    if installed(dir) {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"mock-platform-node-compat","private":true}"#,
    )
    .map_err(|e| e.to_string())?;
    let mut npm = Command::new("npm");
    npm.current_dir(dir)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=error",
        ])
        .args(PACKAGES);
    match run_bounded(npm, Duration::from_secs(300))? {
        (true, _) if installed(dir) => Ok(()),
        (_, output) => Err(format!(
            "npm install {} failed:\n{output}",
            PACKAGES.join(" ")
        )),
    }
}

#[tokio::test]
async fn sap_xssec_and_cloud_sdk_work_against_the_mock() {
    let (Some(node), Some(npm)) = (tool_version("node"), tool_version("npm")) else {
        skip("node or npm is not installed (bash .ci/setup installs them)");
        return;
    };
    let dir = scratch_dir();
    let install_dir = dir.clone();
    if let Err(reason) = tokio::task::spawn_blocking(move || install(&install_dir))
        .await
        .unwrap()
    {
        skip(&format!(
            "cannot install SAP's packages from the npm registry (node {node}, npm {npm}): {reason}"
        ));
        return;
    }

    let p = start().await;
    let other = start().await;
    let input = json!({
        "alice": user_token(&p, "alice").await,
        "bob": user_token(&p, "bob").await,
        // Beyond xssec's 60 s leeway.
        "expired": mock_token(&p, json!({"user": "alice", "expires_in": -300})).await,
        "foreignKey": user_token(&other, "alice").await,
        "backendScope": "Backend-service!t6131.AllAccess",
        "destinationName": "BackendServiceAPI",
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat.js");
    let mut command = Command::new("node");
    command
        .arg(&script)
        .current_dir(&dir)
        .env("NODE_PATH", dir.join("node_modules"))
        .env("NODE_EXTRA_CA_CERTS", p.ca_cert_file.as_ref().unwrap())
        .env("VCAP_SERVICES", p.vcap_services().to_string())
        .env("COMPAT_INPUT", input.to_string())
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env("NO_PROXY", "localhost,127.0.0.1");
    let (_, output) =
        tokio::task::spawn_blocking(move || run_bounded(command, Duration::from_secs(120)))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("node {}: {e}", script.display()));
    println!("{output}");
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("COMPAT_RESULT "))
        .unwrap_or_else(|| panic!("no result from compat.js:\n{output}"));
    let results: Value = serde_json::from_str(line).unwrap();
    assert!(results.get("fatal").is_none(), "{results:#}");
    let check = |name: &str| -> &Value {
        let r = &results[name];
        assert_eq!(r["ok"], true, "{name}: {r}\n{output}");
        &r["value"]
    };
    let refused = |name: &str| -> String {
        let r = &results[name];
        assert_eq!(r["ok"], false, "{name} must fail: {r}");
        r["error"].as_str().unwrap_or_default().to_string()
    };

    let alice = check("xssec_alice");
    assert_eq!(alice["logonName"], "alice");
    assert_eq!(alice["backendScope"], true);
    assert_eq!(alice["uaaUser"], true);
    assert_eq!(alice["zoneId"], p.xsuaa_credentials()["identityzoneid"]);
    assert_eq!(check("xssec_bob")["backendScope"], false);
    let expired = refused("xssec_expired");
    assert!(expired.to_lowercase().contains("expired"), "{expired}");
    refused("xssec_foreign_key");
    assert_eq!(check("xssec_client_credentials")["hasAccessToken"], true);

    let sdk = check("sdk_alice");
    assert!(!sdk.is_null(), "the SDK found the destination\n{output}");
    assert_eq!(
        sdk["url"],
        format!("{}/odata/v2/ProductService/Products", p.backend_url)
    );
    assert_eq!(sdk["authentication"], "OAuth2UserTokenExchange");
    assert_eq!(sdk["tokenError"], Value::Null);
    assert_eq!(sdk["headerIsBearer"], true);
    assert_eq!(
        sdk["backendStatus"], 200,
        "the exchanged token opens the Backend API"
    );
    assert!(
        results["sdk_unknown"]["ok"] == true && results["sdk_unknown"]["value"].is_null(),
        "unknown destination: the SDK returns null: {}",
        results["sdk_unknown"]
    );

    let xsuaa = stats(&p.xsuaa_url).await;
    assert!(
        xsuaa["token_keys"].as_u64().unwrap() >= 1,
        "xssec fetched the keys: {xsuaa}"
    );
    assert!(
        xsuaa["token.jwt_bearer"].as_u64().unwrap() >= 2,
        "the SDK's exchange and the Destination service's: {xsuaa}"
    );
    assert!(stats(&p.destination_url).await["lookups"].as_u64().unwrap() >= 1);
}
