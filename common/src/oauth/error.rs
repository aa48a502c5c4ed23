//! Why a token request failed: its own module so `response` below `oauth` can return it.

/// The causes are kept as text (`error_chain` of the reqwest or serde error), not as `#[source]`:
/// the token cache hands one fetch's failure to every caller that waited for it, so the error is
/// `Clone`, which reqwest's and serde's errors are not.
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
