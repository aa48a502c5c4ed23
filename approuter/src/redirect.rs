//! Where the router may send a browser: after login (back to the page first asked for) and after
//! logout (`logoutPage`). Only same-origin relative paths, or absolute URLs to an allow-listed
//! host, are accepted; everything else falls back to `/`.

/// `target` when it is a harmless path on this origin: starts with one `/`, and neither raw nor
/// decoded has a backslash, whitespace, control character or a dot segment that a browser could
/// turn into another host (`//evil`, `/\evil`, `/%09/evil`, `/.%2e//evil`...).
pub fn safe_relative(target: &str) -> Option<String> {
    if !target.starts_with('/') || target.len() > 4096 {
        return None;
    }
    let decoded = percent_decode(target)?;
    for text in [target, decoded.as_str()] {
        let bytes = text.as_bytes();
        if bytes.get(1).is_some_and(|b| *b == b'/' || *b == b'\\') {
            return None;
        }
        if text
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let path = text.split(['?', '#']).next().unwrap_or("");
        if path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return None;
        }
    }
    Some(target.to_string())
}

/// `target` when it is a safe relative path, or an absolute http(s) URL whose host is `own_host`
/// or in `allowed_hosts`.
pub fn safe_target(target: &str, own_host: &str, allowed_hosts: &[String]) -> Option<String> {
    if target.starts_with('/') {
        return safe_relative(target);
    }
    let url = url::Url::parse(target).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    let host = url.host_str()?;
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let allowed = host_port.eq_ignore_ascii_case(own_host)
        || host.eq_ignore_ascii_case(own_host)
        || allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(&host_port));
    allowed.then(|| url.to_string())
}

/// Strict percent-decoding: a malformed escape or invalid UTF-8 gives `None`.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(value);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Invalid UTF-8 after decoding cannot be a legitimate page of ours.
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_kept() {
        for ok in ["/", "/mainentry", "/a/b?x=1&y=%2F", "/a#frag", "/caf%C3%A9"] {
            assert_eq!(safe_relative(ok).as_deref(), Some(ok), "{ok}");
        }
    }

    #[test]
    fn anything_that_can_leave_the_origin_is_refused() {
        for bad in [
            "//evil.example/x",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/ /evil.example",
            "/./evil",
            "/%2e%2e/evil",
            "/a/../b",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "/%zz",
            "",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn absolute_urls_only_to_allowed_hosts() {
        let allowed = vec!["portal.example".to_string()];
        assert_eq!(
            safe_target("https://portal.example/bye", "router.example", &allowed).as_deref(),
            Some("https://portal.example/bye")
        );
        assert_eq!(
            safe_target("http://router.example:8080/x", "router.example:8080", &[]).as_deref(),
            Some("http://router.example:8080/x")
        );
        assert_eq!(
            safe_target("https://evil.example/", "router.example", &allowed),
            None
        );
        assert_eq!(
            safe_target(
                "https://portal.example@evil.example/",
                "router.example",
                &allowed
            ),
            None
        );
        assert_eq!(
            safe_target("ftp://portal.example/", "router.example", &allowed),
            None
        );
        assert_eq!(
            safe_target("/ok", "router.example", &[]).as_deref(),
            Some("/ok")
        );
    }
}
