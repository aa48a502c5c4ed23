//! How a request reaches a destination and its answer comes back: the pooled HTTP client (or
//! reqwest where a destination needs what only it has), sending, timeouts, and the upgrade of a
//! WebSocket handshake. What goes into the request's head is the `headers` module's job.
//!
//! The pooled client (hyper's, over rustls) buys CPU: 31 -> 26 µs of router CPU per proxied request
//! against reqwest, measured as the process's CPU time over the requests of a 5 s load (README,
//! Benchmarks: "hyper's pooled client for destinations"). There is no switch: a destination with
//! `proxyHost` or `strictSSL: false` takes reqwest ([`Transport::Reqwest`]); to send every
//! destination through reqwest, make [`Upstream::new`] always build that variant.

use super::idle_timeout::IdleTimeout;
use crate::error::Error;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, Response, Uri};
use common::cf::AppRouterDestination;
use common::error_chain;
use common::http::{POOL_IDLE_TIMEOUT, PooledClient, pooled_client};
use std::time::Duration;

/// `@sap/approuter`'s default when a destination sets no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How requests reach a destination.
enum Transport {
    /// hyper's pooled HTTP/1.1 client, over rustls for `https` (webpki roots and `SSL_CERT_FILE`). Every
    /// request of an ordinary destination takes this path: a proxy's own cost per request is
    /// mostly its client, and this one has no per-request URL parsing, redirect or retry layers.
    Pooled(Box<PooledClient<Body>>),
    /// `proxyHost`/`proxyPort` or `strictSSL: false`: reqwest, which has HTTP proxies and can
    /// skip the certificate check.
    Reqwest(reqwest::Client),
}

/// One destination of the `destinations` env, with its own pooled HTTP client.
pub struct Upstream {
    pub name: String,
    /// The destination URL without a trailing slash.
    base: String,
    /// Its path without a trailing slash (`""` for the root).
    pub(super) base_path: String,
    /// `scheme://host[:port]` as the backend would write it in a `Location`.
    pub(super) backend_origin: String,
    pub(super) backend_host: String,
    /// `https` destination: `Secure` backend cookies go back to it.
    pub(super) https: bool,
    transport: Transport,
    pub timeout: Duration,
    pub forward_auth_token: bool,
    pub(super) set_x_forwarded_headers: bool,
    pub(super) preserve_host_header: bool,
    /// The destination's `sap-client`, sent as the `sap-client` header.
    pub(super) sap_client: Option<HeaderValue>,
}

