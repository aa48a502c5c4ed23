//! The real binary refuses to start on each kind of bad configuration, and says why.

mod support;

use serde_json::json;
use support::{RouterProcess, router::env_with};

fn xsuaa_vcap() -> String {
    json!({"xsuaa": [{
        "name": "XsuaaForScenario", "label": "xsuaa", "plan": "application", "tags": ["xsuaa"],
        "credentials": {
            "clientid": "sb-app!t1", "clientsecret": "secret", "url": "http://127.0.0.1:1",
            "uaadomain": "localhost", "xsappname": "app!t1", "identityzoneid": "zone-1"
        }
    }]})
    .to_string()
}

fn check(
    xs_app: serde_json::Value,
    destinations: serde_json::Value,
    extra: &[(&str, String)],
    needles: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(dir.path(), &xs_app, &destinations, extra);
    let (ok, output) = RouterProcess::run_to_exit(env, dir.path());
    assert!(!ok, "start-up must fail:\n{output}");
    for needle in needles {
        assert!(
            output.contains(needle),
            "the message should mention {needle:?}:\n{output}"
        );
    }
}

#[test]
fn unknown_key_stops_start_up() {
    check(
        json!({"routes": [{"source": "^/(.*)$", "destination": "backend", "authenticationTyp": "none"}]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[("VCAP_SERVICES", xsuaa_vcap())],
        &["routes[0]", "^/(.*)$", "unknown key \"authenticationTyp\""],
    );
}

#[test]
fn bad_regex_stops_start_up() {
    check(
        json!({"routes": [{"source": "^/([a-z$", "destination": "backend"}]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[("VCAP_SERVICES", xsuaa_vcap())],
        &["routes[0]", "^/([a-z$", "not a valid regular expression"],
    );
}

#[test]
fn unknown_destination_stops_start_up() {
    check(
        json!({"routes": [
            {"source": "^/a/(.*)$", "destination": "backend"},
            {"source": "^/b/(.*)$", "destination": "destination_clinet"}
        ]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[("VCAP_SERVICES", xsuaa_vcap())],
        &[
            "routes[1]",
            "^/b/(.*)$",
            "\"destination_clinet\"",
            "destinations",
        ],
    );
}

#[test]
fn security_relevant_unsupported_key_stops_start_up() {
    check(
        json!({"routes": [{"source": "^/(.*)$", "destination": "backend", "identityProvider": "corporate-idp"}]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[("VCAP_SERVICES", xsuaa_vcap())],
        &["routes[0]", "identityProvider"],
    );
}

#[test]
fn protected_route_without_xsuaa_binding_stops_start_up() {
    check(
        json!({"routes": [{"source": "^/(.*)$", "destination": "backend"}]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[],
        &["routes[0]", "xsuaa"],
    );
}

#[test]
fn broken_env_stops_start_up() {
    check(
        json!({"routes": []}),
        json!([{"name": "backend", "url": "not a url"}]),
        &[],
        &["destinations", "backend", "url"],
    );
    check(
        json!({"routes": []}),
        json!([]),
        &[("SESSION_TIMEOUT", "soon".into())],
        &["SESSION_TIMEOUT"],
    );
    check(
        json!({"websockets": {"enabled": true}, "routes": []}),
        json!([]),
        &[("WS_ALLOWED_ORIGINS", r#"[{"host": "bad host"}]"#.into())],
        &["WS_ALLOWED_ORIGINS", "[0]", "bad host"],
    );
    check(
        json!({"websockets": {"enabled": "yes"}, "routes": []}),
        json!([]),
        &[],
        &["xs-app.json", "websockets.enabled must be true or false"],
    );
}

#[test]
fn unreachable_redis_stops_start_up() {
    let port = support::free_port();
    check(
        json!({"routes": []}),
        json!([]),
        &[("REDIS_URL", format!("redis://:secretpw@127.0.0.1:{port}"))],
        &["Redis", &format!("127.0.0.1:{port}")],
    );
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(
        dir.path(),
        &json!({"routes": []}),
        &json!([]),
        &[("REDIS_URL", format!("redis://:secretpw@127.0.0.1:{port}"))],
    );
    let (_, output) = RouterProcess::run_to_exit(env, dir.path());
    assert!(
        !output.contains("secretpw"),
        "the Redis password is never printed:\n{output}"
    );
}

#[test]
fn known_but_harmless_keys_only_warn() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(
        dir.path(),
        &json!({"pluginMetadataEndpoint": "/metadata", "routes": []}),
        &json!([]),
        &[],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let router = RouterProcess::spawn(env, dir.path()).await;
        // Log lines go out in batches (at most 20 ms late): healthy does not mean written yet.
        let warned = |log: &str| log.contains("pluginMetadataEndpoint") && log.contains("ignored");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !warned(&router.log_text()) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let log = router.log_text();
        assert!(warned(&log), "{log}");
    });
}

#[test]
fn a_scheduler_slice_out_of_the_kernels_range_stops_start_up() {
    check(
        json!({"routes": [{"source": "^/(.*)$", "destination": "backend", "authenticationType": "none"}]}),
        json!([{"name": "backend", "url": "http://127.0.0.1:9"}]),
        &[("SCHED_SLICE_US", "50".to_string())],
        &["SCHED_SLICE_US=\"50\"", "100..=100000"],
    );
}
