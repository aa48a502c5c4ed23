//! `cargo xtask deploy [--dry-run]`: build for Cloud Foundry, stage both apps, create or update the
//! xsuaa and destination instances, push both apps. Every command is printed before it runs.

use crate::command::{Cmd, on_path};
use crate::error::Error;
use crate::manifests::{
    self, APPROUTER, BACKEND_API, BACKEND_XS_SECURITY_JSON, BSCLIENT, INIT_DATA_JSON, MANIFEST_YML,
    Secret, TargetArgs, XS_SECURITY_JSON, XsuaaCredentials,
};
use common::names::ScenarioNames;
use std::path::{Path, PathBuf};

/// cargo-zigbuild's way to say "link against glibc 2.35", the version of cflinuxfs4 (Ubuntu 22.04).
pub const ZIGBUILD_TARGET: &str = "x86_64-unknown-linux-gnu.2.35";
const ZIGBUILD_INSTALL: &str = "pip3 install ziglang && cargo install --locked cargo-zigbuild";
const CF_INSTALL: &str = "install the Cloud Foundry CLI v8 (https://github.com/cloudfoundry/cli#downloads; \
     e.g. `brew install cloudfoundry/tap/cf-cli@8`, or the `cf8-cli` package from \
     https://packages.cloudfoundry.org/debian), then `cf login -a <API endpoint>` and run \
     `cargo xtask deploy` again";
const CF_LOGIN: &str = "log in and choose the org and space to deploy to: \
     `cf login -a https://api.cf.<region>.hana.ondemand.com` (the subaccount's overview page in the \
     BTP cockpit shows the API endpoint; add `--sso` for a single-sign-on user), then run \
     `cargo xtask deploy` again";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Print the commands without running any of them (and without writing files).
    #[arg(long)]
    pub dry_run: bool,

    /// Staging folder the apps are pushed from [default: target/cf].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Use DIR/approuter and DIR/bsclient (and DIR/backend-api with --with-backend) instead of
    /// building (they must run on cflinuxfs4).
    #[arg(long, value_name = "DIR", conflicts_with = "allow_host_glibc")]
    pub prebuilt: Option<PathBuf>,

    /// Build with plain `cargo build --release` against this machine's glibc instead of
    /// cargo-zigbuild (the binaries fail on Cloud Foundry if it is newer than 2.35).
    #[arg(long)]
    pub allow_host_glibc: bool,

    /// Build and stage only, run no `cf` command (e.g. for `mbt build` with the staged mta.yaml).
    #[arg(long)]
    pub stage_only: bool,

    /// No Cloud Foundry: stage exactly what deploy would push (with the Backend API as a third
    /// app, dev-profile binaries), run each app as the binary buildpack would against a local
    /// mock landscape created from the staged files, and drive the scenario through them.
    #[arg(long, conflicts_with_all = ["dry_run", "stage_only", "allow_host_glibc"])]
    pub local: bool,

    /// With --local: keep the staged apps running after the check, until Ctrl-C.
    #[arg(long, requires = "local")]
    pub keep_running: bool,

    /// With --local: write the apps' local URLs as JSON here once the check passed.
    #[arg(long, value_name = "FILE", requires = "local")]
    pub ready_file: Option<PathBuf>,
}

/// The domain of the staged routes in a local run; no DNS is involved, the routes are mapped to
/// loopback ports.
pub const LOCAL_DOMAIN: &str = "apps.local.test";