fn reqwest_client(
    dest: &AppRouterDestination,
    timeout: Duration,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        // Per read, not per request: a 100 MB download may take longer than `timeout` in total,
        // but the backend may never go silent for longer.
        .read_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .danger_accept_invalid_certs(!dest.strict_ssl);
    builder = match (&dest.proxy_host, dest.proxy_port) {
        (Some(host), port) => {
            let proxy_url = format!("http://{host}:{}", port.unwrap_or(80));
            let proxy = reqwest::Proxy::all(&proxy_url)
                .map_err(|e| format!("proxyHost/proxyPort {proxy_url}: {e}"))?;
            builder.proxy(proxy)
        }
        // Like Node's http module: the process env's HTTP_PROXY is not applied to destinations.
        (None, _) => builder.no_proxy(),
    };
    builder
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

impl Upstream {
    pub fn new(dest: &AppRouterDestination) -> Result<Self, Error> {
        let timeout = dest.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport = if dest.proxy_host.is_some() || !dest.strict_ssl {
            reqwest_client(dest, timeout).map(Transport::Reqwest)
        } else {
            pooled_client(CONNECT_TIMEOUT.min(timeout)).map(|c| Transport::Pooled(Box::new(c)))
        }
        .map_err(|e| Error::Config(format!("destinations: {:?}: {e}", dest.name)))?;
        let url = &dest.url;
        let base = url.as_str().trim_end_matches('/').to_string();
        let base_path = url.path().trim_end_matches('/').to_string();
        let backend_origin = url.origin().ascii_serialization();
        Ok(Upstream {
            name: dest.name.clone(),
            base,
            base_path,
            backend_origin,
            backend_host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
            https: url.scheme() == "https",
            transport,
            timeout,
            forward_auth_token: dest.forward_auth_token,
            set_x_forwarded_headers: dest.set_x_forwarded_headers,
            preserve_host_header: dest.preserve_host_header,
            sap_client: match &dest.sap_client {
                Some(client) => Some(HeaderValue::from_str(client).map_err(|_| {
                    Error::Config(format!(
                        "destinations: {:?}: sap-client {client:?} is not a valid header value",
                        dest.name
                    ))
                })?),
                None => None,
            },
        })
    }

    /// The destination URL without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn timed_out(&self) -> Error {
        Error::GatewayTimeout {
            destination: self.name.clone(),
            millis: self.timeout.as_millis(),
        }
    }

    /// For the log only (the browser sees the destination's name): where, and why.
    fn cannot_connect(&self, e: &dyn std::error::Error) -> String {
        format!(
            "cannot connect to {}{}: {}",
            self.backend_origin,
            self.base_path,
            error_chain(e)
        )
    }

    fn bad_gateway(&self, reason: String) -> Error {
        Error::BadGateway {
            destination: self.name.clone(),
            reason,
        }
    }

    fn pooled_error(&self, e: hyper_util::client::legacy::Error) -> Error {
        if e.is_connect() && has_timed_out(&e) {
            self.timed_out()
        } else if e.is_connect() {
            self.bad_gateway(self.cannot_connect(&e))
        } else {
            self.bad_gateway(format!(
                "request to the backend failed: {}",
                error_chain(&e)
            ))
        }
    }

    fn reqwest_error(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.timed_out();
        }
        self.bad_gateway(if e.is_connect() {
            self.cannot_connect(&e.without_url())
        } else if e.is_builder() {
            "the forwarded URL is invalid".to_string()
        } else {
            // Without the URL: its query string is the user's and may hold anything.
            format!(
                "request to the backend failed: {}",
                error_chain(&e.without_url())
            )
        })
    }

    /// Sends an upgrade request (a WebSocket handshake): the backend's answer head, and after a
    /// `101 Switching Protocols` the connection, which then belongs to the caller. The head must
    /// come within `timeout`.
    pub(crate) async fn upgrade(
        &self,
        url: String,
        headers: HeaderMap,
    ) -> Result<(axum::http::response::Parts, Option<Tunnel>), Error> {
        match &self.transport {
            Transport::Pooled(client) => {
                let uri = Uri::try_from(url)
                    .map_err(|_| self.bad_gateway("the forwarded URL is invalid".into()))?;
                let mut request = Request::new(Body::empty());
                *request.uri_mut() = uri;
                *request.headers_mut() = headers;
                let response = tokio::time::timeout(self.timeout, client.request(request))
                    .await
                    .map_err(|_| self.timed_out())?
                    .map_err(|e| self.pooled_error(e))?;
                if response.status() != axum::http::StatusCode::SWITCHING_PROTOCOLS {
                    return Ok((response.into_parts().0, None));
                }
                let (parts, body) = response.into_parts();
                let upgraded = hyper::upgrade::on(Response::from_parts(parts.clone(), body))
                    .await
                    .map_err(|e| {
                        self.bad_gateway(format!("the upgrade failed: {}", error_chain(&e)))
                    })?;
                Ok((
                    parts,
                    Some(Box::new(hyper_util::rt::TokioIo::new(upgraded)) as Tunnel),
                ))
            }
            Transport::Reqwest(client) => {
                let response =
                    tokio::time::timeout(self.timeout, client.get(&url).headers(headers).send())
                        .await
                        .map_err(|_| self.timed_out())?
                        .map_err(|e| self.reqwest_error(e))?;
                let mut head = Response::new(());
                *head.status_mut() = response.status();
                *head.headers_mut() = response.headers().clone();
                let parts = head.into_parts().0;
                if response.status() != axum::http::StatusCode::SWITCHING_PROTOCOLS {
                    return Ok((parts, None));
                }
                let upgraded = response.upgrade().await.map_err(|e| {
                    self.bad_gateway(format!(
                        "the upgrade failed: {}",
                        error_chain(&e.without_url())
                    ))
                })?;
                Ok((parts, Some(Box::new(upgraded) as Tunnel)))
            }
        }
    }

    /// Sends the request; the answer's head must come within `timeout`, and then the body may
    /// never be silent for longer than that.
    pub(super) async fn send(
        &self,
        method: axum::http::Method,
        url: String,
        headers: HeaderMap,
        body: Option<Body>,
    ) -> Result<Response<Body>, Error> {
        match &self.transport {
            Transport::Pooled(client) => {
                let uri = Uri::try_from(url)
                    .map_err(|_| self.bad_gateway("the forwarded URL is invalid".into()))?;
                let mut request = Request::new(body.unwrap_or_else(Body::empty));
                *request.method_mut() = method;
                *request.uri_mut() = uri;
                *request.headers_mut() = headers;
                let response =
                    match tokio::time::timeout(self.timeout, client.request(request)).await {
                        Err(_) => return Err(self.timed_out()),
                        Ok(Err(e)) if e.is_connect() && has_timed_out(&e) => {
                            return Err(self.timed_out());
                        }
                        Ok(Err(e)) if e.is_connect() => {
                            return Err(self.bad_gateway(self.cannot_connect(&e)));
                        }
                        Ok(Err(e)) => {
                            return Err(self.bad_gateway(format!(
                                "request to the backend failed: {}",
                                error_chain(&e)
                            )));
                        }
                        Ok(Ok(response)) => response,
                    };
                let timeout = self.timeout;
                Ok(response.map(|body| Body::new(IdleTimeout::new(body, timeout))))
            }
            Transport::Reqwest(client) => {
                let mut request = client.request(method, &url).headers(headers);
                if let Some(body) = body {
                    request = request.body(reqwest::Body::wrap_stream(body.into_data_stream()));
                }
                match tokio::time::timeout(self.timeout, request.send()).await {
                    Err(_) => Err(self.timed_out()),
                    Ok(Err(e)) => Err(self.reqwest_error(e)),
                    Ok(Ok(response)) => Ok(Response::from(response).map(Body::new)),
                }
            }
        }
    }
}

impl Upstream {
    /// The URL a request for `target_path` (and `query`) goes to.
    pub(crate) fn url_for(&self, target_path: &str, query: Option<&str>) -> String {
        let mut url = String::with_capacity(self.base.len() + target_path.len() + 64);
        url.push_str(&self.base);
        url.push('/');
        url.push_str(target_path.trim_start_matches('/'));
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// The backend path a request for `target_path` goes to.
    pub(crate) fn backend_path(&self, target_path: &str) -> String {
        format!("{}/{}", self.base_path, target_path.trim_start_matches('/'))
    }
}

/// A connection after an upgrade, either side.
pub(crate) type Tunnel = Box<dyn Connection>;
pub(crate) trait Connection:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Connection for T {}

/// Whether a connect error was the connect timeout (an I/O `TimedOut` somewhere in its chain).
fn has_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}
