//! The tutorial's own Node.js app (seed 000's `app.js`, the benchmark's baseline) runs unchanged
//! against the mock platform: SAP's sample code finds its bindings, gets a client-credentials
//! token, exchanges the user's token at the Destination service and reads the products. This keeps
//! the baseline honest: `cargo xtask bench` compares bsclient with an app that really works.
//!
//! Needs `node`/`npm` (installed by `bash .ci/setup`) and the npm registry; without them the test
//! says why and passes.

use scenario::{Stack, StackOptions, bench::user_token, measure, node};
use std::time::Duration;

#[tokio::test]
async fn the_tutorials_node_app_shows_the_products_through_the_mock_platform() {
    let Some(node_binary) = measure::which("node") else {
        eprintln!("SKIPPED: node is not on the PATH (bash .ci/setup installs it)");
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-tutorial");
    if let Err(reason) = node::prepare(&dir) {
        eprintln!("SKIPPED: cannot install the tutorial app's npm packages: {reason}");
        return;
    }
    let stack = Stack::start(StackOptions::default())
        .await
        .unwrap_or_else(|e| panic!("the stack did not start: {e}"));
    let (mut app, url) = stack.spawn_node_tutorial(&node_binary, &dir).unwrap();
    app.wait_healthy(&format!("{url}/mainentry"), Duration::from_secs(30))
        .await
        .unwrap();

    let mainentry = |token: String| {
        let url = format!("{url}/mainentry");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let token_of = |name: &str| {
        let user = stack
            .names
            .users
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("scenario.yaml has no demo user {name}"))
            .clone();
        let stack = &stack;
        async move { user_token(stack, &user.name, &user.password).await.unwrap() }
    };
    let alice = token_of("alice").await;
    let page = mainentry(alice).await;
    assert!(
        page.contains("RESULT of request to Backend service") && page.contains("ProductID"),
        "alice sees the products: {page}\n{}",
        app.log.tail(20)
    );

    // The tutorial's app has no answer of its own for a user without the backend's scope: the
    // backend refuses, and the app shows its generic error text (with status 200).
    let bob = token_of("bob").await;
    let page = mainentry(bob).await;
    assert!(
        page.starts_with("ERROR:") && !page.contains("ProductID"),
        "bob gets the tutorial's error text: {page}"
    );
}
