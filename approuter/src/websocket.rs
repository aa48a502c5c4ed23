//! WebSockets through the router, as `@sap/approuter` proxies them when `xs-app.json` has
//! `"websockets": {"enabled": true}`: an HTTP/1.1 upgrade on a route to a destination is sent to
//! that destination (ws:// for an http URL, wss:// for https) with the headers of a normal forward
//! (the user's token as `Authorization: Bearer`, `x-forwarded-*`, the backend session cookies),
//! and after the backend's `101` the bytes are copied both ways until either side closes.
//!
//! Checked before anything is forwarded, in SAP's order: a valid handshake (400), websockets
//! enabled (403), an `Origin` allowed by `WS_ALLOWED_ORIGINS` or, without it, the router's own
//! URL (403), a route to a destination (404), a logged-in session (401: no login redirect on an
//! upgrade) and the route's scopes (403).
//!
//! Frames are not parsed: the handshake's key, protocol and extensions are the client's and the
//! backend's to agree on, and a byte tunnel keeps the router's cost per message at a copy. While
//! the socket is open the user's session is kept alive by client traffic (SAP resets the session
//! timer on every incoming message) and checked regularly: when it ends (logout, timeout) the
//! socket is closed, as SAP closes it.

use crate::error::Error;
use crate::forwarded::Origin;
use crate::proxy::{self, Forward, Tunnel, Upstream};
use crate::session::{SessionRef, Sessions};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower_sessions::session::Id;

/// What the handshake checks need of the router's configuration.
pub struct Settings {
    /// xs-app.json `websockets.enabled`.
    pub enabled: bool,
    /// `WS_ALLOWED_ORIGINS`; `None`: the router's own URL.
    pub allowed_origins: Option<Vec<AllowedOrigin>>,
}

/// One entry of `WS_ALLOWED_ORIGINS` (SAP's format: `[{"protocol": "https", "host":
/// "*.example.com", "port": 443}]`; only `host` is required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    /// Lower case; `None`: any.
    protocol: Option<String>,
    /// Lower case; a leading `*.` matches any subdomain.
    host: String,
    /// `None`: any port, or none.
    port: Option<u16>,
}

impl AllowedOrigin {
    fn matches(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        if let Some(p) = &self.protocol
            && !p.eq_ignore_ascii_case(scheme)
        {
            return false;
        }
        if self.port.is_some() && self.port != port {
            return false;
        }
        match self.host.strip_prefix("*.") {
            Some(domain) => host.len().checked_sub(domain.len() + 1).is_some_and(|cut| {
                cut > 0 && host[cut..].eq_ignore_ascii_case(&format!(".{domain}"))
            }),
            None => host.eq_ignore_ascii_case(&self.host),
        }
    }
}

/// `WS_ALLOWED_ORIGINS`, validated as SAP validates it (a host name, `*.` prefix allowed, or an
/// IPv4 address; a port from 1 to 65535, number or numeric string; no other keys).
pub fn parse_allowed_origins(json: &str) -> Result<Vec<AllowedOrigin>, Error> {
    let err = |reason: String| Error::Config(format!("WS_ALLOWED_ORIGINS: {reason}"));
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let items = value.as_array().ok_or_else(|| {
        err(
            "must be an array like [{\"protocol\": \"https\", \"host\": \"app.example.com\"}]"
                .into(),
        )
    })?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let obj = item.as_object().ok_or_else(|| {
            err(format!(
                "[{i}] must be an object with host (protocol, port)"
            ))
        })?;
        if let Some(key) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "protocol" | "host" | "port"))
        {
            return Err(err(format!("[{i}]: unknown key {key:?}")));
        }
        let host = obj
            .get("host")
            .and_then(|h| h.as_str())
            .ok_or_else(|| err(format!("[{i}]: host is missing or not a string")))?;
        if !valid_host(host) {
            return Err(err(format!(
                "[{i}]: host {:?} is not a host name, an IPv4 address or a host name prefixed with *.",
                crate::error::excerpt(host, crate::error::ECHO_LIMIT)
            )));
        }
        let protocol = match obj.get("protocol") {
            None => None,
            Some(serde_json::Value::String(p)) if !p.is_empty() => Some(p.to_ascii_lowercase()),
            Some(_) => return Err(err(format!("[{i}]: protocol must be a non-empty string"))),
        };
        let port = match obj.get("port") {
            None => None,
            Some(p) => {
                let n = match p {
                    serde_json::Value::Number(n) => n.as_u64(),
                    serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n @ 1..=65535) => Some(n as u16),
                    _ => {
                        return Err(err(format!(
                            "[{i}]: port {p} is not a port from 1 to 65535"
                        )));
                    }
                }
            }
        };
        out.push(AllowedOrigin {
            protocol,
            host: host.to_ascii_lowercase(),
            port,
        });
    }
    Ok(out)
}

