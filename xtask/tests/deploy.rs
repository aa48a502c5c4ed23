//! `cargo xtask deploy` against a fake `cf` that records its arguments.

mod common;

use common::{
    BACKEND_URL, BACKEND_XSAPPNAME, CLIENT_ID, CLIENT_SECRET, DOMAIN, Sandbox, UAA_URL, run,
};
use std::path::Path;
use std::process::Command;

fn deploy(sandbox: &Sandbox, mut cmd: Command, extra: &[&str]) -> common::Outcome {
    cmd.arg("deploy")
        .args(["--domain", DOMAIN, "--backend-url", BACKEND_URL])
        .args(["--backend-xsappname", BACKEND_XSAPPNAME])
        .arg("--out")
        .arg(sandbox.out())
        .args(extra);
    run(cmd)
}

fn deploy_prebuilt(sandbox: &Sandbox, extra: &[&str]) -> common::Outcome {
    let prebuilt = sandbox.prebuilt();
    let mut args = vec!["--prebuilt", prebuilt.to_str().unwrap()];
    args.extend_from_slice(extra);
    deploy(sandbox, sandbox.xtask(), &args)
}

/// The `cf` argument lines of a fresh deploy (no service instance exists yet).
fn fresh_deploy_calls(out: &Path) -> Vec<String> {
    let out = out.display();
    vec![
        "target".to_string(),
        "service XsuaaForScenario --guid".to_string(),
        format!(
            "create-service xsuaa application XsuaaForScenario -c {out}/xs-security.json --wait"
        ),
        "create-service-key XsuaaForScenario XsuaaForScenario-key --wait".to_string(),
        "service-key XsuaaForScenario XsuaaForScenario-key".to_string(),
        "service mydestination --guid".to_string(),
        format!("create-service destination lite mydestination -c {out}/init_data.json --wait"),
        format!("push BsClientApp -f {out}/manifest.yml"),
        format!("push ApprouterForShop -f {out}/manifest.yml"),
    ]
}

/// Lines of `stdout` that are printed commands (`$ ...`), without the `$ `.
fn printed_commands(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .collect()
}

#[test]
fn deploy_creates_both_services_then_pushes_both_apps_in_order() {
    let sandbox = Sandbox::new();
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(
        outcome.success,
        "stdout:\n{}\nstderr:\n{}",
        outcome.stdout, outcome.stderr
    );

    let expected = fresh_deploy_calls(&sandbox.out());
    assert_eq!(sandbox.cf_calls(), expected);
    // Each command is printed, in the same order, before it runs.
    let printed: Vec<String> = expected.iter().map(|args| format!("cf {args}")).collect();
    assert_eq!(printed_commands(&outcome.stdout), printed);
    outcome.assert_stdout_has("https://shelf.cfapps.example.com/");
}

#[test]
fn deploy_stages_each_app_folder_with_its_binary() {
    let sandbox = Sandbox::new();
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(outcome.success, "{}", outcome.stderr);

    let out = sandbox.out();
    use std::os::unix::fs::PermissionsExt;
    for binary in ["approuter", "bsclient"] {
        let staged = out.join(binary).join(binary);
        let mode = staged.metadata().unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{} is executable", staged.display());
        assert_eq!(
            std::fs::read_to_string(&staged).unwrap(),
            format!("#!/bin/sh\necho {binary}\n")
        );
    }
    assert!(out.join("approuter/xs-app.json").is_file());
    assert!(out.join("manifest.yml").is_file());
    assert!(out.join("xs-security.json").is_file());
    assert!(out.join("mta.yaml").is_file());
}

