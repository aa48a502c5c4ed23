//! The one way to build an outbound HTTP client: rustls, a connect timeout and a total timeout on
//! every call, so a hung upstream never hangs a request of ours.
//!
//! [`client`] (reqwest) is for the calls that need its conveniences (forms, JSON, proxies);
//! [`pooled_client`] (hyper) for the hot path that calls one upstream per request, whose caller
//! puts the timeout around each call itself.

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// What upstreams see from every outbound call of ours; [`pooled_client`] callers set it themselves.
pub const USER_AGENT: &str = concat!("btp-scenario-common/", env!("CARGO_PKG_VERSION"));

/// reqwest client with rustls, connect timeout 5 s, total timeout 30 s.
pub fn client() -> reqwest::Client {
    client_with_timeouts(CONNECT_TIMEOUT, TOTAL_TIMEOUT)
}

/// Like [`client`] with explicit timeouts. Extra CA certificates are read from `SSL_CERT_FILE`
/// (a PEM bundle) when set, so a local platform with its own CA (the mock XSUAA's TLS listener)
/// is trusted the same way Node's `NODE_EXTRA_CA_CERTS` trusts it.
pub fn client_with_timeouts(connect: Duration, total: Duration) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(connect)
        .timeout(total)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .user_agent(USER_AGENT);
    for cert in extra_root_certificates() {
        builder = builder.add_root_certificate(cert);
    }
    // Building only fails when the TLS backend cannot initialise, which is a broken build, not bad input.
    builder
        .build()
        .expect("reqwest client with rustls must build")
}

/// hyper's pooled client over rustls (for `https` URLs), HTTP/1.1.
pub type PooledClient<B> =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, B>;

/// How long an unused pooled connection is kept: below the 60 s after which our servers close an
/// idle kept-alive connection (`common::server`), so a request is never sent on a connection the
/// server is closing at that moment.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// hyper's pooled HTTP/1.1 client, trusting the webpki roots plus `SSL_CERT_FILE` as [`client`]
/// does, with `connect` as its connect timeout and no other: the caller bounds each call. A proxy
/// or an app that calls one upstream per request pays mostly for its client; this one has no
/// per-request URL parsing, redirect, retry or timeout layers.
pub fn pooled_client<B>(connect: Duration) -> Result<PooledClient<B>, String>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_root_certificates_der() {
        if let Err(e) = roots.add(cert) {
            tracing::warn!(error = %e, "SSL_CERT_FILE: a certificate rustls does not accept, ignored");
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS set-up: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = HttpConnector::new();
    // https URLs go through the TLS layer on top, which needs the plain connector to take them.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(https),
    )
}

/// The certificates of `SSL_CERT_FILE`, plus `NODE_EXTRA_CA_CERTS` and `XS_CACERT_PATH` (the
/// names `@sap/approuter` users set; the latter may list several files separated by `:`). An
/// unreadable or malformed file is reported and ignored as a whole.
fn extra_root_certificates_der() -> Vec<CertificateDer<'static>> {
    let mut files: Vec<(&str, std::ffi::OsString)> = Vec::new();
    for var in ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"] {
        if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            files.push((var, path));
        }
    }
    if let Some(list) = std::env::var_os("XS_CACERT_PATH") {
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            files.push(("XS_CACERT_PATH", path.into_os_string()));
        }
    }
    let mut out = Vec::new();
    for (var, path) in files {
        let pem = match std::fs::read(&path) {
            Ok(pem) => pem,
            Err(e) => {
                tracing::warn!(file = ?path, error = %e, "{var}: cannot read, ignored");
                continue;
            }
        };
        match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
            Ok(certs) => out.extend(certs),
            Err(e) => {
                tracing::warn!(file = ?path, error = %e, "{var}: not a PEM bundle, ignored");
            }
        }
    }
    out
}

fn extra_root_certificates() -> Vec<reqwest::Certificate> {
    extra_root_certificates_der()
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}
