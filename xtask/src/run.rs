//! `cargo xtask run`: the whole scenario locally — mock-platform, bsclient and approuter as
//! separate processes with the env Cloud Foundry would give them — until Ctrl-C.

use crate::command::Cmd;
use crate::error::Error;
use scenario::{Stack, StackOptions};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The App Router's port (the URL to open in the browser).
    #[arg(long, default_value_t = 5000)]
    pub port: u16,
    #[arg(long, default_value_t = 5001)]
    pub bsclient_port: u16,
    #[arg(long, default_value_t = 8080)]
    pub xsuaa_port: u16,
    #[arg(long, default_value_t = 8081)]
    pub destination_port: u16,
    #[arg(long, default_value_t = 8082)]
    pub backend_port: u16,
    /// The mock HERE token endpoint (seed 003's token provider).
    #[arg(long, default_value_t = 8083)]
    pub here_port: u16,
    /// bsclient's `/getToken` with the xsuaa binding's client credentials (the XSUAA flavour)
    /// instead of HERE's signed request with the demo `credentials.properties`.
    #[arg(long)]
    pub xsuaa_token_provider: bool,
    /// Use the binaries as they are instead of building them first.
    #[arg(long)]
    pub no_build: bool,
    /// Build and run release binaries.
    #[arg(long)]
    pub release: bool,
}

/// Builds the three apps the stack runs (`mock-platform`, `bsclient`, `approuter`), announcing the
/// command.
pub fn build_apps(release: bool) -> Result<(), Error> {
    let mut build = Cmd::with_program(crate::deploy::cargo_program(), "cargo")
        .current_dir(&crate::workspace::workspace_root())
        .args([
            "build",
            "-p",
            "mock-platform",
            "-p",
            "bsclient",
            "-p",
            "approuter",
        ]);
    if release {
        build = build.arg("--release");
    }
    build.announce();
    build.run()
}

pub fn run(names_file: PathBuf, args: Args) -> Result<(), Error> {
    let ports = [
        ("--port", args.port),
        ("--bsclient-port", args.bsclient_port),
        ("--xsuaa-port", args.xsuaa_port),
        ("--destination-port", args.destination_port),
        ("--backend-port", args.backend_port),
        ("--here-port", args.here_port),
    ];
    for (option, port) in ports {
        if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(Error::Missing {
                what: format!(
                    "port {port} on 127.0.0.1 is in use (is another `cargo xtask run` running?)"
                ),
                next_step: format!(
                    "stop what uses it, or choose another port: cargo xtask run {option} <PORT> (0 = any free port)"
                ),
            });
        }
    }
    let profile = if args.release { "release" } else { "debug" };
    if !args.no_build {
        build_apps(args.release)?;
    }
    let options = StackOptions {
        names_file: Some(names_file),
        echo_logs: true,
        approuter_port: args.port,
        bsclient_port: args.bsclient_port,
        xsuaa_port: args.xsuaa_port,
        destination_port: args.destination_port,
        backend_port: args.backend_port,
        here_port: args.here_port,
        xsuaa_token_provider: args.xsuaa_token_provider,
        binary_dir: Some(crate::workspace::target_dir().join(profile)),
        ..StackOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::Missing {
        what: format!("cannot start the async runtime: {e}"),
        next_step: "check the machine's limits on threads and file descriptors".into(),
    })?;
    runtime.block_on(serve(options))
}

async fn serve(options: StackOptions) -> Result<(), Error> {
    let mut stack =
        Stack::start(options).await.map_err(|e| Error::Missing {
            what: format!("the scenario did not start: {e}"),
            next_step:
                "read the app's log lines above; `cargo xtask run --help` lists the port options"
                    .into(),
        })?;
    println!("{}", banner(&stack));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                println!("\nstopping approuter, bsclient and mock-platform ...");
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for app in [&mut stack.approuter, &mut stack.bsclient, &mut stack.mock] {
                    if let Err(e) = app.check_alive() {
                        return Err(Error::Missing {
                            what: e.to_string(),
                            next_step: "fix the cause above and run `cargo xtask run` again".into(),
                        });
                    }
                }
            }
        }
    }
    drop(stack);
    Ok(())
}

fn banner(stack: &Stack) -> String {
    let scope = stack.names.backend_scope();
    let mut out = String::new();
    out.push_str("\n==============================================================\n");
    out.push_str(&format!(
        " The scenario runs. Open the App Router:  {}\n\n",
        stack.approuter_url
    ));
    out.push_str(" Demo users (log in on the mock XSUAA page):\n");
    for user in &stack.names.users {
        let sees = if user
            .role_collections
            .contains(&stack.names.backend.role_collection)
        {
            "sees the products".to_string()
        } else {
            format!("lacks {scope}: gets 403")
        };
        out.push_str(&format!(
            "   {:<8} password {:<12} role collections {:<40} {}\n",
            user.name,
            user.password,
            user.role_collections.join(", "),
            sees
        ));
    }
    out.push_str(&format!(
        "\n bsclient:             {}/mainentry (needs a forwarded JWT)\n",
        stack.bsclient_url
    ));
    out.push_str(&format!(" XSUAA (mock):         {}\n", stack.xsuaa_url()));
    out.push_str(&format!(
        " Destination service:  {}\n",
        stack.destination_url()
    ));
    out.push_str(&format!(
        " Backend API:          {}/odata/v2/ProductService/\n",
        stack.backend_url()
    ));
    if let Some(here) = stack.here_url() {
        out.push_str(&format!(
            " HERE token endpoint:  {here}/oauth2/token (mock; demo API {here}/demo/whoami)\n"
        ));
        let credentials = stack.workdir().join("credentials.properties");
        if credentials.is_file() {
            out.push_str(&format!(
                " /getToken:            HERE flavour, TOKEN_PROVIDER_CREDENTIALS={}\n",
                credentials.display()
            ));
        } else {
            out.push_str(" /getToken:            XSUAA flavour (the xsuaa binding's client)\n");
        }
        out.push_str(&format!(
            " Token client page:    {}/token-client/index.html (seed 003's client)\n",
            stack.approuter_url
        ));
    }
    out.push_str(" Ctrl-C stops everything.\n");
    out.push_str("==============================================================\n");
    out
}
