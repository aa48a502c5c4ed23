//! `GET /getToken?ttl=` (seed 003) against the mock platform: protection, cache, `ttl`, CORS, in
//! both flavours (XSUAA client credentials; HERE's signed request against the mock HERE endpoint).

mod support;

use mock_platform::Service;
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};
use support::{App, Platform, get};

const APP_ORIGIN: &str = "https://app.example.com";

#[tokio::test]
async fn get_token_needs_a_valid_user_token() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let none = get(&app.url("/getToken"), None, &[]).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.body.starts_with("No user token"), "{}", none.body);
    let bad = get(&app.url("/getToken"), Some("a.b.c"), &[]).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        0
    );
}

#[tokio::test]
async fn get_token_returns_one_cached_token_as_text() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    let issued_before = platform.count(Service::Xsuaa, "token.client_credentials");

    let first = get(&app.url("/getToken?ttl=600"), Some(&alice), &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let claims = common::jwt::decode_unverified(&first.body).expect("a JWT");
    let xsuaa = platform.vcap.xsuaa().unwrap();
    assert_eq!(
        claims.client_id(),
        Some(xsuaa.clientid.as_str()),
        "issued to the xsuaa binding's client"
    );

    for ttl in ["", "?ttl=600", "?ttl=3600"] {
        let again = get(&app.url(&format!("/getToken{ttl}")), Some(&alice), &[]).await;
        assert_eq!(again.body, first.body, "served from the cache ({ttl})");
    }
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials") - issued_before,
        1
    );
}

#[tokio::test]
async fn a_short_ttl_runs_out_and_a_new_token_is_fetched() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;

    let first = get(&app.url("/getToken?ttl=1"), Some(&alice), &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    // The entry is older than 1 s after at most ~1 s; poll (bounded) instead of guessing.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let next = get(&app.url("/getToken?ttl=1"), Some(&alice), &[]).await;
        assert_eq!(next.status, StatusCode::OK);
        if next.body != first.body {
            break;
        }
        assert!(Instant::now() < deadline, "ttl=1 never ran out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(platform.count(Service::Xsuaa, "token.client_credentials") >= 2);
}

#[tokio::test]
async fn bad_ttl_values_get_400_with_the_reason() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    for (ttl, reason) in [
        ("abc", "\"abc\" is not a whole number of seconds"),
        ("1.5", "\"1.5\" is not a whole number of seconds"),
        ("-5", "\"-5\" is not a whole number of seconds"),
        ("", "\"\" is not a whole number of seconds"),
        ("0", "0 is outside 1..86400 seconds"),
        ("86401", "86401 is outside 1..86400 seconds"),
    ] {
        let answer = get(&app.url(&format!("/getToken?ttl={ttl}")), Some(&alice), &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "ttl={ttl}");
        assert!(answer.body.contains(reason), "ttl={ttl}: {}", answer.body);
    }
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        0
    );
}