fn run_local(names: &ScenarioNames, args: Args) -> Result<(), Error> {
    if args.target.backend_url.is_some() || args.target.backend_xsappname.is_some() {
        return Err(Error::InvalidOption {
            option: "--local",
            value: String::new(),
            reason: "a local run deploys this workspace's Backend API (as --with-backend): leave \
                     out --backend-url and --backend-xsappname"
                .into(),
        });
    }
    let mut target_args = args.target.clone();
    target_args.with_backend = true;
    if target_args.domain.is_none() {
        target_args.domain = Some(LOCAL_DOMAIN.into());
    }
    let mut target = manifests::Target::from_args(&target_args, false)?;
    manifests::validate_names(names, &target)?;
    let out = absolute(
        &args
            .out
            .clone()
            .unwrap_or_else(|| crate::workspace::target_dir().join("cf-local")),
    )?;
    let apps = app_binaries(&target);
    let binaries = match &args.prebuilt {
        Some(_) => build(&args, &apps, false)?,
        None => {
            // The dev profile: the staging run checks the files and the wiring, not the release
            // build (which takes minutes with fat LTO); its glibc needs are checked the same way.
            let cargo = Cmd::with_program(cargo_program(), "cargo")
                .current_dir(&crate::workspace::workspace_root());
            cargo
                .args([
                    "build",
                    "-p",
                    APPROUTER,
                    "-p",
                    BSCLIENT,
                    "-p",
                    "mock-platform",
                ])
                .run()?;
            crate::workspace::target_dir().join("debug")
        }
    };
    crate::glibc::check_for_cf(&binaries, &apps, false)?;
    stage(names, &target, &out, &binaries, &apps, false)?;
    let platform_binary = binaries.join("mock-platform");
    if !platform_binary.is_file() {
        return Err(Error::Missing {
            what: format!(
                "no mock-platform in {} (the local landscape)",
                binaries.display()
            ),
            next_step: "`cargo build -p mock-platform` and put it next to the prebuilt binaries"
                .into(),
        });
    }
    let options = crate::local::Options {
        out,
        platform_binary,
        keep_running: args.keep_running,
        ready_file: args.ready_file.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::Missing {
        what: format!("cannot start tokio: {e}"),
        next_step: "check the process limits (ulimit -u)".into(),
    })?;
    runtime.block_on(crate::local::run(names, &mut target, &options))
}

pub fn run(names: &ScenarioNames, args: Args) -> Result<(), Error> {
    if args.local {
        return run_local(names, args);
    }
    let mut target = manifests::Target::from_args(&args.target, !args.stage_only)?;
    manifests::validate_names(names, &target)?;
    let out = args.out.clone().unwrap_or_else(manifests::default_out_dir);
    let out = absolute(&out)?;
    let dry_run = args.dry_run;
    let uses_cf = !args.stage_only;
    if dry_run {
        println!("dry run: printing the commands, running none of them and writing no files");
    }

    // Fail fast on the CLI and login, before a build of several minutes.
    if uses_cf && !dry_run {
        check_cf_ready()?;
    }
    if uses_cf && dry_run && on_path("cf").is_none() {
        println!(
            "note: `cf` is not on the PATH; a real deploy would stop here. Next step: {CF_INSTALL}"
        );
    }

    let apps = app_binaries(&target);
    let binaries = build(&args, &apps, dry_run)?;
    crate::glibc::check_for_cf(&binaries, &apps, dry_run)?;
    stage(names, &target, &out, &binaries, &apps, dry_run)?;
    if !uses_cf {
        println!(
            "staged in {}; no cf command run (--stage-only)",
            out.display()
        );
        return Ok(());
    }

    if target.with_backend() {
        // First: the approuter's xs-security.json references the scope this one grants it.
        create_or_update_service(
            "xsuaa",
            "application",
            &names.backend.instance,
            &out.join(BACKEND_XS_SECURITY_JSON),
            dry_run,
        )?;
        let key = backend_service_key_name(names);
        let credentials = read_service_key(&names.backend.instance, &key, dry_run)?;
        match credentials {
            Some(credentials) => {
                let xsappname =
                    credential_field(&credentials, "xsappname", &names.backend.instance, &key)?;
                println!("the Backend API's xsappname on this landscape: {xsappname}");
                target.set_backend_xsappname(xsappname);
                // xs-app.json's route checks the scope under that name.
                let files = manifests::generate(names, &target, None);
                manifests::write_file(
                    &out.join(APPROUTER).join(manifests::XS_APP_JSON),
                    &files.xs_app_json,
                    false,
                )?;
            }
            None => println!(
                "(would write {} with the scope under the \"xsappname\" of that service key)",
                out.join(APPROUTER).join(manifests::XS_APP_JSON).display()
            ),
        }
    }

    let xs_security = out.join(XS_SECURITY_JSON);
    create_or_update_service(
        "xsuaa",
        "application",
        &names.xsuaa.instance,
        &xs_security,
        dry_run,
    )?;
    let credentials = read_xsuaa_credentials(names, dry_run)?;
    let init_data = out.join(INIT_DATA_JSON);
    if dry_run {
        println!(
            "(would write {} with clientId, clientSecret and tokenServiceURL from the service key)",
            init_data.display()
        );
    } else if let Some(credentials) = &credentials {
        let files = manifests::generate(names, &target, Some(credentials));
        manifests::write_file(&init_data, &files.init_data_json, true)?;
    }
    create_or_update_service(
        "destination",
        "lite",
        &names.destination_service.instance,
        &init_data,
        dry_run,
    )?;

    if let Some((redis, plan)) = target.redis(names) {
        // Sessions shared by the App Router's instances; nothing to update when it exists.
        let exists = Cmd::new("cf").args(["service", &redis, "--guid"]);
        let create = Cmd::new("cf")
            .args(["create-service", "redis-cache", &plan, &redis])
            .arg("--wait");
        if dry_run {
            exists.announce();
            println!("(then, if {redis} does not exist yet:)");
            create.announce();
        } else if !exists.output()?.status.success() {
            create.run()?;
        }
    }

    let manifest = out.join(MANIFEST_YML);
    // Backend API and bsclient first, so each app's target answers as soon as the app starts.
    let mut pushed = Vec::new();
    if target.with_backend() {
        pushed.push(&names.backend.app);
    }
    pushed.extend([&names.apps.bsclient, &names.apps.approuter]);
    for app in &pushed {
        let push = Cmd::new("cf")
            .arg("push")
            .arg(&app.name)
            .arg("-f")
            .arg(&manifest);
        step(&push, dry_run)?;
    }

    println!("\nroutes:");
    for app in &pushed {
        println!("  {:<20} {}", app.name, target.app_url(app));
    }
    if !dry_run {
        let url = target.app_url(&names.apps.approuter);
        println!("\ndeployed: open {url}/ and log in.");
        println!(
            "Your user needs the role collections {:?} (defined by {XS_SECURITY_JSON}) and {:?} (of the \
             Backend API's app {:?}): assign them in the BTP cockpit under Security > Users \
             (or Role Collections > <name> > Edit > Users), then log out and in again.",
            names.xsuaa.uaa_user_role_collection,
            names.backend.role_collection,
            names.backend.xsappname
        );
    }
    Ok(())
}

