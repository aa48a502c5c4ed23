//! The harness's one error type.

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{app}: binary not found at {path}: build it first with `cargo build --workspace`")]
    BinaryMissing { app: String, path: String },
    #[error("{app}: cannot start: {reason}")]
    Spawn { app: String, reason: String },
    #[error("{app} exited during start-up ({status}); its last log lines:\n{log}")]
    DiedAtStartup {
        app: String,
        status: String,
        log: String,
    },
    #[error("{app} did not become healthy within {seconds} s; its last log lines:\n{log}")]
    NotHealthy {
        app: String,
        seconds: u64,
        log: String,
    },
    #[error("mock-platform ready file {path}: {reason}")]
    ReadyFile { path: String, reason: String },
    #[error("no free port on 127.0.0.1: {0}")]
    NoFreePort(String),
    #[error("I/O: {0}")]
    Io(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("login page: {0}")]
    Login(String),
    #[error("browser: {0}")]
    Browser(#[from] testkit::Error),
}

impl From<reqwest::Error> for ScenarioError {
    fn from(e: reqwest::Error) -> Self {
        ScenarioError::Http(e.to_string())
    }
}
