//! A 100 MB response passes through the real `approuter` process without its memory growing
//! with the body: the body is streamed, never buffered whole.

mod support;

use futures::StreamExt;
use serde_json::json;
use support::{Backend, RouterProcess, router::env_with};

#[tokio::test]
async fn a_100_mb_download_streams_with_flat_memory() {
    let backend = Backend::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env_with(
        dir.path(),
        &json!({"routes": [{"source": "^/files/(.*)$", "target": "$1", "destination": "backend", "authenticationType": "none"}]}),
        &json!([{"name": "backend", "url": backend.url}]),
        &[],
    );
    let router = RouterProcess::spawn(env, dir.path()).await;
    let client = reqwest::Client::new();
    // Warm up: pools, buffers and the allocator's arenas exist before the baseline is taken.
    let warm = client
        .get(format!("{}/files/big?mb=1", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.bytes().await.unwrap().len(), 1024 * 1024);
    let baseline = router.memory_kib("VmRSS:");

    let response = client
        .get(format!("{}/files/big?mb=100", router.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        total += chunk.unwrap().len();
    }
    assert_eq!(total, 100 * 1024 * 1024);

    let peak = router.memory_kib("VmHWM:");
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    println!("approuter RSS: baseline {baseline} KiB, peak {peak} KiB");
    assert!(
        growth_mib < 30,
        "the router's peak RSS grew by {growth_mib} MiB while 100 MiB passed through (baseline {baseline} KiB, peak {peak} KiB)"
    );
}
