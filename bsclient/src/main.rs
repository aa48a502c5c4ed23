//! `bsclient` on Cloud Foundry: configuration from `PORT` and `VCAP_SERVICES` (see `bsclient::config`),
//! serves until SIGTERM, then finishes the requests in flight. `SCHED_SLICE_US` sets the worker
//! threads' scheduler slice (see `common::runtime`).

use bsclient::{AppState, BsClientConfig};
use common::logging::{self, LogTarget};
use common::runtime::SliceOutcome;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

fn main() -> ExitCode {
    let _log_guard = logging::init(LogTarget::Stdout);
    common::runtime::block_on("bsclient", ExitCode::from(2), run)
}

async fn run(slice: SliceOutcome) -> ExitCode {
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
        sched_slice = %slice,
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
