//! Who is asking and under which origin the browser sees the router.
//!
//! `X-Forwarded-*` headers are believed only when the TCP peer is a configured trusted proxy
//! (`TRUSTED_PROXIES`; on Cloud Foundry the gorouter). From anybody else they are ignored, and
//! every spelling of them is stripped before the request goes to a backend.

use crate::error::Error;
use axum::http::{HeaderMap, header};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// CIDR blocks (or single addresses) whose `X-Forwarded-*` headers are trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    blocks: Vec<IpNet>,
    all: bool,
}

impl TrustedProxies {
    /// `a.b.c.d`, `a.b.c.d/n`, IPv6 likewise, comma separated; `*` trusts every peer.
    pub fn parse(text: &str, variable: &str) -> Result<Self, Error> {
        let mut out = TrustedProxies::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                out.all = true;
                continue;
            }
            let (addr, len) = match item.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (item, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| {
                Error::Config(format!(
                    "{variable}: {item:?} is not an IP address or CIDR block"
                ))
            })?;
            // Parsed in two steps (not `IpNet::from_str`) so the message says which half is wrong.
            let block = match len {
                None => IpNet::from(addr),
                Some(l) => l
                    .parse::<u8>()
                    .ok()
                    .and_then(|l| IpNet::new(addr, l).ok())
                    .ok_or_else(|| {
                        Error::Config(format!("{variable}: {item:?} has an invalid prefix length"))
                    })?,
            };
            out.blocks.push(block);
        }
        Ok(out)
    }

    /// The private networks a Cloud Foundry gorouter talks to app containers from.
    pub fn private_networks() -> Self {
        Self::parse(
            "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8",
            "default",
        )
        .unwrap_or_default()
    }

    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.all || self.blocks.iter().any(|block| block.contains(&peer))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The request as the browser made it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `http` or `https`.
    pub proto: &'static str,
    /// Host (and port) the browser used.
    pub host: String,
    /// The client's address and, from trusted proxies, the chain before it: the
    /// `x-forwarded-for` value for the backend.
    pub forwarded_for: Option<String>,
    /// The cookie must be `Secure`: the browser talks https to whoever is in front of us.
    pub https_to_browser: bool,
}

impl Origin {
    pub fn from_request(
        headers: &HeaderMap,
        authority: Option<&str>,
        peer: Option<SocketAddr>,
        trusted: &TrustedProxies,
    ) -> Result<Self, Error> {
        let peer_ip = peer.map(|p| canonical(p.ip()));
        let from_proxy = peer_ip.is_some_and(|ip| trusted.trusts(ip));
        let first = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let claimed_proto = first("x-forwarded-proto").map(str::to_ascii_lowercase);
        let proto = match (&claimed_proto, from_proxy) {
            (Some(p), true) if p == "https" => "https",
            _ => "http",
        };
        let host = match (first("x-forwarded-host"), from_proxy) {
            (Some(h), true) => h.to_string(),
            _ => headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| authority.map(str::to_string))
                .ok_or_else(|| Error::BadRequest("the request has no Host header".into()))?,
        };
        if !valid_host(&host) {
            return Err(Error::BadRequest("invalid Host header".into()));
        }
        let forwarded_for = match peer_ip {
            None => None,
            Some(ip) => {
                let client_chain = headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(", ");
                if from_proxy && !client_chain.trim().is_empty() {
                    Some(format!("{client_chain}, {ip}"))
                } else {
                    Some(ip.to_string())
                }
            }
        };
        // A client that claims https only makes its own cookie stricter, so the claim is enough.
        let https_to_browser = proto == "https" || claimed_proto.as_deref() == Some("https");
        Ok(Origin {
            proto,
            host,
            forwarded_for,
            https_to_browser,
        })
    }

    pub fn base_url(&self) -> String {
        format!("{}://{}", self.proto, self.host)
    }
}

/// `host` or `host:port`, a bracketed IPv6 literal allowed; nothing that could change the meaning
/// of a URL built from it, and nothing that makes that URL invalid (`host:99999`, `a:b:c`, found
/// by the property tests).
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        })
        && url::Url::parse(&format!("http://{host}/")).is_ok()
}

