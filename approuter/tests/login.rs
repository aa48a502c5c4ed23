//! Login, scopes, CSRF, logout and token refresh against the mock XSUAA, through a real HTTP
//! client with a cookie jar, with a recording backend behind the router.

mod support;

use common::jwt::decode_unverified;
use reqwest::StatusCode;
use support::platform::Options;
use support::{Browser, Scenario};
use url::Url;

const COOKIE: &str = "JSESSIONID";

fn bearer(recorded: &support::Recorded) -> String {
    recorded
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("the backend got no bearer token: {:?}", recorded.headers))
        .to_string()
}

async fn logged_in(s: &Scenario, user: &str, password: &str) -> Browser {
    let browser = Browser::new();
    let page = browser
        .login(&s.url("/mainentry"), user, password)
        .await
        .unwrap();
    assert!(
        page.status == StatusCode::OK || page.status == StatusCode::FORBIDDEN,
        "{} at {}: {}",
        page.status,
        page.url,
        page.body
    );
    browser
}

/// `/mainentry` asked by a client that presents session id `session` and nothing else, with one
/// more `header` (what answer it wants).
async fn replay_session(s: &Scenario, session: &str, header: (&str, &str)) -> reqwest::Response {
    reqwest::Client::new()
        .get(s.url("/mainentry"))
        .header("cookie", format!("{COOKIE}={session}"))
        .header(header.0, header.1)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn alice_logs_in_and_the_backend_gets_her_token_and_forwarded_headers() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();

    // `/` -> welcome file -> XSUAA's authorize endpoint (code flow, state, PKCE S256).
    let first = browser.get_once(&s.url("/")).await.unwrap();
    assert_eq!(first.status(), StatusCode::FOUND);
    assert_eq!(first.headers()["location"], "/mainentry");
    let authorize = browser.start_login(&s.url("/mainentry")).await.unwrap();
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/oauth/authorize", s.platform.xsuaa_url))
    );
    let params: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert!(!params["state"].is_empty() && !params["code_challenge"].is_empty());
    assert_eq!(params["redirect_uri"], s.url("/login/callback"));
    assert_eq!(
        browser.cookie(&s.router.url, COOKIE),
        None,
        "no session before the login completes"
    );
    let login_cookie = browser.cookies(&s.router.url);
    assert!(
        login_cookie.contains(&format!("{COOKIE}_STATE_")),
        "the login in flight is in a cookie: {login_cookie}"
    );
    // An id somebody planted in the browser before the login (fixation).
    let pre_login_session = tower_sessions::session::Id::default().to_string();
    browser.add_cookie(
        &format!("{COOKIE}={pre_login_session}; Path=/"),
        &Url::parse(&s.router.url).unwrap(),
    );

    let login_form = browser.get(authorize.as_str()).await.unwrap();
    assert!(login_form.is_login_form(), "{}", login_form.body);
    let page = browser
        .submit_login(&login_form, "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(
        page.url.as_str(),
        s.url("/mainentry"),
        "back where she started"
    );
    let session = browser.cookie(&s.router.url, COOKIE).unwrap();
    assert_ne!(
        session, pre_login_session,
        "the session id rotates at login"
    );

    let seen = s.backend.last();
    assert_eq!(seen.path, "/mainentry");
    let claims = decode_unverified(&bearer(&seen)).unwrap();
    assert_eq!(claims.user_name.as_deref(), Some("alice"));
    assert!(claims.has_scope(&s.scope), "{:?}", claims.scope);
    let host = s.router.url.trim_start_matches("http://");
    assert_eq!(seen.header("x-forwarded-host"), Some(host));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-path"), Some("/mainentry"));
    assert!(
        !seen.header("cookie").unwrap_or("").contains(COOKIE),
        "the session cookie stays with the router"
    );
    assert!(
        !browser.cookies(&s.router.url).contains("_STATE_"),
        "the login cookie is cleared at the callback"
    );

    // The old (pre-login) session id is worth nothing now.
    let stale = replay_session(&s, &pre_login_session, ("accept", "application/json")).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bob_without_the_scope_gets_403() {
    let s = Scenario::start(Options::default()).await;
    let before = s.backend.count();
    let browser = Browser::new();
    let page = browser
        .login(&s.url("/mainentry"), "bob", "bob-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    // Which scope is missing is an internal detail (it goes to the log); SAP's 403 names none.
    assert!(
        !page.body.contains(&s.scope) && page.body.contains("not authorized"),
        "the page must not name the missing scope: {}",
        page.body
    );
    assert_eq!(s.backend.count(), before, "nothing reached the backend");
}

#[tokio::test]
async fn scripts_without_a_session_get_401_not_a_redirect() {
    let s = Scenario::start(Options::default()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let xhr = client
        .get(s.url("/mainentry"))
        .header("x-requested-with", "XMLHttpRequest")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(xhr.status(), StatusCode::UNAUTHORIZED);
    let api = client
        .get(s.url("/odata/Products"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let public = client.get(s.url("/bye.html")).send().await.unwrap();
    assert_eq!(
        public.status(),
        StatusCode::OK,
        "public routes need no login"
    );
}

#[tokio::test]
async fn a_callback_with_a_foreign_state_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let mut callback = s.callback_url(&browser).await;
    assert!(callback.as_str().starts_with(&s.url("/login/callback")));
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    callback
        .query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "forged-state");

    let refused = browser.get_once(callback.as_str()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("state"));
    let xhr = browser
        .client()
        .get(s.url("/mainentry"))
        .header("x-requested-with", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(xhr.status(), StatusCode::UNAUTHORIZED, "no login happened");
    assert_eq!(
        s.xsuaa_stat("token.authorization_code"),
        0,
        "the code was never redeemed"
    );
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let callback = s.callback_url(&browser).await.to_string();
    let first = browser.get_once(&callback).await.unwrap();
    assert_eq!(
        first.status(),
        StatusCode::FOUND,
        "{}",
        first.text().await.unwrap()
    );

    // The same browser again, and somebody who captured the URL.
    let again = browser.get_once(&callback).await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let thief = Browser::new();
    let stolen = thief.get_once(&callback).await.unwrap();
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.xsuaa_stat("token.authorization_code"), 1);

    let still = browser.get(&s.url("/mainentry")).await.unwrap();
    assert_eq!(still.status, StatusCode::OK, "the first login is unharmed");
}

#[tokio::test]
async fn an_off_site_return_url_is_not_followed() {
    let s = Scenario::start(Options::default()).await;
    for sneaky in [
        "//evil.example/steal",
        "/%09/evil.example",
        "/%5Cevil.example",
    ] {
        let browser = Browser::new();
        let start = browser
            .get_once(&format!("{}{sneaky}", s.router.url))
            .await
            .unwrap();
        if start.status() != StatusCode::FOUND && start.status() != StatusCode::OK {
            assert_eq!(start.status(), StatusCode::BAD_REQUEST, "{sneaky}");
            continue;
        }
        let url = Url::parse(&format!("{}{sneaky}", s.router.url)).unwrap();
        let form = browser.follow(start, url, vec![]).await.unwrap();
        assert!(form.is_login_form(), "{sneaky}: {}", form.body);
        let callback = browser
            .login_callback(&form, "alice", "alice-pass")
            .await
            .unwrap()
            .to_string();
        let done = browser.get_once(&callback).await.unwrap();
        assert_eq!(done.status(), StatusCode::FOUND);
        assert_eq!(done.headers()["location"], "/", "{sneaky} falls back to /");
    }
}

#[tokio::test]
async fn csrf_token_fetch_required_and_accepted() {
    let s = Scenario::start(Options::default()).await;
    let browser = logged_in(&s, "alice", "alice-pass").await;
    let post = |token: Option<&str>| {
        let mut req = browser
            .client()
            .post(s.url("/odata/Products"))
            .header("content-type", "application/json")
            .body("{\"Name\":\"x\"}");
        if let Some(token) = token {
            req = req.header("x-csrf-token", token);
        }
        req.send()
    };

    let before = s.backend.count();
    let missing = post(None).await.unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    assert_eq!(missing.headers()["x-csrf-token"], "Required");
    let wrong = post(Some("not-the-token")).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        s.backend.count(),
        before,
        "refused requests never reach the backend"
    );

    let fetched = browser
        .client()
        .get(s.url("/odata/Products"))
        .header("x-csrf-token", "Fetch")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    let token = fetched.headers()["x-csrf-token"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(token.len() >= 32, "{token}");
    assert_eq!(s.backend.last().header("x-csrf-token"), None);
    let again = browser
        .client()
        .head(s.url("/odata/Products"))
        .header("x-csrf-token", "fetch")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.headers()["x-csrf-token"],
        token.as_str(),
        "one token per session"
    );

    let accepted = post(Some(&token)).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    let seen = s.backend.last();
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.header("x-csrf-token"),
        None,
        "the router's token is its own"
    );
    assert!(seen.header("authorization").is_some());
}

