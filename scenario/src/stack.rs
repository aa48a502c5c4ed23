//! The whole stack: mock-platform first (its ready file gives the URLs and the `VCAP_SERVICES` the
//! apps bind), then bsclient, then the approuter in front of it.

use crate::env::{self, MockReady};
use crate::process::{AppProcess, binary_path_in};
use crate::{ScenarioError, free_port};
use common::names::ScenarioNames;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// A names file other than the shipped `scenario.yaml`.
    pub names_file: Option<PathBuf>,
    /// A full mock-platform config (`--config`) instead of the one built from the names.
    pub mock_config: Option<PathBuf>,
    /// Print the apps' log lines, prefixed with the app name (`cargo xtask run`).
    pub echo_logs: bool,
    /// Fixed ports (0 = free port) for the approuter, bsclient and the mock's services.
    pub approuter_port: u16,
    pub bsclient_port: u16,
    pub xsuaa_port: u16,
    pub destination_port: u16,
    pub backend_port: u16,
    pub here_port: u16,
    /// bsclient's `/getToken` from the xsuaa binding (the XSUAA flavour) instead of the HERE
    /// flavour with the mock's `credentials.properties`.
    pub xsuaa_token_provider: bool,
    /// Points bsclient's destination binding at this URL instead of the mock's Destination
    /// service, e.g. a port nobody listens on: a stopped Destination service.
    pub destination_uri_override: Option<String>,
    /// Extra env for bsclient (e.g. `BSCLIENT_DISABLE_CACHE`).
    pub bsclient_env: Vec<(String, String)>,
    /// Extra env for the approuter (e.g. `REDIS_URL`).
    pub approuter_env: Vec<(String, String)>,
    /// Where the binaries are (e.g. `target/release` for benchmarks); default: next to the
    /// running executable.
    pub binary_dir: Option<PathBuf>,
    /// Routes placed before the tutorial's catch-all route in `xs-app.json`.
    pub extra_routes: Vec<serde_json::Value>,
    /// More entries of the approuter's `destinations` env; `{backend}` in a `url` is replaced
    /// with the mock Backend API's URL.
    pub extra_destinations: Vec<serde_json::Value>,
}

