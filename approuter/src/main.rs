//! `approuter`: reads `xs-app.json` (`XS_APP_JSON`), `destinations`, `VCAP_SERVICES`, `PORT`,
//! `SESSION_TIMEOUT`, `REDIS_URL` like `@sap/approuter` and serves until SIGTERM or Ctrl-C on
//! `XS_BIND_ADDRESS` (else `BIND_ADDRESS`, else all interfaces).
//! `SCHED_SLICE_US` sets the worker threads' scheduler slice (see `common::runtime`).

use approuter::{App, Config};
use common::logging::{self, LogTarget};
use common::runtime::SliceOutcome;
use std::process::ExitCode;

fn main() -> ExitCode {
    let _log_guard = logging::init(LogTarget::Stdout);
    common::runtime::block_on("approuter", ExitCode::FAILURE, run)
}

async fn run(slice: SliceOutcome) -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            // Whatever a message echoes from the configuration, a bounded line.
            let text = e.to_string();
            let e = approuter::error::excerpt(&text, 2000);
            tracing::error!("configuration error: {e}");
            eprintln!("approuter: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let port = config.port;
    let host = config.bind_address.clone();
    let routes = config.xs_app.routes.len();
    let app = match App::new(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("start-up failed: {e}");
            eprintln!("approuter: start-up failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind((host.as_str(), port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("approuter: cannot listen on {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(port, routes, sched_slice = %slice, "approuter listening");
    match approuter::serve(listener, app, common::server::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("approuter: server error: {e}");
            ExitCode::FAILURE
        }
    }
}