#[test]
fn deploy_fills_the_destination_with_the_service_key_and_never_prints_the_secret() {
    let sandbox = Sandbox::new();
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(outcome.success, "{}", outcome.stderr);

    let path = sandbox.out().join("init_data.json");
    let init: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let destination = &init["init_data"]["subaccount"]["destinations"][0];
    assert_eq!(destination["Name"], "BackendServiceAPI");
    assert_eq!(destination["Authentication"], "OAuth2UserTokenExchange");
    assert_eq!(
        destination["URL"],
        format!("{BACKEND_URL}/odata/v2/ProductService/Products")
    );
    assert_eq!(destination["clientId"], CLIENT_ID);
    assert_eq!(destination["clientSecret"], CLIENT_SECRET);
    assert_eq!(
        destination["tokenServiceURL"],
        format!("{UAA_URL}/oauth/token")
    );

    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        path.metadata().unwrap().permissions().mode() & 0o077,
        0,
        "owner-only file"
    );
    assert!(
        !outcome.stdout.contains(CLIENT_SECRET),
        "{}",
        outcome.stdout
    );
    assert!(
        !outcome.stderr.contains(CLIENT_SECRET),
        "{}",
        outcome.stderr
    );
}

#[test]
fn existing_services_are_updated_instead_of_created() {
    let sandbox = Sandbox::new();
    sandbox.existing_services(&["XsuaaForScenario", "mydestination"]);
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(outcome.success, "{}", outcome.stderr);

    let out = sandbox.out().display().to_string();
    let calls = sandbox.cf_calls();
    assert!(calls.contains(&format!(
        "update-service XsuaaForScenario -c {out}/xs-security.json --wait"
    )));
    assert!(calls.contains(&format!(
        "update-service mydestination -c {out}/init_data.json --wait"
    )));
    assert!(
        !calls.iter().any(|c| c.starts_with("create-service ")),
        "{calls:?}"
    );
    assert_eq!(
        calls.last().unwrap(),
        &format!("push ApprouterForShop -f {out}/manifest.yml")
    );
}

#[test]
fn dry_run_prints_every_command_and_runs_none() {
    let sandbox = Sandbox::new();
    let outcome = deploy(&sandbox, sandbox.xtask(), &["--dry-run"]);
    assert!(outcome.success, "{}", outcome.stderr);

    assert!(sandbox.cf_calls().is_empty(), "{:?}", sandbox.cf_calls());
    assert!(
        sandbox.cargo_calls().is_empty(),
        "{:?}",
        sandbox.cargo_calls()
    );
    assert!(!sandbox.out().exists(), "a dry run writes nothing");

    let out = sandbox.out().display().to_string();
    let printed = printed_commands(&outcome.stdout);
    let position = |command: &str| {
        printed
            .iter()
            .position(|p| *p == command)
            .unwrap_or_else(|| panic!("{command:?} not printed in:\n{}", outcome.stdout))
    };
    let order = [
        position(
            "cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.35 -p approuter -p bsclient",
        ),
        position(&format!(
            "cf create-service xsuaa application XsuaaForScenario -c {out}/xs-security.json --wait"
        )),
        position("cf create-service-key XsuaaForScenario XsuaaForScenario-key --wait"),
        position("cf service-key XsuaaForScenario XsuaaForScenario-key"),
        position(&format!(
            "cf create-service destination lite mydestination -c {out}/init_data.json --wait"
        )),
        position(&format!("cf push BsClientApp -f {out}/manifest.yml")),
        position(&format!("cf push ApprouterForShop -f {out}/manifest.yml")),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}\n{}",
        outcome.stdout
    );
    position(&format!(
        "cf update-service XsuaaForScenario -c {out}/xs-security.json --wait"
    ));
}

#[test]
fn without_cf_on_the_path_deploy_stops_with_how_to_install_it() {
    let sandbox = Sandbox::without_cf();
    let outcome = deploy(&sandbox, sandbox.xtask_without_path(), &[]);
    assert!(!outcome.success);
    outcome.assert_stderr_has("`cf` is not on the PATH");
    assert!(
        outcome
            .stderr
            .contains("next step: install the Cloud Foundry CLI"),
        "{}",
        outcome.stderr
    );
    outcome.assert_stderr_has("cf login");
    assert!(!sandbox.out().exists());
}

