//! Cloud Foundry environment: `VCAP_SERVICES`, `VCAP_APPLICATION`, `PORT` and the App Router's
//! `destinations` variable, parsed once at start-up into typed values with errors that name the
//! variable, the binding and the field.

mod binding;
mod credentials;
mod destinations;
mod error;

pub use binding::ServiceBinding;
use credentials::typed_credentials;
pub use credentials::{DestinationCredentials, XsuaaCredentials};
pub use destinations::{AppRouterDestination, destinations_from_env, parse_destinations};
pub use error::CfError;

use serde::Deserialize;
use std::collections::BTreeMap;

const VCAP_SERVICES: &str = "VCAP_SERVICES";

/// `VCAP_SERVICES`: `{label: [binding, ...]}`.
#[derive(Debug, Clone, Default)]
pub struct VcapServices {
    by_label: BTreeMap<String, Vec<ServiceBinding>>,
}

impl VcapServices {
    /// Reads `VCAP_SERVICES`; a missing variable is an error naming it.
    pub fn from_env() -> Result<Self, CfError> {
        match std::env::var(VCAP_SERVICES) {
            Ok(json) => Self::parse(&json),
            Err(_) => Err(CfError::MissingVariable {
                var: VCAP_SERVICES.into(),
            }),
        }
    }

