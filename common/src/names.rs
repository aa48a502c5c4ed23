//! `scenario.yaml`: the names a fork changes (apps, service instances, xsappnames, destinations, users).
//! One file feeds the mock platform's default, the generated deployment files and the local run.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The file as shipped at the workspace root; the mock platform's built-in default is made from it.
pub const DEFAULT_SCENARIO_YAML: &str = include_str!("../../scenario.yaml");

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioNames {
    pub apps: Apps,
    pub xsuaa: XsuaaNames,
    pub destination_service: DestinationServiceNames,
    pub backend: BackendNames,
    pub destinations: DestinationNames,
    pub users: Vec<DemoUser>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Apps {
    pub approuter: CfApp,
    pub bsclient: CfApp,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CfApp {
    /// `cf push` application name.
    pub name: String,
    /// Route host on Cloud Foundry (`<host>.<domain>`).
    pub host: String,
    /// Memory quota as Cloud Foundry writes it, e.g. `64M`.
    pub memory: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XsuaaNames {
    /// Service instance name of the `xsuaa` `application` plan instance both apps bind.
    pub instance: String,
    /// `xsappname` in `xs-security.json`.
    pub xsappname: String,
    /// The platform appends `!t<n>` to the xsappname.
    pub tenant_index: u32,
    /// Role collection that grants `uaa.user` (needed for the token exchange).
    pub uaa_user_role_collection: String,
    /// Role collection that grants the app's own `$XSAPPNAME.TokenProvider`, which bsclient's
    /// `/getToken` requires.
    #[serde(default = "default_token_provider_role_collection")]
    pub token_provider_role_collection: String,
}

/// The app's own scope (local name) that `/getToken` requires, and its role template.
pub const TOKEN_PROVIDER_SCOPE: &str = "TokenProvider";

fn default_token_provider_role_collection() -> String {
    "TokenProviderUser".into()
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DestinationServiceNames {
    /// Service instance name of the `destination` `lite` instance bsclient binds.
    pub instance: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendNames {
    pub xsappname: String,
    pub tenant_index: u32,
    /// Local scope name; the full scope is `<xsappname>!t<n>.<scope>`.
    pub scope: String,
    /// Role collection that grants the backend scope.
    pub role_collection: String,
    /// Its own xsuaa instance when it is deployed as an app (`cargo xtask deploy --with-backend`).
    #[serde(default = "default_backend_instance")]
    pub instance: String,
    /// The Backend API as a Cloud Foundry app (`cargo xtask deploy --with-backend`).
    #[serde(default = "default_backend_app")]
    pub app: CfApp,
}

fn default_backend_instance() -> String {
    "BackendXsuaa".into()
}

fn default_backend_app() -> CfApp {
    CfApp {
        name: "BackendServiceApp".into(),
        host: "backend-service".into(),
        memory: "64M".into(),
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DestinationNames {
    /// Entry of the approuter's `destinations` env that points at bsclient.
    pub router_to_bsclient: String,
    /// Destination-service destination (OAuth2UserTokenExchange) that points at the Backend API.
    pub bsclient_to_backend: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    pub name: String,
    pub password: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub role_collections: Vec<String>,
    /// Custom user attributes (`xs.user.attributes`, XSUAA's `/userinfo` `user_attributes`).
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {source}")]
    Parse {
        origin: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{origin}: {reason}")]
    Invalid { origin: String, reason: String },
}

impl ScenarioNames {
    /// The names shipped in the workspace's `scenario.yaml`.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_SCENARIO_YAML, "scenario.yaml (built in)").expect(
            "the scenario.yaml shipped with the workspace is valid (checked by a unit test)",
        )
    }

    pub fn load(path: &Path) -> Result<Self, NamesError> {
        let text = std::fs::read_to_string(path).map_err(|source| NamesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, NamesError> {
        let names: ScenarioNames =
            serde_norway::from_str(text).map_err(|source| NamesError::Parse {
                origin: origin.to_string(),
                source,
            })?;
        names.validate().map_err(|reason| NamesError::Invalid {
            origin: origin.to_string(),
            reason,
        })?;
        Ok(names)
    }

    fn validate(&self) -> Result<(), String> {
        let known: Vec<&str> = vec![
            self.backend.role_collection.as_str(),
            self.xsuaa.uaa_user_role_collection.as_str(),
            self.xsuaa.token_provider_role_collection.as_str(),
        ];
        if self.users.is_empty() {
            return Err("users: at least one demo user is needed".into());
        }
        for user in &self.users {
            for rc in &user.role_collections {
                if !known.contains(&rc.as_str()) {
                    return Err(format!(
                        "users.{}.role_collections: unknown role collection {rc:?} (known: {})",
                        user.name,
                        known.join(", ")
                    ));
                }
            }
        }
        for (key, value) in [
            ("xsuaa.xsappname", &self.xsuaa.xsappname),
            ("backend.xsappname", &self.backend.xsappname),
        ] {
            if value.is_empty() || value.contains('!') || value.contains(' ') {
                return Err(format!(
                    "{key}: {value:?} must be non-empty, without spaces and without the platform's \"!t<n>\" suffix"
                ));
            }
        }
        Ok(())
    }

    /// `Backend-service!t6131`.
    pub fn backend_xsappname_with_suffix(&self) -> String {
        format!("{}!t{}", self.backend.xsappname, self.backend.tenant_index)
    }

    /// The backend scope as it appears in tokens and in `xs-app.json`: `Backend-service!t6131.AllAccess`.
    pub fn backend_scope(&self) -> String {
        format!(
            "{}.{}",
            self.backend_xsappname_with_suffix(),
            self.backend.scope
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_gives_the_tutorial_names() {
        let names = ScenarioNames::builtin();
        assert_eq!(names.backend_scope(), "Backend-service!t6131.AllAccess");
        assert_eq!(names.destinations.bsclient_to_backend, "BackendServiceAPI");
        assert_eq!(names.destinations.router_to_bsclient, "destination_client");
        assert_eq!(names.xsuaa.instance, "XsuaaForScenario");
        assert_eq!(names.users.len(), 2);
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let text = DEFAULT_SCENARIO_YAML.replace("apps:", "colour: blue\napps:");
        let err = ScenarioNames::parse(&text, "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.yaml: "), "{err}");
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn unknown_role_collection_is_an_error() {
        let text = DEFAULT_SCENARIO_YAML.replace("[UaaUser]", "[Nope]");
        let err = ScenarioNames::parse(&text, "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("users.bob.role_collections: unknown role collection \"Nope\""),
            "{err}"
        );
    }
}
