//! `cargo xtask manifests`: the generated Cloud Foundry files parse and carry the names of scenario.yaml.

mod common;

use common::{BACKEND_URL, BACKEND_XSAPPNAME, DOMAIN, Sandbox, run};
use serde_json::Value as Json;
use serde_norway::Value as Yaml;
use std::path::Path;

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

fn read_yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

fn generate(sandbox: &Sandbox, extra: &[&str]) -> common::Outcome {
    let mut cmd = sandbox.xtask();
    cmd.arg("manifests")
        .arg("--out")
        .arg(sandbox.out())
        .args(extra);
    run(cmd)
}

/// A sandbox in which `manifests` ran with `extra` and succeeded.
fn generated(extra: &[&str]) -> Sandbox {
    let sandbox = Sandbox::new();
    let outcome = generate(&sandbox, extra);
    assert!(outcome.success, "{}", outcome.stderr);
    sandbox
}

fn app<'a>(manifest: &'a Yaml, name: &str) -> &'a Yaml {
    manifest["applications"]
        .as_sequence()
        .expect("applications is a list")
        .iter()
        .find(|a| a["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no application {name} in manifest.yml"))
}

fn strings(value: &Yaml) -> Vec<&str> {
    value
        .as_sequence()
        .map(|s| s.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn manifest_yml_describes_both_binary_buildpack_apps() {
    let sandbox = Sandbox::new();
    let outcome = generate(
        &sandbox,
        &["--domain", DOMAIN, "--backend-url", BACKEND_URL],
    );
    assert!(outcome.success, "{}", outcome.stderr);

    let manifest = read_yaml(&sandbox.out().join("manifest.yml"));
    let router = app(&manifest, "ApprouterForShop");
    let client = app(&manifest, "BsClientApp");
    for (app, binary, route) in [
        (router, "approuter", "shelf.cfapps.example.com"),
        (client, "bsclient", "bsclient.cfapps.example.com"),
    ] {
        assert_eq!(strings(&app["buildpacks"]), ["binary_buildpack"]);
        assert_eq!(
            app["command"].as_str(),
            Some(format!("./{binary}").as_str())
        );
        assert_eq!(app["path"].as_str(), Some(binary));
        assert_eq!(app["memory"].as_str(), Some("64M"));
        assert_eq!(app["stack"].as_str(), Some("cflinuxfs4"));
        assert_eq!(app["routes"][0]["route"].as_str(), Some(route));
        assert_eq!(app["health-check-http-endpoint"].as_str(), Some("/health"));
    }
    assert_eq!(strings(&router["services"]), ["XsuaaForScenario"]);
    assert_eq!(
        strings(&client["services"]),
        ["XsuaaForScenario", "mydestination"]
    );

    let destinations: Json = serde_json::from_str(
        router["env"]["destinations"]
            .as_str()
            .expect("destinations is a string"),
    )
    .expect("destinations env is JSON");
    assert_eq!(destinations[0]["name"], "destination_client");
    assert_eq!(
        destinations[0]["url"],
        "https://bsclient.cfapps.example.com"
    );
    assert_eq!(destinations[0]["forwardAuthToken"], true);

    // The approuter reads ./xs-app.json from its working dir: it must be in the pushed folder.
    assert!(sandbox.out().join("approuter/xs-app.json").is_file());
}

#[test]
fn xs_security_json_has_the_tutorial_scopes_and_the_router_redirect() {
    let sandbox = generated(&["--domain", DOMAIN]);

    let security = read_json(&sandbox.out().join("xs-security.json"));
    assert_eq!(security["xsappname"], "XsuaaForScenario");
    assert_eq!(security["tenant-mode"], "dedicated");
    assert_eq!(security["scopes"][0]["name"], "uaa.user");
    // Portable: XSUAA resolves the Backend API's suffix on whatever landscape this is created on.
    assert_eq!(
        security["foreign-scope-references"],
        serde_json::json!(["$XSAPPNAME(application,Backend-service).AllAccess"])
    );
    assert_eq!(
        security["role-templates"][0]["name"],
        "RoleTemplate_UaaUser"
    );
    assert_eq!(
        security["role-templates"][0]["scope-references"],
        serde_json::json!(["uaa.user"])
    );
    assert_eq!(security["role-collections"][0]["name"], "UaaUser");
    assert_eq!(
        security["oauth2-configuration"]["redirect-uris"],
        serde_json::json!(["https://shelf.cfapps.example.com/**"])
    );
}

#[test]
fn init_data_holds_the_token_exchange_destination_with_placeholders_for_credentials() {
    let sandbox = Sandbox::new();
    let outcome = generate(
        &sandbox,
        &[
            "--domain",
            DOMAIN,
            "--backend-url",
            "https://backend.example.com/",
        ],
    );
    assert!(outcome.success, "{}", outcome.stderr);
    outcome.assert_stdout_has("placeholders");

    let init = read_json(&sandbox.out().join("init_data.json"));
    let subaccount = &init["init_data"]["subaccount"];
    assert_eq!(subaccount["existing_destinations_policy"], "update");
    let destination = &subaccount["destinations"][0];
    assert_eq!(destination["Name"], "BackendServiceAPI");
    assert_eq!(destination["Type"], "HTTP");
    assert_eq!(
        destination["URL"],
        "https://backend.example.com/odata/v2/ProductService/Products"
    );
    assert_eq!(destination["Authentication"], "OAuth2UserTokenExchange");
    assert_eq!(destination["ProxyType"], "Internet");
    assert_eq!(destination["tokenServiceURLType"], "Dedicated");
    for key in ["clientId", "clientSecret", "tokenServiceURL"] {
        let value = destination[key].as_str().unwrap();
        assert!(
            value.contains("<") && value.contains("XsuaaForScenario"),
            "{key}: {value}"
        );
    }
}

#[test]
fn xs_app_json_is_the_tutorial_route_with_mainentry_as_welcome_file() {
    let sandbox = generated(&["--domain", DOMAIN, "--backend-xsappname", BACKEND_XSAPPNAME]);

    let xs_app = read_json(&sandbox.out().join("approuter/xs-app.json"));
    assert_eq!(xs_app["authenticationMethod"], "route");
    assert_eq!(xs_app["welcomeFile"], "/mainentry");
    let route = &xs_app["routes"][0];
    assert_eq!(route["source"], "^/(.*)$");
    assert_eq!(route["target"], "$1");
    assert_eq!(route["destination"], "destination_client");
    assert_eq!(route["authenticationType"], "xsuaa");
    assert_eq!(
        route["scope"],
        serde_json::json!(["Backend-service!t4711.AllAccess"])
    );
}

#[test]
fn mta_yaml_models_both_apps_both_services_and_the_destination() {
    let sandbox = generated(&["--domain", DOMAIN, "--backend-url", BACKEND_URL]);

    let mta = read_yaml(&sandbox.out().join("mta.yaml"));
    assert!(mta["_schema-version"].as_str().is_some());
    assert!(mta["ID"].as_str().is_some());
    let modules = mta["modules"].as_sequence().unwrap();
    let module = |name: &str| {
        modules
            .iter()
            .find(|m| m["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no module {name}"))
    };
    let router = module("ApprouterForShop");
    assert_eq!(
        router["parameters"]["buildpack"].as_str(),
        Some("binary_buildpack")
    );
    assert_eq!(
        router["parameters"]["command"].as_str(),
        Some("./approuter")
    );
    let to_client = router["requires"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|r| r["group"].as_str() == Some("destinations"))
        .expect("the router requires bsclient's URL as a destination");
    assert_eq!(
        to_client["properties"]["name"].as_str(),
        Some("destination_client")
    );
    assert_eq!(
        to_client["properties"]["forwardAuthToken"].as_bool(),
        Some(true)
    );
    assert_eq!(
        module("BsClientApp")["parameters"]["command"].as_str(),
        Some("./bsclient")
    );

    let content =
        &module("mydestination-content")["parameters"]["content"]["subaccount"]["destinations"][0];
    assert_eq!(content["Name"].as_str(), Some("BackendServiceAPI"));
    assert_eq!(
        content["Authentication"].as_str(),
        Some("OAuth2UserTokenExchange")
    );
    assert_eq!(
        content["ServiceInstanceName"].as_str(),
        Some("XsuaaForScenario")
    );

    let resources = mta["resources"].as_sequence().unwrap();
    let service = |name: &str| {
        let r = resources
            .iter()
            .find(|r| r["name"].as_str() == Some(name))
            .unwrap();
        (
            r["parameters"]["service"].as_str().unwrap().to_string(),
            r["parameters"]["service-plan"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(
        service("XsuaaForScenario"),
        ("xsuaa".into(), "application".into())
    );
    assert_eq!(
        service("mydestination"),
        ("destination".into(), "lite".into())
    );
}

#[test]
fn a_fork_changes_names_in_one_file_and_every_generated_file_follows() {
    let sandbox = Sandbox::new();
    let names = sandbox.names_file(
        "fork.yaml",
        &[
            ("host: shelf", "host: store"),
            ("instance: XsuaaForScenario", "instance: ForkXsuaa"),
            ("xsappname: Backend-service", "xsappname: ForkBackend"),
            (
                "router_to_bsclient: destination_client",
                "router_to_bsclient: to_client",
            ),
        ],
    );

    let outcome = generate(
        &sandbox,
        &[
            "--domain",
            DOMAIN,
            "--names",
            &names,
            "--backend-xsappname",
            "ForkBackend!t99",
        ],
    );
    assert!(outcome.success, "{}", outcome.stderr);

    let manifest = read_yaml(&sandbox.out().join("manifest.yml"));
    let router = app(&manifest, "ApprouterForShop");
    assert_eq!(
        router["routes"][0]["route"].as_str(),
        Some("store.cfapps.example.com")
    );
    assert_eq!(strings(&router["services"]), ["ForkXsuaa"]);
    assert!(
        router["env"]["destinations"]
            .as_str()
            .unwrap()
            .contains("\"to_client\"")
    );
    let security = read_json(&sandbox.out().join("xs-security.json"));
    assert_eq!(
        security["foreign-scope-references"],
        serde_json::json!(["$XSAPPNAME(application,ForkBackend).AllAccess"])
    );
    assert_eq!(
        security["oauth2-configuration"]["redirect-uris"][0],
        "https://store.cfapps.example.com/**"
    );
    let xs_app = read_json(&sandbox.out().join("approuter/xs-app.json"));
    assert_eq!(xs_app["routes"][0]["destination"], "to_client");
    assert_eq!(xs_app["routes"][0]["scope"][0], "ForkBackend!t99.AllAccess");
}

#[test]
fn a_names_file_with_an_unknown_key_is_refused_naming_the_key_and_file() {
    let sandbox = Sandbox::new();
    let names = sandbox.names_file(
        "typo.yaml",
        &[(
            "  scope: AllAccess",
            "  scope: AllAccess\n  scopes: [Extra]",
        )],
    );

    let outcome = generate(&sandbox, &["--domain", DOMAIN, "--names", &names]);
    assert!(!outcome.success);
    outcome.assert_stderr_has("unknown field `scopes`");
    outcome.assert_stderr_has("typo.yaml");
    assert!(
        !sandbox.out().exists(),
        "nothing is written from a bad names file"
    );
}

#[test]
fn without_a_domain_manifests_says_how_to_give_one() {
    let sandbox = Sandbox::new();
    let outcome = generate(&sandbox, &[]);
    assert!(!outcome.success);
    outcome.assert_stderr_has("--domain");
    outcome.assert_stderr_has("CF_DOMAIN");

    let mut cmd = sandbox.xtask();
    cmd.env("CF_DOMAIN", "cfapps.eu10.hana.ondemand.com")
        .arg("manifests")
        .arg("--out")
        .arg(sandbox.out());
    let outcome = run(cmd);
    assert!(outcome.success, "{}", outcome.stderr);
    let security = read_json(&sandbox.out().join("xs-security.json"));
    assert_eq!(
        security["oauth2-configuration"]["redirect-uris"][0],
        "https://shelf.cfapps.eu10.hana.ondemand.com/**"
    );
}

#[test]
fn a_domain_with_a_scheme_is_refused() {
    let sandbox = Sandbox::new();
    let outcome = generate(&sandbox, &["--domain", "https://cfapps.example.com"]);
    assert!(!outcome.success);
    outcome.assert_stderr_has("without https://");
}

#[test]
fn run_reports_a_port_in_use_with_the_option_to_change_it() {
    let sandbox = Sandbox::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut cmd = sandbox.xtask();
    cmd.args(["run", "--no-build", "--port", &port]);
    let outcome = run(cmd);
    assert!(!outcome.success);
    assert!(
        outcome
            .stderr
            .contains(&format!("port {port} on 127.0.0.1 is in use")),
        "{}",
        outcome.stderr
    );
    outcome.assert_stderr_has("cargo xtask run --port <PORT>");
}

#[test]
fn bench_rejects_a_concurrency_out_of_range() {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.xtask();
    cmd.args(["bench", "--no-build", "--concurrency", "1,0"]);
    let outcome = run(cmd);
    assert!(!outcome.success);
    assert!(
        outcome
            .stderr
            .contains("--concurrency \"0\": each level must be 1..=256"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn bsclient_asks_for_the_destination_scenario_yaml_names_in_manifest_and_mta() {
    let sandbox = Sandbox::new();
    let names = sandbox.names_file(
        "fork.yaml",
        &[(
            "bsclient_to_backend: BackendServiceAPI",
            "bsclient_to_backend: ForkProducts",
        )],
    );
    let outcome = generate(&sandbox, &["--domain", DOMAIN, "--names", &names]);
    assert!(outcome.success, "{}", outcome.stderr);

    let manifest = read_yaml(&sandbox.out().join("manifest.yml"));
    assert_eq!(
        app(&manifest, "BsClientApp")["env"]["BACKEND_DESTINATION"].as_str(),
        Some("ForkProducts")
    );
    let mta = read_yaml(&sandbox.out().join("mta.yaml"));
    let module = mta["modules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str() == Some("BsClientApp"))
        .unwrap();
    assert_eq!(
        module["properties"]["BACKEND_DESTINATION"].as_str(),
        Some("ForkProducts")
    );
    let init = read_json(&sandbox.out().join("init_data.json"));
    assert_eq!(
        init["init_data"]["subaccount"]["destinations"][0]["Name"],
        "ForkProducts"
    );
}

#[test]
fn no_generated_file_hard_codes_the_local_backend_suffix() {
    let sandbox = Sandbox::new();
    let outcome = generate(
        &sandbox,
        &[
            "--domain",
            DOMAIN,
            "--backend-url",
            BACKEND_URL,
            "--backend-xsappname",
            BACKEND_XSAPPNAME,
        ],
    );
    assert!(outcome.success, "{}", outcome.stderr);
    for file in [
        "manifest.yml",
        "xs-security.json",
        "init_data.json",
        "mta.yaml",
        "approuter/xs-app.json",
    ] {
        let text = std::fs::read_to_string(sandbox.out().join(file)).unwrap();
        assert!(
            !text.contains("t6131"),
            "{file} hard-codes the mock's suffix:\n{text}"
        );
    }

    // Without the option, the scope is a visible placeholder and the user is told.
    let sandbox = Sandbox::new();
    let outcome = generate(&sandbox, &["--domain", DOMAIN]);
    assert!(outcome.success, "{}", outcome.stderr);
    outcome.assert_stdout_has("--backend-xsappname");
    let xs_app = read_json(&sandbox.out().join("approuter/xs-app.json"));
    assert_eq!(
        xs_app["routes"][0]["scope"][0],
        "Backend-service!t<n>.AllAccess"
    );
}

#[test]
fn host_suffix_changes_every_route_the_destination_and_the_redirect() {
    let sandbox = Sandbox::new();
    let outcome = generate(&sandbox, &["--domain", DOMAIN, "--host-suffix", "jdoe"]);
    assert!(outcome.success, "{}", outcome.stderr);
    let manifest = read_yaml(&sandbox.out().join("manifest.yml"));
    assert_eq!(
        app(&manifest, "ApprouterForShop")["routes"][0]["route"].as_str(),
        Some("shelf-jdoe.cfapps.example.com")
    );
    assert_eq!(
        app(&manifest, "BsClientApp")["routes"][0]["route"].as_str(),
        Some("bsclient-jdoe.cfapps.example.com")
    );
    assert!(
        app(&manifest, "ApprouterForShop")["env"]["destinations"]
            .as_str()
            .unwrap()
            .contains("https://bsclient-jdoe.cfapps.example.com")
    );
    let security = read_json(&sandbox.out().join("xs-security.json"));
    assert_eq!(
        security["oauth2-configuration"]["redirect-uris"][0],
        "https://shelf-jdoe.cfapps.example.com/**"
    );
    let mta = std::fs::read_to_string(sandbox.out().join("mta.yaml")).unwrap();
    assert!(mta.contains("shelf-jdoe.cfapps.example.com"), "{mta}");

    // A host longer than a DNS label is refused, naming the key.
    let long = "x".repeat(60);
    let outcome = generate(&sandbox, &["--domain", DOMAIN, "--host-suffix", &long]);
    assert!(!outcome.success);
    outcome.assert_stderr_has("apps.approuter.host");
}

#[test]
fn with_backend_adds_the_backend_app_its_descriptor_and_points_the_destination_at_it() {
    let sandbox = generated(&["--domain", DOMAIN, "--with-backend"]);
    let manifest = read_yaml(&sandbox.out().join("manifest.yml"));
    let backend = app(&manifest, "BackendServiceApp");
    assert_eq!(backend["command"].as_str(), Some("./backend-api"));
    assert_eq!(backend["path"].as_str(), Some("backend-api"));
    assert_eq!(strings(&backend["services"]), ["BackendXsuaa"]);
    assert_eq!(
        backend["routes"][0]["route"].as_str(),
        Some("backend-service.cfapps.example.com")
    );
    let names: Vec<&str> = manifest["applications"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["BackendServiceApp", "BsClientApp", "ApprouterForShop"]
    );

    let descriptor = read_json(&sandbox.out().join("xs-security-backend.json"));
    assert_eq!(descriptor["xsappname"], "Backend-service");
    assert_eq!(descriptor["scopes"][0]["name"], "$XSAPPNAME.AllAccess");
    assert_eq!(
        descriptor["scopes"][0]["granted-apps"],
        serde_json::json!(["$XSAPPNAME(application,XsuaaForScenario)"])
    );
    assert_eq!(
        descriptor["role-templates"][0]["scope-references"],
        serde_json::json!(["$XSAPPNAME.AllAccess"])
    );
    assert_eq!(
        descriptor["role-collections"][0]["role-template-references"],
        serde_json::json!(["$XSAPPNAME.AllAccess"])
    );
    let init = read_json(&sandbox.out().join("init_data.json"));
    assert_eq!(
        init["init_data"]["subaccount"]["destinations"][0]["URL"],
        "https://backend-service.cfapps.example.com/odata/v2/ProductService/Products"
    );
    let mta = read_yaml(&sandbox.out().join("mta.yaml"));
    let resources: Vec<&str> = mta["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        resources,
        ["BackendXsuaa", "XsuaaForScenario", "mydestination"]
    );
}