    pub fn parse(json: &str) -> Result<Self, CfError> {
        let raw: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| CfError::InvalidJson {
                var: VCAP_SERVICES.into(),
                reason: e.to_string(),
            })?;
        let mut by_label = BTreeMap::new();
        for (label, entries) in raw {
            let serde_json::Value::Array(entries) = entries else {
                return Err(CfError::Invalid {
                    var: VCAP_SERVICES.into(),
                    reason: format!("label \"{label}\": expected an array of bindings"),
                });
            };
            let mut bindings = Vec::with_capacity(entries.len());
            for (i, entry) in entries.into_iter().enumerate() {
                let mut binding: ServiceBinding =
                    serde_json::from_value(entry).map_err(|e| CfError::Invalid {
                        var: VCAP_SERVICES.into(),
                        reason: format!("binding {} of label \"{label}\": {e}", i + 1),
                    })?;
                if binding.label.is_empty() {
                    binding.label = label.clone();
                }
                bindings.push(binding);
            }
            by_label.insert(label, bindings);
        }
        Ok(VcapServices { by_label })
    }

    pub fn bindings(&self) -> impl Iterator<Item = &ServiceBinding> {
        self.by_label.values().flatten()
    }

    /// Like `cfenv.getServiceCreds` / `@sap/xsenv`: by instance name, then label, then tag.
    pub fn find(&self, query: &str) -> Option<&ServiceBinding> {
        self.bindings()
            .find(|b| b.name == query || b.instance_name.as_deref() == Some(query))
            .or_else(|| self.bindings().find(|b| b.label == query))
            .or_else(|| self.bindings().find(|b| b.has_tag(query)))
    }

    /// The single binding with this label, else the single binding with this tag.
    pub fn find_unique(&self, label_or_tag: &str) -> Result<&ServiceBinding, CfError> {
        let by_label: Vec<_> = self
            .bindings()
            .filter(|b| b.label == label_or_tag)
            .collect();
        let found = if by_label.is_empty() {
            self.bindings()
                .filter(|b| b.has_tag(label_or_tag))
                .collect()
        } else {
            by_label
        };
        match found.as_slice() {
            [one] => Ok(one),
            [] => Err(CfError::NoBinding {
                query: label_or_tag.into(),
                bound: self.describe_all(),
            }),
            many => Err(CfError::AmbiguousBinding {
                query: label_or_tag.into(),
                bound: many
                    .iter()
                    .map(|b| b.describe())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    fn describe_all(&self) -> String {
        let all: Vec<String> = self.bindings().map(ServiceBinding::describe).collect();
        if all.is_empty() {
            "none".into()
        } else {
            all.join(", ")
        }
    }

    /// The xsuaa binding (label or tag `xsuaa`).
    pub fn xsuaa(&self) -> Result<XsuaaCredentials, CfError> {
        let binding = self.find_unique("xsuaa")?;
        xsuaa_credentials(binding)
    }

    /// The xsuaa binding named `name` (`UAA_SERVICE_NAME` of `@sap/approuter`): for apps bound
    /// to more than one xsuaa instance.
    pub fn xsuaa_named(&self, name: &str) -> Result<XsuaaCredentials, CfError> {
        let binding = self
            .bindings()
            .find(|b| b.name == name || b.instance_name.as_deref() == Some(name))
            .ok_or_else(|| CfError::Invalid {
                var: "UAA_SERVICE_NAME".into(),
                reason: format!(
                    "no binding named {name:?} in VCAP_SERVICES (bound: {})",
                    self.describe_all()
                ),
            })?;
        xsuaa_credentials(binding)
    }

    /// The Destination service binding (label or tag `destination`).
    pub fn destination(&self) -> Result<DestinationCredentials, CfError> {
        let binding = self.find_unique("destination")?;
        typed_credentials(
            binding,
            &["clientid", "clientsecret", "uri", "url"],
            &["uaadomain", "xsappname"],
            &["uri", "url"],
        )
    }

    /// A Redis URI from a binding whose label contains `redis` or that is tagged `redis`:
    /// `credentials.uri`, else built from `hostname`, `port`, `password` (and `tls`).
    pub fn redis_uri(&self) -> Option<String> {
        let b = self
            .bindings()
            .find(|b| b.label.contains("redis") || b.has_tag("redis"))?;
        let c = &b.credentials;
        // An empty `uri` is no address: fall back to host and port rather than hand the
        // session store an empty URL (which fails later with a less clear message).
        if let Some(uri) = c
            .get("uri")
            .and_then(|v| v.as_str())
            .filter(|u| !u.trim().is_empty())
        {
            return Some(uri.to_owned());
        }
        let host = c.get("hostname").or_else(|| c.get("host"))?.as_str()?;
        let port = match c.get("port")? {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => return None,
        };
        let scheme = if c.get("tls").and_then(|v| v.as_bool()) == Some(true) {
            "rediss"
        } else {
            "redis"
        };
        let auth = match c.get("password").and_then(|v| v.as_str()) {
            Some(p) if !p.is_empty() => format!(
                ":{}@",
                percent_encoding::utf8_percent_encode(p, percent_encoding::NON_ALPHANUMERIC)
            ),
            _ => String::new(),
        };
        Some(format!("{scheme}://{auth}{host}:{port}"))
    }
}

/// `PORT`, or `default` when unset. Port 0 (any free port) is allowed.
pub fn port_from_env(default: u16) -> Result<u16, CfError> {
    port_from_vars(std::env::vars(), default)
}

pub(crate) fn port_from_vars(
    vars: impl Iterator<Item = (String, String)>,
    default: u16,
) -> Result<u16, CfError> {
    #[derive(Deserialize)]
    struct PortEnv {
        port: Option<String>,
    }
    let env: PortEnv =
        envy::from_iter(vars.filter(|(k, _)| k == "PORT")).map_err(|e| CfError::Invalid {
            var: "PORT".into(),
            reason: e.to_string(),
        })?;
    match env.port {
        None => Ok(default),
        Some(raw) => raw.trim().parse::<u16>().map_err(|_| CfError::Invalid {
            var: "PORT".into(),
            reason: format!("\"{raw}\" is not a port number (0-65535)"),
        }),
    }
}

/// `VCAP_APPLICATION` (the fields we use).
#[derive(Debug, Clone, Deserialize)]
pub struct VcapApplication {
    #[serde(default)]
    pub application_name: Option<String>,
    #[serde(default)]
    pub application_uris: Vec<String>,
    #[serde(default)]
    pub space_name: Option<String>,
    #[serde(default)]
    pub organization_name: Option<String>,
}

impl VcapApplication {
    /// `None` when `VCAP_APPLICATION` is not set (running locally).
    pub fn from_env() -> Result<Option<Self>, CfError> {
        match std::env::var("VCAP_APPLICATION") {
            Ok(json) => Self::parse(&json).map(Some),
            Err(_) => Ok(None),
        }
    }

    pub fn parse(json: &str) -> Result<Self, CfError> {
        serde_json::from_str(json).map_err(|e| CfError::InvalidJson {
            var: "VCAP_APPLICATION".into(),
            reason: e.to_string(),
        })
    }
}

/// An xsuaa binding's credentials: what is required, what is read when present, which are URLs.
fn xsuaa_credentials(binding: &ServiceBinding) -> Result<XsuaaCredentials, CfError> {
    typed_credentials(
        binding,
        &["clientid", "clientsecret", "url", "uaadomain", "xsappname"],
        &[
            "identityzone",
            "identityzoneid",
            "tenantid",
            "zoneid",
            "verificationkey",
            "tenantmode",
        ],
        &["url"],
    )
}

#[cfg(test)]
mod tests;
