//! WebSockets through the router and the backends' session cookies (kept in the user's session),
//! against the mock XSUAA's login, a recording backend with a WebSocket echo, and a real
//! WebSocket client (tokio-tungstenite).

mod support;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::platform::{required_scope, router_vcap, start_platform};
use support::{Backend, Browser, TestRouter};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

fn xs_app(scope: &str) -> Value {
    json!({
        "authenticationMethod": "route",
        "websockets": {"enabled": true},
        "routes": [
            {"source": "^/public/(.*)$", "target": "/$1", "destination": "backend", "authenticationType": "none"},
            {"source": "^/scoped/(.*)$", "target": "/$1", "destination": "backend", "scope": [scope]},
            {"source": "^/browser/(.*)$", "target": "/$1", "destination": "backend", "setBackendSessionCookies": true},
            {"source": "^/other/(.*)$", "target": "/$1", "destination": "other"},
            {"source": "^/static/(.*)$", "target": "$1", "localDir": "."},
            {"source": "^/(.*)$", "target": "/$1", "destination": "backend"}
        ]
    })
}

struct Setup {
    _platform: mock_platform::RunningPlatform,
    backend: Backend,
    router: TestRouter,
}

impl Setup {
    async fn start() -> Self {
        let platform = start_platform(None).await;
        let backend = Backend::start().await;
        let scope = required_scope(&platform);
        let router = TestRouter::start(
            xs_app(&scope),
            json!([
                {"name": "backend", "url": backend.url, "forwardAuthToken": true},
                {"name": "other", "url": backend.url}
            ]),
            &[("VCAP_SERVICES", router_vcap(&platform))],
        )
        .await;
        Setup {
            _platform: platform,
            backend,
            router,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.router.url)
    }

    async fn logged_in(&self, user: &str) -> Browser {
        let browser = Browser::new();
        let page = browser
            .login(&self.url("/x"), user, &format!("{user}-pass"))
            .await
            .unwrap();
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        browser
    }
}

type Ws = WebSocketStream<TcpStream>;

/// The cookies the backend got, without the mock XSUAA's (the jar is per host, not per port).
fn backend_cookies(s: &Setup) -> Option<String> {
    let last = s.backend.last();
    let kept: Vec<&str> = last
        .header("cookie")?
        .split("; ")
        .filter(|c| !c.starts_with("mock_xsuaa_session="))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// A WebSocket handshake to `http_url` (as ws://) with these headers: the socket, or the status
/// the router refused it with.
async fn ws_connect(http_url: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let url = http_url.replacen("http://", "ws://", 1);
    let mut request = url.as_str().into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let authority = url::Url::parse(&url).unwrap();
    let stream = TcpStream::connect((authority.host_str().unwrap(), authority.port().unwrap()))
        .await
        .unwrap();
    match tokio_tungstenite::client_async(request, stream).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("the handshake failed otherwise: {e}"),
    }
}

async fn echo(ws: &mut Ws, message: Message) {
    ws.send(message.clone()).await.unwrap();
    let back = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
        .await
        .expect("an echo within 10 s")
        .expect("the socket stays open")
        .unwrap();
    assert_eq!(back, message);
}

#[tokio::test]
async fn a_websocket_reaches_the_backend_with_the_users_token_and_echoes() {
    let s = Setup::start().await;
    let alice = s.logged_in("alice").await;
    let cookie = alice.cookies(&s.router.url);
    let origin = s.router.url.clone();

    let mut ws = ws_connect(
        &s.url("/ws?room=1"),
        &[("origin", &origin), ("cookie", &cookie)],
    )
    .await
    .expect("the upgrade goes through");
    echo(&mut ws, Message::text("hello through the router")).await;
    echo(&mut ws, Message::binary(vec![7u8; 256 * 1024])).await;
    ws.close(None).await.unwrap();

    let handshake = s.backend.last();
    assert_eq!(handshake.path, "/ws");
    assert_eq!(handshake.query.as_deref(), Some("room=1"));
    let token = handshake
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("the backend gets the user's token");
    let claims = common::jwt::decode_unverified(token).unwrap();
    assert_eq!(claims.user_name.as_deref(), Some("alice"));
    assert_eq!(
        handshake.header("x-forwarded-host"),
        Some(s.router.url.trim_start_matches("http://"))
    );
    assert!(
        !handshake
            .header("cookie")
            .unwrap_or("")
            .contains("JSESSIONID"),
        "the router's session cookie stays with the router"
    );

    // The session cookie of the backend's handshake answer is kept in alice's session and goes
    // back with her next request to that destination.
    alice.client().get(s.url("/x")).send().await.unwrap();
    assert_eq!(backend_cookies(&s).as_deref(), Some("WSSESSION=ws1"));

    // A public route needs no session.
    let mut ws = ws_connect(&s.url("/public/ws"), &[("origin", &origin)])
        .await
        .expect("a public route needs no login");
    echo(&mut ws, Message::text("anonymous")).await;
}

