//! bsclient's configuration, read once at start-up from the Cloud Foundry environment only.
//!
//! | variable | meaning |
//! |---|---|
//! | `PORT` | listen port (Cloud Foundry sets it; default 8080) |
//! | `VCAP_SERVICES` | bindings: `xsuaa` (JWT validation, `/getToken` fallback) and `destination` |
//! | `BACKEND_DESTINATION` | destination name in the Destination service (default `BackendServiceAPI`) |
//! | `TOKEN_PROVIDER_CREDENTIALS` | path of the seed-003 credentials file for `/getToken` (default: the xsuaa binding's client); `here.*` keys: HERE's signed token request, other prefixes: OAuth2 client credentials |
//! | `TOKEN_PROVIDER_ALLOWED_ORIGINS` | comma-separated origins allowed to call `/getToken` cross-origin, or `*` for any (then without credentials, as seed 003) (default: none) |
//! | `TOKEN_PROVIDER_REQUIRED_SCOPE` | the scope a user's token needs for `/getToken` (default `$XSAPPNAME.TokenProvider`, the app's own scope in `xs-security.json`; `$XSAPPNAME` is the binding's xsappname) |
//! | `BSCLIENT_DISABLE_CACHE` | `true`: `/mainentry` caches nothing (service token, lookup + exchange, user token validation), like the tutorial's app (benchmark "cold"); JWKS keys stay cached, and `/getToken` of the XSUAA flavour; the HERE flavour then signs one request per call (benchmark "cold") |
//! | `BSCLIENT_UPSTREAM_TIMEOUT_MS` | total timeout of every outbound call (default 30000) |
//! | `INCOMING_REQUEST_TIMEOUT` | ms for a whole request to arrive, else 408 (default 300000; `0` disables); the request head must arrive within this or 60 s, whichever is shorter (`common::server`) |
//! | `INCOMING_CONNECTION_TIMEOUT` | ms without any traffic after which a connection is closed (default 120000; `0` disables) |
//! | `INCOMING_MAX_CONNECTIONS` | connections served at once; more wait in the accept backlog (default: half the file-descriptor limit, 16..=10000) |
//! | `SCHED_SLICE_US` | the worker threads' scheduler slice in µs (default 100, `0` = the kernel's; read by `main.rs`, see `common::runtime`) |

use common::cf::{CfError, DestinationCredentials, VcapServices, XsuaaCredentials};
use common::properties::{PropertiesError, TokenProviderCredentials};
use common::server::ServerLimits;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8080;
pub const DEFAULT_DESTINATION: &str = "BackendServiceAPI";
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Cf(#[from] CfError),
    #[error(
        "VCAP_SERVICES: bsclient needs a binding of the {service} service (label \"{label}\", e.g. instance \"{example}\"): {source}"
    )]
    MissingBinding {
        service: &'static str,
        label: &'static str,
        example: &'static str,
        source: Box<CfError>,
    },
    #[error("TOKEN_PROVIDER_CREDENTIALS: {0}")]
    Credentials(#[from] PropertiesError),
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
    /// `INCOMING_*`: the message starts with the variable's name.
    #[error("{0}")]
    ServerLimits(String),
}

/// The local name of the app's own scope that `/getToken` requires by default; the generated
/// `xs-security.json` declares `$XSAPPNAME.TokenProvider` with a role template of the same name.
pub const TOKEN_PROVIDER_SCOPE: &str = "TokenProvider";

/// `TOKEN_PROVIDER_ALLOWED_ORIGINS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Exact origins (`scheme://host[:port]`); empty: no CORS at all.
    List(Vec<String>),
    /// `*`: any page, as seed 003's `Access-Control-Allow-Origin: *`; never with credentials.
    Any,
}

/// Where `/getToken` gets its tokens from (seed 003: credentials stay on the server).
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// The properties file named by `TOKEN_PROVIDER_CREDENTIALS`.
    File {
        path: PathBuf,
        credentials: TokenProviderCredentials,
    },
    /// Client credentials of the xsuaa binding.
    XsuaaBinding,
}

#[derive(Debug, Clone)]
pub struct BsClientConfig {
    pub port: u16,
    pub xsuaa: XsuaaCredentials,
    pub destination: DestinationCredentials,
    pub backend_destination: String,
    pub token_source: TokenSource,
    /// Which pages may call `/getToken` from a browser.
    pub allowed_origins: AllowedOrigins,
    /// The scope a user's token needs for `/getToken` (expanded: `XsuaaForScenario!t1.TokenProvider`).
    pub token_provider_scope: String,
    pub disable_cache: bool,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    /// Header-read, request and idle timeouts and the connection limit of the server.
    pub server: ServerLimits,
}

