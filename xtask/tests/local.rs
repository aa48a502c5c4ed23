//! `cargo xtask deploy --local`: the staged folder, run as Cloud Foundry's binary buildpack would,
//! against a local landscape created from the staged files; the scenario driven through it, for the
//! shipped names and for a fork that renames everything. Also the glibc needs of the binaries
//! built for Cloud Foundry (the dev profile: the release build takes minutes).

mod common;

use common::run;
use scenario::Browser;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The dev-profile binaries deploy --local stages, built once (cargo's lock serialises the tests).
fn dev_binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // The env of the shell that ran `cargo test`, not the one cargo gives a test: build scripts that
    // watch cargo's variables would otherwise rebuild half the graph on every switch.
    let mut command = Command::new(cargo);
    command.env_clear();
    for (key, value) in std::env::vars_os() {
        let name = key.to_string_lossy();
        let cargo_given =
            name.starts_with("CARGO") || name.starts_with("RUST") || name == "OUT_DIR";
        let kept = [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
        ]
        .contains(&name.as_ref());
        if !cargo_given || kept {
            command.env(&key, value);
        }
    }
    let status = command
        .current_dir(workspace())
        .args([
            "build",
            "-p",
            "approuter",
            "-p",
            "bsclient",
            "-p",
            "mock-platform",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the dev build failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("debug")
}

struct Running {
    child: Child,
    stdout: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        // SIGTERM: xtask stops the apps and the platform.
        sigterm(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// kill(1) rather than an `unsafe` libc call: a test can afford the process.
fn sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

fn local_run(names: Option<&Path>, dir: &Path) -> (Running, serde_json::Value) {
    local_run_with(names, dir, &[])
}

fn local_run_with(
    names: Option<&Path>,
    dir: &Path,
    extra: &[&str],
) -> (Running, serde_json::Value) {
    let binaries = dev_binaries();
    let ready = dir.join("ready.json");
    let stdout = dir.join("xtask.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    if let Some(names) = names {
        cmd.arg("--names").arg(names);
    }
    cmd.args(["deploy", "--local", "--keep-running", "--prebuilt"])
        .arg(&binaries)
        .arg("--out")
        .arg(dir.join("cf"))
        .arg("--ready-file")
        .arg(&ready)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::inherit());
    let child = cmd.spawn().expect("xtask starts");
    let mut running = Running { child, stdout };
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            return (running, serde_json::from_str(&text).unwrap());
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!(
                "deploy --local ended ({status}) before it was ready:\n{}",
                std::fs::read_to_string(&running.stdout).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "deploy --local not ready in time:\n{}",
            std::fs::read_to_string(&running.stdout).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn drive(approuter_url: &str, user: &str, password: &str) -> scenario::Page {
    Browser::new()
        .login(&format!("{approuter_url}/mainentry"), user, password)
        .await
        .unwrap()
}

fn assert_staged_folder_is_what_deploy_pushes(out: &Path, apps: &[&str]) {
    for app in apps {
        assert!(out.join(app).join(app).is_file(), "{app} staged");
    }
    for file in [
        "manifest.yml",
        "xs-security.json",
        "xs-security-backend.json",
        "init_data.json",
        "mta.yaml",
    ] {
        assert!(out.join(file).is_file(), "{file} staged");
    }
}

#[tokio::test]
async fn the_staged_apps_run_the_scenario_with_the_shipped_names() {
    let dir = tempfile::tempdir().unwrap();
    let (running, ready) = local_run(None, dir.path());
    let log = std::fs::read_to_string(&running.stdout).unwrap();
    assert!(
        log.contains("scenario through the staged apps: ok"),
        "{log}"
    );
    // The binaries' glibc needs were checked against cflinuxfs4's.
    for app in ["approuter", "bsclient", "backend-api"] {
        assert!(
            log.contains(&format!("{app}: needs glibc 2."))
                && log.contains("cflinuxfs4 has 2.35: ok"),
            "{log}"
        );
    }
    assert!(
        log.contains("the Backend API's xsappname on this landscape: Backend-service!t6131"),
        "{log}"
    );
    assert_staged_folder_is_what_deploy_pushes(
        &dir.path().join("cf"),
        &["approuter", "bsclient", "backend-api"],
    );

    // Independently of xtask's own check: alice sees the products, bob gets 403.
    let url = ready["approuter_url"].as_str().unwrap();
    let alice = drive(url, "alice", "alice-pass").await;
    assert_eq!(alice.status.as_u16(), 200, "{}", alice.body);
    assert!(alice.body.contains("Notebook Basic 15"), "{}", alice.body);
    let bob = drive(url, "bob", "bob-pass").await;
    assert_eq!(bob.status.as_u16(), 403, "{}", bob.body);
    assert!(!bob.body.contains("<table"));

    // The staged Backend API takes no token but a real one of its own landscape.
    let backend = ready["apps"]["BackendServiceApp"].as_str().unwrap();
    let client = reqwest::Client::new();
    let anonymous = client
        .get(format!("{backend}/odata/v2/ProductService/Products"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert!(
        client
            .get(format!("{backend}/__mock/stats"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            == 404,
        "no mock knobs on the production Backend API"
    );
    drop(running);
}

#[tokio::test]
async fn a_fork_that_renames_everything_runs_through_the_staged_apps() {
    let dir = tempfile::tempdir().unwrap();
    let names = dir.path().join("fork.yaml");
    std::fs::write(
        &names,
        r#"
apps:
  approuter: { name: ForkRouter, host: fork-shop, memory: 96M }
  bsclient: { name: ForkClient, host: fork-client, memory: 80M }
xsuaa:
  instance: ForkXsuaaInstance
  xsappname: ForkApp
  tenant_index: 3
  uaa_user_role_collection: ForkUaaUser
destination_service:
  instance: fork-destinations
backend:
  xsappname: ForkBackendApp
  tenant_index: 42
  scope: ReadProducts
  role_collection: ForkReaders
  instance: ForkBackendXsuaa
  app: { name: ForkBackendApi, host: fork-products, memory: 64M }
destinations:
  router_to_bsclient: fork_client
  bsclient_to_backend: ForkProductsApi
users:
  - { name: carol, password: carol-pass, email: carol@example.com, given_name: Carol, family_name: Reader,
      role_collections: [ForkReaders, ForkUaaUser] }
  - { name: dave, password: dave-pass, email: dave@example.com, given_name: Dave, family_name: Noscope,
      role_collections: [ForkUaaUser] }
"#,
    )
    .unwrap();
    let (running, ready) = local_run(Some(&names), dir.path());
    let log = std::fs::read_to_string(&running.stdout).unwrap();
    assert!(
        log.contains("scenario through the staged apps: ok"),
        "{log}"
    );
    assert!(
        log.contains("the Backend API's xsappname on this landscape: ForkBackendApp!t42"),
        "{log}"
    );
    let manifest = std::fs::read_to_string(dir.path().join("cf/manifest.yml")).unwrap();
    for name in [
        "ForkRouter",
        "ForkClient",
        "ForkBackendApi",
        "fork-shop.",
        "ForkProductsApi",
    ] {
        assert!(
            manifest.contains(name),
            "{name} in manifest.yml:\n{manifest}"
        );
    }
    let url = ready["approuter_url"].as_str().unwrap();
    let carol = drive(url, "carol", "carol-pass").await;
    assert_eq!(carol.status.as_u16(), 200, "{}", carol.body);
    assert!(carol.body.contains("<table"), "{}", carol.body);
    let dave = drive(url, "dave", "dave-pass").await;
    assert_eq!(dave.status.as_u16(), 403, "{}", dave.body);
    drop(running);
}

#[test]
fn binaries_built_for_cloud_foundry_need_at_most_glibc_2_35() {
    let binaries = dev_binaries();
    // The same binaries as deploy would build (the dev profile here), checked by deploy itself.
    let sandbox = common::Sandbox::new();
    let mut cmd = sandbox.xtask();
    cmd.args([
        "deploy",
        "--dry-run",
        "--with-backend",
        "--domain",
        common::DOMAIN,
        "--prebuilt",
    ])
    .arg(&binaries);
    let outcome = run(cmd);
    assert!(outcome.success, "{}\n{}", outcome.stdout, outcome.stderr);
    for app in ["approuter", "bsclient", "backend-api"] {
        let line = outcome
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{app}: needs glibc")))
            .unwrap_or_else(|| panic!("no glibc line for {app}:\n{}", outcome.stdout));
        assert!(line.ends_with("cflinuxfs4 has 2.35: ok"), "{line}");
    }

    // A binary that needs a newer glibc is refused before any cf command: the same binary with
    // one version need renamed (same length, so the ELF stays valid).
    let mut patched = std::fs::read(binaries.join("bsclient")).unwrap();
    let needle = b"GLIBC_2.3";
    let mut renamed = 0;
    let mut at = 0;
    while let Some(found) = patched[at..]
        .windows(needle.len() + 1)
        .position(|w| w.starts_with(needle) && w[needle.len()].is_ascii_digit())
    {
        let start = at + found;
        patched[start..start + needle.len() + 1].copy_from_slice(b"GLIBC_2.99");
        renamed += 1;
        at = start + needle.len() + 1;
    }
    assert!(renamed > 0, "the binary names a GLIBC_2.3x version");
    let dir = sandbox.path().join("newer");
    std::fs::create_dir_all(&dir).unwrap();
    for app in ["approuter", "backend-api"] {
        std::os::unix::fs::symlink(binaries.join(app), dir.join(app)).unwrap();
    }
    std::fs::write(dir.join("bsclient"), patched).unwrap();
    let mut cmd = sandbox.xtask();
    cmd.args([
        "deploy",
        "--domain",
        common::DOMAIN,
        "--with-backend",
        "--prebuilt",
    ])
    .arg(&dir)
    .arg("--out")
    .arg(sandbox.out());
    let outcome = run(cmd);
    assert!(!outcome.success);
    outcome.assert_stderr_has("needs GLIBC_2.99");
    outcome.assert_stderr_has("cflinuxfs4 has glibc 2.35");
    assert_eq!(sandbox.cf_calls(), ["target"], "nothing created or pushed");
}

#[tokio::test]
async fn two_app_router_instances_share_the_session_in_redis_and_it_survives_losing_one() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: redis-server is not installed (.ci/setup installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (running, ready) = local_run_with(None, dir.path(), &["--instances", "2"]);
    let log = std::fs::read_to_string(&running.stdout).unwrap();
    assert!(
        log.contains("scenario through the staged apps: ok"),
        "{log}"
    );
    let manifest = std::fs::read_to_string(dir.path().join("cf/manifest.yml")).unwrap();
    assert!(manifest.contains("ApprouterForShop-sessions"), "{manifest}");

    let front = ready["approuter_url"].as_str().unwrap();
    let instances = ready["instances"]["ApprouterForShop"].as_array().unwrap();
    assert_eq!(instances.len(), 2, "{ready}");
    let browser = Browser::new();
    let page = browser
        .login(&format!("{front}/mainentry"), "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    let cookie = browser.cookie_header(front).expect("a session cookie");

    // The session works on each instance directly: it lives in Redis, not in one process.
    let products = |url: String| {
        let cookie = cookie.clone();
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("cookie", cookie)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    for instance in instances {
        let url = instance["url"].as_str().unwrap();
        let (status, body) = products(format!("{url}/mainentry")).await;
        assert_eq!(status, 200, "{url}: {body}");
        assert!(body.contains("<table"), "{url}: {body}");
    }

    // Instance 0 goes away (SIGTERM, as Cloud Foundry stops an instance); the route still serves
    // the same session.
    let pid = instances[0]["pid"].as_u64().unwrap() as u32;
    sigterm(pid);
    let url0 = instances[0]["url"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url0}/health")).await.is_ok() {
        assert!(Instant::now() < deadline, "instance 0 did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..4 {
        let (status, body) = products(format!("{front}/mainentry")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<table"), "{body}");
    }
    drop(running);
}
