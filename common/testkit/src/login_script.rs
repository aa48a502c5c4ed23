//! The login pages that keep the URL fragment (ours with `PRESERVE_FRAGMENT`, and `@sap/approuter`'s):
//! a 200 with a small script that sets cookies and then navigates to XSUAA. What a browser does
//! with them, without a JavaScript engine (the scripts have one fixed shape).

/// What SAP's login answer asks the browser to do: it answers 200 with a small script that sets
/// cookies (where to return after login, and a signature) and then navigates to XSUAA. Returns
/// the cookies (`name=value;path=/;`) and the URL the script navigates to. `page_path` is the path
/// and query of the page (what `location.href` minus origin is in a browser).
pub fn script_redirect(html: &str, page_path: &str) -> Option<(Vec<String>, String)> {
    script_redirect_at(html, page_path, "")
}

/// [`script_redirect`] for a page opened with a fragment: `hash` is `location.hash` (`#...` or
/// empty). Reads our router's login page too (`PRESERVE_FRAGMENT`), which has the same shape.
pub fn script_redirect_at(
    html: &str,
    page_path: &str,
    hash: &str,
) -> Option<(Vec<String>, String)> {
    let script_start = html.find("<script")?;
    let script = &html[script_start..];
    let mut cookies = Vec::new();
    let mut rest = script;
    while let Some(at) = rest.find("document.cookie=") {
        rest = &rest[at + "document.cookie=".len()..];
        let (value, after) = js_string_or_expr(rest, page_path, hash)?;
        cookies.push(value);
        rest = after;
    }
    let at = script.find("location=\"")?;
    let url_start = &script[at + "location=\"".len()..];
    let url = &url_start[..url_start.find('"')?];
    Some((cookies, url.replace("\\/", "/")))
}

/// The cookie text of one `document.cookie=...;` statement: string literals joined by `+`, and
/// the two expressions SAP's script uses, `encodeURIComponent(location.hash)` (`hash`) and
/// `encodeURIComponent(location.href...)` (the page's path).
fn js_string_or_expr<'t>(text: &'t str, page_path: &str, hash: &str) -> Option<(String, &'t str)> {
    let end = text.find(";document.").or_else(|| text.find(";location"))?;
    let mut out = String::new();
    for part in text[..end].split('+') {
        let part = part.trim();
        if let Some(literal) = part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            out.push_str(literal);
        } else if part.contains("location.href") {
            out.push_str(&encode_uri_component(page_path));
        } else if part.contains("location.hash") {
            out.push_str(&encode_uri_component(hash));
        } else {
            return None;
        }
    }
    Some((out, &text[end + 1..]))
}

/// JavaScript's `encodeURIComponent`.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sap_login_script() {
        let html = r#"<html><head><script nonce="x">document.cookie="fragmentAfterLogin="+encodeURIComponent(location.hash)+";path=/;";document.cookie="locationAfterLogin="+encodeURIComponent(location.href.split('#')[0].split(location.host)[1])+";path=/;";document.cookie="signature=QYJg%3D;path=/;";location="http://127.0.0.1:1/oauth/authorize?response_type=code&client_id=sb-x!t1"</script></head></html>"#;
        let (cookies, url) = script_redirect(html, "/api/a?b=c").unwrap();
        assert_eq!(
            cookies,
            vec![
                "fragmentAfterLogin=;path=/;",
                "locationAfterLogin=%2Fapi%2Fa%3Fb%3Dc;path=/;",
                "signature=QYJg%3D;path=/;"
            ]
        );
        assert_eq!(
            url,
            "http://127.0.0.1:1/oauth/authorize?response_type=code&client_id=sb-x!t1"
        );
    }
}