impl BsClientConfig {
    /// Reads and validates the whole environment; the error names the variable and the reason.
    pub fn from_env() -> Result<Self, ConfigError> {
        let vcap = VcapServices::from_env()?;
        let port = common::cf::port_from_env(DEFAULT_PORT)?;
        Self::from_parts(vcap, port, |name| std::env::var(name).ok())
    }

    /// For tests and embedding: the bindings plus a lookup for the optional variables.
    pub fn from_parts(
        vcap: VcapServices,
        port: u16,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let xsuaa = vcap.xsuaa().map_err(|source| ConfigError::MissingBinding {
            service: "XSUAA",
            label: "xsuaa",
            example: "XsuaaForScenario",
            source: Box::new(source),
        })?;
        let destination = vcap
            .destination()
            .map_err(|source| ConfigError::MissingBinding {
                service: "Destination",
                label: "destination",
                example: "mydestination",
                source: Box::new(source),
            })?;
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let backend_destination = match var("BACKEND_DESTINATION") {
            None => DEFAULT_DESTINATION.to_owned(),
            Some(name) if valid_destination_name(&name) => name,
            Some(name) => {
                return Err(ConfigError::Invalid {
                    var: "BACKEND_DESTINATION",
                    reason: format!(
                        "\"{name}\" is not a destination name (letters, digits, '-', '_', '.', at most 200)"
                    ),
                });
            }
        };
        let token_source = match var("TOKEN_PROVIDER_CREDENTIALS") {
            None => TokenSource::XsuaaBinding,
            Some(path) => {
                let path = PathBuf::from(path);
                let credentials = TokenProviderCredentials::load(&path)?;
                TokenSource::File { path, credentials }
            }
        };
        let allowed_origins = match var("TOKEN_PROVIDER_ALLOWED_ORIGINS") {
            None => AllowedOrigins::List(Vec::new()),
            Some(any) if any == "*" => AllowedOrigins::Any,
            Some(list) => AllowedOrigins::List(parse_origins(&list).map_err(|reason| {
                ConfigError::Invalid {
                    var: "TOKEN_PROVIDER_ALLOWED_ORIGINS",
                    reason,
                }
            })?),
        };
        let token_provider_scope = {
            let raw = var("TOKEN_PROVIDER_REQUIRED_SCOPE")
                .unwrap_or_else(|| format!("$XSAPPNAME.{TOKEN_PROVIDER_SCOPE}"));
            let scope = match raw.strip_prefix("$XSAPPNAME") {
                Some(rest) => format!("{}{rest}", xsuaa.xsappname),
                None => raw.clone(),
            };
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::Invalid {
                    var: "TOKEN_PROVIDER_REQUIRED_SCOPE",
                    reason: format!("\"{raw}\" is not a scope name (no spaces)"),
                });
            }
            scope
        };
        let disable_cache = match var("BSCLIENT_DISABLE_CACHE").as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    var: "BSCLIENT_DISABLE_CACHE",
                    reason: format!("\"{v}\" is neither true nor false"),
                });
            }
        };
        let upstream_timeout = match var("BSCLIENT_UPSTREAM_TIMEOUT_MS") {
            None => DEFAULT_UPSTREAM_TIMEOUT,
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if (1..=600_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "BSCLIENT_UPSTREAM_TIMEOUT_MS",
                        reason: format!("\"{v}\" is not a number of milliseconds in 1..=600000"),
                    });
                }
            },
        };
        let server = ServerLimits::from_lookup(var).map_err(ConfigError::ServerLimits)?;

        Ok(BsClientConfig {
            port,
            xsuaa,
            destination,
            backend_destination,
            token_source,
            allowed_origins,
            token_provider_scope,
            disable_cache,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT.min(upstream_timeout),
            upstream_timeout,
            server,
        })
    }
}

