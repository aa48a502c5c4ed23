//! `oauth2-configuration.redirect-uris` patterns with XSUAA's wildcard rules: `*` in a host
//! label matches within that label (`https://*.example.com` matches one subdomain level), `*` as
//! the port matches any port, and the path is an Ant pattern (`*` within a segment, `**` any
//! number of segments). A redirect URI with user info or a fragment never matches.

use url::Url;

#[derive(Debug, Clone, PartialEq)]
pub struct RedirectPattern {
    raw: String,
    scheme: String,
    host_labels: Vec<String>,
    /// None: the scheme's default port; Some(None): `*`.
    port: Option<Option<u16>>,
    path: Vec<String>,
    query: Option<String>,
}

impl RedirectPattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| format!("{raw:?}: needs a scheme (\"https://...\")"))?;
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("{raw:?}: invalid scheme"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.contains('@') || authority.is_empty() || authority.contains('#') {
            return Err(format!("{raw:?}: invalid host"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, "*")) => (host, Some(None)),
            Some((host, port)) => (
                host,
                Some(Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("{raw:?}: invalid port {port:?}"))?,
                )),
            ),
            None => (authority, None),
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (rest, None),
        };
        if raw.contains('#') {
            return Err(format!("{raw:?}: a redirect URI has no fragment"));
        }
        Ok(Self {
            raw: raw.to_string(),
            scheme: scheme.to_ascii_lowercase(),
            host_labels: host
                .to_ascii_lowercase()
                .split('.')
                .map(str::to_string)
                .collect(),
            port,
            path: split_path(if path.is_empty() { "/" } else { path }),
            query,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `candidate` is an allowed redirect target. A malformed candidate never matches.
    pub fn matches(&self, candidate: &str) -> bool {
        let Ok(url) = Url::parse(candidate) else {
            return false;
        };
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return false;
        }
        if url.scheme() != self.scheme {
            return false;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() != self.host_labels.len()
            || !labels
                .iter()
                .zip(&self.host_labels)
                .all(|(l, p)| glob(p, l))
        {
            return false;
        }
        let port = url.port_or_known_default();
        let port_ok = match self.port {
            Some(None) => true,
            Some(Some(p)) => port == Some(p),
            None => port == default_port(&self.scheme),
        };
        if !port_ok {
            return false;
        }
        if !ant(&self.path, &split_path(url.path())) {
            return false;
        }
        match (&self.query, url.query()) {
            (Some(pattern), Some(query)) => glob(pattern, query),
            (Some(_), None) => false,
            (None, Some(_)) => self.path.last().is_some_and(|s| s == "**"),
            (None, None) => true,
        }
    }
}

/// Whether any of `patterns` allows `candidate`.
pub fn allowed(patterns: &[RedirectPattern], candidate: &str) -> bool {
    patterns.iter().any(|p| p.matches(candidate))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Ant path matching over segments: `**` matches zero or more segments.
fn ant(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => (0..=path.len()).any(|i| ant(rest, &path[i..])),
        Some((first, rest)) => match path.split_first() {
            Some((segment, path_rest)) => glob(first, segment) && ant(rest, path_rest),
            None => false,
        },
    }
}

/// `*` matches any run of characters, `?` one character; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RedirectPattern {
        RedirectPattern::parse(s).unwrap()
    }

    #[test]
    fn any_port_and_path_on_loopback() {
        let pattern = p("http://127.0.0.1:*/**");
        assert!(pattern.matches("http://127.0.0.1:5000/login/callback"));
        assert!(pattern.matches("http://127.0.0.1:5000/login/callback?x=1"));
        assert!(pattern.matches("http://127.0.0.1:80/"));
        assert!(!pattern.matches("https://127.0.0.1:5000/login/callback"));
        assert!(!pattern.matches("http://127.0.0.2:5000/login/callback"));
        assert!(!pattern.matches("http://evil@127.0.0.1:5000/x"));
        assert!(!pattern.matches("http://127.0.0.1.evil.com:5000/x"));
        assert!(!pattern.matches("http://127.0.0.1:5000/x#frag"));
    }

    #[test]
    fn subdomain_wildcard_is_one_label() {
        let pattern = p("https://*.example.com/**");
        assert!(pattern.matches("https://shop.example.com/login/callback"));
        assert!(!pattern.matches("https://a.b.example.com/x"));
        assert!(!pattern.matches("https://example.com/x"));
        assert!(!pattern.matches("https://shop.example.com.evil.io/x"));
        assert!(
            !pattern.matches("https://shop.example.com:8443/x"),
            "default port only"
        );
    }

    #[test]
    fn exact_and_single_segment_patterns() {
        let pattern = p("https://app.example.com/login/callback");
        assert!(pattern.matches("https://app.example.com/login/callback"));
        assert!(!pattern.matches("https://app.example.com/login/callback?next=/x"));
        assert!(!pattern.matches("https://app.example.com/login/callback/more"));
        let pattern = p("https://app.example.com/*/callback");
        assert!(pattern.matches("https://app.example.com/login/callback"));
        assert!(!pattern.matches("https://app.example.com/a/b/callback"));
    }
}
