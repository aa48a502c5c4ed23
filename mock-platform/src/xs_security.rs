//! `xs-security.json`, the application security descriptor passed to
//! `cf create-service xsuaa application NAME -c xs-security.json`. Unknown keys are rejected
//! (as the service broker does), except inside `oauth2-configuration`, which has many keys the
//! mock does not act on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XsSecurity {
    pub xsappname: String,
    #[serde(
        rename = "tenant-mode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tenant_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub scopes: Vec<Scope>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Value>,
    #[serde(rename = "role-templates", default)]
    pub role_templates: Vec<RoleTemplate>,
    #[serde(
        rename = "role-collections",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub role_collections: Vec<XsRoleCollection>,
    #[serde(rename = "foreign-scope-references", default)]
    pub foreign_scope_references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorities: Vec<String>,
    #[serde(
        rename = "authorities-inheritance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authorities_inheritance: Option<bool>,
    #[serde(rename = "oauth2-configuration", default)]
    pub oauth2_configuration: OAuth2Configuration,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Apps that may reference this scope in `foreign-scope-references`.
    #[serde(
        rename = "granted-apps",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub granted_apps: Vec<String>,
    /// Apps whose client-credentials tokens may carry this scope (their `authorities`).
    #[serde(
        rename = "grant-as-authority-to-apps",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub grant_as_authority_to_apps: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleTemplate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "scope-references", default)]
    pub scope_references: Vec<String>,
    #[serde(
        rename = "attribute-references",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attribute_references: Vec<Value>,
    #[serde(
        rename = "default-role-name",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub default_role_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct XsRoleCollection {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `$XSAPPNAME.<role template name>`.
    #[serde(rename = "role-template-references", default)]
    pub role_template_references: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OAuth2Configuration {
    #[serde(
        rename = "token-validity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_validity: Option<i64>,
    #[serde(
        rename = "refresh-token-validity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token_validity: Option<i64>,
    #[serde(
        rename = "redirect-uris",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub redirect_uris: Vec<String>,
    #[serde(rename = "grant-types", default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// XSUAA's default grant types for an `application` plan client.
pub const DEFAULT_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "user_token",
];

/// Expands `$XSAPPNAME` (this app) and `$XSAPPNAME(<plan>,<xsappname>)` (another app) in a scope,
/// role template or app reference. `lookup` maps a plain xsappname to its suffixed form.
pub fn expand(
    text: &str,
    own: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    const TOKEN: &str = "$XSAPPNAME";
    let Some(rest) = text.strip_prefix(TOKEN) else {
        if text.contains(TOKEN) {
            return Err(format!("{text:?}: $XSAPPNAME must come first"));
        }
        return Ok(text.to_string());
    };
    if let Some(args) = rest.strip_prefix('(') {
        let Some(close) = args.find(')') else {
            return Err(format!("{text:?}: missing ')' after $XSAPPNAME("));
        };
        let inner = &args[..close];
        let name = inner.split(',').nth(1).unwrap_or(inner).trim();
        let Some(full) = lookup(name) else {
            return Err(format!("{text:?}: no app with xsappname {name:?}"));
        };
        Ok(format!("{full}{}", &args[close + 1..]))
    } else {
        Ok(format!("{own}{rest}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        (name == "Other").then(|| "Other!t9".to_string())
    }

    #[test]
    fn expands_own_and_foreign_app_names() {
        assert_eq!(
            expand("$XSAPPNAME.Read", "App!t1", &lookup).unwrap(),
            "App!t1.Read"
        );
        assert_eq!(
            expand("$XSAPPNAME(application,Other).Read", "App!t1", &lookup).unwrap(),
            "Other!t9.Read"
        );
        assert_eq!(expand("uaa.user", "App!t1", &lookup).unwrap(), "uaa.user");
        assert!(expand("$XSAPPNAME(application,Nope).Read", "App!t1", &lookup).is_err());
    }

    #[test]
    fn rejects_unknown_keys() {
        let err = serde_json::from_value::<XsSecurity>(serde_json::json!({
            "xsappname": "a", "scope": []
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `scope`"), "{err}");
    }
}
