//! Two router instances share sessions through a real `redis-server` (Debian's package, installed
//! by `.ci/setup`): a login at one is a login at the other, and so is a logout.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::platform::{required_scope, router_vcap, start_platform, xs_app};
use support::{Backend, Browser, TestRouter};

struct RedisServer {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-server` on a free loopback port, without persistence; `None` when it is not installed.
async fn redis_server() -> Option<RedisServer> {
    let binary = testkit::programs::which("redis-server")?;
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let child = Command::new(binary)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let server = RedisServer {
        child,
        url: format!("redis://127.0.0.1:{port}"),
        _dir: dir,
    };
    let start = Instant::now();
    // Ready when it answers PING.
    loop {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut buf = [0u8; 16];
            if stream.write_all(b"PING\r\n").await.is_ok()
                && stream
                    .read(&mut buf)
                    .await
                    .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
            {
                return Some(server);
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "redis-server did not answer PING"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two router instances A and B sharing one Redis, in front of the mock platform and a recording
/// backend (fields drop in order: the routers before what they use).
struct Shared {
    a: TestRouter,
    b: TestRouter,
    backend: Backend,
    _platform: mock_platform::RunningPlatform,
    _redis: RedisServer,
}

/// `None` (the test skips, and says why) when redis-server is not installed.
async fn two_instances() -> Option<Shared> {
    let Some(redis) = redis_server().await else {
        println!(
            "SKIPPED: redis-server is not installed (run `bash .ci/setup`, which installs Debian's redis-server)"
        );
        return None;
    };
    let platform = start_platform(None).await;
    let backend = Backend::start().await;
    let scope = required_scope(&platform);
    let env = [
        ("VCAP_SERVICES", router_vcap(&platform)),
        ("REDIS_URL", redis.url.clone()),
    ];
    let destinations = json!([{"name": "backend", "url": backend.url, "forwardAuthToken": true}]);
    let a = TestRouter::start(xs_app(&scope), destinations.clone(), &env).await;
    let b = TestRouter::start(xs_app(&scope), destinations, &env).await;
    Some(Shared {
        a,
        b,
        backend,
        _platform: platform,
        _redis: redis,
    })
}

#[tokio::test]
async fn two_instances_share_a_session_through_redis() {
    let Some(shared) = two_instances().await else {
        return;
    };
    let Shared { a, b, backend, .. } = &shared;
    assert!(a.app.sessions().is_redis() && b.app.sessions().is_redis());

    let browser = Browser::new();
    let page = browser
        .login(&format!("{}/mainentry", a.url), "alice", "alice-pass")
        .await
        .unwrap();
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let cookie = format!(
        "JSESSIONID={}",
        browser.cookie(&a.url, "JSESSIONID").unwrap()
    );

    // Instance B knows the session A created: same user, same token, CSRF token shared too.
    let client = reqwest::Client::new();
    let on_b = client
        .get(format!("{}/odata/Products", b.url))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .header("x-csrf-token", "fetch")
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), StatusCode::OK);
    let csrf = on_b.headers()["x-csrf-token"].to_str().unwrap().to_string();
    let token_via_b = backend.last().header("authorization").unwrap().to_string();
    let post_on_a = client
        .post(format!("{}/odata/Products", a.url))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        post_on_a.status(),
        StatusCode::OK,
        "the CSRF token fetched at B is good at A"
    );
    assert_eq!(backend.last().header("authorization").unwrap(), token_via_b);

    // A backend's session cookie kept by A (in the Redis record) goes back to it through B.
    let set = client
        .get(format!("{}/session-cookie", a.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let to_browser: Vec<_> = set.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        to_browser.len(),
        1,
        "only the persistent one: {to_browser:?}"
    );
    client
        .get(format!("{}/odata/Products", b.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(backend.last().header("cookie"), Some("BSESSION=b1"));

    // Logout at A ends the session at B.
    let out = client
        .get(format!("{}/do/logout", a.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection() || out.status().is_success());
    let after = client
        .get(format!("{}/odata/Products", b.url))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

/// Instances behind one route share nothing but Redis and the xsuaa binding: a login started at
/// one (its sealed cookie) completes at the other, since the cookie key comes from the binding.
#[tokio::test]
async fn a_login_started_at_one_instance_completes_at_the_other() {
    let Some(shared) = two_instances().await else {
        return;
    };
    let Shared { a, b, backend, .. } = &shared;

    let browser = Browser::new();
    let form = browser.get(&format!("{}/mainentry", a.url)).await.unwrap();
    let at_a = browser
        .login_callback(&form, "alice", "alice-pass")
        .await
        .unwrap();
    assert!(at_a.as_str().starts_with(&a.url), "{at_a}");
    // The same callback, answered by instance B (the browser's cookies are per host, not port).
    let at_b = format!(
        "{}{}?{}",
        b.url,
        at_a.path(),
        at_a.query().unwrap_or_default()
    );
    let done = browser.get_once(&at_b).await.unwrap();
    assert_eq!(
        done.status(),
        StatusCode::FOUND,
        "{}",
        done.text().await.unwrap()
    );
    let page = browser.get(&format!("{}/mainentry", a.url)).await.unwrap();
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the session B made is good at A"
    );
    assert!(backend.last().header("authorization").is_some());
}
