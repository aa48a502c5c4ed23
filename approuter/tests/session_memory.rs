//! Memory held per logged-in session, measured on the real `approuter` process (RSS from /proc).
//! `APPROUTER_BIN` picks another build (e.g. `target/release/approuter`), `SESSIONS` the count.
//! Ignored by default: it logs in thousands of times. Run with
//! `cargo test -p approuter --test session_memory -- --ignored --nocapture`.

mod support;

use futures::StreamExt;
use serde_json::json;
use support::platform::{required_scope, router_vcap, start_platform, xs_app};
use support::{Backend, Browser, RouterProcess, router::env_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load: thousands of logins; run on demand"]
async fn rss_with_many_logged_in_sessions() {
    let sessions: usize = std::env::var("SESSIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
        .min(100_000);
    let platform = start_platform(None).await;
    let backend = Backend::start().await;
    let scope = required_scope(&platform);
    let dir = tempfile::tempdir().unwrap();
    let mut env = env_with(
        dir.path(),
        &xs_app(&scope),
        &json!([{"name": "backend", "url": backend.url, "forwardAuthToken": true}]),
        &[
            ("VCAP_SERVICES", router_vcap(&platform)),
            (
                "RUST_LOG",
                std::env::var("ROUTER_LOG").unwrap_or_else(|_| "warn".into()),
            ),
        ],
    );
    for passed in ["MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_"] {
        if let Ok(value) = std::env::var(passed) {
            env.insert(passed.into(), value);
        }
    }
    if let Ok(bin) = std::env::var("APPROUTER_BIN") {
        env.insert("__BIN".into(), bin);
    }
    let router = RouterProcess::spawn(env, dir.path()).await;
    // One login first, so lazily built things (JWKS, pools) are in the baseline.
    Browser::new()
        .login(&format!("{}/mainentry", router.url), "alice", "alice-pass")
        .await
        .unwrap();
    let idle = router.memory_kib("VmRSS:");
    let url = format!("{}/mainentry", router.url);
    let ok = futures::stream::iter(0..sessions)
        .map(|_| {
            let url = url.clone();
            async move {
                Browser::new()
                    .login(&url, "alice", "alice-pass")
                    .await
                    .unwrap()
                    .status
                    .is_success()
            }
        })
        .buffer_unordered(16)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let with = router.memory_kib("VmRSS:");
    println!(
        "approuter RSS: {idle} KiB after one login, {with} KiB holding {ok} more sessions: {:.0} bytes per session",
        (with.saturating_sub(idle) * 1024) as f64 / ok.max(1) as f64
    );
    if std::env::var("ROUTER_LOG").is_ok() {
        println!("{}", router.log_text());
    }
    assert_eq!(ok, sessions);
}
