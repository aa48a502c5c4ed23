//! Forwarding on routes without login: what the backend receives, what the browser gets back,
//! static files, timeouts. A recording backend and the router run on loopback.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, TestRouter};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn public_router(backend: &Backend, extra_routes: Vec<serde_json::Value>) -> TestRouter {
    let mut routes = extra_routes;
    routes.push(json!({"source": "^/api/(.*)$", "target": "$1", "destination": "backend", "authenticationType": "none"}));
    TestRouter::start(
        json!({"authenticationMethod": "route", "welcomeFile": "/api/home", "routes": routes}),
        json!([
            {"name": "backend", "url": format!("{}/base", backend.url), "forwardAuthToken": true},
            {"name": "impatient", "url": backend.url, "timeout": 300}
        ]),
        &[],
    )
    .await
}

#[tokio::test]
async fn the_backend_gets_the_target_path_query_and_forwarded_headers() {
    let backend = Backend::start().await;
    let router = public_router(&backend, vec![]).await;
    let response = client()
        .get(format!("{}/api/items/5?$top=2&x=a%20b", router.url))
        .header("accept", "application/json")
        .header("x-forwarded-for", "6.6.6.6")
        .header("x_forwarded_host", "evil.example")
        .header("x-forwarded-proto", "https")
        .header("x-user-token", "forged")
        .header("cookie", "theme=dark")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = backend.last();
    assert_eq!(seen.path, "/base/items/5");
    assert_eq!(seen.query.as_deref(), Some("$top=2&x=a%20b"));
    let router_host = router.url.trim_start_matches("http://");
    assert_eq!(seen.header("x-forwarded-host"), Some(router_host));
    assert_eq!(
        seen.header("x-forwarded-proto"),
        Some("http"),
        "a client's claim is not believed"
    );
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-path"), Some("/api/items/5"));
    assert_eq!(seen.header("x_forwarded_host"), None);
    assert_eq!(seen.header("x-user-token"), None);
    assert_eq!(seen.header("cookie"), Some("theme=dark"));
    assert_eq!(
        seen.header("authorization"),
        None,
        "no login on this route, no token"
    );
    assert_eq!(
        seen.header("host"),
        Some(backend.url.trim_start_matches("http://"))
    );
}

