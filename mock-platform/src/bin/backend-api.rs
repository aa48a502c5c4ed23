//! `backend-api`: the Backend API in production mode (see `mock_platform::backend_app`), the third
//! app of `cargo xtask deploy --with-backend`.

use mock_platform::backend_app::{self, BackendAppConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

fn main() -> ExitCode {
    let _log_guard = common::logging::init(common::logging::LogTarget::Stderr);
    if std::env::args().len() > 1 {
        eprintln!(
            "backend-api takes no arguments: it is configured by PORT, VCAP_SERVICES (its xsuaa \
             binding), BACKEND_SCOPE and BACKEND_ALLOW_WRITES"
        );
        return ExitCode::from(2);
    }
    let config = match BackendAppConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("backend-api: {e}");
            return ExitCode::from(2);
        }
    };
    // Cloud Foundry routes to the container's interface; locally the staging run sets
    // BACKEND_BIND=127.0.0.1 so nothing listens beyond loopback.
    let host = match std::env::var("BACKEND_BIND") {
        Ok(h) => match h.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => {
                eprintln!("backend-api: BACKEND_BIND {h:?} is not an IP address");
                return ExitCode::from(2);
            }
        },
        Err(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    common::runtime::block_on("backend-api", ExitCode::from(2), |_| async move {
        match backend_app::run(config, host).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("backend-api: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
