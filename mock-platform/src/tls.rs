//! The https listener of the mock XSUAA. SAP's libraries hard-code `https://{uaadomain}`, so a
//! CA and a certificate for `localhost`/`127.0.0.1` are generated at start (rcgen, ring); clients
//! trust the CA through `NODE_EXTRA_CA_CERTS` / `SSL_CERT_FILE` or `reqwest::Certificate`.

use crate::error::Error;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;

pub struct TlsMaterial {
    /// The CA certificate (PEM) clients must trust.
    pub ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl TlsMaterial {
    /// `subdomain`: the zone's, for `https://{subdomain}.localhost`, where SAP's libraries send
    /// token requests of that zone (e.g. `@sap/approuter`'s token exchange).
    pub fn generate(subdomain: &str) -> Result<Self, Error> {
        let fail = |e: rcgen::Error| Error::startup("cannot create the TLS certificate", e);
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "mock-platform local CA");
        ca.distinguished_name
            .push(DnType::OrganizationName, "mock-platform");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().map_err(fail)?;
        let ca_cert = ca.self_signed(&ca_key).map_err(fail)?;

        let mut leaf = CertificateParams::new(vec![
            "localhost".to_string(),
            format!("{subdomain}.localhost"),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])
        .map_err(fail)?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let leaf_key = KeyPair::generate().map_err(fail)?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).map_err(fail)?;

        Ok(Self {
            ca_pem: ca_cert.pem(),
            chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            key_der: leaf_key.serialize_der(),
        })
    }

    /// A rustls server config on ring (never aws-lc).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, Error> {
        let fail = |e: rustls::Error| Error::startup("TLS configuration", e);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(fail)?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .map_err(fail)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
