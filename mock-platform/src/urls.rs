//! Where the services are reachable, known once the listeners are bound.

/// Where the services are reachable (known once the listeners are bound).
#[derive(Debug, Clone)]
pub struct Urls {
    /// `http://127.0.0.1:P`: the binding's `url`, the token issuer.
    pub xsuaa: String,
    /// `https://localhost:P`: what SAP's libraries call (`https://{uaadomain}`).
    pub xsuaa_tls: Option<String>,
    pub destination: String,
    pub backend: String,
}

impl Urls {
    /// `localhost:P` when TLS is on (SAP's libraries build `https://{uaadomain}`), else the http host.
    pub fn uaadomain(&self) -> String {
        let url = self.xsuaa_tls.as_deref().unwrap_or(&self.xsuaa);
        url.split_once("://")
            .map(|(_, h)| h)
            .unwrap_or(url)
            .trim_end_matches('/')
            .to_string()
    }

    pub fn issuer(&self) -> String {
        format!("{}/oauth/token", self.xsuaa)
    }
}
