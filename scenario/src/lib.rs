//! The whole scenario on one machine: `mock-platform`, `bsclient` and `approuter` started as real
//! processes on free loopback ports, with the Cloud Foundry-style env each gets on BTP, plus a
//! browser-like HTTP client that logs in through the mock XSUAA's login page.
//!
//! Used by `cargo xtask run` and by the full-scenario tests in `tests/`.

pub mod bench;
pub mod browser;
pub mod differential;
pub mod env;
pub mod measure;
pub mod node;
pub mod process;
pub mod sap_approuter;
pub mod stack;

pub use browser::{Browser, Page};
pub use stack::{Stack, StackOptions};

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
}

impl From<reqwest::Error> for ScenarioError {
    fn from(e: reqwest::Error) -> Self {
        ScenarioError::Http(e.to_string())
    }
}

/// A port that was free a moment ago. The apps take their port from `PORT`, as on Cloud Foundry,
/// so the harness has to choose it; the window for a clash is tiny on a test machine.
pub fn free_port() -> Result<u16, ScenarioError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| ScenarioError::NoFreePort(e.to_string()))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| ScenarioError::NoFreePort(e.to_string()))
}