#[tokio::test]
async fn tokens_come_from_the_credentials_file_when_configured() {
    let platform = Platform::start().await;
    // Another client than the xsuaa binding's, so the token shows where it came from.
    let destination = platform.vcap.destination().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.properties");
    std::fs::write(
        &file,
        format!(
            "# seed 003 format, XSUAA flavour (not here.* keys)\nxsuaa.token.endpoint.url = {}/oauth/token\nxsuaa.access.key.id = {}\nxsuaa.access.key.secret = {}\n",
            platform.mock.xsuaa_url,
            destination.clientid,
            destination.clientsecret.expose()
        ),
    )
    .unwrap();
    let app =
        App::start(platform.config(&[("TOKEN_PROVIDER_CREDENTIALS", file.to_str().unwrap())]))
            .await;
    let alice = platform.user_token("alice").await;

    let answer = get(&app.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let claims = common::jwt::decode_unverified(&answer.body).unwrap();
    assert_eq!(claims.client_id(), Some(destination.clientid.as_str()));
}

#[tokio::test]
async fn a_failing_token_endpoint_gives_502() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    platform
        .fail(
            Service::Xsuaa,
            serde_json::json!({"status": 500, "count": 1, "path_prefix": "/oauth/token"}),
        )
        .await;
    let answer = get(&app.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert!(
        answer
            .body
            .starts_with("The token endpoint refused to issue a token"),
        "{}",
        answer.body
    );
    // Not cached: the next call gets a token.
    let answer = get(&app.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
}

fn cors_headers(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(app: &App, origin: &str) -> reqwest::Response {
    support::client()
        .request(Method::OPTIONS, app.url("/getToken?ttl=60"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_headers_only_for_allowed_origins() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[(
        "TOKEN_PROVIDER_ALLOWED_ORIGINS",
        "https://app.example.com, http://localhost:3000",
    )]))
    .await;
    let alice = platform.user_token("alice").await;

    let allowed = get(
        &app.url("/getToken"),
        Some(&alice),
        &[("origin", APP_ORIGIN)],
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(allowed.header("vary").unwrap().contains("origin"));

    let other = get(
        &app.url("/getToken"),
        Some(&alice),
        &[("origin", "https://evil.example.com")],
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "CORS is the browser's check");
    assert_eq!(cors_headers(&other.headers), Vec::<String>::new());

    // Preflight: answered without a token (browsers send none), only for allowed origins.
    let ok = preflight(&app, "http://localhost:3000").await;
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("authorization")
    );
    assert!(h.contains_key("access-control-max-age"));

    let denied = preflight(&app, "https://evil.example.com").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(cors_headers(denied.headers()), Vec::<String>::new());

    // An allowed origin asking for a method we do not offer gets no grant.
    let post = support::client()
        .request(Method::OPTIONS, app.url("/getToken"))
        .header("origin", APP_ORIGIN)
        .header("access-control-request-method", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    assert_eq!(cors_headers(post.headers()), Vec::<String>::new());

    // Only /getToken speaks CORS.
    let mainentry = get(
        &app.url("/mainentry"),
        Some(&alice),
        &[("origin", APP_ORIGIN)],
    )
    .await;
    assert_eq!(mainentry.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn without_allowed_origins_there_is_no_cors_at_all() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    let answer = get(
        &app.url("/getToken"),
        Some(&alice),
        &[("origin", APP_ORIGIN)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert_eq!(cors_headers(&answer.headers), Vec::<String>::new());
    let pre = preflight(&app, APP_ORIGIN).await;
    assert_eq!(pre.status(), StatusCode::FORBIDDEN);
    assert_eq!(cors_headers(pre.headers()), Vec::<String>::new());
}

/// bsclient with the HERE flavour: the mock's own `credentials.properties` (as HERE hands it out).
async fn here_app(
    platform: &Platform,
    extra: &str,
    vars: &[(&str, &str)],
) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.properties");
    let properties = platform.mock.ready()["here"]["credentials_properties"]
        .as_str()
        .expect("the ready file has a credentials.properties");
    std::fs::write(&file, format!("{properties}{extra}")).unwrap();
    let mut all = vec![("TOKEN_PROVIDER_CREDENTIALS", file.to_str().unwrap())];
    all.extend_from_slice(vars);
    let config = platform.config(&all);
    (App::start(config).await, dir)
}

async fn whoami(platform: &Platform, token: &str) -> (StatusCode, serde_json::Value) {
    let answer = get(
        &format!("{}/demo/whoami", platform.mock.here_url),
        Some(token),
        &[],
    )
    .await;
    let body = serde_json::from_str(&answer.body).unwrap_or_default();
    (answer.status, body)
}

#[tokio::test]
async fn here_flavour_signs_the_request_and_sends_ttl_as_expires_in() {
    let platform = Platform::start().await;
    let (app, _dir) = here_app(
        &platform,
        "here.token.scope = hrn:here:authorization::org:project/demo\n",
        &[],
    )
    .await;
    let alice = platform.user_token("alice").await;

    let answer = get(&app.url("/getToken?ttl=600"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(platform.count(Service::Here, "tokens"), 1);
    assert_eq!(platform.count(Service::Here, "signature_mismatch"), 0);

    // The HERE endpoint itself says whose token it is and how long it lives.
    let (status, me) = whoami(&platform, &answer.body).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let key = &platform.mock.ready()["here"]["access_keys"][0];
    assert_eq!(me["accessKeyId"], key["id"]);
    assert_eq!(me["scope"], "hrn:here:authorization::org:project/demo");
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    // Read the clock after each token is issued: a stale `now` makes the
    // lifetime look a second longer than asked (CI saw 86401).
    let left = me["expiresAt"].as_i64().unwrap() - now();
    assert!(
        (590..=600).contains(&left),
        "expiresIn = ttl 600, {left} s left"
    );

    // Same class: cached. Another class: its own token with its own lifetime.
    let again = get(&app.url("/getToken?ttl=630"), Some(&alice), &[]).await;
    assert_eq!(again.body, answer.body, "600 and 630 share the 600 class");
    let day = get(&app.url("/getToken?ttl=86400"), Some(&alice), &[]).await;
    assert_ne!(day.body, answer.body);
    let (_, me) = whoami(&platform, &day.body).await;
    let left = me["expiresAt"].as_i64().unwrap() - now();
    assert!((86_390..=86_400).contains(&left), "{left}");
    assert_eq!(platform.count(Service::Here, "tokens"), 2);
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        0
    );
}

#[tokio::test]
async fn here_flavour_fetches_once_for_many_concurrent_callers() {
    let platform = Platform::start().await;
    let (app, _dir) = here_app(&platform, "", &[]).await;
    let alice = platform.user_token("alice").await;
    let url = app.url("/getToken?ttl=3600");
    let calls = (0..20).map(|_| get(&url, Some(&alice), &[]));
    let answers = futures::future::join_all(calls).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert!(answers.iter().all(|a| a.body == answers[0].body));
    assert_eq!(platform.count(Service::Here, "tokens"), 1, "single flight");
}

#[tokio::test]
async fn here_flavour_short_tokens_are_renewed_before_they_expire() {
    let platform = Platform::start().await;
    let (app, _dir) = here_app(&platform, "", &[]).await;
    let alice = platform.user_token("alice").await;
    let first = get(&app.url("/getToken?ttl=2"), Some(&alice), &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let next = get(&app.url("/getToken?ttl=2"), Some(&alice), &[]).await;
        assert_eq!(next.status, StatusCode::OK);
        if next.body != first.body {
            // Handed out only while it still lives.
            assert_eq!(whoami(&platform, &next.body).await.0, StatusCode::OK);
            break;
        }
        assert!(Instant::now() < deadline, "a 2 s token was never renewed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn here_flavour_refusal_is_a_502_naming_the_status_never_the_secret() {
    let platform = Platform::start().await;
    let (app, _dir) = here_app(&platform, "", &[]).await;
    // The same file with a wrong secret.
    let secret = platform.mock.ready()["here"]["access_keys"][0]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.properties");
    let properties = platform.mock.ready()["here"]["credentials_properties"]
        .as_str()
        .unwrap()
        .replace(&secret, "wrong-secret-value");
    std::fs::write(&file, properties).unwrap();
    let wrong =
        App::start(platform.config(&[("TOKEN_PROVIDER_CREDENTIALS", file.to_str().unwrap())]))
            .await;
    let alice = platform.user_token("alice").await;

    let answer = get(&wrong.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert!(
        answer.body.contains("(401)") && answer.body.contains("401300"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains(&secret) && !answer.body.contains("wrong-secret-value"));
    assert_eq!(platform.count(Service::Here, "signature_mismatch"), 1);

    // An injected upstream failure: 502 naming the status, and not cached.
    platform
        .fail(
            Service::Here,
            serde_json::json!({"status": 503, "count": 1}),
        )
        .await;
    let answer = get(&app.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{}", answer.body);
    assert!(answer.body.contains("503"), "{}", answer.body);
    let answer = get(&app.url("/getToken"), Some(&alice), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn here_flavour_out_of_range_ttl_is_400_without_a_token_request() {
    let platform = Platform::start().await;
    let (app, _dir) = here_app(&platform, "", &[]).await;
    let alice = platform.user_token("alice").await;
    for ttl in ["0", "86401", "x"] {
        let answer = get(&app.url(&format!("/getToken?ttl={ttl}")), Some(&alice), &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "ttl={ttl}");
    }
    assert_eq!(platform.count(Service::Here, "requests"), 0);
}

#[tokio::test]
async fn any_origin_gets_a_star_without_credentials() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[("TOKEN_PROVIDER_ALLOWED_ORIGINS", "*")])).await;
    let alice = platform.user_token("alice").await;
    let answer = get(
        &app.url("/getToken"),
        Some(&alice),
        &[("origin", "https://anywhere.example.org")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(answer.header("access-control-allow-credentials"), None);
    let pre = preflight(&app, "https://anywhere.example.org").await;
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert!(
        !pre.headers()
            .contains_key("access-control-allow-credentials")
    );
}
