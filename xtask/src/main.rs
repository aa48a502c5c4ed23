//! `cargo xtask <task>`: the workspace's tasks as one plain-Rust binary (see `.cargo/config.toml`).

mod bench;
mod command;
mod deploy;
mod error;
mod glibc;
mod hack;
mod local;
mod manifests;
mod modules;
mod run;
mod workspace;

use clap::{Parser, Subcommand};
use common::names::ScenarioNames;
use error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about = "Tasks of the btp-token-exchange-rs workspace"
)]
struct Cli {
    /// The names file (apps, hosts, service instances, xsappnames, destinations, users).
    #[arg(long, global = true, value_name = "FILE", default_value_os_t = default_names_file())]
    names: PathBuf,

    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Run mock-platform, bsclient and approuter locally.
    Run(run::Args),
    /// Write manifest.yml, xs-security.json, init_data.json, xs-app.json and mta.yaml for Cloud Foundry.
    Manifests(manifests::Args),
    /// Build for Cloud Foundry (cflinuxfs4), stage the apps, create the services and push both apps.
    Deploy(deploy::Args),
    /// Measure the running scenario under load.
    Bench(bench::Args),
    /// Write `common/hack/Cargo.toml` so every entry point builds dependencies alike; `--check` only checks.
    Hack(hack::Args),
    /// Print every crate's module graph and its cycles; `--check` fails on a cycle.
    Modules(modules::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Run(args) => run::run(cli.names, args),
        Task::Manifests(args) => load_names(&cli.names).and_then(|n| manifests::run(&n, args)),
        Task::Deploy(args) => load_names(&cli.names).and_then(|n| deploy::run(&n, args)),
        Task::Bench(args) => bench::run(args),
        Task::Modules(args) => modules::run(args),
        Task::Hack(args) => hack::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn default_names_file() -> PathBuf {
    workspace::workspace_root().join("scenario.yaml")
}

fn load_names(path: &Path) -> Result<ScenarioNames, Error> {
    Ok(ScenarioNames::load(path)?)
}
