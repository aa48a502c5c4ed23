//! Destination service instances and their `init_data`, the format of
//! `cf create-service destination lite NAME -c config.json`:
//!
//! ```json
//! {"init_data": {
//!    "subaccount": {"existing_destinations_policy": "update", "destinations": [{"Name": "...", ...}]},
//!    "instance":   {"existing_destinations_policy": "update", "destinations": [...]}}}
//! ```
//!
//! Subaccount destinations are shared by all instances; instance destinations belong to theirs.

use crate::config::{ConfigError, MockConfig};
use crate::model::{
    self, AUTHENTICATIONS, App, AppKind, Destination, DestinationInstance, URL_PLACEHOLDERS,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub fn resolve(
    config: &MockConfig,
    apps: &mut Vec<App>,
    xsuaa_instances: &[String],
) -> Result<(Vec<Destination>, Vec<DestinationInstance>), ConfigError> {
    let mut known: BTreeSet<String> = URL_PLACEHOLDERS.iter().map(|s| s.to_string()).collect();
    for instance in xsuaa_instances {
        known.insert(format!("{instance}.clientid"));
        known.insert(format!("{instance}.clientsecret"));
    }
    let mut subaccount: Vec<Destination> = Vec::new();
    let mut instances = Vec::new();
    let mut names = BTreeSet::new();
    for (i, instance) in config.destination.instances.iter().enumerate() {
        let key = format!("destination.instances[{i}]");
        if instance.name.is_empty() || !names.insert(instance.name.clone()) {
            return Err(config.error(
                format!("{key}.name"),
                format!("{:?} is empty or used twice", instance.name),
            ));
        }
        if xsuaa_instances.contains(&instance.name) {
            return Err(config.error(
                format!("{key}.name"),
                format!("{:?} is already an xsuaa instance", instance.name),
            ));
        }
        let (value, file, base_key) = match (&instance.init_data, &instance.init_data_file) {
            (Some(v), None) => (
                Some(v.clone()),
                config.origin.clone(),
                format!("{key}.init_data"),
            ),
            (None, Some(path)) => {
                let path = config.resolve_path(path);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    config.error(
                        format!("{key}.init_data_file"),
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let value = serde_json::from_str(&text).map_err(|e| {
                    ConfigError::new(path.display().to_string(), "(json)", e.to_string())
                })?;
                (Some(value), path.display().to_string(), String::new())
            }
            (None, None) => (None, config.origin.clone(), String::new()),
            (Some(_), Some(_)) => {
                return Err(config.error(key, "at most one of init_data and init_data_file"));
            }
        };
        let mut own = Vec::new();
        if let Some(value) = value {
            let parsed = parse(&value, &file, &base_key, &known)?;
            merge(
                &mut subaccount,
                parsed.subaccount,
                &file,
                &format!("{base_key}.init_data.subaccount"),
            )?;
            merge(
                &mut own,
                parsed.instance,
                &file,
                &format!("{base_key}.init_data.instance"),
            )?;
        }

        // The binding's client looks like the real one (`sb-clone<hex>!b<n>|destination-xsappname!b404`):
        // its `!` and `|` are what clients must not mangle.
        let hex: String =
            Sha256::digest(format!("{}/{}", config.zone.id, instance.name).as_bytes())
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
        let xsappname = format!("clone{hex}!b{}|destination-xsappname!b404", 1000 + i);
        apps.push(App {
            kind: AppKind::Destination,
            instance: Some(instance.name.clone()),
            base_xsappname: xsappname.clone(),
            client_id: format!("sb-{xsappname}"),
            xsappname,
            tenant_mode: "dedicated".into(),
            client_secret: instance
                .clientsecret
                .clone()
                .unwrap_or_else(model::random_secret),
            scopes: BTreeSet::new(),
            foreign_scopes: BTreeSet::new(),
            authorities: BTreeSet::new(),
            redirect_uris: Vec::new(),
            grant_types: crate::xs_security::DEFAULT_GRANT_TYPES
                .iter()
                .map(|g| g.to_string())
                .collect(),
            token_validity: config.xsuaa.token_validity_seconds,
            refresh_token_validity: config.xsuaa.refresh_token_validity_seconds,
            role_templates: BTreeMap::new(),
        });
        instances.push(DestinationInstance {
            name: instance.name.clone(),
            app: apps.len() - 1,
            destinations: own,
        });
    }
    Ok((subaccount, instances))
}

struct Level {
    policy: String,
    destinations: Vec<Destination>,
}

struct Parsed {
    subaccount: Option<Level>,
    instance: Option<Level>,
}

fn parse(
    value: &Value,
    file: &str,
    base: &str,
    known: &BTreeSet<String>,
) -> Result<Parsed, ConfigError> {
    let err = |key: String, reason: String| ConfigError::new(file, key, reason);
    let prefix = |k: &str| {
        if base.is_empty() {
            k.to_string()
        } else {
            format!("{base}.{k}")
        }
    };
    let Value::Object(top) = value else {
        return Err(err(prefix("(top)"), "must be a JSON object".into()));
    };
    // The file given to `cf create-service -c` has `init_data` at the top; accept its content too.
    let init = match top.get("init_data") {
        Some(Value::Object(init)) => {
            for k in top.keys() {
                if k != "init_data" && k != "HTML5Runtime_enabled" {
                    return Err(err(
                        prefix(k),
                        "unknown parameter (expected init_data, HTML5Runtime_enabled)".into(),
                    ));
                }
            }
            init
        }
        Some(_) => return Err(err(prefix("init_data"), "must be an object".into())),
        None => top,
    };
    let mut parsed = Parsed {
        subaccount: None,
        instance: None,
    };
    for (level_name, level) in init {
        let key = prefix(&format!("init_data.{level_name}"));
        let Value::Object(level) = level else {
            return Err(err(key, "must be an object".into()));
        };
        let mut policy = "fail".to_string();
        let mut destinations = Vec::new();
        for (k, v) in level {
            match (k.as_str(), v) {
                ("existing_destinations_policy", Value::String(p)) if ["update", "ignore", "fail"].contains(&p.as_str()) => {
                    policy = p.clone()
                }
                ("existing_destinations_policy", _) => {
                    return Err(err(format!("{key}.{k}"), "must be \"update\", \"ignore\" or \"fail\"".into()));
                }
                ("destinations", Value::Array(list)) => {
                    for (i, d) in list.iter().enumerate() {
                        destinations.push(destination(d, file, &format!("{key}.destinations[{i}]"), known)?);
                    }
                }
                ("certificates", _) => {}
                _ => return Err(err(format!("{key}.{k}"), "unknown key (expected existing_destinations_policy, destinations, certificates)".into())),
            }
        }
        let level = Some(Level {
            policy,
            destinations,
        });
        match level_name.as_str() {
            "subaccount" => parsed.subaccount = level,
            "instance" => parsed.instance = level,
            _ => {
                return Err(err(
                    key,
                    "unknown level (expected subaccount or instance)".into(),
                ));
            }
        }
    }
    Ok(parsed)
}

fn destination(
    value: &Value,
    file: &str,
    key: &str,
    known: &BTreeSet<String>,
) -> Result<Destination, ConfigError> {
    let err = |k: &str, reason: String| {
        ConfigError::new(
            file,
            if k.is_empty() {
                key.to_string()
            } else {
                format!("{key}.{k}")
            },
            reason,
        )
    };
    let Value::Object(map) = value else {
        return Err(err("", "must be an object of properties".into()));
    };
    let mut properties = BTreeMap::new();
    for (k, v) in map {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Bool(_) | Value::Number(_) => v.to_string(),
            _ => return Err(err(k, "property values are strings".into())),
        };
        for name in model::placeholders(&text) {
            if !known.contains(&name) {
                return Err(err(
                    k,
                    format!(
                        "unknown placeholder {{{{{name}}}}} (known: {})",
                        model::join(known)
                    ),
                ));
            }
        }
        properties.insert(k.clone(), text);
    }
    let d = Destination { properties };
    let name = d.name();
    if name.is_empty()
        || name.len() > 200
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(err(
            "Name",
            format!("{name:?}: required, up to 200 letters, digits, '_' or '-'"),
        ));
    }
    match d.get("Type") {
        Some("HTTP") => {}
        Some(other) => {
            return Err(err(
                "Type",
                format!("{other:?} is not supported by mock-platform (only HTTP)"),
            ));
        }
        None => {
            return Err(err(
                "Type",
                format!("destination {name}: Type is required (HTTP)"),
            ));
        }
    }
    let Some(url) = d.get("URL") else {
        return Err(err("URL", format!("destination {name}: URL is required")));
    };
    let probe: BTreeMap<String, String> = URL_PLACEHOLDERS
        .iter()
        .map(|p| (p.to_string(), "http://127.0.0.1:1".to_string()))
        .collect();
    if let Err(e) = url::Url::parse(&model::fill(url, &probe)) {
        return Err(err(
            "URL",
            format!("destination {name}: {url:?} is not a URL: {e}"),
        ));
    }
    let Some(auth) = d.get("Authentication") else {
        return Err(err(
            "Authentication",
            format!("destination {name}: Authentication is required"),
        ));
    };
    let Some((_, required)) = AUTHENTICATIONS.iter().find(|(a, _)| *a == auth) else {
        let supported: Vec<&str> = AUTHENTICATIONS.iter().map(|(a, _)| *a).collect();
        return Err(err(
            "Authentication",
            format!(
                "destination {name}: {auth:?} is not supported (supported: {})",
                supported.join(", ")
            ),
        ));
    };
    for property in *required {
        if d.get(property).is_none_or(str::is_empty) {
            return Err(err(
                property,
                format!("destination {name}: {auth} needs {property}"),
            ));
        }
    }
    Ok(d)
}

