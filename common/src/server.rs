//! One way to serve an axum `Router` for every server of the stack (App Router, bsclient, the mock
//! services, plain and TLS), with the limits a server facing the internet needs:
//!
//! - a **header-read timeout** (hyper's, on its Tokio timer): a client that does not finish a
//!   request head in time has its connection closed. hyper arms the same timer when it waits for
//!   the next request on a kept-alive connection, so it also bounds how long an idle keep-alive
//!   connection stays open. hyper closes without an answer here (it has no hook to send a 408).
//! - a **request timeout** (`INCOMING_REQUEST_TIMEOUT`, as Node's `server.requestTimeout` in
//!   `@sap/approuter`): a request whose body has not arrived in full within it gets
//!   **408 Request Timeout** and the connection is closed.
//! - a **connection inactivity timeout** (`INCOMING_CONNECTION_TIMEOUT`, as Node's
//!   `server.timeout`): a connection on which nothing was read or written for that long is closed,
//!   e.g. a client that never reads its response.
//! - a **bounded number of connections**: when the limit is reached the server stops accepting;
//!   new connections wait in the kernel's accept backlog (a burst is served a moment later instead
//!   of being refused) and the timeouts above guarantee that slots come free. Accepting and
//!   closing instead would not protect anything: the descriptors would still be spent.
//! - TCP_NODELAY, the peer address for axum's `ConnectInfo<SocketAddr>`, and a graceful shutdown
//!   (stop accepting, let connections finish for at most [`ServerLimits::shutdown_grace`]).
//!
//! Built on hyper-util's `auto` connection builder (HTTP/1.1 and h2), which is what `axum::serve`
//! uses as well, minus the knobs above that `axum::serve` does not expose.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::Service;

/// Node's `server.headersTimeout` default, which `@sap/approuter` keeps.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// `INCOMING_CONNECTION_TIMEOUT`'s documented default (2 min).
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_millis(120_000);
/// `INCOMING_REQUEST_TIMEOUT`'s documented default (5 min).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(300_000);
/// Cloud Foundry sends SIGKILL 10 s after SIGTERM.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Pause after an accept error that is not about one connection (e.g. out of file descriptors),
/// so the loop does not spin while nothing can be accepted.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The limits of one server. [`ServerLimits::from_lookup`] reads them from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time for a request head to arrive (and for a kept-alive connection to send the next one).
    pub header_read_timeout: Duration,
    /// Time for the whole request (head and body) to arrive; `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// Close a connection after this long without any byte read or written; `None`: never.
    pub connection_timeout: Option<Duration>,
    /// Connections served at once; more wait in the accept backlog.
    pub max_connections: usize,
    /// How long a shutdown waits for open connections before dropping them.
    pub shutdown_grace: Duration,
    /// Largest request head (request line and headers) read; larger ones get 431. Node's
    /// default, so `@sap/approuter`'s: a connection cannot pin a large read buffer.
    pub max_header_bytes: usize,
}

/// Node's `--max-http-header-size` default.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// hyper's smallest read buffer.
const MIN_HEADER_BYTES: usize = 8 * 1024;

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            connection_timeout: Some(DEFAULT_CONNECTION_TIMEOUT),
            max_connections: default_max_connections(),
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

/// Half the soft file-descriptor limit (each proxied request may need an outbound connection
/// too), between 16 and 10,000.
pub fn default_max_connections() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
    #[allow(unsafe_code)]
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let soft = if status == 0 { limit.rlim_cur } else { 1024 };
    usize::try_from(soft / 2)
        .unwrap_or(10_000)
        .clamp(16, 10_000)
}

