//! Typed XSUAA access-token claims.

use serde::{Deserialize, Deserializer, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    #[serde(default)]
    pub zid: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub cid: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    /// A string or an array on the wire.
    #[serde(default, deserialize_with = "string_or_seq")]
    pub aud: Vec<String>,
    /// An array in XSUAA tokens; a space-separated string is accepted too.
    #[serde(default, deserialize_with = "string_or_seq")]
    pub scope: Vec<String>,
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub iat: Option<i64>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub ext_attr: Option<serde_json::Value>,
    #[serde(rename = "xs.user.attributes", default)]
    pub xs_user_attributes: Option<serde_json::Value>,
    #[serde(rename = "xs.system.attributes", default)]
    pub xs_system_attributes: Option<serde_json::Value>,
    /// Not a claim: the `kid` of the key the token was verified with (set by
    /// `JwtValidator::validate`), so a remembered token can be dropped when its key is withdrawn.
    #[serde(skip)]
    pub kid: Option<String>,
}

fn string_or_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split_whitespace().map(str::to_owned).collect(),
        OneOrMany::Many(v) => v,
        OneOrMany::Null(()) => Vec::new(),
    })
}

impl Claims {
    /// Exact match: `Backend-service!t6131.AllAccess` is not satisfied by `AllAccess`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }

    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp.max(0) as u64)
    }

    /// `"zid/user_id"` when both are present (a per-user cache key), else `None`.
    pub fn user_key(&self) -> Option<String> {
        match (&self.zid, &self.user_id) {
            (Some(z), Some(u)) if !z.is_empty() && !u.is_empty() => Some(format!("{z}/{u}")),
            _ => None,
        }
    }

    /// `cid`, else `client_id`, else `azp`.
    pub fn client_id(&self) -> Option<&str> {
        [&self.cid, &self.client_id, &self.azp]
            .into_iter()
            .find_map(|c| c.as_deref().filter(|c| !c.is_empty()))
    }

    /// Audiences as `@sap/xssec` derives them: `aud` entries cut at the first `.`, or (without
    /// `aud`) the prefixes of the scopes, plus `cid`.
    pub fn audiences(&self) -> Vec<String> {
        let cut = |s: &String| match s.find('.') {
            Some(i) => s[..i].to_owned(),
            None => s.clone(),
        };
        let mut out: Vec<String> = if self.aud.is_empty() {
            self.scope
                .iter()
                .filter(|s| s.contains('.'))
                .map(cut)
                .collect()
        } else {
            self.aud.iter().map(cut).collect()
        };
        if let Some(cid) = self.client_id() {
            out.push(cid.to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|a| !a.is_empty() && seen.insert(a.clone()));
        out
    }
}
