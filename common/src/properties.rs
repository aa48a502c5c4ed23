//! The token provider's credentials file (seed 003): `key = value` lines, `#`/`!` comments, with keys
//! ending in `.token.endpoint.url`, `.access.key.id`, `.access.key.secret` and optionally `.token.scope`
//! (the prefix, `here.` in the seed, is free). Other keys are ignored, as in the seed's regexes.
//!
//! The prefix picks the token endpoint's protocol ([`Flavour`]): `here.` keys (a HERE
//! `credentials.properties` as the HERE platform hands it out) are HERE's OAuth 1.0a-signed token
//! request; any other prefix (e.g. `xsuaa.`) is an OAuth2 client-credentials grant (XSUAA).

use crate::secret::Secret;
use std::path::Path;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PropertiesError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        /// Shared so the error stays `Clone`.
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    #[error("{origin}:{line}: {reason}")]
    Syntax {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("{origin}: missing key \"*{suffix}\"")]
    MissingKey { origin: String, suffix: String },
}

/// Which protocol the token endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `here.*` keys: OAuth 1.0a HMAC-SHA256 signed JSON request ([`crate::here`]).
    Here,
    /// Any other prefix: OAuth2 client credentials with HTTP Basic ([`crate::oauth`]).
    OAuth2,
}

#[derive(Debug, Clone)]
pub struct TokenProviderCredentials {
    pub flavour: Flavour,
    pub token_endpoint_url: String,
    pub access_key_id: String,
    pub access_key_secret: Secret,
    pub token_scope: Option<String>,
}

const URL: &str = ".token.endpoint.url";
const KEY_ID: &str = ".access.key.id";
const KEY_SECRET: &str = ".access.key.secret";
const SCOPE: &str = ".token.scope";

impl TokenProviderCredentials {
    pub fn load(path: &Path) -> Result<Self, PropertiesError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PropertiesError::Io {
            path: origin.clone(),
            source: e.into(),
        })?;
        Self::parse(&text, &origin)
    }

    /// `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PropertiesError> {
        // (value, line) per recognised suffix
        let mut found: [Option<(String, usize)>; 4] = Default::default();
        let suffixes = [URL, KEY_ID, KEY_SECRET, SCOPE];
        let mut url_key_is_here = false;
        let syntax = |line: usize, reason: String| PropertiesError::Syntax {
            origin: origin.to_owned(),
            line,
            reason,
        };

        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_start_matches('\u{feff}').trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some(sep) = line.find(['=', ':']) else {
                return Err(syntax(line_no, "expected `key = value`".into()));
            };
            let key = line[..sep].trim();
            let value = line[sep + 1..].trim();
            if key.is_empty() {
                return Err(syntax(line_no, "missing key before `=`".into()));
            }
            let Some(slot) = suffixes.iter().position(|s| key.ends_with(s)) else {
                continue;
            };
            if value.is_empty() {
                return Err(syntax(line_no, format!("\"{key}\" has no value")));
            }
            if let Some((_, first)) = &found[slot] {
                return Err(syntax(
                    line_no,
                    format!("\"{key}\" is set again (first on line {first})"),
                ));
            }
            if slot == 0 {
                // The endpoint key's prefix decides the protocol (the seed's keys are all `here.`).
                url_key_is_here = key.starts_with("here.");
                match url::Url::parse(value) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                    Ok(_) => {
                        return Err(syntax(line_no, format!("\"{key}\" must be an http(s) URL")));
                    }
                    Err(e) => {
                        return Err(syntax(line_no, format!("\"{key}\" is not a URL ({e})")));
                    }
                }
            }
            found[slot] = Some((value.to_owned(), line_no));
        }

        let [url, id, secret, scope] = found;
        let missing = |suffix: &str| PropertiesError::MissingKey {
            origin: origin.to_owned(),
            suffix: suffix.to_owned(),
        };
        Ok(TokenProviderCredentials {
            flavour: if url_key_is_here {
                Flavour::Here
            } else {
                Flavour::OAuth2
            },
            token_endpoint_url: url.ok_or_else(|| missing(URL))?.0,
            access_key_id: id.ok_or_else(|| missing(KEY_ID))?.0,
            access_key_secret: Secret::new(secret.ok_or_else(|| missing(KEY_SECRET))?.0),
            token_scope: scope.map(|(v, _)| v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# HERE-style credentials\n\
        here.user.id = HERE-123\n\
        here.client.id = abc\n\
        here.access.key.id = sb-Backend-service!t6131\n\
        here.access.key.secret = s3cr3t=with=equals\n\
        here.token.endpoint.url = http://127.0.0.1:8080/oauth/token\n";

    #[test]
    fn parses_the_seed_format() {
        let c = TokenProviderCredentials::parse(GOOD, "credentials.properties").unwrap();
        assert_eq!(c.token_endpoint_url, "http://127.0.0.1:8080/oauth/token");
        assert_eq!(c.access_key_id, "sb-Backend-service!t6131");
        assert_eq!(c.access_key_secret.expose(), "s3cr3t=with=equals");
        assert_eq!(c.token_scope, None);
        assert_eq!(c.flavour, Flavour::Here);
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }

    #[test]
    fn optional_scope_comments_and_crlf() {
        let text = "! bang comment\r\n\r\nx.token.scope=hrn:here:authorization::org:project/p\r\n\
            x.access.key.id: id\r\nx.access.key.secret = s\r\nx.token.endpoint.url = https://a.b/oauth2/token\r\n";
        let c = TokenProviderCredentials::parse(text, "f").unwrap();
        assert_eq!(
            c.token_scope.as_deref(),
            Some("hrn:here:authorization::org:project/p")
        );
        assert_eq!(c.access_key_id, "id");
        assert_eq!(c.token_endpoint_url, "https://a.b/oauth2/token");
        assert_eq!(
            c.flavour,
            Flavour::OAuth2,
            "only here.* keys are HERE's protocol"
        );
    }

    fn err(text: &str) -> String {
        TokenProviderCredentials::parse(text, "creds.properties")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_file_and_line() {
        assert_eq!(
            err("here.access.key.id = a\nnot a property line\n"),
            "creds.properties:2: expected `key = value`"
        );
        assert_eq!(
            err("here.access.key.id = \n"),
            "creds.properties:1: \"here.access.key.id\" has no value"
        );
        assert_eq!(
            err("a.access.key.id = x\n# c\na.access.key.id = y\n"),
            "creds.properties:3: \"a.access.key.id\" is set again (first on line 1)"
        );
        assert_eq!(
            err("here.token.endpoint.url = not a url\n"),
            "creds.properties:1: \"here.token.endpoint.url\" is not a URL (relative URL without a base)"
        );
        assert_eq!(err(" = x\n"), "creds.properties:1: missing key before `=`");
    }

    #[test]
    fn missing_keys_are_named() {
        assert_eq!(
            err("here.access.key.id = a\nhere.access.key.secret = b\n"),
            "creds.properties: missing key \"*.token.endpoint.url\""
        );
        assert_eq!(
            err("here.token.endpoint.url = http://x/t\nhere.access.key.id = a\n"),
            "creds.properties: missing key \"*.access.key.secret\""
        );
        assert_eq!(
            err(""),
            "creds.properties: missing key \"*.token.endpoint.url\""
        );
    }

    #[test]
    fn load_names_the_path() {
        let e =
            TokenProviderCredentials::load(Path::new("/nonexistent/creds.properties")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/creds.properties: cannot read: "),
            "{e}"
        );
    }
}