#[test]
fn when_not_logged_in_deploy_stops_after_cf_target_with_how_to_log_in() {
    let sandbox = Sandbox::new();
    sandbox.not_logged_in();
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(!outcome.success);
    assert_eq!(sandbox.cf_calls(), ["target"]);
    outcome.assert_stderr_has("`cf target` failed");
    // cf's own words are passed on, then the exact next step.
    outcome.assert_stderr_has("Not logged in");
    outcome.assert_stderr_has("next step: log in");
    outcome.assert_stderr_has("cf login -a https://api.cf.");
    assert!(
        !sandbox.out().exists(),
        "nothing is built or staged before the login check"
    );
}

#[test]
fn a_failing_cf_command_stops_the_deploy() {
    let sandbox = Sandbox::new();
    sandbox.fail_cf("create-service");
    let outcome = deploy_prebuilt(&sandbox, &[]);
    assert!(!outcome.success);
    assert!(
        outcome
            .stderr
            .contains("`cf create-service xsuaa application XsuaaForScenario"),
        "{}",
        outcome.stderr
    );
    let calls = sandbox.cf_calls();
    assert!(!calls.iter().any(|c| c.starts_with("push")), "{calls:?}");
}

#[test]
fn deploy_builds_with_cargo_zigbuild_for_glibc_2_35() {
    let sandbox = Sandbox::new();
    let outcome = deploy(&sandbox, sandbox.xtask(), &[]);
    assert!(outcome.success, "{}", outcome.stderr);

    assert_eq!(
        sandbox.cargo_calls(),
        [
            "zigbuild --version",
            "zigbuild --release --target x86_64-unknown-linux-gnu.2.35 -p approuter -p bsclient"
        ]
    );
    let staged = std::fs::read_to_string(sandbox.out().join("bsclient/bsclient")).unwrap();
    assert!(
        staged.contains("built-bsclient"),
        "the zigbuild output is what gets pushed"
    );
    assert_eq!(sandbox.cf_calls(), fresh_deploy_calls(&sandbox.out()));
}

#[test]
fn without_cargo_zigbuild_deploy_prints_the_install_command() {
    let sandbox = Sandbox::new();
    sandbox.no_zigbuild();
    let outcome = deploy(&sandbox, sandbox.xtask(), &[]);
    assert!(!outcome.success);
    assert!(
        outcome
            .stderr
            .contains("pip3 install ziglang && cargo install --locked cargo-zigbuild"),
        "{}",
        outcome.stderr
    );
    outcome.assert_stderr_has("--allow-host-glibc");
    assert_eq!(
        sandbox.cf_calls(),
        ["target"],
        "no service is touched without binaries"
    );
}

#[test]
fn allow_host_glibc_builds_with_plain_cargo_and_warns() {
    let sandbox = Sandbox::new();
    sandbox.no_zigbuild();
    let outcome = deploy(&sandbox, sandbox.xtask(), &["--allow-host-glibc"]);
    assert!(outcome.success, "{}", outcome.stderr);
    assert_eq!(
        sandbox.cargo_calls(),
        ["build --release -p approuter -p bsclient"]
    );
    outcome.assert_stderr_has("glibc 2.35");
    let staged = std::fs::read_to_string(sandbox.out().join("approuter/approuter")).unwrap();
    assert!(staged.contains("built-approuter"));
}

#[test]
fn deploy_needs_the_backend_url_for_the_destination() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.xtask();
    cmd.args(["deploy", "--domain", DOMAIN, "--dry-run"]);
    let outcome = run(cmd);
    assert!(!outcome.success);
    outcome.assert_stderr_has("--backend-url");
    outcome.assert_stderr_has("BACKEND_URL");
}