#[tokio::test]
async fn websocket_upgrades_are_refused_as_sap_refuses_them() {
    let s = Setup::start().await;
    let bob = s.logged_in("bob").await;
    let cookie = bob.cookies(&s.router.url);
    let origin = s.router.url.clone();
    let ws = |path: &'static str, headers: Vec<(&'static str, String)>| {
        let url = s.url(path);
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ws_connect(&url, &headers).await.map(|_| 101)
        }
    };
    assert_eq!(
        ws("/ws", vec![("cookie", cookie.clone())]).await,
        Err(403),
        "no Origin"
    );
    assert_eq!(
        ws(
            "/ws",
            vec![
                ("origin", "http://evil.example".into()),
                ("cookie", cookie.clone())
            ]
        )
        .await,
        Err(403),
        "a foreign origin"
    );
    let other_port = origin.replace("127.0.0.1:", "127.0.0.1:1");
    assert_eq!(
        ws(
            "/ws",
            vec![("origin", other_port), ("cookie", cookie.clone())]
        )
        .await,
        Err(403),
        "the router's host on another port"
    );
    assert_eq!(
        ws("/ws", vec![("origin", origin.clone())]).await,
        Err(401),
        "no session: no login redirect"
    );
    assert_eq!(
        ws(
            "/scoped/ws",
            vec![("origin", origin.clone()), ("cookie", cookie.clone())]
        )
        .await,
        Err(403),
        "bob lacks the route's scope"
    );
    assert_eq!(
        ws(
            "/static/ws",
            vec![("origin", origin.clone()), ("cookie", cookie.clone())]
        )
        .await,
        Err(404),
        "a route without a destination"
    );
    assert_eq!(
        ws(
            "/ws",
            vec![("origin", origin.clone()), ("cookie", cookie.clone())]
        )
        .await,
        Ok(101),
        "bob on a route he may use"
    );
    assert_eq!(
        ws("/public/not-a-socket", vec![("origin", origin.clone())]).await,
        Err(502),
        "a backend that answers 200 instead of switching protocols"
    );

    // websockets not enabled: 403 before anything else; WS_ALLOWED_ORIGINS replaces the default.
    let backend = Backend::start().await;
    let open = |enabled: bool| {
        json!({
            "authenticationMethod": "none",
            "websockets": {"enabled": enabled},
            "routes": [{"source": "^/(.*)$", "target": "/$1", "destination": "backend"}]
        })
    };
    let dests = json!([{"name": "backend", "url": backend.url}]);
    let disabled = TestRouter::start(open(false), dests.clone(), &[]).await;
    let url = format!("{}/ws", disabled.url);
    assert_eq!(
        ws_connect(&url, &[("origin", &disabled.url)])
            .await
            .map(|_| 101),
        Err(403)
    );
    let listed = TestRouter::start(
        open(true),
        dests,
        &[(
            "WS_ALLOWED_ORIGINS",
            r#"[{"protocol": "https", "host": "*.example.com"}]"#.to_string(),
        )],
    )
    .await;
    let url = format!("{}/ws", listed.url);
    assert_eq!(
        ws_connect(&url, &[("origin", &listed.url)])
            .await
            .map(|_| 101),
        Err(403),
        "the router's own origin is not in the list"
    );
    let mut socket = ws_connect(&url, &[("origin", "https://app.example.com")])
        .await
        .expect("a listed origin");
    echo(&mut socket, Message::text("listed")).await;
}

#[tokio::test]
async fn backend_session_cookies_stay_in_the_users_session() {
    let s = Setup::start().await;
    let alice = s.logged_in("alice").await;

    let r = alice
        .client()
        .get(s.url("/session-cookie"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let to_browser: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        to_browser,
        vec!["PERSIST=p1; Max-Age=3600; Path=/"],
        "the session cookie is kept by the router, the persistent one goes to the browser"
    );
    assert!(!alice.cookies(&s.router.url).contains("BSESSION"));

    alice.client().get(s.url("/x")).send().await.unwrap();
    assert_eq!(
        backend_cookies(&s).as_deref(),
        Some("PERSIST=p1; BSESSION=b1"),
        "the browser's cookie, then the one kept for this destination"
    );

    // Not to another destination on the same host, not to another user.
    alice.client().get(s.url("/other/x")).send().await.unwrap();
    assert_eq!(backend_cookies(&s).as_deref(), Some("PERSIST=p1"));
    let bob = s.logged_in("bob").await;
    bob.client().get(s.url("/x")).send().await.unwrap();
    assert_eq!(backend_cookies(&s).as_deref(), None);

    // The platform's cookies are not forwarded.
    let r = reqwest::Client::new()
        .get(s.url("/x"))
        .header(
            "cookie",
            format!(
                "{}; __VCAP_ID__=instance1; sapextlbcookie=lb",
                bob.cookies(&s.router.url)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(backend_cookies(&s).as_deref(), None);

    // The backend deletes its cookie: it is forgotten.
    alice
        .client()
        .get(s.url("/session-cookie-delete"))
        .send()
        .await
        .unwrap();
    alice.client().get(s.url("/x")).send().await.unwrap();
    assert_eq!(backend_cookies(&s).as_deref(), Some("PERSIST=p1"));

    // setBackendSessionCookies: the browser gets them all, as from SAP.
    let r = alice
        .client()
        .get(s.url("/browser/session-cookie"))
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap())
        .collect();
    assert_eq!(names, vec!["BSESSION", "PERSIST"]);
}
