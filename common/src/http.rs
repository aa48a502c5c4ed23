//! The one way to build an outbound HTTP client: rustls, a connect timeout and a total timeout on
//! every call, so a hung upstream never hangs a request of ours.

use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

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
        .user_agent(concat!("btp-scenario-common/", env!("CARGO_PKG_VERSION")));
    for cert in extra_root_certificates() {
        builder = builder.add_root_certificate(cert);
    }
    // Building only fails when the TLS backend cannot initialise, which is a broken build, not bad input.
    builder
        .build()
        .expect("reqwest client with rustls must build")
}

fn extra_root_certificates() -> Vec<reqwest::Certificate> {
    let Some(path) = std::env::var_os("SSL_CERT_FILE") else {
        return Vec::new();
    };
    match std::fs::read(&path) {
        Ok(pem) => match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) => certs,
            Err(e) => {
                tracing::warn!(file = ?path, error = %e, "SSL_CERT_FILE: not a PEM bundle, ignored");
                Vec::new()
            }
        },
        Err(e) => {
            tracing::warn!(file = ?path, error = %e, "SSL_CERT_FILE: cannot read, ignored");
            Vec::new()
        }
    }
}
