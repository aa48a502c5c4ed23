//! The pairs of a request's `Cookie` headers, read as bytes. Browsers send cookies with
//! non-ASCII values (UTF-8 or Latin-1 set by some other app on the domain), which
//! `HeaderValue::to_str` rejects: reading the header as text would make one such cookie hide the
//! session cookie and drop every other cookie on the way to the backend. Written here rather than
//! with the `cookie` crate because that parses `&str` only.

use axum::http::{HeaderMap, HeaderValue, header};

/// `(name, value)` of every cookie in the request's `Cookie` headers, both trimmed; pairs
/// without `=` are skipped.
pub fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&[u8], &[u8])> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b';'))
        .filter_map(|pair| {
            let at = pair.iter().position(|b| *b == b'=')?;
            Some((pair[..at].trim_ascii(), pair[at + 1..].trim_ascii()))
        })
}

/// The value of the cookie `name` that parses as `T` (the first that does), e.g. a session id.
pub fn find<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    pairs(headers)
        .filter(|(n, _)| *n == name.as_bytes())
        .find_map(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
}

/// One `Cookie` header value without the pairs `keep` says no to; `None` when nothing is left.
/// Kept pairs keep their bytes, non-ASCII ones included.
pub fn retain(value: &HeaderValue, keep: impl Fn(&[u8]) -> bool) -> Option<HeaderValue> {
    let mut kept = Vec::with_capacity(value.len());
    for pair in value
        .as_bytes()
        .split(|b| *b == b';')
        .map(<[u8]>::trim_ascii)
    {
        if pair.is_empty() {
            continue;
        }
        let name = pair
            .split(|b| *b == b'=')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        if keep(name) {
            if !kept.is_empty() {
                kept.extend_from_slice(b"; ");
            }
            kept.extend_from_slice(pair);
        }
    }
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_bytes(&kept).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn a_non_ascii_cookie_does_not_hide_the_others() {
        let h = headers(&["theme=gr\u{fc}n; JSESSIONID=42".as_bytes(), b"x=\xe4"]);
        assert_eq!(find::<u32>(&h, "JSESSIONID"), Some(42));
        assert_eq!(pairs(&h).count(), 3);
    }

    #[test]
    fn retain_keeps_the_bytes_of_what_it_keeps() {
        let v = HeaderValue::from_bytes(b"a=\xe4; JSESSIONID=1 ;b=2").unwrap();
        let kept = retain(&v, |name| name != b"JSESSIONID").unwrap();
        assert_eq!(kept.as_bytes(), b"a=\xe4; b=2");
        assert!(
            retain(&HeaderValue::from_static("JSESSIONID=1"), |n| n
                != b"JSESSIONID")
            .is_none()
        );
    }
}
