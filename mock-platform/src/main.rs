//! `mock-platform`: XSUAA, Destination service, Backend API and HERE token endpoint on their own ports.

use clap::Parser;
use common::names::ScenarioNames;
use mock_platform::{MockConfig, Ports};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "Local XSUAA, Destination service and Backend API, wire-compatible with SAP BTP's"
)]
struct Cli {
    /// YAML config (default: the tutorial's platform built from scenario.yaml).
    #[arg(long, conflicts_with = "names")]
    config: Option<PathBuf>,
    /// A scenario.yaml names file to build the default platform from.
    #[arg(long)]
    names: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 0)]
    xsuaa_port: u16,
    /// The https listener SAP's libraries call (`https://{uaadomain}`).
    #[arg(long, default_value_t = 0)]
    xsuaa_tls_port: u16,
    /// No https listener.
    #[arg(long)]
    no_tls: bool,
    #[arg(long, default_value_t = 0)]
    destination_port: u16,
    #[arg(long, default_value_t = 0)]
    backend_port: u16,
    /// The HERE-style token endpoint (`POST /oauth2/token`, OAuth 1.0a signed).
    #[arg(long, default_value_t = 0)]
    here_port: u16,
    /// Written (atomically) once every listener is bound: URLs, users and VCAP_SERVICES.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Token signing key (PEM, PKCS#1 or PKCS#8) for stable runs; generated otherwise.
    #[arg(long)]
    keys_pem: Option<PathBuf>,
    /// Print the effective config as YAML and exit.
    #[arg(long)]
    print_config: bool,
}

fn load_config(cli: &Cli) -> Result<MockConfig, mock_platform::Error> {
    let mut config = match (&cli.config, &cli.names) {
        (Some(path), _) => MockConfig::load(path)?,
        (None, Some(path)) => {
            let names = ScenarioNames::load(path)?;
            let config = MockConfig::from_names(&names);
            config.validate()?;
            config
        }
        (None, None) => MockConfig::builtin(),
    };
    if let Some(path) = &cli.keys_pem {
        config.xsuaa.keys_pem = Some(std::path::absolute(path).unwrap_or_else(|_| path.clone()));
    }
    Ok(config)
}

fn main() -> ExitCode {
    let _log_guard = common::logging::init(common::logging::LogTarget::Stderr);
    // Parsed before the runtime starts: `--help` and usage errors need no threads.
    let cli = Cli::parse();
    // The same short scheduler slice as the apps (`SCHED_SLICE_US`): the Backend API is on every
    // benchmarked path, and its tail would otherwise be theirs.
    common::runtime::block_on("mock-platform", ExitCode::from(2), |_| run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    let config = match load_config(&cli) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mock-platform: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.print_config {
        print!("{}", config.to_yaml());
        return ExitCode::SUCCESS;
    }
    let ca_cert_file = cli.ready_file.as_ref().map(|ready| {
        let stem = ready
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("mock-ready");
        ready.with_file_name(format!("{stem}-ca.pem"))
    });
    let limits = match common::server::ServerLimits::from_env() {
        Ok(limits) => limits,
        Err(e) => {
            eprintln!("mock-platform: {e}");
            return ExitCode::from(2);
        }
    };
    let ports = Ports {
        host: cli.host,
        xsuaa: cli.xsuaa_port,
        xsuaa_tls: (!cli.no_tls).then_some(cli.xsuaa_tls_port),
        destination: cli.destination_port,
        backend: cli.backend_port,
        here: cli.here_port,
        ca_cert_file,
        limits,
    };
    let platform = match mock_platform::start(config, ports).await {
        Ok(platform) => platform,
        Err(e) => {
            eprintln!("mock-platform: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cli.ready_file {
        let text = serde_json::to_string_pretty(platform.ready()).unwrap_or_default();
        if let Err(e) = mock_platform::platform::write_atomically(path, &text) {
            eprintln!("mock-platform: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("{}", platform.summary());
    common::server::shutdown_signal().await;
    platform.shutdown().await;
    ExitCode::SUCCESS
}
