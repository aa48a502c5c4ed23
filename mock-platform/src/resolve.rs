//! Resolving a [`MockConfig`] into the [`Model`] the services run on: this is the config's validation
//! too, so it sits above `config`, `model`, `init_data` and `xs_security`, which know nothing of it.

use crate::config::{ConfigError, MockConfig};
use crate::model::{App, AppKind, Model, UAA_USER, User, join, random_secret, stable_guid};
use crate::odata::EntityModel;
use crate::redirect::RedirectPattern;
use crate::xs_security::{self, DEFAULT_GRANT_TYPES, XsSecurity};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Loading and validating a config is resolving its model, so they live here, above `config`.
impl MockConfig {
    /// Reads and validates a YAML config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&file, "(file)", format!("cannot read: {e}")))?;
        let mut config = Self::parse(&text, &file)?;
        config.base_dir = path.parent().map(Path::to_path_buf);
        config.validate()?;
        Ok(config)
    }

    /// Checks everything that can be checked before the listeners are bound (files, scopes,
    /// grants, role collections, users, destinations, backend data), as the platform would
    /// when the services are created.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::model::Model::resolve(self).map(|_| ())
    }
}

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
