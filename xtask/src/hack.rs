//! `cargo xtask hack`: one build for every entry point. Cargo resolves the features of a dependency
//! from the packages being built, so `cargo build -p xtask`, `cargo build --workspace` and
//! `cargo test --workspace` each compiled `serde`, `syn`, `time`, `tower-http`… with other features,
//! and nothing of one build was reused by the next. The `workspace-hack` crate (`common/hack`), a
//! dependency of every member, asks for the union of those features, so every resolution is the same.
//! This is what `cargo hakari` does; written out here because its one job is a few `cargo tree` calls
//! and it keeps the workspace free of another tool to install.
//!
//! `cargo xtask hack` rewrites `common/hack/Cargo.toml`; `--check` fails when some entry point
//! would build a dependency with other features than the full workspace with its tests does.

use crate::command::Cmd;
use crate::error::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

const HACK_DIR: &str = "common/hack";
const HACK_NAME: &str = "workspace-hack";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only check that every entry point resolves the same features; write nothing.
    #[arg(long)]
    pub check: bool,
}

/// `(name, version)` of a registry package -> the feature sets it is built with in one resolution
/// (two when the build scripts' and proc-macros' copy differs from the target's).
type Resolution = BTreeMap<(String, String), BTreeSet<BTreeSet<String>>>;

pub fn run(args: Args) -> Result<(), Error> {
    let root = crate::workspace::workspace_root();
    let members = members(&root)?;
    if args.check {
        let differences = differences(&root, &members)?;
        if differences.is_empty() {
            println!("one build: every entry point resolves the same features");
            return Ok(());
        }
        return Err(Error::FeaturesDiffer {
            differences: differences.join("\n"),
        });
    }
    // A fixed point: the hack's own features can change what its dependencies resolve to.
    for _ in 0..5 {
        let (union, _) = union_and_differing(&root, &members)?;
        let differing = differences(&root, &members)?;
        let current = read_hack(&root)?;
        let mut wanted: BTreeSet<(String, String)> = current.into_iter().collect();
        for line in &differing {
            if let Some((name, version)) = line.split_once(' ').map(|(n, v)| {
                let version = v.split_whitespace().next().unwrap_or_default();
                (n.to_string(), version.to_string())
            }) {
                wanted.insert((name, version));
            }
        }
        write_hack(&root, &union, &wanted)?;
        if differing.is_empty() {
            println!("{HACK_DIR}/Cargo.toml: {} packages", wanted.len());
            return Ok(());
        }
    }
    Err(Error::FeaturesDiffer {
        differences: differences(&root, &members)?.join("\n"),
    })
}

