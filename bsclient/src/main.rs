//! `bsclient` on Cloud Foundry: configuration from `PORT` and `VCAP_SERVICES` (see `bsclient::config`),
//! serves until SIGTERM, then finishes the requests in flight.

use bsclient::{AppState, BsClientConfig};
use common::logging::{self, LogTarget};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let _log_guard = logging::init(LogTarget::Stdout);

    let config = match BsClientConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("configuration: {e}");
            eprintln!("bsclient: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bsclient: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        %addr,
        destination = %config.backend_destination,
        cache = !config.disable_cache,
        "bsclient listening"
    );
    match bsclient::serve(listener, AppState::new(config), bsclient::shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("bsclient stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bsclient: server error: {e}");
            ExitCode::from(1)
        }
    }
}