/// SAP's `hostname-rules`: labels of letters, digits and inner hyphens starting with a letter,
/// optionally after `*.`; or a dotted IPv4 address.
fn valid_host(host: &str) -> bool {
    let ipv4 = host.split('.').count() == 4
        && host
            .split('.')
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if ipv4 {
        return true;
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    !name.is_empty()
        && name.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphabetic()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        })
}

/// An `Origin` header: scheme, host and explicit port (`None` for a malformed one).
fn parse_origin(origin: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    if let Some(inner) = rest.strip_prefix('[') {
        // An IPv6 literal: `[::1]:port`.
        let (addr, after) = inner.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((scheme, addr, port));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => Some((scheme, host, Some(port.parse().ok()?))),
        None => Some((scheme, rest, None)),
    }
}

/// SAP's default when `WS_ALLOWED_ORIGINS` is not set: the router's own URL as the browser uses
/// it (the port only when the `Host` names one).
fn own_origin(origin: &Origin) -> Option<AllowedOrigin> {
    let url = format!("{}://{}", origin.proto, origin.host);
    let (_, host, port) = parse_origin(&url)?;
    Some(AllowedOrigin {
        protocol: Some(origin.proto.to_string()),
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// An HTTP/1.1 WebSocket upgrade request (`Upgrade: websocket`, `Connection: upgrade`).
pub fn is_upgrade(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET
        && headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The checks SAP makes before it looks at routes: the handshake itself (as the `ws` library
/// does, 400), `websockets.enabled` (403) and the `Origin` (403).
pub fn check_handshake(
    settings: &Settings,
    headers: &HeaderMap,
    origin: &Origin,
) -> Result<(), Error> {
    let key_ok = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| k.trim().len() == 24 && k.trim().ends_with("=="));
    let version_ok = headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13" || v.as_bytes() == b"8");
    if !key_ok || !version_ok {
        return Err(Error::BadRequest(
            "not a valid WebSocket handshake (Sec-WebSocket-Key, Sec-WebSocket-Version 13)".into(),
        ));
    }
    if !settings.enabled {
        return Err(Error::Forbidden(
            "WebSockets are not enabled for this application".into(),
        ));
    }
    let Some(sent) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Err(Error::Forbidden(
            "a WebSocket request needs an Origin header".into(),
        ));
    };
    let allowed = match parse_origin(sent) {
        Some((scheme, host, port)) => match &settings.allowed_origins {
            Some(list) => list.iter().any(|o| o.matches(scheme, host, port)),
            None => own_origin(origin).is_some_and(|o| o.matches(scheme, host, port)),
        },
        None => false,
    };
    if !allowed {
        tracing::info!(origin = %crate::error::excerpt(sent, crate::error::ECHO_LIMIT), "WebSocket origin refused");
        return Err(Error::Forbidden(
            "this page's origin may not open WebSockets to this application".into(),
        ));
    }
    Ok(())
}

/// Sends the handshake to the destination; after its `101` answers the client with `101` and
/// copies the bytes both ways in a task of their own, which holds `sessions` to watch the user's.
pub async fn proxy(
    sessions: Arc<Sessions>,
    up: &Upstream,
    mut req: Request<Body>,
    f: Forward<'_>,
    session: Option<&SessionRef>,
) -> Result<Response<Body>, Error> {
    let client_upgrade = hyper::upgrade::on(&mut req);
    let url = up.url_for(f.target_path, req.uri().query());
    let backend_path = up.backend_path(f.target_path);
    let mut headers = proxy::request_headers(up, req.headers(), &f, &backend_path);
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    let (head, backend) = up.upgrade(url, headers).await?;
    let Some(backend) = backend else {
        return Ok(refused(up, head.status));
    };

    // Session cookies from the handshake are kept as from any answer (SAP does so too); the
    // browser gets none of the backend's cookies on a 101 (nor from SAP).
    if f.keep_session_cookies
        && let Some(s) = session
    {
        let cookies: Vec<_> = head
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| crate::backend_cookies::parse(v, &backend_path))
            .filter(|c| c.session || c.deletes)
            .collect();
        sessions
            .keep_backend_cookies(s.id, &s.data, &up.name, &cookies)
            .await;
    }

    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    for name in [
        header::SEC_WEBSOCKET_ACCEPT,
        header::SEC_WEBSOCKET_PROTOCOL,
        header::SEC_WEBSOCKET_EXTENSIONS,
    ] {
        if let Some(v) = head.headers.get(&name) {
            out.insert(name, v.clone());
        }
    }

    let destination = up.name.clone();
    let session_id = session.map(|s| s.id);
    tokio::spawn(async move {
        let client = match client_upgrade.await {
            Ok(upgraded) => hyper_util::rt::TokioIo::new(upgraded),
            Err(e) => {
                tracing::debug!(error = %e, "the client did not complete the WebSocket upgrade");
                return;
            }
        };
        tunnel(sessions, client, backend, session_id, &destination).await;
    });
    Ok(response)
}

/// The destination did not switch protocols: its status (as SAP answers), unless that status is
/// not an error, which the client could take for success.
fn refused(up: &Upstream, status: StatusCode) -> Response<Body> {
    tracing::info!(destination = %up.name, status = status.as_u16(), "the destination refused the WebSocket upgrade");
    let status = if status.is_client_error() || status.is_server_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    };
    let mut response = Response::new(Body::from(
        status.canonical_reason().unwrap_or("Error").to_string(),
    ));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    response
}

/// How often an open socket looks at its session: a quarter of the idle timeout, at most 30 s.
fn session_check_interval(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

async fn tunnel(
    sessions: Arc<Sessions>,
    client: impl AsyncRead + AsyncWrite + Unpin,
    mut backend: Tunnel,
    session: Option<Id>,
    destination: &str,
) {
    let active = Arc::new(AtomicBool::new(false));
    let mut client = Activity {
        inner: client,
        active: active.clone(),
    };
    let watch = async {
        let Some(id) = session else {
            return std::future::pending::<()>().await;
        };
        let every = session_check_interval(sessions.timeout());
        loop {
            tokio::time::sleep(every).await;
            // Client traffic keeps the session alive, as SAP resets its timer per message.
            let alive = if active.swap(false, Ordering::Relaxed) {
                sessions.update(id, |_| ()).await
            } else {
                sessions.reload(id).await
            };
            match alive {
                Ok(Some(_)) => {}
                Ok(None) => {
                    tracing::info!(destination, "the session ended: closing its WebSocket");
                    return;
                }
                // The store is unavailable for a moment: the socket stays, the next check decides.
                Err(e) => {
                    let error = common::error_chain(&e);
                    tracing::warn!(%error, "WebSocket session check failed");
                }
            }
        }
    };
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut backend) => match copied {
            Ok((up, down)) => tracing::debug!(destination, up, down, "WebSocket closed"),
            Err(e) => tracing::debug!(destination, error = %e, "WebSocket ended with an error"),
        },
        () = watch => {}
    }
}

