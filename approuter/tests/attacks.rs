//! The App Router under attack: one test per attack, named after it, against the router on
//! loopback with the mock XSUAA and a recording backend. Read the list of test names as the threat
//! model; each test failed before its defence was built.
//!
//! Run: `cargo test -p approuter --test attacks`.

mod support;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use support::platform::{Options, router_vcap, start_platform, xs_app};
use support::{Backend, Browser, RouterProcess, Scenario, TestRouter, router::env_with};
use testkit::net::{addr_of, closed_by_peer, held_until_closed, open_with};
use url::Url;

const COOKIE: &str = "JSESSIONID";

async fn alice(s: &Scenario) -> Browser {
    let browser = Browser::new();
    let page = browser
        .login(&s.url("/mainentry"), "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    browser
}

async fn csrf_token(s: &Scenario, browser: &Browser) -> String {
    let fetched = browser
        .client()
        .get(s.url("/odata/Products"))
        .header("x-csrf-token", "fetch")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    fetched.headers()["x-csrf-token"]
        .to_str()
        .unwrap()
        .to_string()
}

fn with_code(callback: &Url, code: &str) -> Url {
    let state = callback
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut url = callback.clone();
    url.query_pairs_mut()
        .clear()
        .append_pair("code", code)
        .append_pair("state", &state);
    url
}

// ---- CSRF ----------------------------------------------------------------------------------

/// `x-csrf-token: fetch` is the GET/HEAD handshake; on a modifying request it is no token at all,
/// and such a request must neither reach the backend nor get the session's token back.
#[tokio::test]
async fn csrf_fetch_header_on_a_modifying_request_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let browser = alice(&s).await;
    let before = s.backend.count();
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        for fetch in ["fetch", "Fetch", "FETCH", " fetch "] {
            let r = browser
                .client()
                .request(method.parse().unwrap(), s.url("/odata/Products"))
                .header("x-csrf-token", fetch)
                .header("content-type", "application/json")
                .body("{\"Name\":\"forged\"}")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method} with {fetch:?}");
            assert_eq!(
                r.headers()["x-csrf-token"],
                "Required",
                "{method}: the session's token is never handed out here"
            );
        }
    }
    assert_eq!(s.backend.count(), before, "nothing reached the backend");
    // The handshake itself still works, and the token it gives is accepted.
    let token = csrf_token(&s, &browser).await;
    let ok = browser
        .client()
        .delete(s.url("/odata/Products(1)"))
        .header("x-csrf-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

/// A GET that names DELETE in a method-override header is a DELETE to a backend that honours the
/// header (SAP Gateway does): it needs the CSRF token, and `fetch` does not hand one out.
#[tokio::test]
async fn csrf_bypass_through_a_method_override_header_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let browser = alice(&s).await;
    let before = s.backend.count();
    for header in [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ] {
        let r = browser
            .client()
            .get(s.url("/odata/Products(1)"))
            .header(header, "DELETE")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{header}");
        assert_eq!(r.headers()["x-csrf-token"], "Required");
        let fetch = browser
            .client()
            .get(s.url("/odata/Products(1)"))
            .header(header, "delete")
            .header("x-csrf-token", "fetch")
            .send()
            .await
            .unwrap();
        assert_eq!(fetch.status(), StatusCode::FORBIDDEN, "{header} with fetch");
        assert_eq!(fetch.headers()["x-csrf-token"], "Required");
    }
    let conflicting = browser
        .client()
        .post(s.url("/odata/Products(1)"))
        .header("x-http-method", "MERGE")
        .header("x-http-method-override", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(conflicting.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.backend.count(), before, "nothing reached the backend");

    // With the token the override is a legitimate OData request and goes through unchanged.
    let token = csrf_token(&s, &browser).await;
    let ok = browser
        .client()
        .post(s.url("/odata/Products(1)"))
        .header("x-http-method", "MERGE")
        .header("x-csrf-token", &token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(s.backend.last().header("x-http-method"), Some("MERGE"));
}

/// A route limited to `httpMethods: ["GET"]` cannot be made to DELETE by an override header.
#[tokio::test]
async fn http_methods_bypass_through_a_method_override_header_is_refused() {
    let backend = Backend::start().await;
    let router = TestRouter::start(
        json!({"routes": [{"source": "^/ro/(.*)$", "target": "$1", "destination": "backend",
                           "authenticationType": "none", "httpMethods": ["GET"]}]}),
        json!([{"name": "backend", "url": backend.url}]),
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{}/ro/item", router.url))
        .header("x-http-method-override", "DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(backend.count(), 0);
    let plain = client
        .get(format!("{}/ro/item", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
}

// ---- Memory without login ------------------------------------------------------------------

/// Anonymous browser requests used to make a server-side session each, which lived for the
/// whole idle timeout: a flood filled the router's memory. A login in flight now lives in a sealed
/// cookie; the store stays empty, and a logged-in user is served all the while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_flood_creates_no_server_sessions() {
    const FLOOD: usize = 10_000;
    let s = Scenario::start(Options::default()).await;
    let browser = alice(&s).await;
    let sessions = || s.router.app.sessions().memory_count().unwrap();
    assert_eq!(sessions(), 1, "alice's");

    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = s.url("/mainentry");
    let flood = futures::stream::iter(0..FLOOD)
        .map(|_| {
            let request = anonymous
                .get(&url)
                .header("accept", testkit::browser::BROWSER_ACCEPT)
                .send();
            async move {
                let r = request.await.unwrap();
                assert_eq!(r.status(), StatusCode::OK, "the login page");
                let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
                assert_eq!(cookies.len(), 1, "{cookies:?}");
                assert!(
                    cookies[0]
                        .to_str()
                        .unwrap()
                        .starts_with("JSESSIONID_STATE_"),
                    "{cookies:?}"
                );
            }
        })
        .buffer_unordered(32)
        .count();
    let served = async {
        let mut ok = 0;
        for _ in 0..50 {
            let r = browser
                .client()
                .get(s.url("/odata/Products"))
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            ok += usize::from(r.status() == StatusCode::OK);
        }
        ok
    };
    let (flooded, ok) = tokio::join!(flood, served);
    assert_eq!(flooded, FLOOD);
    assert_eq!(ok, 50, "alice was served during the flood");
    assert_eq!(sessions(), 1, "the flood left no session behind");
}

/// A cookie with a non-ASCII value (set by another app on the domain, in UTF-8 or Latin-1) next to
/// the session cookie: the user stays logged in, and every cookie but the router's reaches the
/// backend byte for byte (reading the header as text once hid the session and dropped them all).
#[tokio::test]
async fn a_non_ascii_cookie_hides_neither_the_session_nor_the_other_cookies() {
    let s = Scenario::start(Options::default()).await;
    let browser = alice(&s).await;
    let session = browser.cookie(&s.url("/"), COOKIE).unwrap();
    let mut cookie = b"theme=gr\xfcn; city=K\xc3\xb6ln; ".to_vec();
    cookie.extend_from_slice(format!("{COOKIE}={session}; lang=de").as_bytes());
    let r = reqwest::Client::new()
        .get(s.url("/odata/Products"))
        .header("accept", "application/json")
        .header(
            "cookie",
            reqwest::header::HeaderValue::from_bytes(&cookie).unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "still logged in");
    let seen = s.backend.last();
    assert_eq!(
        seen.headers["cookie"].as_bytes(),
        b"theme=gr\xfcn; city=K\xc3\xb6ln; lang=de"
    );
}

// ---- Login state ---------------------------------------------------------------------------

/// A login cookie the router did not seal (forged, or altered by one bit) gets nowhere: the code
/// is never redeemed.
#[tokio::test]
async fn a_forged_login_cookie_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let callback = s.callback_url(&browser).await;
    let cookies = browser.cookies(&s.router.url);
    let (name, value) = cookies
        .split("; ")
        .find_map(|c| {
            c.split_once('=')
                .filter(|(n, _)| n.starts_with("JSESSIONID_STATE_"))
        })
        .expect("a login cookie");
    let mut flipped = value.as_bytes().to_vec();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for forged in [flipped.as_str(), "eyJzIjoiYSJ9", ""] {
        let r = client
            .get(callback.as_str())
            .header("cookie", format!("{name}={forged}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{forged:?}");
        assert!(r.headers().get("set-cookie").is_none(), "no session");
    }
    assert_eq!(s.xsuaa_stat("token.authorization_code"), 0);
    // The real browser's own cookie still completes its login.
    let page = browser.get(callback.as_str()).await.unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

/// A login cookie made for one state cannot complete a login with another (an attacker's code
/// and state spliced onto the victim's cookie, or the reverse).
#[tokio::test]
async fn login_cookie_spliced_onto_another_state_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let victim = Browser::new();
    let attacker = Browser::new();
    let attackers_callback = s.callback_url(&attacker).await;
    let _victims_callback = s.callback_url(&victim).await;
    // The victim's browser (with its own login cookie) is sent to the attacker's callback URL.
    let r = victim.get_once(attackers_callback.as_str()).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(victim.cookie(&s.router.url, COOKIE), None, "not logged in");
    assert_eq!(s.xsuaa_stat("token.authorization_code"), 0);
}

/// Several tabs logging in at once each keep their own login; finishing one does not break the
/// others (the real App Router allows this too).
#[tokio::test]
async fn parallel_logins_in_one_browser_do_not_clobber_each_other() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let first = browser.get(&s.url("/mainentry?tab=1")).await.unwrap();
    let second = browser.get(&s.url("/mainentry?tab=2")).await.unwrap();
    let back_second = browser
        .submit_login(&second, "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(back_second.status, StatusCode::OK, "{}", back_second.body);
    assert_eq!(s.backend.last().query.as_deref(), Some("tab=2"));
    let back_first = browser
        .submit_login(&first, "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(back_first.status, StatusCode::OK, "{}", back_first.body);
    assert_eq!(s.backend.last().query.as_deref(), Some("tab=1"));
}

// ---- What the browser sees of failures ------------------------------------------------------

/// A refused code exchange shows the user a short reason and a correlation id, not XSUAA's error
/// text or URL.
#[tokio::test]
async fn xsuaa_error_text_is_not_shown_to_the_browser() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let callback = s.callback_url(&browser).await;
    let r = browser
        .get_once(with_code(&callback, "not-a-code").as_str())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let id = r.headers()["x-correlationid"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    for secret in [
        "invalid_grant",
        "oauth/token",
        s.platform.xsuaa_url.as_str(),
        "not-a-code",
    ] {
        assert!(!body.contains(secret), "{secret:?} in {body}");
    }
    assert!(
        body.contains(&id),
        "the page names the correlation id: {body}"
    );
}

/// XSUAA out of reach: 502 without its URL or the connection error.
#[tokio::test]
async fn unreachable_xsuaa_url_is_not_shown_to_the_browser() {
    let platform = start_platform(None).await;
    let backend = Backend::start().await;
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let mut vcap: serde_json::Value = serde_json::from_str(&router_vcap(&platform)).unwrap();
    vcap["xsuaa"][0]["credentials"]["url"] = json!(dead);
    let router = TestRouter::start(
        xs_app("any.scope"),
        json!([{"name": "backend", "url": backend.url}]),
        &[("VCAP_SERVICES", vcap.to_string())],
    )
    .await;
    let browser = Browser::new();
    let authorize = browser
        .start_login(&format!("{}/mainentry", router.url))
        .await
        .unwrap();
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let r = browser
        .get_once(&format!(
            "{}/login/callback?code=c&state={state}",
            router.url
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body = r.text().await.unwrap();
    assert!(body.contains("XSUAA"), "{body}");
    for secret in [dead.as_str(), "127.0.0.1", "oauth/token", "onnect"] {
        assert!(!body.contains(secret), "{secret:?} in {body}");
    }
}

/// A failing destination: the browser learns the destination's name and a correlation id; the
/// backend URL and the connection error go to the log under that id. Runs the real binary, whose
/// log is read back.
#[tokio::test]
async fn destination_url_is_not_shown_to_the_browser_but_logged_under_the_correlation_id() {
    let dead = format!("http://127.0.0.1:{}", support::free_port());
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(
        dir.path(),
        &json!({"routes": [{"source": "^/dead/(.*)$", "target": "$1", "destination": "orders",
                            "authenticationType": "none"}]}),
        &json!([{"name": "orders", "url": format!("{dead}/internal/orders")}]),
        &[],
    );
    let router = RouterProcess::spawn(env, dir.path()).await;
    let r = reqwest::Client::new()
        .get(format!("{}/dead/x", router.url))
        .header("x-correlationid", "attack-suite-502")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(r.headers()["x-correlationid"], "attack-suite-502");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("orders") && body.contains("attack-suite-502"),
        "{body}"
    );
    for secret in [dead.as_str(), "127.0.0.1", "/internal/orders", "onnect"] {
        assert!(!body.contains(secret), "{secret:?} in {body}");
    }
    // The log line with the details carries the id (the log is written asynchronously).
    let start = std::time::Instant::now();
    loop {
        let log = router.log_text();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("request failed") && l.contains("attack-suite-502"))
        {
            assert!(line.contains(&dead), "{line}");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no log line with the correlation id:\n{log}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The correlation id: kept when the client sends a plain one, replaced when it is not (it goes
/// into logs and pages), made when missing; the backend and the client both get it.
#[tokio::test]
async fn correlation_id_injection_is_replaced_and_ids_reach_the_backend() {
    let backend = Backend::start().await;
    let router = TestRouter::start(
        json!({"routes": [{"source": "^/(.*)$", "target": "$1", "destination": "backend",
                           "authenticationType": "none"}]}),
        json!([{"name": "backend", "url": backend.url}]),
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let get = |id: Option<&'static str>| {
        let mut request = client.get(format!("{}/x", router.url));
        if let Some(id) = id {
            request = request.header("x-correlationid", id);
        }
        request.send()
    };
    let kept = get(Some("req-42")).await.unwrap();
    assert_eq!(kept.headers()["x-correlationid"], "req-42");
    assert_eq!(backend.last().header("x-correlationid"), Some("req-42"));

    let injected = get(Some("a\" onload=\"x")).await.unwrap();
    let id = injected.headers()["x-correlationid"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(backend.last().header("x-correlationid"), Some(id.as_str()));

    let made = get(None).await.unwrap();
    let made = made.headers()["x-correlationid"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(made.len(), 36);
    assert_ne!(made, id);
    assert_eq!(
        backend.last().header("x-correlationid"),
        Some(made.as_str())
    );

    // The Cloud Foundry router's request id is used when no correlation id came.
    let cf = client
        .get(format!("{}/x", router.url))
        .header("x-vcap-request-id", "cf-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(cf.headers()["x-correlationid"], "cf-req-1");
}

// ---- Configuration -------------------------------------------------------------------------

/// A 2 MB route regex used to be printed whole, twice (the label and the regex error's own copy),
/// in the start-up error.
#[tokio::test]
async fn a_huge_route_regex_is_not_echoed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    // Unclosed group: the label echoes the pattern, and a regex engine's message may repeat it.
    let source = format!("^/{}(.*$", "a".repeat(2_000_000));
    let env = env_with(
        dir.path(),
        &json!({"routes": [{"source": source, "localDir": ".", "authenticationType": "none"}]}),
        &json!([]),
        &[],
    );
    let (ok, output) = RouterProcess::run_to_exit(env, dir.path());
    assert!(!ok);
    assert!(output.contains("routes[0]"), "{output}");
    assert!(output.contains("bytes)"), "{output}");
    assert!(
        output.contains("Unbalanced parenthesis"),
        "the reason is kept: {output}"
    );
    assert!(output.len() < 4096, "{} bytes of output", output.len());
}

// ---- The listener: slowloris (a request head that never ends), a request body that trickles in,
// and a connection flood against a small connection limit (`common::server`).

/// Generous upper bound for "closed within the timeout" on a loaded machine.
const MARGIN: Duration = Duration::from_secs(4);
const TIMEOUT: Duration = Duration::from_secs(1);

/// A router with one public route to `backend`, and `INCOMING_REQUEST_TIMEOUT` of 1 s (so its
/// header-read timeout is 1 s too, as Node's `headersTimeout` is capped by it).
async fn limited_router(backend: &Backend, extra: &[(&str, String)]) -> TestRouter {
    let mut env = vec![("INCOMING_REQUEST_TIMEOUT", TIMEOUT.as_millis().to_string())];
    env.extend(extra.iter().cloned());
    TestRouter::start(
        json!({"authenticationMethod": "none", "routes": [
            {"source": "^/api/(.*)$", "target": "$1", "destination": "backend", "authenticationType": "none"}
        ]}),
        json!([{"name": "backend", "url": backend.url}]),
        &env,
    )
    .await
}

#[tokio::test]
async fn slowloris_unfinished_request_head_is_cut_after_the_header_read_timeout() {
    let backend = Backend::start().await;
    let router = limited_router(&backend, &[]).await;
    let (took, sent) = held_until_closed(
        &addr_of(&router.url),
        b"GET /api/hello HTTP/1.1\r\nHost: app.example.com\r\nX-Slow: ",
        TIMEOUT + MARGIN,
    )
    .await;
    assert!(took >= TIMEOUT - Duration::from_millis(100), "{took:?}");
    // hyper closes on a header-read timeout without an answer (Node would send a bare 408).
    assert!(sent.is_empty(), "{sent}");
    assert!(backend.requests().is_empty(), "nothing was forwarded");
}

#[tokio::test]
async fn slow_request_body_gets_408_after_incoming_request_timeout() {
    let backend = Backend::start().await;
    let router = limited_router(&backend, &[]).await;
    let (took, sent) = held_until_closed(
        &addr_of(&router.url),
        b"POST /api/upload HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 1000\r\n\r\nten bytes.",
        TIMEOUT + MARGIN,
    )
    .await;
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(took >= TIMEOUT - Duration::from_millis(100), "{took:?}");
}

#[tokio::test]
async fn connection_flood_waits_for_a_slot_and_a_normal_client_is_served_once_slow_ones_are_cut() {
    let backend = Backend::start().await;
    let router = limited_router(&backend, &[("INCOMING_MAX_CONNECTIONS", "2".into())]).await;
    // Two slowloris connections take both slots.
    let mut slow = Vec::new();
    for _ in 0..2 {
        slow.push(open_with(addr_of(&router.url), b"GET /api/x HTTP/1.1\r\nHost: a\r\n").await);
    }
    let start = Instant::now();
    let answer = reqwest::Client::new()
        .get(format!("{}/api/hello", router.url))
        .timeout(TIMEOUT + MARGIN)
        .send()
        .await
        .expect("a normal client is served once the slow ones are cut off");
    assert_eq!(answer.status(), 200);
    assert!(
        start.elapsed() >= TIMEOUT / 2,
        "served while both slots were held: no connection limit ({:?})",
        start.elapsed()
    );
    for mut tcp in slow {
        assert!(closed_by_peer(&mut tcp).await, "slow client cut off");
    }
}

#[tokio::test]
async fn bad_incoming_timeouts_stop_the_start_with_the_variable_name() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(
        dir.path(),
        &json!({"authenticationMethod": "none", "routes": []}),
        &json!([]),
        &[("INCOMING_CONNECTION_TIMEOUT", "2 minutes".into())],
    );
    let e = approuter::Config::from_lookup(|k| env.get(k).cloned())
        .err()
        .expect("refused");
    assert!(
        e.to_string().starts_with("INCOMING_CONNECTION_TIMEOUT"),
        "{e}"
    );
}

// ---- Requests a proxy must not misread ----------------------------------------------------

/// Request smuggling: a request whose framing a backend could read differently than the router
/// (CL.TE, an obfuscated or non-final `chunked`, two lengths, whitespace before the colon) gets
/// one answer and a closed connection, so the bytes after it are never read as a request. hyper
/// refuses all but CL.TE with 400; CL.TE it frames by Transfer-Encoding, drops the Content-Length
/// and closes after answering (RFC 9112 6.3), so the backend gets one unambiguous request.
#[tokio::test]
async fn request_smuggling_with_ambiguous_framing_is_refused() {
    let backend = Backend::start().await;
    let router = limited_router(&backend, &[]).await;
    let smuggled = "GET /api/smuggled HTTP/1.1\r\nHost: app.example.com\r\n\r\n";
    for (framing, refused) in [
        ("Content-Length: 44\r\nTransfer-Encoding: chunked", false),
        ("Transfer-Encoding: chunked\r\nContent-Length: 44", false),
        ("Transfer-Encoding: xchunked", true),
        ("Transfer-Encoding: chunked, identity", true),
        ("Content-Length: 5\r\nContent-Length: 44", true),
        ("Transfer-Encoding : chunked", true),
    ] {
        let attack = format!(
            "POST /api/in HTTP/1.1\r\nHost: app.example.com\r\n{framing}\r\n\r\n0\r\n\r\n{smuggled}"
        );
        let (_, sent) =
            held_until_closed(&addr_of(&router.url), attack.as_bytes(), TIMEOUT + MARGIN).await;
        assert_eq!(sent.matches("HTTP/1.1 ").count(), 1, "{framing:?}: {sent}");
        if refused {
            assert!(sent.starts_with("HTTP/1.1 400"), "{framing:?}: {sent}");
        }
    }
    let forwarded = backend.requests();
    assert_eq!(forwarded.len(), 2, "the two CL.TE requests, once each");
    for r in forwarded {
        assert_eq!(r.path, "/in");
        assert_ne!(r.header("content-length"), Some("44"), "{:?}", r.headers);
    }
}

/// Oversized request heads: a 64 KiB header is refused with 431 as Node (so `@sap/approuter`)
/// refuses anything over its 16 KiB default, so that idle connections cannot each pin a large
/// read buffer; the backend sees nothing.
#[tokio::test]
async fn oversized_request_headers_get_431() {
    let backend = Backend::start().await;
    let router = limited_router(&backend, &[]).await;
    let attack = format!(
        "GET /api/big HTTP/1.1\r\nHost: app.example.com\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (_, sent) =
        held_until_closed(&addr_of(&router.url), attack.as_bytes(), TIMEOUT + MARGIN).await;
    assert!(sent.starts_with("HTTP/1.1 431"), "{sent}");
    assert!(backend.requests().is_empty(), "nothing was forwarded");

    // A big but ordinary head (12 KiB of cookies) is served, and NODE_OPTIONS raises the limit
    // as it does for Node.
    let client = reqwest::Client::new();
    let cookies = format!("big={}", "c".repeat(12 * 1024));
    let ok = client
        .get(format!("{}/api/cookies", router.url))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let raised = limited_router(
        &backend,
        &[("NODE_OPTIONS", "--max-http-header-size=131072".into())],
    )
    .await;
    let ok = client
        .get(format!("{}/api/big", raised.url))
        .header("x-big", "a".repeat(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}