/// The binaries deploy pushes, one app folder each.
fn app_binaries(target: &manifests::Target) -> Vec<&'static str> {
    let mut apps = vec![APPROUTER, BSCLIENT];
    if target.with_backend() {
        apps.push(BACKEND_API);
    }
    apps
}

/// The Backend API's service key (deploy reads its xsappname from it).
pub fn backend_service_key_name(names: &ScenarioNames) -> String {
    format!("{}-key", names.backend.instance)
}

fn step(cmd: &Cmd, dry_run: bool) -> Result<(), Error> {
    if dry_run {
        cmd.announce();
        Ok(())
    } else {
        cmd.run()
    }
}

/// `cf` on the PATH and logged in with an org and space targeted (`cf target` succeeds).
fn check_cf_ready() -> Result<(), Error> {
    if on_path("cf").is_none() {
        return Err(Error::Missing {
            what: "the Cloud Foundry CLI `cf` is not on the PATH".into(),
            next_step: CF_INSTALL.into(),
        });
    }
    let target = Cmd::new("cf").arg("target");
    let output = target.output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = [stdout.trim(), stderr.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        return Err(Error::Missing {
            what: format!(
                "`cf target` failed: not logged in to Cloud Foundry, or no org/space targeted\n{said}"
            ),
            next_step: CF_LOGIN.into(),
        });
    }
    print!("{stdout}");
    Ok(())
}

