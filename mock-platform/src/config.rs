//! The mock platform's YAML configuration (`--config`), and the built-in default made from
//! `scenario.yaml` (the tutorial's platform).
//!
//! ```yaml
//! zone: { subdomain: scenario, id: 7c1a...-... }      # identity zone = subaccount = tenant
//! xsuaa:
//!   token_validity_seconds: 43199                   # default access token lifetime
//!   keys_pem: keys.pem                              # optional: stable signing key (PKCS#1 or PKCS#8)
//!   apps:                                           # one XSUAA application each (`cf create-service xsuaa application`)
//!     - instance: XsuaaForScenario                  # service instance name; apps with one appear in VCAP_SERVICES
//!       tenant_index: 1                             # xsappname gets "!t1"
//!       xs_security_file: xs-security.json          # or `xs_security: {...}` inline
//!       clientsecret: s3cret                        # optional (random otherwise)
//!       token_validity_seconds: 60                  # optional, overrides xs-security.json's token-validity
//!   role_collections:
//!     - name: BackendServiceAllAccess
//!       roles: [{ app: Backend-service, template: AllAccess }]
//!   users:
//!     - { name: alice, password: alice-pass, email: alice@example.com, given_name: Alice,
//!         family_name: A, role_collections: [BackendServiceAllAccess] }
//! destination:
//!   instances:
//!     - name: mydestination                         # `cf create-service destination lite mydestination -c init.json`
//!       init_data_file: init.json                   # or `init_data: {...}` inline
//! backend:
//!   required_scope: Backend-service!t6131.AllAccess
//!   properties: [{ name: ProductID, type: Edm.Int32, key: true }, { name: Name, type: Edm.String }]
//!   data: [{ ProductID: 1, Name: Notebook }]
//! ```
//!
//! Destination property values may use placeholders filled in once the listeners are bound:
//! `{{xsuaa.url}}`, `{{xsuaa.tls_url}}`, `{{backend.url}}`, `{{destination.url}}`,
//! `{{<xsuaa instance>.clientid}}`, `{{<xsuaa instance>.clientsecret}}`.

use common::names::{ScenarioNames, TOKEN_PROVIDER_SCOPE};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A configuration mistake: which file, which key, and what is wrong.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{file}: {key}: {reason}")]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

pub const BUILTIN_ORIGIN: &str = "built-in config (from scenario.yaml)";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    #[serde(default)]
    pub zone: ZoneConfig,
    pub xsuaa: XsuaaConfig,
    #[serde(default)]
    pub destination: DestinationServiceConfig,
    pub backend: BackendConfig,
    /// The HERE-style token endpoint (seed 003's token provider).
    #[serde(default)]
    pub here: HereConfig,
    /// The file this came from, for error messages.
    #[serde(skip)]
    pub origin: String,
    /// Relative file names (`xs_security_file`, `init_data_file`, `keys_pem`) are relative to this.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// The mock HERE token endpoint: the access keys it knows and how it bounds token lifetimes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HereConfig {
    /// `here.access.key.id` / `here.access.key.secret` pairs the endpoint accepts.
    #[serde(default = "default_here_keys")]
    pub access_keys: Vec<HereAccessKey>,
    /// `expiresIn` is clamped to this, as HERE does (24 h).
    #[serde(default = "default_here_max_expires_in")]
    pub max_expires_in: u64,
    /// `oauth_timestamp` must be this close to the server's clock (HERE: 5 minutes).
    #[serde(default = "default_here_window")]
    pub timestamp_window_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HereAccessKey {
    pub id: String,
    pub secret: String,
    /// `here.user.id` of the key's owner (what the demo endpoint answers).
    #[serde(default = "default_here_user")]
    pub user_id: String,
}

impl Default for HereConfig {
    fn default() -> Self {
        HereConfig {
            access_keys: default_here_keys(),
            max_expires_in: default_here_max_expires_in(),
            timestamp_window_seconds: default_here_window(),
        }
    }
}

fn default_here_keys() -> Vec<HereAccessKey> {
    // Only RFC 3986 unreserved characters, like real HERE keys: HERE's own JS client signs with the
    // raw secret where RFC 5849 wants it percent-encoded, and the two agree only on such secrets.
    vec![HereAccessKey {
        id: "MockHereAccessKey-1".into(),
        secret: "mock-here-secret_0123456789-abcdefghijklmnopqrstuvwxyz_ABCDEFG".into(),
        user_id: default_here_user(),
    }]
}

fn default_here_user() -> String {
    "HERE-00000000-0000-4000-8000-000000000001".into()
}

fn default_here_max_expires_in() -> u64 {
    86_400
}

fn default_here_window() -> u64 {
    300
}

