//! A small backend on 127.0.0.1:0 that records every request it gets and answers by path:
//! `/redirect`, `/cookie`, `/big?mb=N` (streamed), `/hang` (never answers), `/stall` (answers, sends
//! 10 of 1000 bytes, then nothing), `/drip` (5 chunks 150 ms apart), `/upload` (counts the streamed
//! body), `/session-cookie` (a session and a persistent cookie), `/ws` (a WebSocket echo that
//! sets a session cookie in its handshake), anything else echoes the request as JSON.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
pub struct Backend {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    _task: Arc<tokio::task::JoinHandle<()>>,
}

impl Backend {
    pub async fn start() -> Self {
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(handle)
            .with_state((requests.clone(), url.clone()));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Backend {
            url,
            requests,
            _task: Arc::new(task),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .last()
            .cloned()
            .expect("the backend got no request")
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn handle(
    State((requests, own_url)): State<(Arc<Mutex<Vec<Recorded>>>, String)>,
    mut req: Request,
) -> Response {
    let recorded = Recorded {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
        headers: req.headers().clone(),
    };
    requests.lock().unwrap().push(recorded.clone());
    let path = recorded.path.as_str();
    let tail = path.rsplit('/').next().unwrap_or("");
    match tail {
        "redirect" => (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{own_url}/base/landing?x=1"))],
        )
            .into_response(),
        "relative-redirect" => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/base/landing".to_string())],
        )
            .into_response(),
        "session-cookie" => Response::builder()
            .header(header::SET_COOKIE, "BSESSION=b1; Path=/; HttpOnly")
            .header(header::SET_COOKIE, "PERSIST=p1; Max-Age=3600; Path=/")
            .body(Body::from("cookies"))
            .unwrap(),
        "session-cookie-delete" => Response::builder()
            .header(header::SET_COOKIE, "BSESSION=; Path=/; Max-Age=0")
            .body(Body::from("deleted"))
            .unwrap(),
        "ws" => {
            let headers = req.headers().clone();
            websocket_echo(
                hyper::upgrade::on(&mut req),
                &headers,
                "WSSESSION=ws1; Path=/",
            )
        }
        "cookie" => Response::builder()
            .header(
                header::SET_COOKIE,
                "backend=1; Domain=127.0.0.1; Path=/base/cookie; HttpOnly",
            )
            .header(header::SET_COOKIE, "JSESSIONID=stolen; Path=/")
            .body(Body::from("cookie"))
            .unwrap(),
        "big" => {
            let mb: usize = recorded
                .query
                .as_deref()
                .and_then(|q| q.strip_prefix("mb="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
            let chunks = mb * 16;
            let stream = futures::stream::iter(0..chunks)
                .map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
            Response::builder()
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_LENGTH, (chunks * 64 * 1024).to_string())
                .body(Body::from_stream(stream))
                .unwrap()
        }
        "hang" => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        "stall" => {
            let first = futures::stream::once(async {
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"0123456789"))
            });
            let stream = first.chain(futures::stream::pending());
            Response::builder()
                .header(header::CONTENT_LENGTH, "1000")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        "drip" => {
            let stream = futures::stream::iter(0..5).then(|i| async move {
                if i > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                }
                Ok::<_, std::io::Error>(bytes::Bytes::from(format!("chunk{i};")))
            });
            Response::builder().body(Body::from_stream(stream)).unwrap()
        }
        "upload" => {
            let mut stream = req.into_body().into_data_stream();
            let mut total = 0usize;
            while let Some(chunk) = stream.next().await {
                total += chunk.map(|c| c.len()).unwrap_or(0);
            }
            total.to_string().into_response()
        }
        _ => {
            let headers: serde_json::Map<String, serde_json::Value> = recorded
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        serde_json::Value::String(v.to_str().unwrap_or("").to_string()),
                    )
                })
                .collect();
            axum::Json(serde_json::json!({
                "method": recorded.method,
                "path": recorded.path,
                "query": recorded.query,
                "headers": headers,
            }))
            .into_response()
        }
    }
}

/// Answers a WebSocket handshake with 101 (setting `cookie`, to show what a router does with a
/// handshake's cookies) and echoes every text or binary message until the client closes.
pub fn websocket_echo(
    upgrade: hyper::upgrade::OnUpgrade,
    headers: &HeaderMap,
    cookie: &str,
) -> Response {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let Some(key) = headers.get("sec-websocket-key") else {
        return (StatusCode::BAD_REQUEST, "not a websocket handshake").into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            Role::Server,
            None,
        )
        .await;
        while let Some(Ok(message)) = ws.next().await {
            if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                break;
            }
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::UPGRADE, "websocket".to_string()),
            (header::CONNECTION, "Upgrade".to_string()),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
            (header::SET_COOKIE, cookie.to_string()),
        ],
    )
        .into_response()
}