#[tokio::test]
async fn logout_ends_the_session_and_goes_through_xsuaa() {
    let s = Scenario::start(Options::default()).await;
    let browser = logged_in(&s, "alice", "alice-pass").await;
    let session = browser.cookie(&s.router.url, COOKIE).unwrap();

    let out = browser.get_once(&s.url("/do/logout")).await.unwrap();
    assert_eq!(out.status(), StatusCode::FOUND);
    let location = Url::parse(out.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{}/logout.do", s.platform.xsuaa_url)),
        "{location}"
    );
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["redirect"], s.url("/bye.html"));
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with(&format!("{COOKIE}=;")) && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    let page = browser
        .follow(out, Url::parse(&s.url("/do/logout")).unwrap(), vec![])
        .await
        .unwrap();
    assert_eq!(
        page.url.as_str(),
        s.url("/bye.html"),
        "XSUAA sends the browser to the logout page"
    );

    let replayed = replay_session(&s, &session, ("x-requested-with", "XMLHttpRequest")).await;
    assert_eq!(
        replayed.status(),
        StatusCode::UNAUTHORIZED,
        "the old session is gone"
    );
    let again = browser.get(&s.url("/mainentry")).await.unwrap();
    assert!(again.is_login_form(), "a browser is sent to log in again");
}