/// Folder holding `approuter` and `bsclient` built for cflinuxfs4.
fn build(args: &Args, apps: &[&str], dry_run: bool) -> Result<PathBuf, Error> {
    if let Some(dir) = &args.prebuilt {
        for binary in apps {
            let path = dir.join(binary);
            if !path.is_file() {
                return Err(Error::Missing {
                    what: format!("--prebuilt {}: no file {binary} in it", dir.display()),
                    next_step: format!(
                        "point --prebuilt at a folder with {}, or leave it out to build them",
                        apps.join(", ")
                    ),
                });
            }
        }
        println!("using prebuilt binaries from {}", dir.display());
        return Ok(dir.clone());
    }

    let cargo = Cmd::with_program(cargo_program(), "cargo")
        .current_dir(&crate::workspace::workspace_root());
    let mut packages = vec!["-p", APPROUTER, "-p", BSCLIENT];
    if apps.contains(&BACKEND_API) {
        // The Backend API's production binary lives in the mock-platform crate.
        packages.extend(["-p", "mock-platform", "--bin", BACKEND_API]);
        packages.extend(["--bin", APPROUTER, "--bin", BSCLIENT]);
    }
    if args.allow_host_glibc {
        eprintln!(
            "warning: --allow-host-glibc: building against this machine's glibc{}; Cloud Foundry's {} \
             has glibc 2.35, and binaries linked against a newer one fail there with \
             \"GLIBC_2.xx not found\"",
            host_glibc().map(|v| format!(" ({v})")).unwrap_or_default(),
            manifests::STACK
        );
        step(
            &cargo.arg("build").arg("--release").args(&packages),
            dry_run,
        )?;
        return Ok(crate::workspace::target_dir().join("release"));
    }

    if !dry_run && !cargo.clone().args(["zigbuild", "--version"]).probe() {
        return Err(Error::Missing {
            what: format!(
                "cargo-zigbuild is not installed; it links against glibc 2.35 so the binaries run on \
                 Cloud Foundry's {}",
                manifests::STACK
            ),
            next_step: format!(
                "`{ZIGBUILD_INSTALL}` (on a non-x86_64 or non-Linux machine also \
                 `rustup target add x86_64-unknown-linux-gnu`), then run `cargo xtask deploy` again; \
                 or pass --allow-host-glibc on a machine whose glibc is 2.35 or older"
            ),
        });
    }
    step(
        &cargo
            .args(["zigbuild", "--release", "--target", ZIGBUILD_TARGET])
            .args(&packages),
        dry_run,
    )?;
    // cargo-zigbuild drops the glibc suffix from the output folder.
    Ok(crate::workspace::target_dir()
        .join("x86_64-unknown-linux-gnu")
        .join("release"))
}

/// The cargo that runs us (`cargo xtask` sets CARGO), so the build uses the same toolchain.
pub fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn host_glibc() -> Option<String> {
    let output = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Writes the generated files (placeholders in init_data.json until the service key is read) and
/// copies each binary into its app folder.
fn stage(
    names: &ScenarioNames,
    target: &manifests::Target,
    out: &Path,
    binaries: &Path,
    apps: &[&str],
    dry_run: bool,
) -> Result<(), Error> {
    if dry_run {
        println!(
            "(would write {MANIFEST_YML}, {XS_SECURITY_JSON}, {INIT_DATA_JSON}, {} and {} into {})",
            manifests::MTA_YAML,
            Path::new(APPROUTER).join(manifests::XS_APP_JSON).display(),
            out.display()
        );
    } else {
        let files = manifests::generate(names, target, None);
        manifests::write_files(out, &files)?;
    }
    for binary in apps {
        let from = binaries.join(binary);
        let to = out.join(binary).join(binary);
        if dry_run {
            println!("(would copy {} to {})", from.display(), to.display());
            continue;
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create folder", dir, e))?;
        }
        crate::local::copy_file(&from, &to)?;
        make_executable(&to)?;
    }
    if !dry_run {
        println!("staged {} in {}", apps.join(", "), out.display());
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("make executable", path, e))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// `cf update-service` when the instance exists (so a re-deploy applies a changed xs-security.json or
/// destination), else `cf create-service`.
fn create_or_update_service(
    service: &str,
    plan: &str,
    instance: &str,
    config: &Path,
    dry_run: bool,
) -> Result<(), Error> {
    let exists = Cmd::new("cf").args(["service", instance, "--guid"]);
    let create = Cmd::new("cf")
        .args(["create-service", service, plan, instance, "-c"])
        .arg(config)
        .arg("--wait");
    let update = Cmd::new("cf")
        .args(["update-service", instance, "-c"])
        .arg(config)
        .arg("--wait");
    if dry_run {
        exists.announce();
        println!("(then, if {instance} does not exist yet:)");
        create.announce();
        println!("(or, if it exists:)");
        update.announce();
        return Ok(());
    }
    let found = exists.output()?.status.success();
    if found { update.run() } else { create.run() }
}

fn read_xsuaa_credentials(
    names: &ScenarioNames,
    dry_run: bool,
) -> Result<Option<XsuaaCredentials>, Error> {
    let instance = &names.xsuaa.instance;
    let key = manifests::service_key_name(names);
    let Some(credentials) = read_service_key(instance, &key, dry_run)? else {
        return Ok(None);
    };
    let field = |name: &str| credential_field(&credentials, name, instance, &key);
    Ok(Some(XsuaaCredentials {
        clientid: field("clientid")?,
        clientsecret: Secret::new(field("clientsecret")?),
        url: field("url")?,
    }))
}

/// Creates the key (a no-op when it exists) and returns its credentials (`None` in a dry run).
fn read_service_key(
    instance: &str,
    key: &str,
    dry_run: bool,
) -> Result<Option<serde_json::Value>, Error> {
    // Succeeds when the key already exists (cf v7+), so re-deploys reuse it.
    step(
        &Cmd::new("cf")
            .args(["create-service-key", instance, key])
            .arg("--wait"),
        dry_run,
    )?;
    let show = Cmd::new("cf").args(["service-key", instance, key]);
    if dry_run {
        show.announce();
        return Ok(None);
    }
    let output = show.output()?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: show.to_string(),
            status: output.status.to_string(),
            detail: format!("\n{}", String::from_utf8_lossy(&output.stderr).trim()),
        });
    }
    parse_service_key(&String::from_utf8_lossy(&output.stdout), instance, key).map(Some)
}