pub struct Stack {
    pub names: ScenarioNames,
    pub mock_ready: MockReady,
    pub approuter_url: String,
    pub bsclient_url: String,
    // Field order is drop order: the approuter stops first, the platform last.
    pub approuter: AppProcess,
    pub bsclient: AppProcess,
    pub mock: AppProcess,
    workdir: PathBuf,
    options: StackOptions,
    bsclient_env: Vec<(String, String)>,
    approuter_env: Vec<(String, String)>,
}

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Self, ScenarioError> {
        let names = match &options.names_file {
            Some(path) => {
                ScenarioNames::load(path).map_err(|e| ScenarioError::Io(e.to_string()))?
            }
            None => ScenarioNames::builtin(),
        };
        let workdir = make_workdir()?;
        let (mut mock, mock_ready) = start_mock(&options, &workdir).await?;
        for url in [
            &mock_ready.xsuaa.url,
            &mock_ready.destination.url,
            &mock_ready.backend.url,
        ] {
            mock.wait_healthy(&format!("{url}/health"), START_TIMEOUT)
                .await?;
        }

        let mut ready_for_bsclient = mock_ready.clone();
        if let Some(uri) = &options.destination_uri_override {
            override_destination_uri(&mut ready_for_bsclient.vcap_services, uri);
        }
        let bsclient_port = pick(options.bsclient_port)?;
        let mut bsclient_env = env::bsclient_env(&names, &ready_for_bsclient, bsclient_port);
        // Seed 003's token provider: the HERE flavour with the mock's credentials.properties, as a
        // HERE user would download it (the xsuaa binding's client when asked, or without one).
        if let Some(here) = &mock_ready.here {
            if let Some(properties) = &here.credentials_properties
                && !options.xsuaa_token_provider
            {
                let file = workdir.join("credentials.properties");
                std::fs::write(&file, properties)
                    .map_err(|e| ScenarioError::Io(format!("{}: {e}", file.display())))?;
                bsclient_env.push((
                    "TOKEN_PROVIDER_CREDENTIALS".into(),
                    file.display().to_string(),
                ));
            }
            let dir = workdir.join(common::generated::TOKEN_CLIENT_DIR);
            std::fs::create_dir_all(&dir)
                .map_err(|e| ScenarioError::Io(format!("{}: {e}", dir.display())))?;
            for (name, text) in env::token_client_files(&here.demo_url) {
                std::fs::write(dir.join(name), text)
                    .map_err(|e| ScenarioError::Io(format!("{name}: {e}")))?;
            }
        }
        bsclient_env.extend(options.bsclient_env.iter().cloned());
        let mut bsclient = AppProcess::spawn(
            "bsclient",
            &binary_path_in(options.binary_dir.as_deref(), "bsclient")?,
            &[],
            &bsclient_env,
            &workdir,
            options.echo_logs,
        )?;
        let bsclient_url = format!("http://127.0.0.1:{bsclient_port}");
        bsclient
            .wait_healthy(&format!("{bsclient_url}/health"), START_TIMEOUT)
            .await?;

        let xs_app_path = workdir.join("xs-app.json");
        let mut xs_app = common::generated::xs_app_json(&names);
        if let Some(routes) = xs_app["routes"].as_array_mut() {
            for (i, route) in options.extra_routes.iter().enumerate() {
                routes.insert(i, route.clone());
            }
            if mock_ready.here.is_some() {
                routes.insert(0, common::generated::token_client_route());
            }
        }
        std::fs::write(&xs_app_path, xs_app.to_string())
            .map_err(|e| ScenarioError::Io(format!("{}: {e}", xs_app_path.display())))?;
        let approuter_port = pick(options.approuter_port)?;
        let mut approuter_env = env::approuter_env(
            &names,
            &mock_ready,
            approuter_port,
            &bsclient_url,
            &xs_app_path.display().to_string(),
        );
        if !options.extra_destinations.is_empty() {
            let mut destinations = common::generated::approuter_destinations(&names, &bsclient_url);
            if let Some(list) = destinations.as_array_mut() {
                for extra in &options.extra_destinations {
                    let text = extra
                        .to_string()
                        .replace("{backend}", &mock_ready.backend.url);
                    list.push(serde_json::from_str(&text).unwrap_or_else(|_| extra.clone()));
                }
            }
            approuter_env.retain(|(k, _)| k != "destinations");
            approuter_env.push(("destinations".into(), destinations.to_string()));
        }
        approuter_env.extend(options.approuter_env.iter().cloned());
        let mut approuter = AppProcess::spawn(
            "approuter",
            &binary_path_in(options.binary_dir.as_deref(), "approuter")?,
            &[],
            &approuter_env,
            &workdir,
            options.echo_logs,
        )?;
        let approuter_url = format!("http://127.0.0.1:{approuter_port}");
        approuter
            .wait_healthy(&format!("{approuter_url}/health"), START_TIMEOUT)
            .await?;

        Ok(Self {
            names,
            mock_ready,
            approuter_url,
            bsclient_url,
            approuter,
            bsclient,
            mock,
            workdir,
            options,
            bsclient_env,
            approuter_env,
        })
    }

    /// Starts one more bsclient with the same env plus `extra_env`, on a free port, without
    /// waiting for it. Returns it, its URL and the moment of exec (for start-up timing).
    pub fn spawn_bsclient(
        &self,
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String, std::time::Instant), ScenarioError> {
        self.spawn_like("bsclient", &self.bsclient_env, extra_env)
    }

    /// Like [`Stack::spawn_bsclient`], for the approuter.
    pub fn spawn_approuter(
        &self,
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String, std::time::Instant), ScenarioError> {
        self.spawn_like("approuter", &self.approuter_env, extra_env)
    }

    /// The tutorial's Node.js app (prepared in `app_dir` by [`crate::node::prepare`]) with
    /// bsclient's env: the same bindings, on a free port.
    pub fn spawn_node_tutorial(
        &self,
        node: &Path,
        app_dir: &Path,
    ) -> Result<(AppProcess, String), ScenarioError> {
        let (process, url, _) = self.spawn_with(
            "node-tutorial",
            node,
            &["app.js".to_string()],
            app_dir,
            &self.bsclient_env,
            &[],
        )?;
        Ok((process, url))
    }

    /// SAP's `@sap/approuter` (installed in `sap_dir` by [`crate::sap_approuter::prepare`]) with our
    /// App Router's env, `xs-app.json` and working directory plus `extra_env`, on a free port: the
    /// benchmark's baseline.
    pub fn spawn_sap_approuter(
        &self,
        node: &Path,
        sap_dir: &Path,
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String), ScenarioError> {
        let entry = crate::sap_approuter::entry_point(sap_dir);
        let (process, url, _) = self.spawn_with(
            "sap-approuter",
            node,
            &[entry.display().to_string()],
            &self.workdir,
            &self.approuter_env,
            extra_env,
        )?;
        Ok((process, url))
    }

    /// Like [`Stack::spawn_approuter`], with another App Router binary (the bench's before/after).
    pub fn spawn_approuter_binary(
        &self,
        binary: &Path,
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String, std::time::Instant), ScenarioError> {
        self.spawn_with(
            "approuter",
            binary,
            &[],
            &self.workdir,
            &self.approuter_env,
            extra_env,
        )
    }

    fn spawn_like(
        &self,
        app: &str,
        env: &[(String, String)],
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String, std::time::Instant), ScenarioError> {
        let binary = binary_path_in(self.options.binary_dir.as_deref(), app)?;
        self.spawn_with(app, &binary, &[], &self.workdir, env, extra_env)
    }

    fn spawn_with(
        &self,
        app: &str,
        binary: &Path,
        args: &[String],
        workdir: &Path,
        env: &[(String, String)],
        extra_env: &[(String, String)],
    ) -> Result<(AppProcess, String, std::time::Instant), ScenarioError> {
        let port = free_port()?;
        let mut env: Vec<(String, String)> =
            env.iter().filter(|(k, _)| k != "PORT").cloned().collect();
        env.push(("PORT".into(), port.to_string()));
        env.extend(extra_env.iter().cloned());
        let started = std::time::Instant::now();
        let process = AppProcess::spawn(app, binary, args, &env, workdir, self.options.echo_logs)?;
        Ok((process, format!("http://127.0.0.1:{port}"), started))
    }

    pub fn backend_url(&self) -> &str {
        &self.mock_ready.backend.url
    }

    pub fn xsuaa_url(&self) -> &str {
        &self.mock_ready.xsuaa.url
    }

    /// The mock HERE token endpoint's base URL.
    pub fn here_url(&self) -> Option<&str> {
        self.mock_ready.here.as_ref().map(|h| h.url.as_str())
    }

    pub fn destination_url(&self) -> &str {
        &self.mock_ready.destination.url
    }

    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The apps' last log lines, to print when a test fails.
    pub fn logs(&self, lines: usize) -> String {
        format!(
            "--- mock-platform\n{}\n--- bsclient\n{}\n--- approuter\n{}",
            self.mock.log.tail(lines),
            self.bsclient.log.tail(lines),
            self.approuter.log.tail(lines)
        )
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

fn pick(port: u16) -> Result<u16, ScenarioError> {
    if port == 0 { free_port() } else { Ok(port) }
}

pub(crate) fn make_workdir() -> Result<PathBuf, ScenarioError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "scenario-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| ScenarioError::Io(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

pub(crate) async fn start_mock(
    options: &StackOptions,
    workdir: &Path,
) -> Result<(AppProcess, MockReady), ScenarioError> {
    let ready_file = workdir.join("mock-ready.json");
    let mut args: Vec<String> = vec![
        "--xsuaa-port".into(),
        options.xsuaa_port.to_string(),
        "--xsuaa-tls-port".into(),
        "0".into(),
        "--destination-port".into(),
        options.destination_port.to_string(),
        "--backend-port".into(),
        options.backend_port.to_string(),
        "--here-port".into(),
        options.here_port.to_string(),
        "--ready-file".into(),
        ready_file.display().to_string(),
    ];
    if let Some(config) = &options.mock_config {
        args.push("--config".into());
        args.push(config.display().to_string());
    } else if let Some(names) = &options.names_file {
        args.push("--names".into());
        args.push(names.display().to_string());
    }
    let mut mock = AppProcess::spawn(
        "mock-platform",
        &binary_path_in(options.binary_dir.as_deref(), "mock-platform")?,
        &args,
        &[],
        workdir,
        options.echo_logs,
    )?;
    let start = Instant::now();
    loop {
        mock.check_alive()?;
        if let Ok(text) = std::fs::read_to_string(&ready_file) {
            let ready: MockReady =
                serde_json::from_str(&text).map_err(|e| ScenarioError::ReadyFile {
                    path: ready_file.display().to_string(),
                    reason: e.to_string(),
                })?;
            return Ok((mock, ready));
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(ScenarioError::NotHealthy {
                app: "mock-platform".into(),
                seconds: START_TIMEOUT.as_secs(),
                log: mock.log.tail(40),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn override_destination_uri(vcap: &mut serde_json::Value, uri: &str) {
    if let Some(bindings) = vcap.get_mut("destination").and_then(|b| b.as_array_mut()) {
        for binding in bindings {
            if let Some(creds) = binding.get_mut("credentials") {
                creds["uri"] = serde_json::Value::String(uri.to_string());
            }
        }
    }
}
