//! Issue 14, items 2-4, against the in-process mock platform (XSUAA and Destination service) and a
//! recording backend on loopback: destinations looked up at the Destination service (cached per
//! user for the token's lifetime, an `authTokens[0].error` never cached), service to App Router
//! (`x-approuter-authorization`), and backend logout at central logout.
//!
//! Run: `cargo test -p approuter --test destination_service`.

mod support;

use mock_platform::{MockConfig, Ports, RunningPlatform};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{Backend, Browser, TestRouter};

/// The tutorial's platform plus instance-level destinations to `backend`.
async fn platform(backend: &str) -> RunningPlatform {
    let mut config = MockConfig::builtin();
    let creds = |d: Value| {
        let mut d = d;
        d["tokenServiceURL"] = json!("{{xsuaa.url}}/oauth/token");
        d["clientId"] = json!("{{XsuaaForScenario.clientid}}");
        d["clientSecret"] = json!("{{XsuaaForScenario.clientsecret}}");
        d
    };
    let http = |name: &str, auth: &str| json!({"Name": name, "Type": "HTTP", "URL": format!("{backend}/{name}"), "Authentication": auth});
    let mut broken = creds(http("ds-broken", "OAuth2ClientCredentials"));
    broken["clientSecret"] = json!("wrong");
    let mut slow = http("ds-none", "NoAuthentication");
    slow["HTML5.Timeout"] = json!("4000");
    let instance = json!({"destinations": [
        slow,
        creds(http("ds-exchange", "OAuth2UserTokenExchange")),
        broken,
    ]});
    let first = &mut config.destination.instances[0];
    let mut data = first.init_data.clone().unwrap();
    data["init_data"]["instance"] = instance;
    first.init_data = Some(data);
    let ports = Ports {
        xsuaa_tls: None,
        ..Ports::default()
    };
    mock_platform::start(config, ports).await.unwrap()
}

fn vcap(platform: &RunningPlatform) -> String {
    let all = platform.vcap_services();
    json!({"xsuaa": all["xsuaa"], "destination": all["destination"]}).to_string()
}

fn lookups(platform: &RunningPlatform, name: &str) -> u64 {
    platform
        .stats(mock_platform::Service::Destination)
        .get(&format!("lookups.{name}"))
        .copied()
        .unwrap_or(0)
}

async fn router(platform: &RunningPlatform, backend: &Backend, dead: &str) -> TestRouter {
    TestRouter::start(
        json!({
            "logout": {"logoutEndpoint": "/do/logout"},
            "destinations": {
                "backend": {"logoutPath": "/backend-logout"},
                "dead": {"logoutPath": "/logout", "logoutMethod": "GET"},
            },
            "routes": [
                {"source": "^/none/(.*)$", "target": "/$1", "destination": "ds-none", "authenticationType": "none"},
                {"source": "^/broken/(.*)$", "target": "/$1", "destination": "ds-broken", "authenticationType": "none"},
                {"source": "^/exchange/(.*)$", "target": "/$1", "destination": "ds-exchange"},
                {"source": "^/(.*)$", "target": "/$1", "destination": "backend"},
            ]
        }),
        json!([
            {"name": "backend", "url": backend.url, "forwardAuthToken": true},
            {"name": "dead", "url": dead, "timeout": 2000},
        ]),
        &[("VCAP_SERVICES", vcap(platform))],
    )
    .await
}

