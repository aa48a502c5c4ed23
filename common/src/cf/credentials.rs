//! Typed credentials of the xsuaa and destination bindings.

use super::binding::ServiceBinding;
use super::error::CfError;
use crate::secret::Secret;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Checks each named field before deserialising, so the error names the field instead of serde's
/// position-less "invalid type" message.
pub(super) fn typed_credentials<T: DeserializeOwned>(
    binding: &ServiceBinding,
    required: &[&str],
    optional: &[&str],
    urls: &[&str],
) -> Result<T, CfError> {
    let field_error = |field: &str, reason: &str| CfError::InvalidField {
        binding: binding.name.clone(),
        label: binding.label.clone(),
        field: field.into(),
        reason: reason.into(),
    };
    let creds = &binding.credentials;
    if !creds.is_object() {
        return Err(CfError::MissingField {
            binding: binding.name.clone(),
            label: binding.label.clone(),
            field: "credentials".into(),
        });
    }
    for field in required {
        match creds.get(*field) {
            None | Some(serde_json::Value::Null) => {
                return Err(CfError::MissingField {
                    binding: binding.name.clone(),
                    label: binding.label.clone(),
                    field: (*field).into(),
                });
            }
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
                return Err(field_error(field, "is empty"));
            }
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(field_error(field, "expected a string")),
        }
    }
    for field in optional {
        match creds.get(*field) {
            None | Some(serde_json::Value::Null) | Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(field_error(field, "expected a string")),
        }
    }
    for field in urls {
        if let Some(s) = creds.get(*field).and_then(|v| v.as_str())
            && let Err(e) = url::Url::parse(s)
        {
            return Err(field_error(field, &format!("not a URL ({e})")));
        }
    }
    serde_json::from_value(creds.clone()).map_err(|e| field_error("credentials", &e.to_string()))
}

#[derive(Debug, Clone, Deserialize)]
pub struct XsuaaCredentials {
    pub clientid: String,
    pub clientsecret: Secret,
    pub url: String,
    pub uaadomain: String,
    pub xsappname: String,
    #[serde(default)]
    pub identityzone: Option<String>,
    #[serde(default)]
    pub identityzoneid: Option<String>,
    #[serde(default)]
    pub tenantid: Option<String>,
    #[serde(default)]
    pub zoneid: Option<String>,
    #[serde(default)]
    pub verificationkey: Option<String>,
    #[serde(default)]
    pub tenantmode: Option<String>,
}

impl XsuaaCredentials {
    fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// `{url}/oauth/token`
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base())
    }

    /// `{url}/oauth/authorize`
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.base())
    }

    /// `{url}/token_keys`
    pub fn token_keys_url(&self) -> String {
        format!("{}/token_keys", self.base())
    }

    /// The zone tokens of this binding carry in `zid`: `identityzoneid`, else `zoneid`, else `tenantid`.
    pub fn zone_id(&self) -> Option<&str> {
        [&self.identityzoneid, &self.zoneid, &self.tenantid]
            .into_iter()
            .find_map(|z| z.as_deref().filter(|z| !z.is_empty()))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DestinationCredentials {
    pub clientid: String,
    pub clientsecret: Secret,
    /// Destination service base URL.
    pub uri: String,
    /// XSUAA URL (token endpoint `{url}/oauth/token`).
    pub url: String,
    #[serde(default)]
    pub uaadomain: Option<String>,
    #[serde(default)]
    pub xsappname: Option<String>,
}