/// Waits (in real time: token lifetimes are in seconds) until `exp` has passed. Not an injected
/// clock, on purpose: the refresh crosses the mock XSUAA (issues `exp`), the App Router (decides
/// to refresh) and the Backend API (refuses an expired token), each on its own clock as on the
/// platform; a clock injected into one of them would test a skew that never happens. 2-3 s each,
/// run in parallel.
async fn wait_until_after(exp: i64) {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if now > exp {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_once_for_parallel_requests() {
    let s = Scenario::start(Options {
        token_validity: Some(3),
        ..Options::default()
    })
    .await;
    let browser = logged_in(&s, "alice", "alice-pass").await;
    let first = decode_unverified(&bearer(&s.backend.last())).unwrap();
    wait_until_after(first.exp).await;

    let requests = (0..8).map(|i| {
        browser
            .client()
            .get(s.url(&format!("/odata/Products?n={i}")))
            .header("accept", "application/json")
            .send()
    });
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(
        s.xsuaa_stat("token.refresh_token"),
        1,
        "one refresh for eight parallel requests"
    );
    let tokens: std::collections::HashSet<String> = s
        .backend
        .requests()
        .iter()
        .rev()
        .take(8)
        .map(bearer)
        .collect();
    assert_eq!(tokens.len(), 1, "all eight carried the refreshed token");
    let refreshed = decode_unverified(tokens.iter().next().unwrap()).unwrap();
    assert!(
        refreshed.exp > first.exp,
        "a newer token: {} > {}",
        refreshed.exp,
        first.exp
    );
    assert_eq!(refreshed.user_name.as_deref(), Some("alice"));

    // And again later: the rotated refresh token works too; the session keeps going.
    wait_until_after(refreshed.exp).await;
    let later = browser.get(&s.url("/mainentry")).await.unwrap();
    assert_eq!(later.status, StatusCode::OK);
    assert_eq!(s.xsuaa_stat("token.refresh_token"), 2);
}

#[tokio::test]
async fn a_failed_refresh_sends_the_user_to_login_again() {
    let s = Scenario::start(Options {
        token_validity: Some(2),
        ..Options::default()
    })
    .await;
    let browser = logged_in(&s, "alice", "alice-pass").await;
    let first = decode_unverified(&bearer(&s.backend.last())).unwrap();
    // XSUAA forgets alice's logins and refresh tokens.
    let revoked = reqwest::Client::new()
        .post(format!("{}/__mock/logout", s.platform.xsuaa_url))
        .json(&serde_json::json!({"user": "alice"}))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    wait_until_after(first.exp).await;

    let xhr = browser
        .client()
        .get(s.url("/mainentry"))
        .header("x-requested-with", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(xhr.status(), StatusCode::UNAUTHORIZED);
    let page = browser.get(&s.url("/mainentry")).await.unwrap();
    assert!(page.is_login_form(), "{} {}", page.status, page.body);
}

#[tokio::test]
async fn a_session_ended_by_logout_is_never_refreshed() {
    let s = Scenario::start(Options {
        token_validity: Some(2),
        ..Options::default()
    })
    .await;
    let browser = logged_in(&s, "alice", "alice-pass").await;
    let session = browser.cookie(&s.router.url, COOKIE).unwrap();
    let first = decode_unverified(&bearer(&s.backend.last())).unwrap();
    let out = browser.get_once(&s.url("/do/logout")).await.unwrap();
    assert_eq!(out.status(), StatusCode::FOUND);
    wait_until_after(first.exp).await;
    let replayed = replay_session(&s, &session, ("accept", "application/json")).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.xsuaa_stat("token.refresh_token"), 0);
}

/// Where a browser is sent to log in (the login page's target) and the login cookie it gets.
async fn login_redirect(s: &Scenario, headers: &[(&str, &str)]) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .get(s.url("/mainentry"))
        .header("accept", "text/html");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.text().await.unwrap();
    let (_, target) = (status == StatusCode::OK)
        .then(|| testkit::login_script::script_redirect(&body, "/mainentry"))
        .flatten()
        .unwrap_or_else(|| panic!("not the login page: {status} {body}"));
    (target, cookie)
}

fn redirect_uri(login: &(String, String)) -> String {
    let location = Url::parse(&login.0).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn forwarded_origin_is_believed_only_from_trusted_proxies() {
    let proxy_headers = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "shelf.cfapps.example"),
    ];
    let trusting = Scenario::start(Options {
        extra_env: vec![("TRUSTED_PROXIES", "127.0.0.1".into())],
        ..Options::default()
    })
    .await;
    let r = login_redirect(&trusting, &proxy_headers).await;
    assert_eq!(
        redirect_uri(&r),
        "https://shelf.cfapps.example/login/callback"
    );
    let cookie = &r.1;
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
        "{cookie}"
    );

    let plain = Scenario::start(Options::default()).await;
    let r = login_redirect(&plain, &proxy_headers).await;
    assert_eq!(
        redirect_uri(&r),
        plain.url("/login/callback"),
        "a client cannot move the callback elsewhere"
    );
    let r = login_redirect(&plain, &[]).await;
    let cookie = &r.1;
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
}

