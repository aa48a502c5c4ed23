//! Why a token is refused: its own module so `keys` and `decode` below `jwt` can return it.

/// `KeyFetch` keeps its cause as text, not as `#[source]`: the last key-set fetch's failure is
/// answered again to the validations inside its rate limit, so the error is `Clone`, which
/// reqwest's is not.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("unsupported token algorithm \"{0}\" (only RS256 is accepted)")]
    UnsupportedAlgorithm(String),
    #[error("unknown token key id \"{0}\"")]
    UnknownKid(String),
    #[error("invalid token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("untrusted token issuer \"{0}\"")]
    WrongIssuer(String),
    #[error("token is for another identity zone ({0})")]
    WrongZone(String),
    #[error("token audience does not include this application (audiences: {0})")]
    WrongAudience(String),
    #[error("cannot fetch token keys: {0}")]
    KeyFetch(String),
    #[error("missing scope \"{0}\"")]
    MissingScope(String),
}