fn claims(authorization: &str) -> Value {
    use base64::Engine;
    let token = authorization
        .strip_prefix("Bearer ")
        .expect("a bearer token");
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn service_destinations_are_cached_per_user_and_token_errors_are_not() {
    let backend = Backend::start().await;
    let platform = platform(&backend.url).await;
    let dead = testkit::net::closed_port_url();
    let router = router(&platform, &backend, &dead).await;
    let url = |p: &str| format!("{}{p}", router.url);

    // NoAuthentication, anonymous: forwarded under the destination's URL, without a token.
    let answer = reqwest::get(url("/none/a?q=1")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let got = backend.last();
    assert_eq!(
        (got.path.as_str(), got.query.as_deref()),
        ("/ds-none/a", Some("q=1"))
    );
    assert_eq!(got.header("authorization"), None);

    // OAuth2UserTokenExchange: alice's token exchanged by the service, looked up once for her.
    let alice = Browser::new();
    let page = alice
        .login(&url("/exchange/one"), "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let first = backend.last();
    assert_eq!(first.path, "/ds-exchange/one");
    let exchanged = claims(first.header("authorization").unwrap());
    assert_eq!(exchanged["user_name"], "alice");
    assert_eq!(
        exchanged["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let page = alice.get(&url("/exchange/two")).await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        backend.last().header("authorization"),
        first.header("authorization"),
        "the cached exchanged token is reused"
    );
    assert_eq!(lookups(&platform, "ds-exchange"), 1, "one lookup for alice");

    // bob gets his own lookup and his own token, never alice's.
    let bob = Browser::new();
    let page = bob
        .login(&url("/exchange/b"), "bob", "bob-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        claims(backend.last().header("authorization").unwrap())["user_name"],
        "bob"
    );
    assert_eq!(lookups(&platform, "ds-exchange"), 2);

    // authTokens[0].error: 502 naming the destination, not its URL; asked again next time.
    for _ in 0..2 {
        let answer = reqwest::get(url("/broken/x")).await.unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_GATEWAY);
        let body = answer.text().await.unwrap();
        assert!(body.contains("ds-broken"), "{body}");
        assert!(
            !body.contains("127.0.0.1") && !body.contains("oauth"),
            "{body}"
        );
    }
    assert_eq!(
        lookups(&platform, "ds-broken"),
        2,
        "an error is never cached"
    );
    assert!(
        !backend
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/ds-broken"))
    );
}

#[tokio::test]
async fn a_service_calls_with_its_own_token_instead_of_a_login() {
    let backend = Backend::start().await;
    let platform = platform(&backend.url).await;
    let dead = testkit::net::closed_port_url();
    let router = router(&platform, &backend, &dead).await;
    let creds = &platform.vcap_services()["xsuaa"][0]["credentials"];
    let token: Value = testkit::tokens::password_grant(
        creds["url"].as_str().unwrap(),
        creds["clientid"].as_str().unwrap(),
        creds["clientsecret"].as_str().unwrap(),
        "alice",
        "alice-pass",
    )
    .await
    .json()
    .await
    .unwrap();
    let token = testkit::tokens::access_token(&token);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A POST without a CSRF token and without a session: forwarded with the token, no cookie made.
    let answer = client
        .post(format!("{}/orders", router.url))
        .header("x-approuter-authorization", format!("Bearer {token}"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers().get("set-cookie").is_none());
    let got = backend.last();
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(got.header("x-approuter-authorization"), None);

    // A token no key of the platform signed, and one that is not a JWT.
    let mut forged = token.clone();
    forged.truncate(forged.rfind('.').unwrap());
    forged.push_str(".c2lnbmF0dXJl");
    for (value, status) in [
        (format!("Bearer {forged}"), StatusCode::UNAUTHORIZED),
        ("Bearer nope".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let answer = client
            .get(format!("{}/orders", router.url))
            .header("x-approuter-authorization", &value)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{value}");
        assert!(answer.headers().get("location").is_none());
    }
    assert_eq!(backend.count(), 1);
}

#[tokio::test]
async fn central_logout_calls_the_backends_logout_paths_without_waiting_for_a_dead_one() {
    let backend = Backend::start().await;
    let platform = platform(&backend.url).await;
    // Accepts connections and never answers: the router must not wait for it.
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", hanging.local_addr().unwrap());
    let router = router(&platform, &backend, &dead).await;
    let alice = Browser::new();
    let page = alice
        .login(&format!("{}/start", router.url), "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);

    let started = Instant::now();
    let answer = alice
        .get_once(&format!("{}/do/logout", router.url))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    // Far below the dead destination's timeout (30 s), with room for a busy CI machine.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the logout waited for a backend"
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    let call = loop {
        if let Some(r) = backend
            .requests()
            .into_iter()
            .find(|r| r.path == "/backend-logout")
        {
            break r;
        }
        assert!(Instant::now() < deadline, "no backend logout call");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(call.method, "POST", "logoutMethod defaults to POST");
    assert_eq!(
        claims(call.header("authorization").unwrap())["user_name"],
        "alice"
    );
    assert!(call.header("x-correlationid").is_some());
    drop(hanging);
}