/// The identity zone. On BTP zone id = tenant id = subaccount id for a dedicated app.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// `identityzone` in the binding, `ext_attr.zdn` in tokens.
    #[serde(default = "default_subdomain")]
    pub subdomain: String,
    /// `zid` in tokens, `identityzoneid`/`tenantid`/`zoneid` in the binding.
    #[serde(default = "default_zone_id")]
    pub id: String,
}

fn default_subdomain() -> String {
    "scenario".into()
}

fn default_zone_id() -> String {
    "6f1c2a4e-7d3b-4b8e-9a51-0c2d5e8f4a17".into()
}

impl Default for ZoneConfig {
    fn default() -> Self {
        Self {
            subdomain: default_subdomain(),
            id: default_zone_id(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XsuaaConfig {
    /// Signing key (PEM, PKCS#1 or PKCS#8). Without it a 2048-bit key is generated at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_pem: Option<PathBuf>,
    /// Access token lifetime when neither the app nor its `xs-security.json` sets one (XSUAA: 12 h).
    #[serde(default = "default_token_validity")]
    pub token_validity_seconds: i64,
    #[serde(default = "default_refresh_validity")]
    pub refresh_token_validity_seconds: i64,
    /// How long an authorization code can be redeemed (once).
    #[serde(default = "default_code_validity")]
    pub code_validity_seconds: i64,
    /// Lifetime of the XSUAA login session (the browser is not asked again within it).
    #[serde(default = "default_session_validity")]
    pub session_validity_seconds: i64,
    pub apps: Vec<AppConfig>,
    #[serde(default)]
    pub role_collections: Vec<RoleCollectionConfig>,
    pub users: Vec<UserConfig>,
}

fn default_token_validity() -> i64 {
    43199
}
fn default_refresh_validity() -> i64 {
    604800
}
fn default_code_validity() -> i64 {
    300
}
fn default_session_validity() -> i64 {
    1800
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Service instance name (`cf create-service xsuaa application <instance>`). Apps with an
    /// instance are in `VCAP_SERVICES`; apps without one (e.g. the Backend API's own app) are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The platform's `!t<n>` suffix.
    pub tenant_index: u32,
    /// `xs-security.json` inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xs_security: Option<Value>,
    /// `xs-security.json` as a file, as passed to `cf create-service ... -c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xs_security_file: Option<PathBuf>,
    /// Fixed client secret; random per start when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clientsecret: Option<String>,
    /// Overrides `oauth2-configuration.token-validity` (may be tiny or negative, for tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_validity_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleCollectionConfig {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub roles: Vec<RoleRef>,
}

/// A role made from role template `template` of app `app` (xsappname, with or without `!t<n>`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleRef {
    pub app: String,
    pub template: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Login name (`user_name`).
    pub name: String,
    pub password: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// `user_id`/`sub`; a stable GUID derived from the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Identity provider (`origin` claim).
    #[serde(default = "default_origin")]
    pub origin: String,
    pub role_collections: Vec<String>,
    /// `xs.user.attributes`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
}

fn default_origin() -> String {
    "sap.default".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DestinationServiceConfig {
    #[serde(default)]
    pub instances: Vec<DestinationInstanceConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DestinationInstanceConfig {
    /// Service instance name (`cf create-service destination lite <name>`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clientsecret: Option<String>,
    /// The `-c` parameters inline: `{"init_data": {"subaccount": {...}, "instance": {...}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_data_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// Scope every request's token must carry, as it appears in tokens.
    pub required_scope: String,
    /// Service name in `/odata/v2/<service>/` and the EDM namespace.
    #[serde(default = "default_service")]
    pub service: String,
    #[serde(default = "default_entity_set")]
    pub entity_set: String,
    #[serde(default = "default_entity_type")]
    pub entity_type: String,
    pub properties: Vec<PropertyConfig>,
    /// Initial entities (state is kept for the life of the process).
    #[serde(default)]
    pub data: Vec<serde_json::Map<String, Value>>,
}

fn default_service() -> String {
    "ProductService".into()
}
fn default_entity_set() -> String {
    "Products".into()
}
fn default_entity_type() -> String {
    "Product".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyConfig {
    pub name: String,
    /// `Edm.String`, `Edm.Int32`, `Edm.Int64`, `Edm.Decimal`, `Edm.Double` or `Edm.Boolean`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key: bool,
    #[serde(default = "yes")]
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

fn yes() -> bool {
    true
}

impl MockConfig {
    /// The tutorial's platform, with the names of the shipped `scenario.yaml`.
    pub fn builtin() -> Self {
        Self::from_names(&ScenarioNames::builtin())
    }

    /// The tutorial's platform with the names of a `scenario.yaml`: the apps `XsuaaForScenario`
    /// (scope `uaa.user`, foreign scope reference to the backend's `AllAccess`) and `Backend-service`
    /// (scope `AllAccess`), a role collection for each, the demo users, the destination instance
    /// with `BackendServiceAPI` (`OAuth2UserTokenExchange`) and the product catalogue.
    pub fn from_names(names: &ScenarioNames) -> Self {
        let app = &names.xsuaa.xsappname;
        let backend = &names.backend.xsappname;
        let scope = &names.backend.scope;
        let backend_scope = names.backend_scope();
        let app_xs_security = json!({
            "xsappname": app,
            "tenant-mode": "dedicated",
            "description": "XSUAA for Backend service and TokenExchange",
            "scopes": [{
                "name": "uaa.user",
                "description": "Scope for UAA user, required by Token Exchange Destination Type"
            }, {
                "name": format!("$XSAPPNAME.{TOKEN_PROVIDER_SCOPE}"),
                "description": "Get a token from the token provider (bsclient /getToken)"
            }],
            "foreign-scope-references": [backend_scope],
            "role-templates": [{
                "name": "RoleTemplate_UaaUser",
                "description": "Role template for Destination type 'Token Exchange'. Contains UAA user scope.",
                "scope-references": ["uaa.user"]
            }, {
                "name": TOKEN_PROVIDER_SCOPE,
                "description": "Get a token from the token provider",
                "scope-references": [format!("$XSAPPNAME.{TOKEN_PROVIDER_SCOPE}")]
            }],
            "oauth2-configuration": {
                // Apps run on free ports locally.
                "redirect-uris": ["http://127.0.0.1:*/**", "http://localhost:*/**"]
            }
        });
        let backend_xs_security = json!({
            "xsappname": backend,
            "tenant-mode": "dedicated",
            "description": "Backend service API",
            "scopes": [{
                "name": format!("$XSAPPNAME.{scope}"),
                "description": "Full access to the Backend service API",
                "granted-apps": [format!("$XSAPPNAME(application,{app})")]
            }],
            "role-templates": [{
                "name": scope,
                "description": "Full access to the Backend service API",
                "scope-references": [format!("$XSAPPNAME.{scope}")]
            }]
        });
        let init_data = json!({
            "init_data": {
                "subaccount": {
                    "existing_destinations_policy": "update",
                    "destinations": [{
                        "Name": names.destinations.bsclient_to_backend,
                        "Description": "Destination pointing to Productservice",
                        "Type": "HTTP",
                        "URL": "{{backend.url}}/odata/v2/ProductService/Products",
                        "Authentication": "OAuth2UserTokenExchange",
                        "ProxyType": "Internet",
                        "tokenServiceURLType": "Dedicated",
                        "tokenServiceURL": "{{xsuaa.url}}/oauth/token",
                        "clientId": format!("{{{{{}.clientid}}}}", names.xsuaa.instance),
                        "clientSecret": format!("{{{{{}.clientsecret}}}}", names.xsuaa.instance)
                    }]
                }
            }
        });
        MockConfig {
            here: HereConfig::default(),
            zone: ZoneConfig::default(),
            xsuaa: XsuaaConfig {
                keys_pem: None,
                token_validity_seconds: default_token_validity(),
                refresh_token_validity_seconds: default_refresh_validity(),
                code_validity_seconds: default_code_validity(),
                session_validity_seconds: default_session_validity(),
                apps: vec![
                    AppConfig {
                        instance: Some(names.xsuaa.instance.clone()),
                        tenant_index: names.xsuaa.tenant_index,
                        xs_security: Some(app_xs_security),
                        xs_security_file: None,
                        clientsecret: None,
                        token_validity_seconds: None,
                    },
                    AppConfig {
                        instance: None,
                        tenant_index: names.backend.tenant_index,
                        xs_security: Some(backend_xs_security),
                        xs_security_file: None,
                        clientsecret: None,
                        token_validity_seconds: None,
                    },
                ],
                role_collections: vec![
                    RoleCollectionConfig {
                        name: names.backend.role_collection.clone(),
                        description: Some(format!("{scope} on the Backend service API")),
                        roles: vec![RoleRef {
                            app: backend.clone(),
                            template: scope.clone(),
                        }],
                    },
                    RoleCollectionConfig {
                        name: names.xsuaa.uaa_user_role_collection.clone(),
                        description: Some("uaa.user, needed for the token exchange".into()),
                        roles: vec![RoleRef {
                            app: app.clone(),
                            template: "RoleTemplate_UaaUser".into(),
                        }],
                    },
                    RoleCollectionConfig {
                        name: names.xsuaa.token_provider_role_collection.clone(),
                        description: Some("The token provider's scope (/getToken)".into()),
                        roles: vec![RoleRef {
                            app: app.clone(),
                            template: TOKEN_PROVIDER_SCOPE.into(),
                        }],
                    },
                ],
                users: names
                    .users
                    .iter()
                    .map(|u| UserConfig {
                        name: u.name.clone(),
                        password: u.password.clone(),
                        email: u.email.clone(),
                        given_name: u.given_name.clone(),
                        family_name: u.family_name.clone(),
                        id: None,
                        origin: default_origin(),
                        role_collections: u.role_collections.clone(),
                        attributes: u.attributes.clone(),
                    })
                    .collect(),
            },
            destination: DestinationServiceConfig {
                instances: vec![DestinationInstanceConfig {
                    name: names.destination_service.instance.clone(),
                    clientsecret: None,
                    init_data: Some(init_data),
                    init_data_file: None,
                }],
            },
            backend: builtin_backend(backend_scope),
            origin: BUILTIN_ORIGIN.into(),
            base_dir: None,
        }
    }

    /// Parses YAML without validating it (see [`MockConfig::validate`]).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut config: MockConfig = serde_norway::from_str(text).map_err(|e| {
            let key = e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_else(|| "(document)".into());
            ConfigError::new(origin, key, e.to_string())
        })?;
        config.origin = origin.into();
        Ok(config)
    }

    /// The config as YAML (`mock-platform --print-config`), a starting point for a custom one.
    pub fn to_yaml(&self) -> String {
        serde_norway::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// A file name from the config, relative to the config file's directory.
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        match &self.base_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    pub fn error(&self, key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.origin, key, reason)
    }
}

fn builtin_backend(required_scope: String) -> BackendConfig {
    let property = |name: &str, type_: &str, key: bool, nullable: bool, max_length: Option<u32>| {
        PropertyConfig {
            name: name.into(),
            type_: type_.into(),
            key,
            nullable,
            max_length,
        }
    };
    let products = [
        (
            1,
            "Notebook Basic 15",
            "Notebook with 15\" screen",
            "Notebooks",
            "956.00",
            25,
        ),
        (
            2,
            "Notebook Pro 17",
            "Notebook with 17\" screen",
            "Notebooks",
            "1999.00",
            8,
        ),
        (
            3,
            "Flat Screen 24",
            "24\" LCD monitor",
            "Monitors",
            "399.00",
            42,
        ),
        (
            4,
            "Ergo Keyboard",
            "Ergonomic keyboard",
            "Accessories",
            "79.90",
            120,
        ),
        (
            5,
            "Optical Mouse",
            "Wireless optical mouse",
            "Accessories",
            "24.99",
            300,
        ),
        (
            6,
            "Laser Printer",
            "Monochrome laser printer",
            "Printers",
            "249.00",
            0,
        ),
    ];
    BackendConfig {
        required_scope,
        service: default_service(),
        entity_set: default_entity_set(),
        entity_type: default_entity_type(),
        properties: vec![
            property("ProductID", "Edm.Int32", true, false, None),
            property("Name", "Edm.String", false, false, Some(80)),
            property("Description", "Edm.String", false, true, Some(255)),
            property("Category", "Edm.String", false, true, Some(40)),
            property("Price", "Edm.Decimal", false, true, None),
            property("Currency", "Edm.String", false, true, Some(3)),
            property("Stock", "Edm.Int32", false, true, None),
        ],
        data: products
            .iter()
            .map(|(id, name, description, category, price, stock)| {
                let Value::Object(map) = json!({
                    "ProductID": id, "Name": name, "Description": description,
                    "Category": category, "Price": price, "Currency": "EUR", "Stock": stock
                }) else {
                    unreachable!("json! of an object literal is an object")
                };
                map
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_valid_and_round_trips_through_yaml() {
        let config = MockConfig::builtin();
        config.validate().unwrap();
        let again = MockConfig::parse(&config.to_yaml(), "x.yaml").unwrap();
        assert_eq!(again.xsuaa, config.xsuaa);
        assert_eq!(again.backend, config.backend);
        again.validate().unwrap();
    }

    #[test]
    fn unknown_key_names_the_file_and_place() {
        let text = MockConfig::builtin()
            .to_yaml()
            .replace("xsuaa:", "xsuaa:\n  colour: blue");
        let err = MockConfig::parse(&text, "my.yaml").unwrap_err();
        assert_eq!(err.file, "my.yaml");
        assert!(err.reason.contains("unknown field `colour`"), "{err}");
        assert!(err.key.starts_with("line "), "{err}");
    }
}