fn valid_destination_name(name: &str) -> bool {
    // The name goes into a URL path segment of the Destination service.
    name.len() <= 200
        && !name.chars().all(|c| c == '.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Origins as browsers send them in `Origin`: scheme, host and optional port, no path.
fn parse_origins(list: &str) -> Result<Vec<String>, String> {
    let mut origins = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if raw == "*" {
            return Err("\"*\" must stand alone: either any origin or a list of origins".into());
        }
        let url = url::Url::parse(raw).map_err(|e| format!("\"{raw}\": {e}"))?;
        let bare = matches!(url.scheme(), "http" | "https")
            && url.host_str().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        if !bare {
            return Err(format!(
                "\"{raw}\" is not an origin (expected scheme://host[:port], e.g. https://app.example.com)"
            ));
        }
        // `Url` lower-cases the host and drops a default port, as browsers do in `Origin`.
        origins.push(url.origin().ascii_serialization());
    }
    Ok(origins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSUAA: &str = r#"{"name":"XsuaaForScenario","label":"xsuaa","tags":["xsuaa"],"credentials":{
        "clientid":"sb-x!t1","clientsecret":"s","url":"http://127.0.0.1:1","uaadomain":"localhost:2",
        "xsappname":"x!t1","identityzoneid":"z"}}"#;
    const DESTINATION: &str = r#"{"name":"mydestination","label":"destination","tags":["destination"],"credentials":{
        "clientid":"sb-d","clientsecret":"s","uri":"http://127.0.0.1:3","url":"http://127.0.0.1:1"}}"#;

    fn vcap(xsuaa: bool, destination: bool) -> VcapServices {
        let mut parts = Vec::new();
        if xsuaa {
            parts.push(format!("\"xsuaa\":[{XSUAA}]"));
        }
        if destination {
            parts.push(format!("\"destination\":[{DESTINATION}]"));
        }
        VcapServices::parse(&format!("{{{}}}", parts.join(","))).unwrap()
    }

    fn config(vars: &[(&str, &str)]) -> Result<BsClientConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BsClientConfig::from_parts(vcap(true, true), 8080, move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.backend_destination, "BackendServiceAPI");
        assert!(matches!(c.token_source, TokenSource::XsuaaBinding));
        assert_eq!(c.allowed_origins, AllowedOrigins::List(Vec::new()));
        assert_eq!(c.token_provider_scope, "x!t1.TokenProvider");
        assert!(!c.disable_cache);
        assert_eq!(c.upstream_timeout, DEFAULT_UPSTREAM_TIMEOUT);
    }

    #[test]
    fn missing_bindings_are_named() {
        let e = BsClientConfig::from_parts(vcap(true, false), 1, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"destination\"") && e.contains("mydestination"),
            "{e}"
        );
        let e = BsClientConfig::from_parts(vcap(false, true), 1, |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"xsuaa\"") && e.contains("XsuaaForScenario"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("BSCLIENT_DISABLE_CACHE", "yes"),
            ("BSCLIENT_UPSTREAM_TIMEOUT_MS", "0"),
            ("BACKEND_DESTINATION", "a/b"),
            ("TOKEN_PROVIDER_ALLOWED_ORIGINS", "https://a.example.com, *"),
            ("TOKEN_PROVIDER_REQUIRED_SCOPE", "a b"),
            (
                "TOKEN_PROVIDER_CREDENTIALS",
                "/nonexistent/bsclient-credentials.properties",
            ),
        ] {
            let e = config(&[(var, value)]).unwrap_err().to_string();
            assert!(e.starts_with(var), "{var}={value}: {e}");
        }
        assert!(
            config(&[("BSCLIENT_DISABLE_CACHE", "TRUE")])
                .unwrap()
                .disable_cache
        );
    }

    #[test]
    fn any_origin_and_the_required_scope_are_configurable() {
        let c = config(&[
            ("TOKEN_PROVIDER_ALLOWED_ORIGINS", " * "),
            ("TOKEN_PROVIDER_REQUIRED_SCOPE", "$XSAPPNAME.Display"),
        ])
        .unwrap();
        assert_eq!(c.allowed_origins, AllowedOrigins::Any);
        assert_eq!(c.token_provider_scope, "x!t1.Display");
        let c = config(&[("TOKEN_PROVIDER_REQUIRED_SCOPE", "uaa.user")]).unwrap();
        assert_eq!(c.token_provider_scope, "uaa.user");
    }

    #[test]
    fn origins_are_normalised_like_browsers_send_them() {
        assert_eq!(
            parse_origins("https://App.example.com, http://localhost:3000/ ,https://x.io:443")
                .unwrap(),
            vec![
                "https://app.example.com",
                "http://localhost:3000",
                "https://x.io"
            ]
        );
    }

    #[test]
    fn non_origins_are_rejected() {
        for bad in [
            "*",
            "app.example.com",
            "https://a.example.com/path",
            "ftp://a.example.com",
            "https://a.example.com?x=1",
            "https://user@a.example.com",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad} must be rejected");
        }
    }

    #[test]
    fn destination_names_stay_one_path_segment() {
        assert!(valid_destination_name("BackendServiceAPI"));
        assert!(valid_destination_name("my-dest_1.v2"));
        assert!(!valid_destination_name("../x"));
        assert!(!valid_destination_name(".."));
        assert!(!valid_destination_name("a/b"));
        assert!(!valid_destination_name("a b"));
    }
}