/// Request headers that claim an identity, an origin or a route: set by the router only. Compared
/// after lower-casing and mapping `_` to `-`, because some servers read `X_Forwarded_For` as
/// `X-Forwarded-For`.
pub const IDENTITY_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-path",
    "x-forwarded-prefix",
    "x-forwarded-server",
    "x-forwarded-ssl",
    "x-forwarded-scheme",
    "x-forwarded-uri",
    "x-forwarded",
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-cluster-client-ip",
    "x-original-url",
    "x-original-host",
    "x-rewrite-url",
    "x-user-token",
    // Service to App Router: the router validated it and forwards it as `Authorization`.
    "x-approuter-authorization",
    "x-approuter-authorization",
    "x-remote-user",
    "remote-user",
    "x-authenticated-user",
    "x-user-id",
    "x-user-name",
    "x-jwt-assertion",
    "x-correlation-id-user",
];

pub fn is_identity_header(name: &str) -> bool {
    if !name.contains('_') {
        return IDENTITY_HEADERS.contains(&name);
    }
    let normalized = name.replace('_', "-");
    IDENTITY_HEADERS.contains(&normalized.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn cidr_blocks_and_mapped_addresses() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7, ::1", "TRUSTED_PROXIES").unwrap();
        assert!(t.trusts("10.255.0.1".parse().unwrap()));
        assert!(t.trusts("192.168.1.7".parse().unwrap()));
        assert!(!t.trusts("192.168.1.8".parse().unwrap()));
        assert!(t.trusts("::1".parse().unwrap()));
        assert!(t.trusts("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!t.trusts("127.0.0.1".parse().unwrap()));
        // Host bits in a block do not matter; IPv6 blocks work like IPv4 ones.
        let t = TrustedProxies::parse("10.1.2.3/8, fd00::/8", "X").unwrap();
        assert!(t.trusts("10.9.9.9".parse().unwrap()));
        assert!(t.trusts("fd12::1".parse().unwrap()));
        assert!(!t.trusts("fe80::1".parse().unwrap()));
        assert!(TrustedProxies::parse("10.0.0.0/33", "X").is_err());
        assert!(TrustedProxies::parse("::/129", "X").is_err());
        assert!(TrustedProxies::parse("nonsense", "X").is_err());
    }

    #[test]
    fn forwarded_headers_from_untrusted_peers_are_ignored() {
        let h = headers(&[
            ("host", "router.local:5000"),
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let o = Origin::from_request(&h, None, Some(peer), &TrustedProxies::default()).unwrap();
        assert_eq!(o.base_url(), "http://router.local:5000");
        assert_eq!(o.forwarded_for.as_deref(), Some("127.0.0.1"));
        assert!(
            o.https_to_browser,
            "a claimed https still makes the cookie Secure"
        );
    }

    #[test]
    fn forwarded_headers_from_trusted_proxies_are_used() {
        let h = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-host", "shelf.cfapps.example"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let peer: SocketAddr = "10.0.1.1:40000".parse().unwrap();
        let o = Origin::from_request(&h, None, Some(peer), &TrustedProxies::private_networks())
            .unwrap();
        assert_eq!(o.base_url(), "https://shelf.cfapps.example");
        assert_eq!(o.forwarded_for.as_deref(), Some("203.0.113.9, 10.0.1.1"));
    }

    #[test]
    fn bad_hosts_are_refused() {
        let h = headers(&[("host", "evil.example/x")]);
        assert!(Origin::from_request(&h, None, None, &TrustedProxies::default()).is_err());
    }

    #[test]
    fn identity_headers_in_every_spelling() {
        assert!(is_identity_header("x-forwarded-for"));
        assert!(is_identity_header("x_forwarded_for"));
        assert!(is_identity_header("x-user-token"));
        assert!(is_identity_header("x_user-token"));
        assert!(!is_identity_header("x-request-id"));
    }
}