#[test]
fn stage_only_builds_and_stages_without_cf() {
    let sandbox = Sandbox::without_cf();
    let prebuilt = sandbox.prebuilt();
    let mut cmd = sandbox.xtask_without_path();
    cmd.args(["deploy", "--stage-only", "--domain", DOMAIN, "--prebuilt"])
        .arg(&prebuilt)
        .arg("--out")
        .arg(sandbox.out());
    let outcome = run(cmd);
    assert!(outcome.success, "{}", outcome.stderr);
    assert!(sandbox.out().join("approuter/approuter").is_file());
    assert!(sandbox.out().join("mta.yaml").is_file());
}

/// Deploy with only the given options (no default backend URL or xsappname).
fn deploy_with(sandbox: &Sandbox, args: &[&str]) -> common::Outcome {
    let prebuilt = sandbox.prebuilt();
    let mut cmd = sandbox.xtask();
    cmd.arg("deploy")
        .args(["--prebuilt", prebuilt.to_str().unwrap()])
        .arg("--out")
        .arg(sandbox.out())
        .args(args);
    run(cmd)
}

fn assert_stopped_before_cf(sandbox: &Sandbox, outcome: &common::Outcome, says: &[&str]) {
    assert!(!outcome.success, "{}", outcome.stdout);
    assert!(
        sandbox.cf_calls().is_empty(),
        "no cf command may run: {:?}",
        sandbox.cf_calls()
    );
    assert!(!sandbox.out().exists(), "nothing is staged");
    for text in says {
        assert!(
            outcome.stderr.contains(text),
            "{text:?} in:\n{}",
            outcome.stderr
        );
    }
}

#[test]
fn without_the_backend_xsappname_deploy_stops_before_cf_and_says_where_to_read_it() {
    let sandbox = Sandbox::new();
    let outcome = deploy_with(
        &sandbox,
        &["--domain", DOMAIN, "--backend-url", BACKEND_URL],
    );
    assert_stopped_before_cf(
        &sandbox,
        &outcome,
        &[
            "--backend-xsappname",
            "every user gets 403",
            "next step:",
            "cf service-key",
            "--with-backend",
        ],
    );
}

#[test]
fn bad_input_stops_before_any_cf_command_with_the_next_step() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--backend-url", "http://backend.example.com"],
            &["--backend-url", "not https", "https://"],
        ),
        (
            &["--backend-xsappname", "Backend-service"],
            &["--backend-xsappname", "suffix", "cf service-key"],
        ),
        (
            &["--backend-xsappname", "Backend-service!t12x"],
            &["--backend-xsappname", "\"t12x\""],
        ),
        (
            &["--backend-xsappname", "Other-service!t12"],
            &["belongs to the app \"Other-service\"", "backend.xsappname"],
        ),
        (&["--host-suffix", "J.Doe"], &["--host-suffix", "'J'"]),
    ];
    for (args, says) in cases {
        let sandbox = Sandbox::new();
        let mut all = vec!["--domain", DOMAIN];
        if !args.contains(&"--backend-url") {
            all.extend(["--backend-url", BACKEND_URL]);
        }
        if !args.contains(&"--backend-xsappname") {
            all.extend(["--backend-xsappname", BACKEND_XSAPPNAME]);
        }
        all.extend_from_slice(args);
        let outcome = deploy_with(&sandbox, &all);
        assert_stopped_before_cf(&sandbox, &outcome, says);
    }

    // Without a domain.
    let sandbox = Sandbox::new();
    let outcome = deploy_with(&sandbox, &["--backend-url", BACKEND_URL]);
    assert_stopped_before_cf(
        &sandbox,
        &outcome,
        &["no Cloud Foundry app domain", "cf domains"],
    );
}

