//! The platform as the services see it, resolved once from [`MockConfig`]: apps with their
//! OAuth clients and expanded scopes, users with the scopes their role collections give, the
//! destinations, and the backend's entity model. Every check a real `cf create-service` or role
//! assignment would make happens here, so a bad config fails at start with file, key and reason.

use crate::config::ZoneConfig;
use crate::odata::EntityModel;
use crate::redirect::RedirectPattern;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Scopes every XSUAA knows without an app declaring them.
pub const UAA_USER: &str = "uaa.user";
pub const OPENID: &str = "openid";
pub const UAA_RESOURCE: &str = "uaa.resource";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppKind {
    /// An `xsuaa` service instance (or the Backend API's own app).
    Xsuaa,
    /// The OAuth client behind a `destination` service instance's binding.
    Destination,
}

#[derive(Debug, Clone)]
pub struct App {
    pub kind: AppKind,
    pub instance: Option<String>,
    /// As in `xs-security.json`, without the suffix.
    pub base_xsappname: String,
    /// With the platform's suffix (`XsuaaForScenario!t1`), as in tokens and bindings.
    pub xsappname: String,
    pub tenant_mode: String,
    pub client_id: String,
    pub client_secret: String,
    /// The app's own scopes, expanded.
    pub scopes: BTreeSet<String>,
    /// Other apps' scopes this app references and was granted.
    pub foreign_scopes: BTreeSet<String>,
    /// Scopes of client-credentials tokens (besides `uaa.resource`).
    pub authorities: BTreeSet<String>,
    pub redirect_uris: Vec<RedirectPattern>,
    pub grant_types: Vec<String>,
    pub token_validity: i64,
    pub refresh_token_validity: i64,
    /// Role template name -> the scopes it grants.
    pub role_templates: BTreeMap<String, BTreeSet<String>>,
}

impl App {
    /// Whether a user token for this app's client may carry `scope` (if the user has it).
    pub fn may_hold(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
            || self.foreign_scopes.contains(scope)
            // Service brokers' clients (the destination service's) get the UAA user scope.
            || (scope == UAA_USER && self.kind == AppKind::Destination)
    }

    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub id: String,
    pub origin: String,
    pub role_collections: Vec<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Union of the scopes of the user's role collections.
    pub scopes: BTreeSet<String>,
}

/// One destination: its properties exactly as the service returns them (all strings), with
/// `{{...}}` placeholders filled in at start.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub properties: BTreeMap<String, String>,
}

impl Destination {
    pub fn name(&self) -> &str {
        self.get("Name").unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    pub fn authentication(&self) -> &str {
        self.get("Authentication").unwrap_or("NoAuthentication")
    }
}

#[derive(Debug, Clone)]
pub struct DestinationInstance {
    pub name: String,
    /// Index into [`Model::apps`] of the binding's OAuth client.
    pub app: usize,
    pub destinations: Vec<Destination>,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub zone: ZoneConfig,
    pub apps: Vec<App>,
    pub users: Vec<User>,
    /// Role collection -> scopes.
    pub role_collections: BTreeMap<String, BTreeSet<String>>,
    pub subaccount_destinations: Vec<Destination>,
    pub destination_instances: Vec<DestinationInstance>,
    pub backend: EntityModel,
    pub backend_required_scope: String,
    pub keys_pem: Option<PathBuf>,
    pub refresh_token_validity: i64,
    pub code_validity: i64,
    pub session_validity: i64,
    pub here: crate::config::HereConfig,
}

/// Authentication types the mock Destination service implements, with their mandatory properties.
pub const AUTHENTICATIONS: &[(&str, &[&str])] = &[
    ("NoAuthentication", &[]),
    ("BasicAuthentication", &["User", "Password"]),
    (
        "OAuth2ClientCredentials",
        &["clientId", "clientSecret", "tokenServiceURL"],
    ),
    (
        "OAuth2UserTokenExchange",
        &["clientId", "clientSecret", "tokenServiceURL"],
    ),
    (
        "OAuth2JWTBearer",
        &["clientId", "clientSecret", "tokenServiceURL"],
    ),
    (
        "OAuth2Password",
        &[
            "clientId",
            "clientSecret",
            "tokenServiceURL",
            "User",
            "Password",
        ],
    ),
];

/// Placeholders for values only known once the listeners are bound.
pub const URL_PLACEHOLDERS: &[&str] = &[
    "xsuaa.url",
    "xsuaa.tls_url",
    "backend.url",
    "destination.url",
];

impl Model {
    pub fn app_by_client(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The apps bound as `xsuaa` service instances (in `VCAP_SERVICES`).
    pub fn bound_apps(&self) -> impl Iterator<Item = &App> {
        self.apps
            .iter()
            .filter(|a| a.kind == AppKind::Xsuaa && a.instance.is_some())
    }

    /// Fills `{{...}}` placeholders in every destination property.
    pub fn fill_placeholders(&mut self, values: &BTreeMap<String, String>) {
        let fill = |d: &mut Destination| {
            for value in d.properties.values_mut() {
                *value = fill(value, values);
            }
        };
        self.subaccount_destinations.iter_mut().for_each(fill);
        for instance in &mut self.destination_instances {
            instance.destinations.iter_mut().for_each(fill);
        }
    }

    /// Fills the `{{xsuaa.url}}`-style and credential placeholders for services reachable at `urls`.
    pub fn fill_urls(&mut self, urls: &crate::urls::Urls) {
        let mut values = self.credential_placeholders();
        values.insert("xsuaa.url".into(), urls.xsuaa.clone());
        values.insert(
            "xsuaa.tls_url".into(),
            urls.xsuaa_tls.clone().unwrap_or_else(|| urls.xsuaa.clone()),
        );
        values.insert("backend.url".into(), urls.backend.clone());
        values.insert("destination.url".into(), urls.destination.clone());
        self.fill_placeholders(&values);
    }

    /// Placeholder values that do not depend on the bound ports.
    pub fn credential_placeholders(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        for app in self.bound_apps() {
            let instance = app.instance.as_deref().unwrap_or_default();
            values.insert(format!("{instance}.clientid"), app.client_id.clone());
            values.insert(
                format!("{instance}.clientsecret"),
                app.client_secret.clone(),
            );
        }
        values
    }
}

/// Replaces each `{{name}}` with its value; unknown names are left (validated at load).
pub fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = rest[start + 2..start + end].trim();
        match values.get(name) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + end + 2]),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The placeholder names used in `text`.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        names.push(rest[start + 2..start + end].trim().to_string());
        rest = &rest[start + end + 2..];
    }
    names
}

