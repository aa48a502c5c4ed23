//! One error type for every task; each message tells the user what to do next.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Names(#[from] common::names::NamesError),

    /// A value the task cannot do without; `next_step` says where to get it.
    #[error("{what}\nnext step: {next_step}")]
    Missing { what: String, next_step: String },

    #[error("{option} {value:?}: {reason}")]
    InvalidOption {
        option: &'static str,
        value: String,
        reason: String,
    },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },

    #[error("`{command}` failed ({status}){detail}")]
    CommandFailed {
        command: String,
        status: String,
        /// Already formatted, starting with a newline when non-empty.
        detail: String,
    },

    #[error("{0}")]
    ServiceKey(String),

    #[error("cannot parse {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: syn::Error,
    },

    #[error("cycles between modules (each module must depend only on modules below it):\n{}", cycles.join("\n"))]
    ModuleCycles { cycles: Vec<String> },

    #[error(
        "entry points build dependencies with different features (run `cargo xtask hack`):\n{differences}"
    )]
    FeaturesDiffer { differences: String },

    #[error("local staging run: {0}")]
    Local(String),
}

impl Error {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