#[tokio::test]
async fn dot_segments_cannot_reach_other_routes_and_the_query_does_not_match() {
    let backend = Backend::start().await;
    let router = public_router(
        &backend,
        vec![json!({"source": "^/api/.*/status$", "destination": "backend", "authenticationType": "none", "httpMethods": ["DELETE"]})],
    )
    .await;
    // Normalized before matching, and forwarded normalized.
    client()
        .get(format!("{}/other/../api/x/%2e%2e/y", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(backend.last().path, "/base/y");
    let r = client()
        .get(format!("{}/nothing-here?path=/api/x", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = client()
        .get(format!("{}/a%zz", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn locations_and_cookies_from_the_backend_point_at_the_router() {
    let backend = Backend::start().await;
    let router = public_router(&backend, vec![]).await;
    let r = client()
        .get(format!("{}/api/redirect", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"],
        format!("{}/api/landing?x=1", router.url).as_str()
    );
    let r = client()
        .get(format!("{}/api/relative-redirect", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/api/landing");

    let r = client()
        .get(format!("{}/api/cookie", router.url))
        .send()
        .await
        .unwrap();
    let cookies: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        vec!["backend=1; Path=/api/cookie; HttpOnly"],
        "domain dropped, path mapped, a cookie named like the session cookie dropped"
    );
}

#[tokio::test]
async fn a_destination_timeout_gives_504_and_an_unreachable_backend_502() {
    let backend = Backend::start().await;
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let router = TestRouter::start(
        json!({"routes": [
            {"source": "^/slow/(.*)$", "target": "$1", "destination": "impatient", "authenticationType": "none"},
            {"source": "^/dead/(.*)$", "target": "$1", "destination": "dead", "authenticationType": "none"}
        ]}),
        json!([
            {"name": "impatient", "url": backend.url, "timeout": 300},
            {"name": "dead", "url": dead}
        ]),
        &[],
    )
    .await;
    let r = client()
        .get(format!("{}/slow/hang", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(r.text().await.unwrap().contains("impatient"));
    let r = client()
        .get(format!("{}/dead/x", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains("dead"));
}

/// The destination's `timeout` bounds every silence of the backend, not the whole download.
#[tokio::test]
async fn a_backend_that_goes_silent_mid_body_is_cut_off_but_a_slow_steady_one_is_not() {
    let backend = Backend::start().await;
    let slow = json!({"source": "^/slow/(.*)$", "target": "$1", "destination": "impatient", "authenticationType": "none"});
    let router = public_router(&backend, vec![slow]).await;
    let started = std::time::Instant::now();
    let r = client()
        .get(format!("{}/slow/stall", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the head came in time");
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), r.bytes())
        .await
        .expect("the router must not wait for the silent backend forever");
    assert!(
        body.is_err(),
        "a cut-off body is an error, not a short success"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(300),
        "not before the destination's timeout: {:?}",
        started.elapsed()
    );

    // 5 chunks 150 ms apart: 600 ms in all, twice the 300 ms timeout, but never 300 ms silent.
    let r = client()
        .get(format!("{}/slow/drip", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.unwrap(),
        "chunk0;chunk1;chunk2;chunk3;chunk4;"
    );
}

/// `https` destinations: the certificate is checked (a self-signed one is refused with 502) unless
/// the destination says `strictSSL: false`.
#[tokio::test]
async fn https_destinations_check_the_certificate_unless_strict_ssl_is_false() {
    let platform = mock_platform::start(
        mock_platform::MockConfig::builtin(),
        mock_platform::Ports::default(),
    )
    .await
    .unwrap();
    let tls_url = platform.xsuaa_tls_url.clone().expect("the mock serves TLS");
    let router = TestRouter::start(
        json!({"routes": [
            {"source": "^/strict/(.*)$", "target": "$1", "destination": "strict", "authenticationType": "none"},
            {"source": "^/lax/(.*)$", "target": "$1", "destination": "lax", "authenticationType": "none"}
        ]}),
        json!([
            {"name": "strict", "url": tls_url},
            {"name": "lax", "url": tls_url, "strictSSL": false}
        ]),
        &[],
    )
    .await;
    let r = client()
        .get(format!("{}/lax/token_keys", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let keys: serde_json::Value = r.json().await.unwrap();
    assert!(keys["keys"].is_array(), "{keys}");

    let r = client()
        .get(format!("{}/strict/token_keys", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains("strict"));
}

#[tokio::test]
async fn request_bodies_stream_to_the_backend() {
    let backend = Backend::start().await;
    let router = public_router(&backend, vec![]).await;
    let chunks = futures::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'y'; 16 * 1024]))),
    );
    let r = client()
        .post(format!("{}/api/upload", router.url))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), (64 * 16 * 1024).to_string());
    let r = client()
        .put(format!("{}/api/upload", router.url))
        .body("small body")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "10");
}

#[tokio::test]
async fn welcome_file_health_and_response_headers() {
    let backend = Backend::start().await;
    let router = TestRouter::start(
        json!({"welcomeFile": "index.html",
               "responseHeaders": [{"name": "X-Frame-Options", "value": "DENY"}],
               "routes": [{"source": "^/(.*)$", "target": "$1", "destination": "backend", "authenticationType": "none"}]}),
        json!([{"name": "backend", "url": backend.url}]),
        &[],
    )
    .await;
    let r = client()
        .get(format!("{}/", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/index.html");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let before = backend.count();
    let r = client()
        .get(format!("{}/health", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(backend.count(), before, "/health is the router's own");
}

#[tokio::test]
async fn static_files_from_local_dir_without_traversal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("webapp/css")).unwrap();
    std::fs::write(dir.path().join("webapp/index.html"), "<h1>home</h1>").unwrap();
    std::fs::write(dir.path().join("webapp/css/app.css"), "body{}").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let router = TestRouter::start_with_dir(
        dir,
        json!({"welcomeFile": "/web/index.html", "routes": [
            {"source": "^/web/(.*)$", "target": "$1", "localDir": "webapp", "authenticationType": "none", "cacheControl": "public, max-age=60"}
        ]}),
        json!([]),
        &[],
    )
    .await;
    let r = client()
        .get(format!("{}/web/css/app.css", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // UTF-8 declared, as @sap/approuter (send) declares text types.
    assert_eq!(r.headers()["content-type"], "text/css; charset=UTF-8");
    assert_eq!(r.headers()["cache-control"], "public, max-age=60");
    assert_eq!(r.text().await.unwrap(), "body{}");
    let r = client()
        .get(format!("{}/web/", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "<h1>home</h1>");
    for bad in [
        "/web/../secret.txt",
        "/web/%2e%2e/secret.txt",
        "/web/..%2fsecret.txt",
        "/web/missing.js",
    ] {
        let r = client()
            .get(format!("{}{bad}", router.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    let r = client()
        .post(format!("{}/web/index.html", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}