/// A GUID-shaped id derived from `seed`, so user ids stay the same across runs.
pub fn stable_guid(seed: &str) -> String {
    let hash = Sha256::digest(seed.as_bytes());
    let hex: String = hash.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A client secret like XSUAA's (random, URL-safe), for apps without a configured one.
pub fn random_secret() -> String {
    let bytes: [u8; 24] = rand::thread_rng().r#gen();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    format!("{encoded}=")
}

pub fn join(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    fn builtin() -> Model {
        Model::resolve(&MockConfig::builtin()).unwrap()
    }

    #[test]
    fn tutorial_scopes_resolve_as_on_btp() {
        let model = builtin();
        let app = model.app_by_client("sb-XsuaaForScenario!t1").unwrap();
        assert_eq!(app.xsappname, "XsuaaForScenario!t1");
        assert!(app.may_hold("uaa.user"));
        assert!(app.may_hold("Backend-service!t6131.AllAccess"));
        let alice = model.user("alice").unwrap();
        assert!(alice.scopes.contains("Backend-service!t6131.AllAccess"));
        assert!(alice.scopes.contains("uaa.user"));
        let bob = model.user("bob").unwrap();
        assert!(!bob.scopes.contains("Backend-service!t6131.AllAccess"));
        assert_eq!(alice.id, builtin().user("alice").unwrap().id, "stable ids");
    }

    #[test]
    fn foreign_scope_must_be_granted() {
        let mut config = MockConfig::builtin();
        let backend = config.xsuaa.apps[1].xs_security.as_mut().unwrap();
        backend["scopes"][0]["granted-apps"] = serde_json::json!([]);
        let err = Model::resolve(&config).unwrap_err();
        assert_eq!(
            err.key,
            "xsuaa.apps[0].xs_security.foreign-scope-references[0]"
        );
        assert!(err.reason.contains("not granted"), "{err}");
    }

    #[test]
    fn role_template_must_reference_own_scopes() {
        let mut config = MockConfig::builtin();
        let app = config.xsuaa.apps[0].xs_security.as_mut().unwrap();
        app["role-templates"][0]["scope-references"] = serde_json::json!(["$XSAPPNAME.Nope"]);
        let err = Model::resolve(&config).unwrap_err().to_string();
        assert!(
            err.contains("role-templates[0].scope-references[0]"),
            "{err}"
        );
        assert!(err.contains("is not a scope of this app"), "{err}");
    }

    #[test]
    fn unknown_role_collection_of_a_user() {
        let mut config = MockConfig::builtin();
        config.xsuaa.users[0].role_collections.push("Nope".into());
        let err = Model::resolve(&config).unwrap_err();
        assert_eq!(err.key, "xsuaa.users[0].role_collections[3]");
    }

    #[test]
    fn placeholders_fill() {
        let mut values = BTreeMap::new();
        values.insert("a.url".to_string(), "http://x".to_string());
        assert_eq!(fill("{{a.url}}/p{{b}}", &values), "http://x/p{{b}}");
        assert_eq!(placeholders("{{a.url}}/p{{ b }}"), vec!["a.url", "b"]);
    }
}
