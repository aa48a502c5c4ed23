//! `cargo xtask bench`: release binaries, the stack on loopback, bounded loads with `wrk`; a table on
//! stdout and `bench/results.json`. Absolute numbers vary between machines: read the ratios.

use crate::error::Error;
use scenario::bench::{self, BenchOptions};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds of load per case.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub seconds: u64,
    /// Concurrency levels (connections), comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 16, 64])]
    pub concurrency: Vec<u32>,
    /// Logged-in sessions the App Router holds for the memory measurement.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub sessions: u64,
    /// Anonymous browser GETs of a protected route against a fresh App Router, with a logged-in
    /// user served meanwhile (its RSS idle and after; 0 skips the case).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    pub anonymous: u64,
    /// Seconds of soak at the end: logged-in, anonymous and failing-upstream traffic at once,
    /// RSS of each process at start and end (0: no soak).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub soak: u64,
    /// Where the JSON results go.
    #[arg(long, default_value_os_t = crate::workspace::workspace_root().join("bench/results.json"))]
    pub out: PathBuf,
    /// Another App Router binary measured on the same route right after ours, as LABEL=PATH
    /// (repeatable): e.g. a release build of an earlier commit, for a change's before/after
    /// numbers from one run.
    #[arg(long = "compare-approuter", value_name = "LABEL=PATH", value_parser = parse_compared)]
    pub compare_approuter: Vec<(String, PathBuf)>,
    /// Use the release binaries as they are instead of building them first.
    #[arg(long)]
    pub no_build: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    if let Some(bad) = args.concurrency.iter().find(|c| **c == 0 || **c > 256) {
        return Err(Error::InvalidOption {
            option: "--concurrency",
            value: bad.to_string(),
            reason: "each level must be 1..=256".into(),
        });
    }
    if !args.no_build {
        crate::run::build_apps(true)?;
    }
    let options = BenchOptions {
        seconds: args.seconds,
        concurrencies: args.concurrency,
        sessions: args.sessions as usize,
        binary_dir: crate::workspace::target_dir().join("release"),
        anonymous: args.anonymous,
        soak_seconds: args.soak,
        compare_approuters: args.compare_approuter,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::Missing {
        what: format!("cannot start the async runtime: {e}"),
        next_step: "check the machine's limits on threads and file descriptors".into(),
    })?;
    let report = runtime
        .block_on(bench::run(options))
        .map_err(|e| Error::Missing {
            what: format!("the benchmark failed: {e}"),
            next_step: "read the message above; `cargo xtask run` shows whether the stack starts"
                .into(),
        })?;
    println!("{}", bench::render(&report));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let json = serde_json::to_string_pretty(&report).expect("the report is plain data");
    std::fs::write(&args.out, json).map_err(|e| Error::io("write", &args.out, e))?;
    println!("results: {}", args.out.display());
    Ok(())
}

/// `LABEL=PATH` of `--compare-approuter`: the label names the cases, the path must be a file.
fn parse_compared(value: &str) -> Result<(String, PathBuf), String> {
    let (label, path) = value
        .split_once('=')
        .ok_or("expected LABEL=PATH, e.g. before=/tmp/before/approuter")?;
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!(
            "the label {label:?} must be letters, digits, '-', '_' or '.'"
        ));
    }
    let path = PathBuf::from(path);
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    Ok((label.to_string(), path))
}
