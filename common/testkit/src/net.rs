//! Loopback servers and clients, and the raw-socket probes of the attack tests.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::JoinHandle;

/// How long a server under test may take to answer its health check.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A port free on 127.0.0.1 a moment ago (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A loopback URL where nothing listens (bound, then closed).
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// A plain client that follows no redirect (tests see each hop), with a generous timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client without TLS config always builds")
}

/// Polls `{base}/health` until it answers 2xx ([`START_TIMEOUT`] at most).
pub async fn wait_healthy(base: &str) {
    let client = client();
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            start.elapsed() < START_TIMEOUT,
            "{base}/health did not answer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Serves `router` on a free loopback port; the server lives as long as the test's runtime.
pub async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let addr = listener.local_addr().expect("a bound listener's address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A loopback URL where a listener accepts connections and never answers (for timeouts).
pub async fn silent_listener() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("a bound listener's address")
    );
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// The `host:port` of an `http://host:port` URL, for raw sockets.
pub fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Connects, sends `bytes`, then reads until the server closes the connection; returns the time
/// from connecting to the close and what the server sent. Panics if it stays open past `limit`.
pub async fn held_until_closed(
    addr: impl ToSocketAddrs,
    bytes: &[u8],
    limit: Duration,
) -> (Duration, String) {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((start + limit).into(), tcp.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (start.elapsed(), String::from_utf8_lossy(&got).into());
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A connection that sent `bytes` and is left open (a slowloris client holding a slot).
pub async fn open_with(addr: impl ToSocketAddrs, bytes: &[u8]) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("send");
    tcp
}

/// True when the server has closed `tcp` (a read gets the end of the stream or an error).
pub async fn closed_by_peer(tcp: &mut TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(tcp.read(&mut buf).await, Ok(0) | Err(_))
}