fn merge(
    into: &mut Vec<Destination>,
    level: Option<Level>,
    file: &str,
    key: &str,
) -> Result<(), ConfigError> {
    let Some(level) = level else { return Ok(()) };
    for d in level.destinations {
        match into.iter().position(|e| e.name() == d.name()) {
            None => into.push(d),
            Some(i) => match level.policy.as_str() {
                "update" => into[i] = d,
                "ignore" => {}
                _ => {
                    return Err(ConfigError::new(
                        file,
                        key,
                        format!(
                            "destination {:?} exists already and existing_destinations_policy is \"fail\"",
                            d.name()
                        ),
                    ));
                }
            },
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::MockConfig;
    use crate::model::Model;
    use serde_json::json;

    fn with_destination(d: serde_json::Value) -> Result<Model, crate::config::ConfigError> {
        let mut config = MockConfig::builtin();
        config.destination.instances[0].init_data =
            Some(json!({"init_data": {"instance": {"destinations": [d]}}}));
        Model::resolve(&config)
    }

    #[test]
    fn builtin_has_the_token_exchange_destination() {
        let model = Model::resolve(&MockConfig::builtin()).unwrap();
        let d = &model.subaccount_destinations[0];
        assert_eq!(d.name(), "BackendServiceAPI");
        assert_eq!(d.authentication(), "OAuth2UserTokenExchange");
        assert_eq!(d.get("clientId"), Some("{{XsuaaForScenario.clientid}}"));
        let dest_app = &model.apps[model.destination_instances[0].app];
        assert!(dest_app.client_id.contains('|') && dest_app.client_id.contains('!'));
    }

    #[test]
    fn missing_secret_is_named() {
        let err = with_destination(json!({
            "Name": "X", "Type": "HTTP", "URL": "http://a", "Authentication": "OAuth2ClientCredentials",
            "clientId": "c", "tokenServiceURL": "http://t"
        }))
        .unwrap_err();
        assert_eq!(
            err.key,
            "destination.instances[0].init_data.init_data.instance.destinations[0].clientSecret"
        );
        assert!(
            err.reason
                .contains("OAuth2ClientCredentials needs clientSecret"),
            "{err}"
        );
    }

    #[test]
    fn unknown_placeholder_and_auth_type() {
        let err = with_destination(json!({"Name": "X", "Type": "HTTP", "URL": "{{nope.url}}", "Authentication": "NoAuthentication"}))
            .unwrap_err();
        assert!(
            err.reason.contains("unknown placeholder {{nope.url}}"),
            "{err}"
        );
        let err = with_destination(
            json!({"Name": "X", "Type": "HTTP", "URL": "http://a", "Authentication": "Magic"}),
        )
        .unwrap_err();
        assert!(err.reason.contains("\"Magic\" is not supported"), "{err}");
    }
}
