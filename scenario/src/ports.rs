//! Ports for the apps the harness starts.

use crate::error::ScenarioError;

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
