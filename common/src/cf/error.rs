//! What can be wrong with the Cloud Foundry environment: its own module so the parsers below
//! `cf` return it without depending on their parent.

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CfError {
    #[error("{var} is not set")]
    MissingVariable { var: String },
    #[error("{var}: invalid JSON: {reason}")]
    InvalidJson { var: String, reason: String },
    #[error("{var}: {reason}")]
    Invalid { var: String, reason: String },
    #[error("VCAP_SERVICES: no service binding with label or tag \"{query}\" (bound: {bound})")]
    NoBinding { query: String, bound: String },
    #[error("VCAP_SERVICES: more than one service binding with label or tag \"{query}\" ({bound})")]
    AmbiguousBinding { query: String, bound: String },
    #[error("VCAP_SERVICES: binding \"{binding}\" (label {label}): missing field \"{field}\"")]
    MissingField {
        binding: String,
        label: String,
        field: String,
    },
    #[error("VCAP_SERVICES: binding \"{binding}\" (label {label}): field \"{field}\": {reason}")]
    InvalidField {
        binding: String,
        label: String,
        field: String,
        reason: String,
    },
    #[error("destinations: {entry}: {reason}")]
    Destination { entry: String, reason: String },
}