/// One line per package that some entry point builds with other features than the union.
fn differences(root: &Path, members: &[String]) -> Result<Vec<String>, Error> {
    let (union, resolutions) = union_and_differing(root, members)?;
    let mut out = BTreeSet::new();
    for (entry, resolution) in &resolutions {
        for (package, sets) in resolution {
            let all = &union[package];
            if sets.len() > 1 || sets.iter().any(|s| s != all) {
                let missing: BTreeSet<&String> =
                    sets.iter().flat_map(|s| all.difference(s)).collect();
                out.insert(format!(
                    "{} {} built by `{entry}` without [{}]",
                    package.0,
                    package.1,
                    missing.into_iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The union of each package's features over every entry point, and each entry point's resolution.
#[allow(clippy::type_complexity)]
fn union_and_differing(
    root: &Path,
    members: &[String],
) -> Result<
    (
        BTreeMap<(String, String), BTreeSet<String>>,
        Vec<(String, Resolution)>,
    ),
    Error,
> {
    let mut entries: Vec<(String, Vec<String>)> = vec![
        (
            "cargo test --workspace".into(),
            vec!["--workspace".into(), "-e".into(), "normal,build,dev".into()],
        ),
        (
            "cargo build --workspace".into(),
            vec!["--workspace".into(), "-e".into(), "normal,build".into()],
        ),
    ];
    for member in members {
        entries.push((
            format!("cargo build -p {member}"),
            vec![
                "-p".into(),
                member.clone(),
                "-e".into(),
                "normal,build".into(),
            ],
        ));
        entries.push((
            format!("cargo test -p {member}"),
            vec![
                "-p".into(),
                member.clone(),
                "-e".into(),
                "normal,build,dev".into(),
            ],
        ));
    }
    let mut union: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut resolutions = Vec::new();
    for (entry, args) in entries {
        let resolution = tree(root, &args)?;
        for (package, sets) in &resolution {
            union
                .entry(package.clone())
                .or_default()
                .extend(sets.iter().flatten().cloned());
        }
        resolutions.push((entry, resolution));
    }
    Ok((union, resolutions))
}

/// `cargo tree` of `args` for this host, registry packages only.
fn tree(root: &Path, args: &[String]) -> Result<Resolution, Error> {
    let host = host_triple()?;
    let cmd = Cmd::with_program(crate::deploy::cargo_program(), "cargo")
        .current_dir(root)
        .args([
            "tree",
            "--offline",
            "--prefix",
            "none",
            "--format",
            "{p}|{f}",
            "--target",
        ])
        .arg(&host)
        .args(args.iter().map(String::as_str));
    let output = cmd.quiet_output()?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: cmd.to_string(),
            status: output.status.to_string(),
            detail: format!("\n{}", String::from_utf8_lossy(&output.stderr)),
        });
    }
    let mut resolution = Resolution::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if package.contains('(') && !package.contains("(proc-macro)") && !package.contains("(*)") {
            continue; // a workspace member: `name v0.1.0 (/path)`
        }
        let features: BTreeSet<String> = features
            .trim_end_matches(" (*)")
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect();
        resolution
            .entry((
                name.to_string(),
                version.trim_start_matches('v').to_string(),
            ))
            .or_default()
            .insert(features);
    }
    Ok(resolution)
}

fn host_triple() -> Result<String, Error> {
    let cmd = Cmd::new("rustc").arg("-vV");
    let output = cmd.quiet_output()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| Error::CommandFailed {
            command: cmd.to_string(),
            status: output.status.to_string(),
            detail: "\nno `host:` line".into(),
        })
}

/// `members = [...]` of the workspace manifest, without the hack itself.
fn members(root: &Path) -> Result<Vec<String>, Error> {
    crate::workspace::workspace_members(root)?
        .into_iter()
        .filter(|m| m != HACK_DIR)
        .map(|dir| package_name(root, &dir))
        .collect()
}

fn package_name(root: &Path, dir: &str) -> Result<String, Error> {
    let path = root.join(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    Ok(text
        .lines()
        .find_map(|l| l.trim().strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').to_string())
        .unwrap_or_else(|| dir.to_string()))
}

/// The packages the hack lists now (`# name version` comment above each entry).
fn read_hack(root: &Path) -> Result<Vec<(String, String)>, Error> {
    let path = root.join(HACK_DIR).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("# package "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect())
}

fn write_hack(
    root: &Path,
    union: &BTreeMap<(String, String), BTreeSet<String>>,
    wanted: &BTreeSet<(String, String)>,
) -> Result<(), Error> {
    let names: BTreeMap<&str, usize> = wanted.iter().fold(BTreeMap::new(), |mut m, (n, _)| {
        *m.entry(n.as_str()).or_default() += 1;
        m
    });
    let mut deps = String::new();
    for package @ (name, version) in wanted {
        let Some(features) = union.get(package) else {
            continue; // no longer in the graph
        };
        let key = if names[name.as_str()] > 1 {
            format!("{name}-{}", version.replace('.', "_"))
        } else {
            name.clone()
        };
        let features: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
        let _ = writeln!(
            deps,
            "# package {name} {version}\n{key} = {{ package = {name:?}, version = \"={version}\", default-features = false, features = [{}] }}",
            features.join(", ")
        );
    }
    let text = format!(
        "# Generated by `cargo xtask hack`: do not edit. Every member depends on this crate so that every\n\
         # entry point (`cargo build -p …`, `cargo test --workspace`, `cargo xtask run`) builds each dependency\n\
         # with the same features, and one build serves them all. `cargo test -p xtask --test one_build` checks it.\n\
         [package]\n\
         name = \"{HACK_NAME}\"\n\
         description = \"Feature unification for the workspace (see xtask/src/hack.rs).\"\n\
         edition.workspace = true\n\
         version.workspace = true\n\
         license.workspace = true\n\
         publish.workspace = true\n\n\
         [dependencies]\n{deps}\n\
         # The same for build scripts and proc-macros, which cargo resolves apart from the target's.\n\
         [build-dependencies]\n{deps}"
    );
    let path = root.join(HACK_DIR).join("Cargo.toml");
    std::fs::write(&path, text).map_err(|e| Error::io("write", &path, e))
}
