//! The tutorial's scenario end to end, through real processes on loopback: a browser logs in at the
//! App Router, which forwards the user's JWT to bsclient, which gets a token-exchange destination
//! from the Destination service and reads the products from the Backend API.

use reqwest::StatusCode;
use scenario::{Browser, Stack, StackOptions};

async fn stack() -> Stack {
    match Stack::start(StackOptions::default()).await {
        Ok(stack) => stack,
        Err(e) => panic!("the stack did not start: {e}"),
    }
}

fn user<'a>(stack: &'a Stack, name: &str) -> &'a common::names::DemoUser {
    stack
        .names
        .users
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("scenario.yaml has no demo user {name}"))
}

/// A fresh browser in which `user` logged in at the App Router's `/mainentry`, and the page the
/// app showed after the login.
async fn log_in(stack: &Stack, user: &common::names::DemoUser) -> (Browser, scenario::Page) {
    let browser = Browser::new();
    let page = browser
        .login(
            &format!("{}/mainentry", stack.approuter_url),
            &user.name,
            &user.password,
        )
        .await
        .unwrap();
    (browser, page)
}

/// A browser in which `user` has logged in at the App Router and seen `/mainentry`.
async fn logged_in(stack: &Stack, user: &common::names::DemoUser) -> Browser {
    let (browser, page) = log_in(stack, user).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}\n{}",
        page.body,
        stack.logs(30)
    );
    browser
}

/// One request (no redirect followed) from `browser` to the App Router's `path`.
async fn fetch(browser: &Browser, stack: &Stack, path: &str) -> reqwest::Response {
    browser
        .client()
        .get(format!("{}{path}", stack.approuter_url))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn alice_logs_in_and_sees_the_products_through_the_token_exchange() {
    let stack = stack().await;
    let alice = user(&stack, "alice");
    let browser = Browser::new();

    let login_page = browser.get(&stack.approuter_url).await.unwrap();
    assert!(
        login_page.is_login_form(),
        "opening the App Router must lead to the XSUAA login page, got {} at {}:\n{}",
        login_page.status,
        login_page.url,
        stack.logs(30)
    );
    assert!(
        login_page.url.as_str().starts_with(stack.xsuaa_url()),
        "the login page is XSUAA's: {}",
        login_page.url
    );

    let page = browser
        .submit_login(&login_page, &alice.name, &alice.password)
        .await
        .unwrap();
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}\n{}",
        page.body,
        stack.logs(30)
    );
    assert!(
        page.url.as_str().starts_with(&stack.approuter_url) && page.url.path() == "/mainentry",
        "after login the browser is back at the App Router's welcome file, at {}",
        page.url
    );
    assert!(
        page.body.contains("<table"),
        "a products table: {}",
        page.body
    );

    // The table shows what the Backend API holds: compare with its JSON, fetched through the same chain.
    let json: serde_json::Value = browser
        .client()
        .get(format!("{}/mainentry", stack.approuter_url))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let products = json["d"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("OData collection expected: {json}"));
    assert!(!products.is_empty());
    for product in products {
        let name = product["Name"].as_str().or(product["ProductName"].as_str());
        if let Some(name) = name {
            assert!(page.body.contains(name), "{name} missing in the page");
        }
    }
}

#[tokio::test]
async fn bob_without_the_scope_gets_403() {
    let stack = stack().await;
    let (_, page) = log_in(&stack, user(&stack, "bob")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!page.body.contains("<table"), "no products for bob");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let stack = stack().await;
    let alice = user(&stack, "alice");
    let browser = logged_in(&stack, alice).await;

    browser
        .get(&format!("{}/do/logout", stack.approuter_url))
        .await
        .unwrap();

    let xhr = browser
        .client()
        .get(format!("{}/mainentry", stack.approuter_url))
        .header("x-requested-with", "XMLHttpRequest")
        .send()
        .await
        .unwrap();
    assert_eq!(
        xhr.status(),
        StatusCode::UNAUTHORIZED,
        "after logout the old session cookie no longer works"
    );
    let again = browser
        .get(&format!("{}/mainentry", stack.approuter_url))
        .await
        .unwrap();
    assert!(again.is_login_form(), "a browser is sent to log in again");
}

#[tokio::test]
async fn a_stopped_destination_service_gives_a_clear_502_through_the_whole_chain() {
    let nobody_listens = format!("http://127.0.0.1:{}", scenario::free_port().unwrap());
    let stack = Stack::start(StackOptions {
        destination_uri_override: Some(nobody_listens),
        ..StackOptions::default()
    })
    .await
    .unwrap();
    let (_, page) = log_in(&stack, user(&stack, "alice")).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{}", page.body);
    assert!(
        page.body.to_lowercase().contains("destination service"),
        "the page says what failed: {}",
        page.body
    );
}

#[tokio::test]
async fn get_token_through_the_approuter_returns_a_cached_token() {
    let stack = stack().await;
    let alice = user(&stack, "alice");
    let browser = logged_in(&stack, alice).await;

    let mut tokens = Vec::new();
    for _ in 0..2 {
        let resp = fetch(&browser, &stack, "/getToken?ttl=600").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        tokens.push(resp.text().await.unwrap());
    }
    assert_eq!(
        tokens[0], tokens[1],
        "the second call is served from the cache"
    );
    assert_eq!(tokens[0].split('.').count(), 3, "a JWT: {}", tokens[0]);

    let bad = fetch(&browser, &stack, "/getToken?ttl=abc").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_apps_log_plain_lines_with_no_tokens_or_passwords() {
    let stack = stack().await;
    let alice = user(&stack, "alice");
    let browser = logged_in(&stack, alice).await;
    let token = fetch(&browser, &stack, "/getToken")
        .await
        .text()
        .await
        .unwrap();

    // Log lines are written in batches; the access line for /getToken must still show up soon.
    assert!(
        stack
            .approuter
            .log
            .wait_for("/getToken", std::time::Duration::from_secs(5))
            .await,
        "no access log line for /getToken:\n{}",
        stack.approuter.log.tail(20)
    );

    for app in [&stack.approuter, &stack.bsclient, &stack.mock] {
        let log = app.log.tail(10_000);
        assert!(!log.is_empty(), "{} logged nothing", app.name);
        // The mock's start-up banner lists the demo users with their passwords, on purpose; a
        // password must appear nowhere else, in particular not from the login form post.
        let log: String = log
            .lines()
            .filter(|l| !(app.name == "mock-platform" && l.contains("role collections:")))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !log.contains('\u{1b}'),
            "{} writes colour codes into a pipe:\n{log}",
            app.name
        );
        assert!(
            !log.contains(&alice.password),
            "{} logged a password:\n{log}",
            app.name
        );
        assert!(!log.contains(&token), "{} logged a token", app.name);
        // Every XSUAA JWT starts with the base64 of `{"alg":"RS256"...`.
        assert!(!log.contains("eyJ"), "{} logged a JWT:\n{log}", app.name);
    }
}
