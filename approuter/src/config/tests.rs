use super::*;
use serde_json::json;
use std::collections::HashMap;

struct Env {
    dir: tempfile::TempDir,
    vars: HashMap<String, String>,
}

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

impl Env {
    fn new(xs_app: serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("xs-app.json");
        std::fs::write(&path, xs_app.to_string()).unwrap();
        let mut vars = HashMap::new();
        vars.insert("XS_APP_JSON".into(), path.display().to_string());
        vars.insert(
            "destinations".into(),
            json!([{"name": "backend", "url": "http://127.0.0.1:9", "forwardAuthToken": true}])
                .to_string(),
        );
        vars.insert("VCAP_SERVICES".into(), xsuaa_vcap());
        Env { dir, vars }
    }

    fn set(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    fn unset(mut self, k: &str) -> Self {
        self.vars.remove(k);
        self
    }

    fn load(&self) -> Result<Config, Error> {
        let _keep = self.dir.path();
        Config::from_lookup(|k| self.vars.get(k).cloned())
    }

    fn error(&self) -> String {
        match self.load() {
            Ok(_) => panic!("expected a configuration error"),
            Err(e) => e.to_string(),
        }
    }
}

fn tutorial() -> serde_json::Value {
    json!({
        "welcomeFile": "/mainentry",
        "authenticationMethod": "route",
        "routes": [{"source": "^/(.*)$", "target": "$1", "destination": "backend",
                    "authenticationType": "xsuaa", "scope": ["$XSAPPNAME.Read"]}]
    })
}

#[test]
fn defaults() {
    let config = Env::new(tutorial()).load().unwrap();
    assert_eq!(config.port, 5000);
    assert_eq!(config.session_timeout, DEFAULT_SESSION_TIMEOUT);
    assert!(config.redis_url.is_none());
    assert_eq!(config.xsuaa.as_ref().unwrap().xsappname, "app!t1");
    assert_eq!(
        config.xs_app.routes[0]
            .scope
            .required(&axum::http::Method::GET),
        ["app!t1.Read".to_string()]
    );
    assert_eq!(config.cookie_name, "JSESSIONID");
}

#[test]
fn env_settings() {
    let config = Env::new(tutorial())
        .set("PORT", "8081")
        .set("SESSION_TIMEOUT", "5")
        .set("REDIS_URL", "redis://127.0.0.1:6390")
        .set("TRUSTED_PROXIES", "10.0.0.0/8")
        .load()
        .unwrap();
    assert_eq!(config.port, 8081);
    assert_eq!(config.session_timeout, Duration::from_secs(300));
    assert_eq!(config.redis_url.as_deref(), Some("redis://127.0.0.1:6390"));
    assert!(config.trusted_proxies.trusts("10.1.1.1".parse().unwrap()));

    let mut xs = tutorial();
    xs["sessionTimeout"] = json!(45);
    let config = Env::new(xs.clone())
        .set("SESSION_TIMEOUT", "5")
        .load()
        .unwrap();
    assert_eq!(
        config.session_timeout,
        Duration::from_secs(5 * 60),
        "SESSION_TIMEOUT wins, as in @sap/approuter's configuration.js"
    );
    let config = Env::new(xs).load().unwrap();
    assert_eq!(config.session_timeout, Duration::from_secs(45 * 60));
}

#[test]
fn sap_approuter_env_names() {
    let config = Env::new(tutorial()).load().unwrap();
    let headers: Vec<(String, String)> = config
        .additional_headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(headers, [("x-frame-options".into(), "SAMEORIGIN".into())]);
    assert_eq!(config.cookie_same_site, SameSite::Lax);
    assert_eq!(config.secure_session_cookie, None);
    assert_eq!(config.bind_address, "0.0.0.0");

    let config = Env::new(tutorial())
        .set("httpHeaders", r#"[{"Content-Security-Policy": "frame-ancestors 'self'"}, {"X-Frame-Options": "DENY"}]"#)
        .set("COOKIES", r#"{"SameSite": "None"}"#)
        .set("SECURE_SESSION_COOKIE", "true")
        .set("XS_BIND_ADDRESS", "127.0.0.1")
        .set("JWT_REFRESH", "10")
        .load()
        .unwrap();
    let names: Vec<&str> = config
        .additional_headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        names,
        ["content-security-policy", "x-frame-options"],
        "httpHeaders' own x-frame-options replaces SAMEORIGIN"
    );
    assert_eq!(config.additional_headers[1].1, "DENY");
    assert_eq!(config.cookie_same_site, SameSite::None);
    assert_eq!(config.secure_session_cookie, Some(true));
    assert_eq!(config.bind_address, "127.0.0.1");
    assert!(config.warnings.iter().any(|w| w.contains("JWT_REFRESH")));

    let config = Env::new(tutorial())
        .set("SEND_XFRAMEOPTIONS", "false")
        .load()
        .unwrap();
    assert!(config.additional_headers.is_empty());

    let config = Env::new(tutorial())
        .set("REDIS_URL", "rediss://:pw@127.0.0.1:6390")
        .load()
        .unwrap();
    assert_eq!(
        config.redis_url.as_deref(),
        Some("rediss://:pw@127.0.0.1:6390")
    );

    for (var, value, expected) in [
        ("httpHeaders", r#"{"a": "b"}"#, "httpHeaders"),
        (
            "httpHeaders",
            r#"[{"bad header": "b"}]"#,
            "invalid header name",
        ),
        ("COOKIES", r#"{"SameSite": "Strict"}"#, "SameSite"),
        ("COOKIES", r#"{"Samesite": "None"}"#, "unknown key"),
        ("SECURE_SESSION_COOKIE", "yes", "SECURE_SESSION_COOKIE"),
        ("SEND_XFRAMEOPTIONS", "no", "SEND_XFRAMEOPTIONS"),
        ("JWT_REFRESH", "soon", "JWT_REFRESH"),
        ("UAA_SERVICE_NAME", "other-xsuaa", "other-xsuaa"),
    ] {
        let message = Env::new(tutorial()).set(var, value).error();
        assert!(message.contains(expected), "{var}={value}: {message}");
    }
    let message = Env::new(tutorial())
        .set("COOKIES", r#"{"SameSite": "None"}"#)
        .set("SECURE_SESSION_COOKIE", "false")
        .error();
    assert!(message.contains("Secure"), "{message}");
}

#[test]
fn uaa_service_name_picks_the_binding() {
    let two = json!({"xsuaa": [
        serde_json::from_str::<serde_json::Value>(&xsuaa_vcap()).unwrap()["xsuaa"][0],
        {"name": "second", "label": "xsuaa", "tags": ["xsuaa"], "credentials": {
            "clientid": "sb-two!t2", "clientsecret": "s", "url": "http://127.0.0.1:2",
            "uaadomain": "localhost", "xsappname": "two!t2"}}
    ]});
    let config = Env::new(tutorial())
        .set("VCAP_SERVICES", &two.to_string())
        .set("UAA_SERVICE_NAME", "second")
        .load()
        .unwrap();
    assert_eq!(config.xsuaa.unwrap().xsappname, "two!t2");
}

#[test]
fn redis_binding_from_vcap_services() {
    let vcap = json!({
        "xsuaa": serde_json::from_str::<serde_json::Value>(&xsuaa_vcap()).unwrap()["xsuaa"],
        "redis-cache": [{"name": "sessions", "label": "redis-cache", "tags": ["redis"],
                          "credentials": {"hostname": "127.0.0.1", "port": 6391, "password": "pw"}}]
    });
    let config = Env::new(tutorial())
        .set("VCAP_SERVICES", &vcap.to_string())
        .load()
        .unwrap();
    let url = config.redis_url.unwrap();
    assert!(url.contains("127.0.0.1:6391"), "{url}");
    assert!(!redact_url(&url).contains("pw"));
}

#[test]
fn each_configuration_error_names_its_source() {
    let cases: Vec<(Env, &[&str])> = vec![
        (Env::new(tutorial()).set("PORT", "eighty"), &["PORT"]),
        (
            Env::new(tutorial()).set("SESSION_TIMEOUT", "0"),
            &["SESSION_TIMEOUT"],
        ),
        // More minutes than fit in seconds: refused, not overflowed (found by the property tests).
        (
            Env::new(tutorial()).set("SESSION_TIMEOUT", "18446744073709551615"),
            &["SESSION_TIMEOUT"],
        ),
        (
            Env::new(tutorial()).set("destinations", "{not json"),
            &["destinations"],
        ),
        (
            Env::new(tutorial()).set(
                "destinations",
                r#"[{"name":"backend","url":"http://x","forwardAuthTokn":true}]"#,
            ),
            &["destinations", "forwardAuthTokn"],
        ),
        (
            Env::new(tutorial()).set("VCAP_SERVICES", "[]"),
            &["VCAP_SERVICES"],
        ),
        (
            Env::new(tutorial()).unset("VCAP_SERVICES"),
            &["routes[0]", "xsuaa"],
        ),
        (
            Env::new(tutorial()).set("XS_APP_JSON", "/nonexistent/xs-app.json"),
            &["/nonexistent/xs-app.json"],
        ),
        (
            Env::new(tutorial()).set("REDIS_URL", "http://127.0.0.1"),
            &["REDIS_URL"],
        ),
        (
            Env::new(tutorial()).set("TRUSTED_PROXIES", "10.0.0.0/99"),
            &["TRUSTED_PROXIES"],
        ),
        (
            Env::new(json!({"routes": [{"source": "^/(.*)$", "destination": "missing"}]})),
            &["routes[0]", "\"missing\""],
        ),
        (
            Env::new(json!({"routes": [{"source": "^/(.*$", "destination": "backend"}]})),
            &["routes[0]", "regular expression"],
        ),
        (
            Env::new(json!({"routez": []})),
            &["xs-app.json", "\"routez\""],
        ),
        (
            Env::new(
                json!({"logout": {"logoutEndpoint": "/logout", "logoutPage": "https://evil.example/"}, "routes": []}),
            ),
            &["logoutPage", "evil.example", "ALLOWED_REDIRECT_HOSTS"],
        ),
    ];
    for (env, needles) in cases {
        let message = env.error();
        for needle in needles {
            assert!(
                message.contains(needle),
                "{message:?} should mention {needle:?}"
            );
        }
    }
}

#[test]
fn absolute_logout_pages_need_an_allowed_host() {
    let xs = json!({"logout": {"logoutEndpoint": "/logout", "logoutPage": "https://portal.example/bye"}, "routes": []});
    assert!(Env::new(xs.clone()).load().is_err());
    assert!(
        Env::new(xs)
            .set("ALLOWED_REDIRECT_HOSTS", "portal.example")
            .load()
            .is_ok()
    );
}

#[test]
fn cloud_foundry_trusts_the_gorouter_network_by_default() {
    let config = Env::new(tutorial())
        .set("CF_INSTANCE_IP", "10.0.0.7")
        .load()
        .unwrap();
    assert!(config.trusted_proxies.trusts("10.0.3.4".parse().unwrap()));
    let local = Env::new(tutorial()).load().unwrap();
    assert!(!local.trusted_proxies.trusts("10.0.3.4".parse().unwrap()));
}