impl ServerLimits {
    /// Reads `INCOMING_CONNECTION_TIMEOUT` and `INCOMING_REQUEST_TIMEOUT` (milliseconds, `0`
    /// disables, as `@sap/approuter`), `INCOMING_MAX_CONNECTIONS`, and the largest request head
    /// from `--max-http-header-size` in `NODE_OPTIONS` (where `@sap/approuter` users raise
    /// Node's 16 KiB). The header-read timeout is Node's: 60 s, or the request timeout when that
    /// is shorter.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let millis = |name: &str, default: Duration| -> Result<Option<Duration>, String> {
            match var(name) {
                None => Ok(Some(default)),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(0) => Ok(None),
                    Ok(ms) => Ok(Some(Duration::from_millis(ms))),
                    Err(_) => Err(format!(
                        "{name}: {v:?} is not a number of milliseconds (0 disables the timeout)"
                    )),
                },
            }
        };
        let request_timeout = millis("INCOMING_REQUEST_TIMEOUT", DEFAULT_REQUEST_TIMEOUT)?;
        let connection_timeout = millis("INCOMING_CONNECTION_TIMEOUT", DEFAULT_CONNECTION_TIMEOUT)?;
        let max_connections = match var("INCOMING_MAX_CONNECTIONS") {
            None => default_max_connections(),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!(
                        "INCOMING_MAX_CONNECTIONS: {v:?} is not a positive number of connections"
                    ));
                }
            },
        };
        let max_header_bytes = match var("NODE_OPTIONS") {
            None => DEFAULT_MAX_HEADER_BYTES,
            Some(options) => node_max_header_size(&options)?.unwrap_or(DEFAULT_MAX_HEADER_BYTES),
        };
        Ok(ServerLimits {
            max_header_bytes,
            header_read_timeout: request_timeout.map_or(DEFAULT_HEADER_READ_TIMEOUT, |r| {
                r.min(DEFAULT_HEADER_READ_TIMEOUT)
            }),
            request_timeout,
            connection_timeout,
            max_connections,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        })
    }

    /// [`ServerLimits::from_lookup`] on the process environment.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn connection_builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(self.max_header_bytes.max(MIN_HEADER_BYTES))
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        builder
    }
}

/// `--max-http-header-size=N` (or `... N`) in `NODE_OPTIONS`; other options are Node's business.
fn node_max_header_size(options: &str) -> Result<Option<usize>, String> {
    const FLAG: &str = "--max-http-header-size";
    let mut words = options.split_whitespace();
    while let Some(word) = words.next() {
        let value = match word.strip_prefix(FLAG) {
            Some("") => words.next(),
            Some(rest) => rest.strip_prefix('='),
            None => continue,
        };
        return match value.map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => Ok(Some(n)),
            _ => Err(format!(
                "NODE_OPTIONS: {FLAG} needs a positive number of bytes"
            )),
        };
    }
    Ok(None)
}

/// Resolves on SIGTERM (Cloud Foundry's stop signal) or Ctrl-C: every process's stop signal.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM: stopping on Ctrl-C only")
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves `router` over plain HTTP on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(
        listener,
        router,
        limits,
        shutdown,
        |tcp| async move { Ok(tcp) },
    )
    .await
}

/// Serves `router` over TLS on `listener` until `shutdown` resolves. The handshake must finish
/// within the header-read timeout.
pub async fn serve_tls(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    serve_with(listener, router, limits, shutdown, move |tcp| {
        let acceptor = acceptor.clone();
        async move { acceptor.accept(tcp).await }
    })
    .await
}

async fn serve_with<H, F, IO>(
    listener: TcpListener,
    router: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    handshake: H,
) -> io::Result<()>
where
    H: Fn(IdleTimeout<TcpStream>) -> F,
    F: Future<Output = io::Result<IO>> + Send + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = Arc::new(limits.connection_builder());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Without a free slot, do not accept: the connection waits in the kernel's backlog.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept connections");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses and the last chunk of streamed ones go out at once, not after Nagle's wait.
        let _ = tcp.set_nodelay(true);
        let io = IdleTimeout::new(tcp, limits.connection_timeout);
        let handshake = handshake(io);
        let handshake_timeout = limits.header_read_timeout;
        let request_timeout = limits.request_timeout;
        let router = router.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let io = match tokio::time::timeout(handshake_timeout, handshake).await {
                Ok(Ok(io)) => io,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |mut req| {
                req.extensions_mut().insert(ConnectInfo(peer));
                call(router.clone(), req, request_timeout)
            });
            // With upgrades: the App Router proxies WebSockets (a 101 hands the connection over).
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "connections still open after the shutdown grace period: dropping them"
        );
    }
    Ok(())
}

/// Errors that concern only the connection being accepted; the listener itself is fine.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Runs the router; with a request timeout, a request whose body is still arriving when it
/// expires is answered 408 (and the handler's work for it is dropped).
async fn call(
    mut router: Router,
    req: http::Request<hyper::body::Incoming>,
    request_timeout: Option<Duration>,
) -> Result<http::Response<Body>, Infallible> {
    let limit = match request_timeout {
        Some(limit) if !req.body().is_end_stream() => limit,
        _ => return router.call(req.map(Body::new)).await,
    };
    let received = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| {
        Body::new(Watched {
            inner: body,
            received: received.clone(),
        })
    });
    let mut response = std::pin::pin!(router.call(req));
    tokio::select! {
        biased;
        response = &mut response => response,
        () = tokio::time::sleep(limit) => {
            if received.load(Ordering::Acquire) {
                // The body is in; the handler may take as long as its own timeouts allow.
                response.await
            } else {
                Ok(request_timeout_response(limit))
            }
        }
    }
}

