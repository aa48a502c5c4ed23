//! Why a token request failed: its own module so `response` below `oauth` can return it.

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OAuthError {
    #[error("{url} rejected the request ({status}): {error}: {description}")]
    Rejected {
        url: String,
        status: u16,
        error: String,
        description: String,
    },
    #[error("timeout calling {url}")]
    Timeout { url: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("invalid answer from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },
}