/// The client's side of a tunnel, noting that it sent something.
struct Activity<T> {
    inner: T,
    active: Arc<AtomicBool>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Activity<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.active.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Activity<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_follow_sap_format() {
        let list = parse_allowed_origins(
            r#"[{"protocol": "https", "host": "*.example.com"}, {"host": "127.0.0.1", "port": "5000"}]"#,
        )
        .unwrap();
        let ok = |o: &str| {
            let (s, h, p) = parse_origin(o).unwrap();
            list.iter().any(|a| a.matches(s, h, p))
        };
        assert!(ok("https://app.example.com"));
        assert!(ok("https://a.b.example.com:8443"), "no port given: any");
        assert!(!ok("http://app.example.com"), "protocol");
        assert!(!ok("https://example.com"), "*. needs a subdomain");
        assert!(!ok("https://evilexample.com"));
        assert!(ok("http://127.0.0.1:5000"));
        assert!(!ok("http://127.0.0.1:5001"));
        assert!(!ok("http://127.0.0.1"), "a port given: that port");
        assert!(parse_origin("null").is_none());
        assert!(parse_origin("https://a.example.com/path").is_none());
        for bad in [
            "{}",
            "[{}]",
            r#"[{"host": "a b"}]"#,
            r#"[{"host": "x.com", "port": 0}]"#,
            r#"[{"host": "x.com", "port": "abc"}]"#,
            r#"[{"host": "x.com", "path": "/"}]"#,
            r#"[{"host": "x.com", "protocol": ""}]"#,
            r#"[{"host": "*"}]"#,
        ] {
            let e = parse_allowed_origins(bad).unwrap_err().to_string();
            assert!(e.starts_with("WS_ALLOWED_ORIGINS"), "{bad}: {e}");
        }
    }

    #[test]
    fn upgrades_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(is_upgrade(&Method::GET, &h));
        assert!(!is_upgrade(&Method::POST, &h));
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!is_upgrade(&Method::GET, &h));
    }
}