fn request_timeout_response(limit: Duration) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(format!(
        "408 Request Timeout: the request was not received in full within {} ms\n",
        limit.as_millis()
    )));
    *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // The rest of the body may still be on its way: the connection cannot be reused.
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

/// A request body that records when it has been read to its end.
struct Watched<B> {
    inner: B,
    received: Arc<AtomicBool>,
}

impl<B: HttpBody + Unpin> HttpBody for Watched<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Release);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection that fails with `TimedOut` once nothing has been read or written on it for the
/// given time while the server waits on it (Node's socket timeout).
pub struct IdleTimeout<T> {
    io: T,
    timeout: Option<Duration>,
    last_activity: Instant,
    /// Created the first time the connection has to wait.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> IdleTimeout<T> {
    pub fn new(io: T, timeout: Option<Duration>) -> Self {
        IdleTimeout {
            io,
            timeout,
            last_activity: Instant::now(),
            timer: None,
        }
    }

    /// Called when the inner IO is not ready: ready with an error once the connection has been
    /// idle for the timeout, else pending (with the timer registered to wake us then).
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        let deadline = self.last_activity + timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connection idle for {} ms (INCOMING_CONNECTION_TIMEOUT)",
                    timeout.as_millis()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Notes activity when the inner IO made progress; checks the idle timer when it did not.
    fn active<R>(
        &mut self,
        result: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match result {
            Poll::Ready(r) => {
                self.last_activity = Instant::now();
                Poll::Ready(r)
            }
            Poll::Pending => match self.poll_idle(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        this.active(result, cx)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        this.active(result, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.active(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_flush(cx);
        this.active(result, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn defaults_are_those_of_sap_approuter_on_node() {
        let limits = ServerLimits::from_lookup(lookup(&[])).unwrap();
        assert_eq!(limits.request_timeout, Some(Duration::from_secs(300)));
        assert_eq!(limits.connection_timeout, Some(Duration::from_secs(120)));
        assert_eq!(limits.header_read_timeout, Duration::from_secs(60));
        assert!(limits.max_connections >= 16);
        assert_eq!(limits.max_header_bytes, 16 * 1024);
    }

    #[test]
    fn node_options_raise_the_largest_request_head_as_for_node() {
        for options in [
            "--max-http-header-size=65536",
            "--enable-source-maps --max-http-header-size 65536",
        ] {
            let limits = ServerLimits::from_lookup(lookup(&[("NODE_OPTIONS", options)])).unwrap();
            assert_eq!(limits.max_header_bytes, 65536, "{options}");
        }
        let other = ServerLimits::from_lookup(lookup(&[("NODE_OPTIONS", "--inspect")])).unwrap();
        assert_eq!(other.max_header_bytes, 16 * 1024);
        let e = ServerLimits::from_lookup(lookup(&[("NODE_OPTIONS", "--max-http-header-size=x")]))
            .unwrap_err();
        assert!(e.starts_with("NODE_OPTIONS"), "{e}");
    }

    #[test]
    fn milliseconds_zero_disables_and_a_short_request_timeout_bounds_the_head() {
        let limits = ServerLimits::from_lookup(lookup(&[
            ("INCOMING_REQUEST_TIMEOUT", "1500"),
            ("INCOMING_CONNECTION_TIMEOUT", "0"),
            ("INCOMING_MAX_CONNECTIONS", "8"),
        ]))
        .unwrap();
        assert_eq!(limits.request_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(limits.header_read_timeout, Duration::from_millis(1500));
        assert_eq!(limits.connection_timeout, None);
        assert_eq!(limits.max_connections, 8);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_name() {
        for (name, value) in [
            ("INCOMING_REQUEST_TIMEOUT", "soon"),
            ("INCOMING_CONNECTION_TIMEOUT", "-1"),
            ("INCOMING_MAX_CONNECTIONS", "0"),
        ] {
            let e = ServerLimits::from_lookup(lookup(&[(name, value)])).unwrap_err();
            assert!(e.starts_with(name), "{e}");
        }
    }
}