#[tokio::test]
async fn a_deep_link_keeps_its_fragment_across_the_login() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let start = browser.get_once(&s.url("/mainentry")).await.unwrap();
    assert_eq!(
        start.status(),
        StatusCode::OK,
        "PRESERVE_FRAGMENT is on by default"
    );
    let csp = start.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let body = start.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert!(
        body.contains(&format!("<script nonce=\"{nonce}\">")) && csp.contains("default-src 'none'"),
        "{csp}\n{body}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let page = browser
        .login(
            &s.url("/mainentry#/orders/42?tab=items"),
            "alice",
            "alice-pass",
        )
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.url.path(), "/mainentry");
    assert_eq!(page.url.fragment(), Some("/orders/42?tab=items"));
    assert!(
        !browser.cookies(&s.router.url).contains("_FRAGMENT_"),
        "the fragment cookie is cleared at the callback: {}",
        browser.cookies(&s.router.url)
    );
}

#[tokio::test]
async fn a_forged_fragment_cookie_cannot_leave_the_page() {
    let s = Scenario::start(Options::default()).await;
    let browser = Browser::new();
    let authorize = browser.start_login(&s.url("/mainentry")).await.unwrap();
    // Whatever the cookie says, it only ever follows the `#` of the sealed return path.
    let names: Vec<String> = browser
        .cookies(&s.router.url)
        .split(';')
        .filter_map(|c| c.trim().split_once('=').map(|(n, _)| n.to_string()))
        .filter(|n| n.contains("_FRAGMENT_"))
        .collect();
    assert_eq!(names.len(), 1, "{}", browser.cookies(&s.router.url));
    browser.add_cookie(
        &format!(
            "{}=%23x%0d%0aSet-Cookie%3A%20a%3Db%20%22%3C%3E; Path=/",
            names[0]
        ),
        &Url::parse(&s.router.url).unwrap(),
    );
    let form = browser.get(authorize.as_str()).await.unwrap();
    let callback = browser
        .login_callback(&form, "alice", "alice-pass")
        .await
        .unwrap()
        .to_string();
    let done = browser.get_once(&callback).await.unwrap();
    assert_eq!(done.status(), StatusCode::FOUND);
    assert_eq!(
        done.headers()["location"],
        "/mainentry#x%0D%0ASet-Cookie:%20a=b%20%22%3C%3E"
    );
}

#[tokio::test]
async fn without_preserve_fragment_the_login_is_a_plain_redirect() {
    let s = Scenario::start(Options {
        extra_env: vec![("PRESERVE_FRAGMENT", "false".into())],
        ..Options::default()
    })
    .await;
    let browser = Browser::new();
    let start = browser.get_once(&s.url("/mainentry")).await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let authorize = Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        authorize.path().ends_with("/oauth/authorize"),
        "{authorize}"
    );
    let page = browser
        .login(
            &s.url("/mainentry#/kept/only/by/the/page"),
            "alice",
            "alice-pass",
        )
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.url.path(), "/mainentry");
}
