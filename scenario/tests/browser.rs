//! A real browser: headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
//! `.ci/setup`) driven over WebDriver opens the App Router, logs in on the mock XSUAA's page and
//! sees the products table. The screenshot lands in `target/screenshots/`.

use fantoccini::{ClientBuilder, Locator};
use scenario::measure::which;
use scenario::{Stack, StackOptions};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct ChromeDriver(Child);

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_chromedriver(driver: &std::path::Path) -> (ChromeDriver, String) {
    let port = scenario::free_port().unwrap();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let guard = ChromeDriver(child);
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let start = Instant::now();
    while client.get(format!("{url}/status")).send().await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "chromedriver did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (guard, url)
}

/// A headless Chromium session on a fresh stack, with alice's credentials; `None` (the test
/// skips) when chromium or chromedriver is not installed.
async fn chromium() -> Option<(
    ChromeDriver,
    fantoccini::Client,
    Stack,
    common::names::DemoUser,
)> {
    let (Some(driver), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
        println!(
            "SKIPPED: chromium and chromedriver are not installed (run `bash .ci/setup`, which installs Debian's chromium and chromium-driver)"
        );
        return None;
    };
    // fantoccini's rustls needs a process-wide crypto provider; ring is the workspace's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stack = Stack::start(StackOptions::default()).await.unwrap();
    let alice = stack
        .names
        .users
        .iter()
        .find(|u| u.name == "alice")
        .unwrap()
        .clone();
    let (guard, driver_url) = start_chromedriver(&driver).await;
    let profile = stack.workdir().join("chromium-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1200,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a Chromium session");
    Some((guard, browser, stack, alice))
}

/// Waits for the mock XSUAA's login form, fills it in as `user` and submits it.
async fn submit_login_form(
    browser: &fantoccini::Client,
    user: &common::names::DemoUser,
) -> Result<(), fantoccini::error::CmdError> {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[type=password]"))
        .await?;
    browser
        .find(Locator::Css(
            "input[type=text], input[type=email], input[name=username]",
        ))
        .await?
        .send_keys(&user.name)
        .await?;
    browser
        .find(Locator::Css("input[type=password]"))
        .await?
        .send_keys(&user.password)
        .await?;
    browser
        .find(Locator::Css("form [type=submit], form button"))
        .await?
        .click()
        .await
}

/// Writes `png` to `target/screenshots/{name}` and says where.
fn save_screenshot(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, png).unwrap();
    println!("screenshot: {}", file.display());
}

#[tokio::test]
async fn alice_logs_in_with_chromium_and_sees_the_products_table() {
    let Some((_driver, browser, stack, alice)) = chromium().await else {
        return;
    };

    let outcome = async {
        browser.goto(&stack.approuter_url).await?;
        submit_login_form(&browser, &alice).await?;
        let table = browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("table"))
            .await?;
        let text = table.text().await?;
        let url = browser.current_url().await?;
        let png = browser.screenshot().await?;
        Ok::<_, fantoccini::error::CmdError>((text, url, png))
    }
    .await;
    let source = browser.source().await.unwrap_or_default();
    let _ = browser.close().await;

    let (table_text, url, png) = outcome.unwrap_or_else(|e| {
        panic!(
            "browser flow failed: {e}\npage source:\n{source}\nlogs:\n{}",
            stack.logs(30)
        )
    });
    assert!(
        url.as_str().starts_with(&stack.approuter_url),
        "ends at the App Router: {url}"
    );
    assert_eq!(url.path(), "/mainentry");
    assert!(!table_text.trim().is_empty(), "the table shows products");

    save_screenshot("alice-products.png", &png);
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}

/// Seed 003's client page, served by the App Router from a `localDir` route behind the login:
/// it fetches `/getToken?ttl=3600` (through the App Router to bsclient's HERE-flavoured token
/// provider), shows the token and its expiry, and calls the mock HERE demo API with it.
#[tokio::test]
async fn alice_opens_the_token_client_page_and_it_uses_a_token() {
    let Some((_driver, browser, stack, alice)) = chromium().await else {
        return;
    };

    // A deep link, as into a UI5 app's router: the fragment never reaches a server, and must
    // survive the round trip through XSUAA's login (PRESERVE_FRAGMENT, the default).
    let page = format!(
        "{}/token-client/index.html#/some/route",
        stack.approuter_url
    );
    let outcome = async {
        browser.goto(&page).await?;
        submit_login_form(&browser, &alice).await?;
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(
                "#status[data-state=ok], #status[data-state=error]",
            ))
            .await?;
        let status = browser.find(Locator::Id("status")).await?;
        let state = status.attr("data-state").await?;
        let text = status.text().await?;
        let expires = browser.find(Locator::Id("expires")).await?.text().await?;
        let demo = browser.find(Locator::Id("demo")).await?.text().await?;
        let url = browser.current_url().await?;
        let png = browser.screenshot().await?;
        Ok::<_, fantoccini::error::CmdError>((state, text, expires, demo, url, png))
    }
    .await;
    let source = browser.source().await.unwrap_or_default();
    let _ = browser.close().await;

    let (state, text, expires, demo, url, png) = outcome.unwrap_or_else(|e| {
        panic!(
            "browser flow failed: {e}\npage source:\n{source}\nlogs:\n{}",
            stack.logs(30)
        )
    });
    save_screenshot("alice-token-client.png", &png);
    assert_eq!(
        url.as_str(),
        page,
        "back on the page after the login, with its #fragment"
    );
    assert_eq!(
        state.as_deref(),
        Some("ok"),
        "{text}\n{source}\n{}",
        stack.logs(30)
    );
    assert!(
        expires.contains("(in 59 min)") || expires.contains("(in 60 min)"),
        "ttl=3600: {expires}"
    );
    assert!(demo.starts_with("200: token of HERE-"), "{demo}");
}
