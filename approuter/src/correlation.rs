//! One correlation id per request, as `@sap/approuter` keeps it: the incoming `x-correlationid`,
//! else `x-correlation-id` (renamed), `x-request-id` or `x-vcap-request-id` (the Cloud Foundry
//! router's), else a new UUID. It goes to the backend as `x-correlationid` (like SAP's), into the
//! request's `tracing` span (so login and refresh warnings carry it), onto error pages, and, unlike
//! SAP's, back to the client in the `x-correlationid` response header, so a user can quote it.

use axum::http::{HeaderMap, HeaderValue};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const HEADER: &str = "x-correlationid";
const SOURCES: &[&str] = &[
    HEADER,
    "x-correlation-id",
    "x-request-id",
    "x-vcap-request-id",
];

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// The id of the request being handled, for code that has no request at hand (error pages).
pub fn current() -> Option<HeaderValue> {
    CURRENT.try_with(HeaderValue::clone).ok()
}

/// Runs `f` (the request's handling) with `id` as [`current`].
pub async fn scope<F: Future>(id: HeaderValue, f: F) -> F::Output {
    CURRENT.scope(id, f).await
}

/// The request's id, written to its `x-correlationid` header (and `x-correlation-id` removed)
/// so the backend gets it. Taken from the client only when it is short and plain: it ends up in
/// logs and pages.
pub fn adopt(headers: &mut HeaderMap) -> HeaderValue {
    let incoming = SOURCES.iter().find_map(|name| {
        headers
            .get(*name)
            .filter(|v| is_plain(v.as_bytes()))
            .cloned()
    });
    let id = incoming.unwrap_or_else(generate);
    headers.remove("x-correlation-id");
    headers.insert(HEADER, id.clone());
    id
}

fn is_plain(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A UUID (v4 layout) from a random per-process prefix and a counter: unique across instances and
/// requests without asking the OS for randomness on every request. Correlation and request ids
/// need not be unguessable.
pub fn generate() -> HeaderValue {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&prefix.to_be_bytes());
    bytes[8..].copy_from_slice(&n.to_be_bytes());
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = id.hyphenated().encode_lower(&mut text);
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_incoming_id_is_kept_and_others_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-vcap-request-id", HeaderValue::from_static("cf-1"));
        h.insert("x-correlation-id", HeaderValue::from_static("abc-123"));
        assert_eq!(adopt(&mut h), "abc-123");
        assert_eq!(h[HEADER], "abc-123");
        assert!(h.get("x-correlation-id").is_none());

        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_static("<script>"));
        let id = adopt(&mut h);
        assert_ne!(id, "<script>");
        assert_eq!(id.len(), 36);
        assert_eq!(h[HEADER], id);
        let mut again = HeaderMap::new();
        assert_ne!(adopt(&mut again), id, "every request its own id");
    }
}
