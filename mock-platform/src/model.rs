//! The platform as the services see it, resolved once from [`MockConfig`]: apps with their
//! OAuth clients and expanded scopes, users with the scopes their role collections give, the
//! destinations, and the backend's entity model. Every check a real `cf create-service` or role
//! assignment would make happens here, so a bad config fails at start with file, key and reason.

use crate::config::{ConfigError, MockConfig, ZoneConfig};
use crate::odata::EntityModel;
use crate::redirect::RedirectPattern;
use crate::xs_security::{self, DEFAULT_GRANT_TYPES, XsSecurity};
use rand::Rng;
use serde_json::Value;
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
    pub fn resolve(config: &MockConfig) -> Result<Self, ConfigError> {
        let err = |key: String, reason: String| config.error(key, reason);
        if config.zone.subdomain.is_empty() || config.zone.subdomain.contains(['.', '/', ' ']) {
            return Err(err("zone.subdomain".into(), "must be one DNS label".into()));
        }
        if config.zone.id.is_empty() {
            return Err(err("zone.id".into(), "must not be empty".into()));
        }

        let descriptors = load_descriptors(config)?;
        let full_names: BTreeMap<String, String> = descriptors
            .iter()
            .map(|(_, d, full)| (d.xsappname.clone(), full.clone()))
            .collect();
        let lookup = |name: &str| -> Option<String> {
            full_names
                .get(name)
                .cloned()
                .or_else(|| full_names.values().find(|f| *f == name).cloned())
        };

        // Own scopes and role templates first: foreign references and grants need all of them.
        let mut apps = Vec::new();
        for (i, (key, xs, full)) in descriptors.iter().enumerate() {
            let app_config = &config.xsuaa.apps[i];
            let mut scopes = BTreeSet::new();
            for (j, scope) in xs.scopes.iter().enumerate() {
                let key = format!("{key}.scopes[{j}].name");
                if !scope.name.starts_with("$XSAPPNAME") && scope.name != UAA_USER {
                    return Err(err(
                        key,
                        format!(
                            "{:?} must start with \"$XSAPPNAME.\" (only uaa.user may be used as is)",
                            scope.name
                        ),
                    ));
                }
                let expanded = xs_security::expand(&scope.name, full, &lookup)
                    .map_err(|e| err(key.clone(), e))?;
                if !scopes.insert(expanded) {
                    return Err(err(
                        key,
                        format!("scope {:?} is declared twice", scope.name),
                    ));
                }
            }
            let mut role_templates = BTreeMap::new();
            for (j, template) in xs.role_templates.iter().enumerate() {
                let key = format!("{key}.role-templates[{j}]");
                let mut granted = BTreeSet::new();
                for (k, reference) in template.scope_references.iter().enumerate() {
                    let expanded = xs_security::expand(reference, full, &lookup)
                        .map_err(|e| err(format!("{key}.scope-references[{k}]"), e))?;
                    if !scopes.contains(&expanded) {
                        return Err(err(
                            format!("{key}.scope-references[{k}]"),
                            format!(
                                "{reference:?} is not a scope of this app (declared: {})",
                                join(&scopes)
                            ),
                        ));
                    }
                    granted.insert(expanded);
                }
                if role_templates
                    .insert(template.name.clone(), granted)
                    .is_some()
                {
                    return Err(err(
                        key,
                        format!("role template {:?} is declared twice", template.name),
                    ));
                }
            }
            let oauth = &xs.oauth2_configuration;
            let mut redirect_uris = Vec::new();
            for (j, uri) in oauth.redirect_uris.iter().enumerate() {
                redirect_uris.push(RedirectPattern::parse(uri).map_err(|e| {
                    err(format!("{key}.oauth2-configuration.redirect-uris[{j}]"), e)
                })?);
            }
            let grant_types = if oauth.grant_types.is_empty() {
                DEFAULT_GRANT_TYPES.iter().map(|g| g.to_string()).collect()
            } else {
                oauth.grant_types.clone()
            };
            let tenant_mode = xs.tenant_mode.clone().unwrap_or_else(|| "dedicated".into());
            if tenant_mode != "dedicated" && tenant_mode != "shared" {
                return Err(err(
                    format!("{key}.tenant-mode"),
                    format!("{tenant_mode:?} must be \"dedicated\" or \"shared\""),
                ));
            }
            apps.push(App {
                kind: AppKind::Xsuaa,
                instance: app_config.instance.clone(),
                base_xsappname: xs.xsappname.clone(),
                xsappname: full.clone(),
                tenant_mode,
                client_id: format!("sb-{full}"),
                client_secret: app_config
                    .clientsecret
                    .clone()
                    .unwrap_or_else(random_secret),
                scopes,
                foreign_scopes: BTreeSet::new(),
                authorities: BTreeSet::new(),
                redirect_uris,
                grant_types,
                token_validity: app_config
                    .token_validity_seconds
                    .or(oauth.token_validity)
                    .unwrap_or(config.xsuaa.token_validity_seconds),
                refresh_token_validity: oauth
                    .refresh_token_validity
                    .unwrap_or(config.xsuaa.refresh_token_validity_seconds),
                role_templates,
            });
        }

        // Foreign scope references and authorities: the referenced app must grant them.
        for (i, (key, xs, full)) in descriptors.iter().enumerate() {
            let granted_to_us = |grants: &dyn Fn(&xs_security::Scope) -> &Vec<String>| {
                let mut out = BTreeSet::new();
                for (other_key, other, other_full) in &descriptors {
                    if other_key == key {
                        continue;
                    }
                    for scope in &other.scopes {
                        let to_us = grants(scope).iter().any(|g| {
                            xs_security::expand(g, other_full, &lookup)
                                .map(|g| g == *full || g == xs.xsappname)
                                .unwrap_or(false)
                        });
                        if to_us
                            && let Ok(name) = xs_security::expand(&scope.name, other_full, &lookup)
                        {
                            out.insert(name);
                        }
                    }
                }
                out
            };
            let granted_scopes = granted_to_us(&|s| &s.granted_apps);
            let granted_authorities = granted_to_us(&|s| &s.grant_as_authority_to_apps);
            let mut foreign = BTreeSet::new();
            for (j, reference) in xs.foreign_scope_references.iter().enumerate() {
                let key = format!("{key}.foreign-scope-references[{j}]");
                if reference == "$ACCEPT_GRANTED_SCOPES" {
                    foreign.extend(granted_scopes.iter().cloned());
                    continue;
                }
                let expanded = xs_security::expand(reference, full, &lookup)
                    .map_err(|e| err(key.clone(), e))?;
                let exists = apps
                    .iter()
                    .any(|a| a.xsappname != *full && a.scopes.contains(&expanded));
                if !exists {
                    return Err(err(
                        key,
                        format!("{expanded:?} is not a scope of any other app"),
                    ));
                }
                if !granted_scopes.contains(&expanded) {
                    return Err(err(
                        key,
                        format!(
                            "{expanded:?} is not granted to {full} (the owning app must list it in the scope's \"granted-apps\")"
                        ),
                    ));
                }
                foreign.insert(expanded);
            }
            let mut authorities = BTreeSet::new();
            for (j, reference) in xs.authorities.iter().enumerate() {
                let key = format!("{key}.authorities[{j}]");
                if reference == "$ACCEPT_GRANTED_AUTHORITIES" {
                    authorities.extend(granted_authorities.iter().cloned());
                    continue;
                }
                let expanded = xs_security::expand(reference, full, &lookup)
                    .map_err(|e| err(key.clone(), e))?;
                if !apps[i].scopes.contains(&expanded) && !granted_authorities.contains(&expanded) {
                    return Err(err(
                        key,
                        format!(
                            "{expanded:?} is neither a scope of this app nor granted to it as an authority (\"grant-as-authority-to-apps\")"
                        ),
                    ));
                }
                authorities.insert(expanded);
            }
            apps[i].foreign_scopes = foreign;
            apps[i].authorities = authorities;
        }

        let role_collections = resolve_role_collections(config, &descriptors, &apps, &lookup)?;
        let users = resolve_users(config, &role_collections)?;

        let xsuaa_instances: Vec<String> = apps.iter().filter_map(|a| a.instance.clone()).collect();
        let (subaccount_destinations, destination_instances) =
            crate::init_data::resolve(config, &mut apps, &xsuaa_instances)?;

        let backend = EntityModel::from_config(&config.backend)
            .map_err(|(key, reason)| err(format!("backend.{key}"), reason))?;
        if !apps
            .iter()
            .any(|a| a.scopes.contains(&config.backend.required_scope))
        {
            return Err(err(
                "backend.required_scope".into(),
                format!(
                    "{:?} is not a scope of any app (known: {})",
                    config.backend.required_scope,
                    join(&apps.iter().flat_map(|a| a.scopes.iter().cloned()).collect())
                ),
            ));
        }

        Ok(Model {
            zone: config.zone.clone(),
            apps,
            users,
            role_collections,
            subaccount_destinations,
            destination_instances,
            backend,
            backend_required_scope: config.backend.required_scope.clone(),
            keys_pem: config
                .xsuaa
                .keys_pem
                .as_deref()
                .map(|p| config.resolve_path(p)),
            refresh_token_validity: config.xsuaa.refresh_token_validity_seconds,
            code_validity: config.xsuaa.code_validity_seconds,
            session_validity: config.xsuaa.session_validity_seconds,
            here: resolve_here(config)?,
        })
    }

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
    pub fn fill_urls(&mut self, urls: &crate::state::Urls) {
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

type Descriptor = (String, XsSecurity, String);

/// Reads each app's `xs-security.json` (inline or file) and checks names are unique.
fn load_descriptors(config: &MockConfig) -> Result<Vec<Descriptor>, ConfigError> {
    if config.xsuaa.apps.is_empty() {
        return Err(config.error("xsuaa.apps", "at least one app is needed"));
    }
    let mut out: Vec<Descriptor> = Vec::new();
    let mut instances = BTreeSet::new();
    for (i, app) in config.xsuaa.apps.iter().enumerate() {
        let key = format!("xsuaa.apps[{i}]");
        let (value, origin_key, file) = match (&app.xs_security, &app.xs_security_file) {
            (Some(v), None) => (v.clone(), format!("{key}.xs_security"), None),
            (None, Some(path)) => {
                let path = config.resolve_path(path);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    config.error(
                        format!("{key}.xs_security_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let value: Value = serde_json::from_str(&text).map_err(|e| {
                    ConfigError::new(path.display().to_string(), "(json)", e.to_string())
                })?;
                (value, "xs-security.json".to_string(), Some(path))
            }
            _ => {
                return Err(config.error(
                    key,
                    "exactly one of xs_security and xs_security_file is needed",
                ));
            }
        };
        let fail = |k: String, reason: String| match &file {
            Some(path) => ConfigError::new(path.display().to_string(), k, reason),
            None => config.error(k, reason),
        };
        let xs: XsSecurity =
            serde_json::from_value(value).map_err(|e| fail(origin_key.clone(), e.to_string()))?;
        if xs.xsappname.is_empty()
            || xs.xsappname.contains(['!', ' ', '|', '.', '/'])
            || xs.xsappname.len() > 100
        {
            return Err(fail(
                format!("{origin_key}.xsappname"),
                format!(
                    "{:?}: 1-100 characters, no '!', '|', '.', '/' or spaces (the platform adds \"!t<n>\")",
                    xs.xsappname
                ),
            ));
        }
        if out
            .iter()
            .any(|(_, other, _)| other.xsappname == xs.xsappname)
        {
            return Err(fail(
                format!("{origin_key}.xsappname"),
                format!("{:?} is used by two apps", xs.xsappname),
            ));
        }
        if let Some(instance) = &app.instance
            && !instances.insert(instance.clone())
        {
            return Err(config.error(
                format!("{key}.instance"),
                format!("{instance:?} is used twice"),
            ));
        }
        let full = format!("{}!t{}", xs.xsappname, app.tenant_index);
        // Keys in later messages point into the descriptor: inline key, or the file's own paths.
        let descriptor_key = match &file {
            Some(path) => path.display().to_string(),
            None => origin_key,
        };
        out.push((descriptor_key, xs, full));
    }
    Ok(out)
}

fn resolve_role_collections(
    config: &MockConfig,
    descriptors: &[Descriptor],
    apps: &[App],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>, ConfigError> {
    let mut collections = BTreeMap::new();
    for (i, rc) in config.xsuaa.role_collections.iter().enumerate() {
        let key = format!("xsuaa.role_collections[{i}]");
        let mut scopes = BTreeSet::new();
        for (j, role) in rc.roles.iter().enumerate() {
            let key = format!("{key}.roles[{j}]");
            let app = apps
                .iter()
                .find(|a| a.base_xsappname == role.app || a.xsappname == role.app)
                .ok_or_else(|| {
                    config.error(
                        format!("{key}.app"),
                        format!("no app with xsappname {:?}", role.app),
                    )
                })?;
            let granted = app.role_templates.get(&role.template).ok_or_else(|| {
                config.error(
                    format!("{key}.template"),
                    format!(
                        "app {} has no role template {:?} (it has: {})",
                        app.xsappname,
                        role.template,
                        join(&app.role_templates.keys().cloned().collect())
                    ),
                )
            })?;
            scopes.extend(granted.iter().cloned());
        }
        if collections.insert(rc.name.clone(), scopes).is_some() {
            return Err(config.error(
                format!("{key}.name"),
                format!("role collection {:?} is defined twice", rc.name),
            ));
        }
    }
    for ((desc_key, xs, full), app) in descriptors.iter().zip(apps) {
        for (i, rc) in xs.role_collections.iter().enumerate() {
            let key = format!("{desc_key}.role-collections[{i}]");
            let mut scopes = BTreeSet::new();
            for (j, reference) in rc.role_template_references.iter().enumerate() {
                let key = format!("{key}.role-template-references[{j}]");
                let expanded = xs_security::expand(reference, full, lookup)
                    .map_err(|e| config.error(key.clone(), e))?;
                let template = expanded
                    .strip_prefix(&format!("{}.", app.xsappname))
                    .ok_or_else(|| {
                        config.error(
                            key.clone(),
                            format!("{reference:?} must be \"$XSAPPNAME.<role template>\""),
                        )
                    })?;
                let granted = app.role_templates.get(template).ok_or_else(|| {
                    config.error(key.clone(), format!("no role template {template:?}"))
                })?;
                scopes.extend(granted.iter().cloned());
            }
            if collections.insert(rc.name.clone(), scopes).is_some() {
                return Err(config.error(
                    key,
                    format!("role collection {:?} is defined twice", rc.name),
                ));
            }
        }
    }
    Ok(collections)
}

fn resolve_users(
    config: &MockConfig,
    collections: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<User>, ConfigError> {
    let mut users: Vec<User> = Vec::new();
    for (i, u) in config.xsuaa.users.iter().enumerate() {
        let key = format!("xsuaa.users[{i}]");
        if u.name.is_empty() || u.password.is_empty() {
            return Err(config.error(key, "name and password must not be empty"));
        }
        if users.iter().any(|other| other.name == u.name) {
            return Err(config.error(
                format!("{key}.name"),
                format!("user {:?} is defined twice", u.name),
            ));
        }
        let mut scopes = BTreeSet::new();
        for (j, rc) in u.role_collections.iter().enumerate() {
            let granted = collections.get(rc).ok_or_else(|| {
                config.error(
                    format!("{key}.role_collections[{j}]"),
                    format!(
                        "unknown role collection {rc:?} (known: {})",
                        join(&collections.keys().cloned().collect())
                    ),
                )
            })?;
            scopes.extend(granted.iter().cloned());
        }
        users.push(User {
            name: u.name.clone(),
            password: u.password.clone(),
            email: u.email.clone(),
            given_name: u.given_name.clone(),
            family_name: u.family_name.clone(),
            id: u
                .id
                .clone()
                .unwrap_or_else(|| stable_guid(&format!("{}/{}", config.zone.id, u.name))),
            origin: u.origin.clone(),
            role_collections: u.role_collections.clone(),
            attributes: u.attributes.clone(),
            scopes,
        });
    }
    if users.is_empty() {
        return Err(config.error("xsuaa.users", "at least one user is needed"));
    }
    Ok(users)
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

/// The HERE endpoint's keys: ids unique and non-empty, secrets non-empty, bounds at least 1 s.
fn resolve_here(config: &MockConfig) -> Result<crate::config::HereConfig, ConfigError> {
    let here = &config.here;
    let mut seen = BTreeSet::new();
    for (i, key) in here.access_keys.iter().enumerate() {
        if key.id.trim().is_empty() || key.id.contains(['"', ',']) {
            return Err(config.error(
                format!("here.access_keys[{i}].id"),
                "must be a non-empty access key id without '\"' or ','",
            ));
        }
        if key.secret.is_empty() {
            return Err(config.error(format!("here.access_keys[{i}].secret"), "must not be empty"));
        }
        if !seen.insert(key.id.as_str()) {
            return Err(config.error(
                format!("here.access_keys[{i}].id"),
                format!("{:?} is listed twice", key.id),
            ));
        }
    }
    if here.max_expires_in == 0 {
        return Err(config.error("here.max_expires_in", "must be at least 1 second"));
    }
    if here.timestamp_window_seconds == 0 {
        return Err(config.error("here.timestamp_window_seconds", "must be at least 1 second"));
    }
    Ok(here.clone())
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