/// `cf service-key` prints a "Getting key ..." line, then JSON: `{"credentials": {...}}` since cf v8,
/// the bare credentials before.
fn parse_service_key(output: &str, instance: &str, key: &str) -> Result<serde_json::Value, Error> {
    let context = || format!("`cf service-key {instance} {key}`");
    let start = output
        .find('{')
        .ok_or_else(|| Error::ServiceKey(format!("{} printed no JSON", context())))?;
    let value: serde_json::Value = serde_json::Deserializer::from_str(&output[start..])
        .into_iter()
        .next()
        .ok_or_else(|| Error::ServiceKey(format!("{} printed no JSON", context())))?
        .map_err(|e| {
            Error::ServiceKey(format!(
                "{} printed JSON that does not parse: {e}",
                context()
            ))
        })?;
    Ok(value.get("credentials").cloned().unwrap_or(value))
}

fn credential_field(
    credentials: &serde_json::Value,
    name: &str,
    instance: &str,
    key: &str,
) -> Result<String, Error> {
    match credentials.get(name).and_then(|v| v.as_str()) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        // Name the keys only: their values include the secret.
        _ => Err(Error::ServiceKey(format!(
            "`cf service-key {instance} {key}`: the credentials have no {name:?} (keys: {})",
            credentials
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ))),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::io("resolve", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_key_output_of_cf_v8_and_v6_parses() {
        let v8 = "Getting key k for service instance X as me...\n\n{\n  \"credentials\": {\"clientid\": \"sb-X!t1\", \
                  \"clientsecret\": \"s\", \"url\": \"https://a.authentication.example.com\"}\n}\n";
        let c = parse_service_key(v8, "X", "k").unwrap();
        assert_eq!(c["clientid"], "sb-X!t1");
        assert_eq!(c["url"], "https://a.authentication.example.com");
        let v6 = "Getting key k for service instance X as me...\n\n{\"clientid\": \"c\", \"clientsecret\": \"s\", \"url\": \"u\"}";
        assert_eq!(parse_service_key(v6, "X", "k").unwrap()["clientid"], "c");
    }

    #[test]
    fn a_service_key_without_secret_is_named_but_not_shown() {
        let out =
            "{\"credentials\": {\"clientid\": \"c\", \"url\": \"https://topsecret.example\"}}";
        let credentials = parse_service_key(out, "X", "k").unwrap();
        let err = credential_field(&credentials, "clientsecret", "X", "k")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no \"clientsecret\""), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
    }
}