#[test]
fn an_xsappname_xsuaa_would_refuse_stops_deploy_before_cf() {
    let long = "A".repeat(101);
    for (bad, says) in [
        ("Xsuaa.For.Scenario", "'.' is not allowed"),
        (long.as_str(), "101 characters, at most 100"),
    ] {
        let sandbox = Sandbox::new();
        let names = sandbox.names_file(
            "names.yaml",
            &[("xsappname: XsuaaForScenario", &format!("xsappname: {bad}"))],
        );
        let outcome = deploy_with(
            &sandbox,
            &[
                "--names",
                &names,
                "--domain",
                DOMAIN,
                "--backend-url",
                BACKEND_URL,
                "--backend-xsappname",
                BACKEND_XSAPPNAME,
            ],
        );
        assert_stopped_before_cf(
            &sandbox,
            &outcome,
            &[
                "xsuaa.xsappname",
                "XSUAA would refuse it",
                says,
                "next step: change xsuaa.xsappname",
            ],
        );
    }
}

#[test]
fn host_suffix_changes_the_routes_and_deploy_prints_the_urls() {
    let sandbox = Sandbox::new();
    let outcome = deploy_prebuilt(&sandbox, &["--host-suffix", "jdoe"]);
    assert!(outcome.success, "{}", outcome.stderr);
    assert!(
        outcome
            .stdout
            .contains("ApprouterForShop     https://shelf-jdoe.cfapps.example.com"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stdout
            .contains("BsClientApp          https://bsclient-jdoe.cfapps.example.com"),
        "{}",
        outcome.stdout
    );
    let manifest = std::fs::read_to_string(sandbox.out().join("manifest.yml")).unwrap();
    assert!(
        manifest.contains("route: shelf-jdoe.cfapps.example.com"),
        "{manifest}"
    );
    assert!(
        manifest.contains("route: bsclient-jdoe.cfapps.example.com"),
        "{manifest}"
    );
    assert!(!manifest.contains("route: shelf.cfapps"), "{manifest}");
}

/// The `cf` argument lines of a fresh deploy with `--with-backend`.
fn fresh_deploy_with_backend_calls(out: &Path) -> Vec<String> {
    let out = out.display();
    vec![
        "target".to_string(),
        "service BackendXsuaa --guid".to_string(),
        format!(
            "create-service xsuaa application BackendXsuaa -c {out}/xs-security-backend.json --wait"
        ),
        "create-service-key BackendXsuaa BackendXsuaa-key --wait".to_string(),
        "service-key BackendXsuaa BackendXsuaa-key".to_string(),
        "service XsuaaForScenario --guid".to_string(),
        format!(
            "create-service xsuaa application XsuaaForScenario -c {out}/xs-security.json --wait"
        ),
        "create-service-key XsuaaForScenario XsuaaForScenario-key --wait".to_string(),
        "service-key XsuaaForScenario XsuaaForScenario-key".to_string(),
        "service mydestination --guid".to_string(),
        format!("create-service destination lite mydestination -c {out}/init_data.json --wait"),
        format!("push BackendServiceApp -f {out}/manifest.yml"),
        format!("push BsClientApp -f {out}/manifest.yml"),
        format!("push ApprouterForShop -f {out}/manifest.yml"),
    ]
}

#[test]
fn with_backend_creates_its_xsuaa_first_reads_its_xsappname_and_pushes_it_as_a_third_app() {
    let sandbox = Sandbox::new();
    let outcome = deploy_with(&sandbox, &["--domain", DOMAIN, "--with-backend"]);
    assert!(outcome.success, "{}\n{}", outcome.stdout, outcome.stderr);
    assert_eq!(
        sandbox.cf_calls(),
        fresh_deploy_with_backend_calls(&sandbox.out())
    );

    let out = sandbox.out();
    assert!(out.join("backend-api/backend-api").is_file());
    // The route checks the scope under the name the landscape gave the backend.
    let xs_app: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("approuter/xs-app.json")).unwrap())
            .unwrap();
    assert_eq!(
        xs_app["routes"][0]["scope"],
        serde_json::json!([format!("{BACKEND_XSAPPNAME}.AllAccess")])
    );
    // The destination points at the backend's route.
    let init: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("init_data.json")).unwrap())
            .unwrap();
    assert_eq!(
        init["init_data"]["subaccount"]["destinations"][0]["URL"],
        "https://backend-service.cfapps.example.com/odata/v2/ProductService/Products"
    );
    let backend: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("xs-security-backend.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(backend["xsappname"], "Backend-service");
    assert_eq!(
        backend["scopes"][0]["granted-apps"],
        serde_json::json!(["$XSAPPNAME(application,XsuaaForScenario)"])
    );
    assert_eq!(
        backend["role-collections"][0]["name"],
        "BackendServiceAllAccess"
    );
    assert!(
        outcome
            .stdout
            .contains("BackendServiceApp    https://backend-service.cfapps.example.com"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn with_backend_dry_run_prints_the_full_cf_sequence_and_runs_none() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.xtask();
    cmd.args(["deploy", "--domain", DOMAIN, "--with-backend", "--dry-run"])
        .args(["--instances", "2"])
        .arg("--out")
        .arg(sandbox.out());
    let outcome = run(cmd);
    assert!(outcome.success, "{}", outcome.stderr);
    assert!(sandbox.cf_calls().is_empty());
    let printed = printed_commands(&outcome.stdout);
    let out = sandbox.out().display().to_string();
    let mut last = 0;
    for expected in [
        "cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.35 -p approuter -p bsclient -p mock-platform --bin backend-api --bin approuter --bin bsclient".to_string(),
        format!("cf create-service xsuaa application BackendXsuaa -c {out}/xs-security-backend.json --wait"),
        "cf service-key BackendXsuaa BackendXsuaa-key".to_string(),
        format!("cf create-service xsuaa application XsuaaForScenario -c {out}/xs-security.json --wait"),
        format!("cf create-service destination lite mydestination -c {out}/init_data.json --wait"),
        "cf create-service redis-cache trial ApprouterForShop-sessions --wait".to_string(),
        format!("cf push BackendServiceApp -f {out}/manifest.yml"),
        format!("cf push BsClientApp -f {out}/manifest.yml"),
        format!("cf push ApprouterForShop -f {out}/manifest.yml"),
    ] {
        let at = printed
            .iter()
            .position(|p| *p == expected)
            .unwrap_or_else(|| panic!("{expected:?} not printed in:\n{}", outcome.stdout));
        assert!(at >= last, "{expected:?} out of order:\n{}", outcome.stdout);
        last = at;
    }
    assert!(
        outcome
            .stdout
            .contains("backend-api needs at most glibc 2.35"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn more_approuter_instances_bind_a_redis_cache_that_deploy_creates_before_the_push() {
    let sandbox = Sandbox::new();
    let outcome = deploy_prebuilt(&sandbox, &["--instances", "2", "--redis-plan", "standard"]);
    assert!(outcome.success, "{}", outcome.stderr);
    let calls = sandbox.cf_calls();
    let position = |call: &str| {
        calls
            .iter()
            .position(|c| c == call)
            .unwrap_or_else(|| panic!("{call:?} not in {calls:?}"))
    };
    let redis = position("create-service redis-cache standard ApprouterForShop-sessions --wait");
    assert!(position("service ApprouterForShop-sessions --guid") < redis);
    let out = sandbox.out().display().to_string();
    assert!(redis < position(&format!("push ApprouterForShop -f {out}/manifest.yml")));

    let manifest: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(sandbox.out().join("manifest.yml")).unwrap(),
    )
    .unwrap();
    let router = manifest["applications"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|a| a["name"].as_str() == Some("ApprouterForShop"))
        .unwrap();
    assert_eq!(router["instances"].as_u64(), Some(2));
    let services: Vec<&str> = router["services"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(services, ["XsuaaForScenario", "ApprouterForShop-sessions"]);

    // One instance needs no Redis.
    let sandbox = Sandbox::new();
    assert!(deploy_prebuilt(&sandbox, &[]).success);
    assert!(!sandbox.cf_calls().iter().any(|c| c.contains("redis")));
}
