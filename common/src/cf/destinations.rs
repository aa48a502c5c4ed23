//! The App Router's `destinations` environment variable: a JSON array of
//! `{name, url, forwardAuthToken, timeout, strictSSL, proxyHost, proxyPort, ...}`.

use super::error::CfError;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

const VAR: &str = "destinations";

/// Keys `@sap/approuter` accepts in an entry; anything else is most likely a typo and refused.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "url",
    "forwardAuthToken",
    "HTML5.ForwardAuthToken",
    "timeout",
    "strictSSL",
    "proxyHost",
    "proxyPort",
    "proxyType",
    "setXForwardedHeaders",
    "preserveHostHeader",
    "authentication",
    "type",
    "IPDirectForwarding",
    "sap-client",
];

/// One entry of the App Router's `destinations` env var.
#[derive(Debug, Clone)]
pub struct AppRouterDestination {
    pub name: String,
    pub url: url::Url,
    pub forward_auth_token: bool,
    /// `timeout` is in milliseconds in the JSON.
    pub timeout: Option<Duration>,
    pub strict_ssl: bool,
    pub set_x_forwarded_headers: bool,
    pub preserve_host_header: bool,
    pub proxy_host: Option<String>,
    pub proxy_port: Option<u16>,
    /// `sap-client`: sent to the backend as the `sap-client` header, as `@sap/approuter` does.
    pub sap_client: Option<String>,
}

/// Env `destinations`; absent or blank -> no destinations.
pub fn destinations_from_env() -> Result<Vec<AppRouterDestination>, CfError> {
    match std::env::var(VAR) {
        Ok(json) if !json.trim().is_empty() => parse_destinations(&json),
        _ => Ok(Vec::new()),
    }
}

pub fn parse_destinations(json: &str) -> Result<Vec<AppRouterDestination>, CfError> {
    let value: Value = serde_json::from_str(json).map_err(|e| CfError::InvalidJson {
        var: VAR.into(),
        reason: e.to_string(),
    })?;
    let Value::Array(entries) = value else {
        return Err(CfError::Invalid {
            var: VAR.into(),
            reason: "expected a JSON array of destinations".into(),
        });
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let dest = parse_entry(i + 1, entry)?;
        if let Some(first) = seen.insert(dest.name.clone(), i + 1) {
            return Err(CfError::Destination {
                entry: format!("entry {} (\"{}\")", i + 1, dest.name),
                reason: format!("duplicate name, already used by entry {first}"),
            });
        }
        out.push(dest);
    }
    Ok(out)
}

fn parse_entry(index: usize, entry: &Value) -> Result<AppRouterDestination, CfError> {
    let Value::Object(map) = entry else {
        return Err(CfError::Destination {
            entry: format!("entry {index}"),
            reason: "expected a JSON object".into(),
        });
    };
    let name = map
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    let label = if name.is_empty() {
        format!("entry {index}")
    } else {
        format!("entry {index} (\"{name}\")")
    };
    let err = |reason: String| CfError::Destination {
        entry: label.clone(),
        reason,
    };

    for key in map.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(err(format!("unknown key \"{key}\"")));
        }
    }
    match map.get("name") {
        None | Some(Value::Null) => return Err(err("missing \"name\"".into())),
        Some(Value::String(_)) if name.is_empty() => return Err(err("\"name\" is empty".into())),
        Some(Value::String(_)) => {}
        Some(_) => return Err(err("\"name\" must be a string".into())),
    }
    let raw_url = match map.get("url") {
        None | Some(Value::Null) => return Err(err("missing \"url\"".into())),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(err("\"url\" must be a string".into())),
    };
    let url = url::Url::parse(raw_url)
        .map_err(|e| err(format!("\"url\" is not a valid URL ({e}): \"{raw_url}\"")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(err(format!("\"url\" must be http or https: \"{raw_url}\"")));
    }

    let flag = |key: &str, default: bool| -> Result<bool, CfError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(other) => Err(err(format!("\"{key}\" must be true or false, got {other}"))),
        }
    };
    let forward_auth_token =
        flag("forwardAuthToken", false)? || flag("HTML5.ForwardAuthToken", false)?;
    let strict_ssl = flag("strictSSL", true)?;
    let set_x_forwarded_headers = flag("setXForwardedHeaders", true)?;
    let preserve_host_header = flag("preserveHostHeader", false)?;
    flag("IPDirectForwarding", false)?;

    let number = |key: &str| -> Result<Option<u64>, CfError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
            Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
            Some(other) => Err(err(format!(
                "\"{key}\" must be a non-negative integer, got {other}"
            ))),
        }
    };
    let timeout = number("timeout")?.map(Duration::from_millis);
    let proxy_port = match number("proxyPort")? {
        None => None,
        Some(p) => Some(
            u16::try_from(p).map_err(|_| err(format!("\"proxyPort\" {p} is not a port number")))?,
        ),
    };
    let proxy_host = match map.get("proxyHost") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(err("\"proxyHost\" must be a string".into())),
    };
    let sap_client = match map.get("sap-client") {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.trim().is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Some(s.trim().to_string())
        }
        Some(Value::Number(n)) if n.is_u64() => Some(n.to_string()),
        Some(other) => {
            return Err(err(format!(
                "\"sap-client\" must be a client number like \"100\", got {other}"
            )));
        }
    };
    for key in ["proxyType", "authentication", "type"] {
        if let Some(v) = map.get(key)
            && !v.is_string()
            && !v.is_null()
        {
            return Err(err(format!("\"{key}\" must be a string")));
        }
    }
    if let Some(pt) = map.get("proxyType").and_then(Value::as_str)
        && !matches!(pt, "Internet" | "OnPremise" | "PrivateLink")
    {
        return Err(err(format!(
            "\"proxyType\" must be Internet, OnPremise or PrivateLink, got \"{pt}\""
        )));
    }

    Ok(AppRouterDestination {
        name: name.to_owned(),
        url,
        forward_auth_token,
        timeout,
        strict_ssl,
        set_x_forwarded_headers,
        preserve_host_header,
        proxy_host,
        proxy_port,
        sap_client,
    })
}
