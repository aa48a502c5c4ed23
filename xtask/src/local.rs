//! `cargo xtask deploy --local`: the folder `deploy` would push, run the way Cloud Foundry's binary
//! buildpack runs it, on loopback. Per app of the staged `manifest.yml`: its `path` folder (and
//! nothing else) copied into a fresh directory, `HOME` and the working directory there, `PORT`,
//! `VCAP_APPLICATION` (name, uris, limits from the manifest), `VCAP_SERVICES` (the bindings the
//! manifest names, from a mock-platform whose xsuaa and destination instances were created from the
//! staged `xs-security*.json` and `init_data.json`, as `cf create-service ... -c` would), the
//! manifest's `env`, its `command`, and its health check as declared. The gorouter's part (a route
//! leads to an app's port) is played by rewriting `https://<route>` to `http://127.0.0.1:<port>`
//! wherever the files name a route. Then the scenario is driven through the staged approuter: every
//! demo user with the Backend API's role collection sees the products, every other gets 403.

use crate::error::Error;
use crate::manifests::{
    self, APPROUTER, BACKEND_XS_SECURITY_JSON, INIT_DATA_JSON, XS_SECURITY_JSON,
};
use common::names::ScenarioNames;
use mock_platform::config::{AppConfig, DestinationInstanceConfig, MockConfig};
use scenario::process::AppProcess;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(90);

/// One application of the staged `manifest.yml`, as Cloud Foundry reads it.
#[derive(Debug, Clone)]
pub struct ManifestApp {
    pub name: String,
    pub path: String,
    pub command: String,
    pub memory_mb: u64,
    pub instances: u32,
    pub route: String,
    pub services: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub health_check_type: String,
    pub health_check_http_endpoint: String,
}

pub struct Options {
    /// The staging folder (what `deploy` pushes).
    pub out: PathBuf,
    /// Where `mock-platform` is (the platform, not a pushed app).
    pub platform_binary: PathBuf,
    /// Keep the apps running after the check until Ctrl-C/SIGTERM.
    pub keep_running: bool,
    /// Written once the check passed: `{"approuter_url", "apps": {name: url}, "xsuaa_url"}`.
    pub ready_file: Option<PathBuf>,
}

fn local(message: impl Into<String>) -> Error {
    Error::Local(message.into())
}

/// Reads the staged manifest the way `cf push -f` does (the fields this scenario uses).
pub fn read_manifest(out: &Path) -> Result<Vec<ManifestApp>, Error> {
    let path = out.join(manifests::MANIFEST_YML);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let manifest: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|e| local(format!("{}: {e}", path.display())))?;
    let apps = manifest["applications"]
        .as_sequence()
        .ok_or_else(|| local(format!("{}: no applications", path.display())))?;
    apps.iter()
        .map(|app| {
            let text = |key: &str| -> Result<String, Error> {
                app[key].as_str().map(str::to_string).ok_or_else(|| {
                    local(format!("{}: an application without {key}", path.display()))
                })
            };
            let name = text("name")?;
            let memory = text("memory")?;
            let memory_mb = memory
                .strip_suffix('M')
                .and_then(|m| m.parse().ok())
                .or_else(|| {
                    memory
                        .strip_suffix('G')
                        .and_then(|g| g.parse::<u64>().ok())
                        .map(|g| g * 1024)
                })
                .ok_or_else(|| local(format!("{name}: memory {memory:?} is not <n>M or <n>G")))?;
            let env = app["env"]
                .as_mapping()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| {
                            Some((k.as_str()?.to_string(), v.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(ManifestApp {
                route: app["routes"][0]["route"]
                    .as_str()
                    .ok_or_else(|| local(format!("{name}: no route")))?
                    .to_string(),
                services: app["services"]
                    .as_sequence()
                    .map(|s| {
                        s.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                path: text("path")?,
                command: text("command")?,
                health_check_type: app["health-check-type"]
                    .as_str()
                    .unwrap_or("port")
                    .to_string(),
                health_check_http_endpoint: app["health-check-http-endpoint"]
                    .as_str()
                    .unwrap_or("/")
                    .to_string(),
                memory_mb,
                instances: app["instances"]
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(1),
                env,
                name,
            })
        })
        .collect()
}

/// `https://<route>` -> `http://127.0.0.1:<port>`, the gorouter's job.
struct Routes(Vec<(String, String)>);

impl Routes {
    fn localize(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (route, local) in &self.0 {
            text = text.replace(&format!("https://{route}"), local);
        }
        text
    }

    fn url(&self, route: &str) -> &str {
        self.0
            .iter()
            .find(|(r, _)| r == route)
            .map(|(_, l)| l.as_str())
            .unwrap_or_default()
    }
}

/// Runs the staged folder `options.out` (already staged by deploy with `--with-backend`).
pub async fn run(
    names: &ScenarioNames,
    target: &mut manifests::Target,
    options: &Options,
) -> Result<(), Error> {
    let out = &options.out;
    let apps = read_manifest(out)?;
    let mut routes = Vec::new();
    for app in &apps {
        let port = scenario::free_port().map_err(|e| local(e.to_string()))?;
        routes.push((app.route.clone(), format!("http://127.0.0.1:{port}")));
    }
    let routes = Routes(routes);
    let work = tempfile::Builder::new()
        .prefix("cf-local-")
        .tempdir()
        .map_err(|e| local(format!("temp dir: {e}")))?;

    // The landscape: xsuaa and destination instances created from the staged files.
    let platform = work.path().join("platform");
    std::fs::create_dir_all(&platform).map_err(|e| Error::io("create", &platform, e))?;
    let read = |file: &str| -> Result<String, Error> {
        let path = out.join(file);
        std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))
    };
    // The approuter's redirect URIs name its route.
    let xs_security = platform.join(XS_SECURITY_JSON);
    write(&xs_security, &routes.localize(&read(XS_SECURITY_JSON)?))?;
    let backend_xs_security = platform.join(BACKEND_XS_SECURITY_JSON);
    write(&backend_xs_security, &read(BACKEND_XS_SECURITY_JSON)?)?;
    // deploy fills the credentials from a service key of the xsuaa instance; the mock's
    // placeholders stand for exactly those values.
    let mut init: Value = serde_json::from_str(&routes.localize(&read(INIT_DATA_JSON)?))
        .map_err(|e| local(format!("{INIT_DATA_JSON}: {e}")))?;
    let instance = &names.xsuaa.instance;
    for destination in init["init_data"]["subaccount"]["destinations"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        destination["clientId"] = json!(format!("{{{{{instance}.clientid}}}}"));
        destination["clientSecret"] = json!(format!("{{{{{instance}.clientsecret}}}}"));
        destination["tokenServiceURL"] = json!("{{xsuaa.url}}/oauth/token");
    }
    let init_data = platform.join(INIT_DATA_JSON);
    write(&init_data, &init.to_string())?;

    let mut config = MockConfig::from_names(names);
    let app_config = |instance: &str, tenant_index: u32, file: &Path| AppConfig {
        instance: Some(instance.to_string()),
        tenant_index,
        xs_security: None,
        xs_security_file: Some(file.to_path_buf()),
        clientsecret: None,
        token_validity_seconds: None,
    };
    config.xsuaa.apps = vec![
        app_config(
            &names.backend.instance,
            names.backend.tenant_index,
            &backend_xs_security,
        ),
        app_config(instance, names.xsuaa.tenant_index, &xs_security),
    ];
    // The role collections come from the descriptors' `role-collections`, as on BTP.
    config.xsuaa.role_collections.clear();
    config.destination.instances = vec![DestinationInstanceConfig {
        name: names.destination_service.instance.clone(),
        clientsecret: None,
        init_data: None,
        init_data_file: Some(init_data),
    }];
    let config_file = platform.join("platform.yaml");
    write(&config_file, &config.to_yaml())?;
    let ready_file = platform.join("ready.json");
    println!(
        "local landscape: mock-platform from the staged xs-security.json files and init_data.json"
    );
    let mut mock = AppProcess::spawn(
        "mock-platform",
        &options.platform_binary,
        &[
            "--config".into(),
            config_file.display().to_string(),
            "--xsuaa-tls-port".into(),
            "0".into(),
            "--ready-file".into(),
            ready_file.display().to_string(),
        ],
        &[],
        &platform,
        true,
    )
    .map_err(|e| local(e.to_string()))?;
    let ready = wait_for_file(&mut mock, &ready_file).await?;
    let mut vcap = ready["vcap_services"].clone();
    // `cf create-service redis-cache ...`: a local redis-server, bound like BTP's.
    let _redis = match apps
        .iter()
        .any(|a| a.services.contains(&manifests::redis_instance(names)))
    {
        true => Some(start_redis(names, &mut vcap, &platform).await?),
        false => None,
    };
    let vcap = &vcap;

    // The Backend API's xsappname as this landscape named it, as deploy reads it from its key.
    let backend_xsappname = binding(vcap, &names.backend.instance)
        .and_then(|b| b["credentials"]["xsappname"].as_str().map(str::to_string))
        .ok_or_else(|| {
            local(format!(
                "no xsuaa binding {} in VCAP_SERVICES",
                names.backend.instance
            ))
        })?;
    println!("the Backend API's xsappname on this landscape: {backend_xsappname}");
    target.set_backend_xsappname(backend_xsappname);
    let files = manifests::generate(names, target, None);
    manifests::write_file(
        &out.join(APPROUTER).join(manifests::XS_APP_JSON),
        &files.xs_app_json,
        false,
    )?;

    // The apps, in manifest order (each one's target first); an app with several instances gets
    // one process per instance and a round-robin front on its route's port (the gorouter's part).
    let mut running = Vec::new();
    let mut instance_urls: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    let mut fronts = Vec::new();
    for app in &apps {
        let route_url = routes.url(&app.route).to_string();
        if app.instances <= 1 {
            let process = push(app, 0, &route_url, out, work.path(), &routes, vcap).await?;
            instance_urls
                .entry(app.name.clone())
                .or_default()
                .push((route_url, process.pid()));
            running.push(process);
            continue;
        }
        let mut backends = Vec::new();
        for index in 0..app.instances {
            let port = scenario::free_port().map_err(|e| local(e.to_string()))?;
            let own = format!("http://127.0.0.1:{port}");
            let process = push(app, index, &own, out, work.path(), &routes, vcap).await?;
            instance_urls
                .entry(app.name.clone())
                .or_default()
                .push((own, process.pid()));
            backends.push(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            running.push(process);
        }
        let address = route_url.trim_start_matches("http://");
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| local(format!("route front on {address}: {e}")))?;
        println!(
            "{}: {} instances behind {route_url}",
            app.name, app.instances
        );
        fronts.push(tokio::spawn(round_robin(listener, backends)));
    }
    let approuter = apps
        .iter()
        .find(|a| a.name == names.apps.approuter.name)
        .ok_or_else(|| local("the manifest has no approuter app"))?;
    let approuter_url = routes.url(&approuter.route).to_string();
    println!("\nstaged apps running:");
    for app in &apps {
        println!(
            "  {:<20} {} (route {})",
            app.name,
            routes.url(&app.route),
            app.route
        );
    }

    let checked = check_scenario(names, &approuter_url).await;
    if let Err(e) = checked {
        for process in &running {
            eprintln!("--- {} ---\n{}", process.name, process.log.tail(30));
        }
        return Err(e);
    }

    if let Some(path) = &options.ready_file {
        let apps_json: serde_json::Map<String, Value> = apps
            .iter()
            .map(|a| (a.name.clone(), json!(routes.url(&a.route))))
            .collect();
        let instances_json: serde_json::Map<String, Value> = instance_urls
            .iter()
            .map(|(name, list)| {
                let list: Vec<Value> = list
                    .iter()
                    .map(|(url, pid)| json!({"url": url, "pid": pid}))
                    .collect();
                (name.clone(), Value::Array(list))
            })
            .collect();
        let text = json!({
            "approuter_url": approuter_url,
            "apps": apps_json,
            "instances": instances_json,
            "xsuaa_url": ready["xsuaa"]["url"],
        })
        .to_string();
        let tmp = path.with_extension("tmp");
        write(&tmp, &text)?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", &tmp, e))?;
    }
    if options.keep_running {
        println!("\nopen {approuter_url}/ ; Ctrl-C stops the apps");
        common::server::shutdown_signal().await;
    }
    // Drop order: the apps (approuter last started, stopped first), then the platform.
    for front in fronts {
        front.abort();
    }
    while let Some(process) = running.pop() {
        drop(process);
    }
    drop(mock);
    Ok(())
}

fn binding<'a>(vcap: &'a Value, name: &str) -> Option<&'a Value> {
    vcap.as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .find(|b| b["name"] == name)
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io("write", path, e))
}

async fn wait_for_file(process: &mut AppProcess, path: &Path) -> Result<Value, Error> {
    let start = Instant::now();
    loop {
        process.check_alive().map_err(|e| local(e.to_string()))?;
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text)
                .map_err(|e| local(format!("{}: {e}", path.display())));
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(local(format!(
                "mock-platform wrote no ready file within {} s:\n{}",
                START_TIMEOUT.as_secs(),
                process.log.tail(30)
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What `cf push` and the binary buildpack do for one instance of an app (its own container,
/// listening on `local_url`'s port), then its health check.
async fn push(
    app: &ManifestApp,
    index: u32,
    local_url: &str,
    out: &Path,
    work: &Path,
    routes: &Routes,
    vcap: &Value,
) -> Result<AppProcess, Error> {
    // Only the app's `path` folder reaches the container.
    let home = work
        .join("apps")
        .join(&app.name)
        .join(index.to_string())
        .join("app");
    copy_dir(&out.join(&app.path), &home)?;
    let port = local_url.rsplit(':').next().unwrap_or_default().to_string();

    let mut services = serde_json::Map::new();
    for name in &app.services {
        let (label, binding) = vcap
            .as_object()
            .into_iter()
            .flatten()
            .find_map(|(label, list)| {
                list.as_array()?
                    .iter()
                    .find(|b| b["name"] == name.as_str())
                    .map(|b| (label.clone(), b.clone()))
            })
            .ok_or_else(|| local(format!("{}: the service {name} does not exist", app.name)))?;
        if let Some(list) = services
            .entry(label)
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            list.push(binding);
        }
    }
    let uri = routes
        .url(&app.route)
        .trim_start_matches("http://")
        .to_string();
    let own = local_url.trim_start_matches("http://").to_string();
    let vcap_application = json!({
        "application_name": app.name,
        "name": app.name,
        "application_uris": [uri],
        "uris": [uri],
        "limits": {"mem": app.memory_mb, "disk": 1024, "fds": 16384},
        "instance_index": index,
        "space_name": "local",
        "organization_name": "local",
    });
    let mut env: Vec<(String, String)> = vec![
        ("HOME".into(), home.display().to_string()),
        ("PORT".into(), port),
        ("CF_INSTANCE_INDEX".into(), index.to_string()),
        ("VCAP_APPLICATION".into(), vcap_application.to_string()),
        ("VCAP_SERVICES".into(), Value::Object(services).to_string()),
    ];
    for (key, value) in &app.env {
        env.push((key.clone(), routes.localize(value)));
    }
    if app.path == manifests::BACKEND_API {
        // On Cloud Foundry it listens on the container's interface; here on loopback only.
        env.push(("BACKEND_BIND".into(), "127.0.0.1".into()));
    }
    let mut words = app.command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| local(format!("{}: empty command", app.name)))?;
    let args: Vec<String> = words.map(str::to_string).collect();
    let program = home.join(program.trim_start_matches("./"));
    println!(
        "starting {} ({} in {})",
        app.name,
        app.command,
        home.display()
    );
    let name = if app.instances > 1 {
        format!("{}/{index}", app.name)
    } else {
        app.name.clone()
    };
    let mut process = AppProcess::spawn(&name, &program, &args, &env, &home, true)
        .map_err(|e| local(e.to_string()))?;
    match app.health_check_type.as_str() {
        "http" => process
            .wait_healthy(
                &format!("{local_url}{}", app.health_check_http_endpoint),
                START_TIMEOUT,
            )
            .await
            .map_err(|e| local(e.to_string()))?,
        "port" => {
            let address = own.clone();
            let start = Instant::now();
            while tokio::net::TcpStream::connect(&address).await.is_err() {
                process.check_alive().map_err(|e| local(e.to_string()))?;
                if start.elapsed() > START_TIMEOUT {
                    return Err(local(format!("{} never listened on {address}", app.name)));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        other => {
            return Err(local(format!(
                "{}: health-check-type {other:?} is not run locally (http, port)",
                app.name
            )));
        }
    }
    Ok(process)
}

/// Each connection to the next instance; an instance that refuses the connection (stopped) is
/// skipped, as the gorouter retries another instance when it cannot connect.
async fn round_robin(listener: tokio::net::TcpListener, backends: Vec<std::net::SocketAddr>) {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backends = std::sync::Arc::new(backends);
    while let Ok((mut inbound, _)) = listener.accept().await {
        let next = next.clone();
        let backends = backends.clone();
        tokio::spawn(async move {
            for _ in 0..backends.len() {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % backends.len();
                let connect = tokio::net::TcpStream::connect(backends[i]);
                if let Ok(Ok(mut outbound)) =
                    tokio::time::timeout(Duration::from_secs(5), connect).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    return;
                }
            }
        });
    }
}

/// A loopback `redis-server` without persistence, bound in `vcap` as BTP binds `redis-cache`.
async fn start_redis(
    names: &ScenarioNames,
    vcap: &mut Value,
    dir: &Path,
) -> Result<AppProcess, Error> {
    let Some(binary) = crate::command::on_path("redis-server") else {
        return Err(Error::Missing {
            what: "more than one App Router instance needs Redis, and `redis-server` is not on the PATH"
                .into(),
            next_step: "`apt-get install redis-server` (.ci/setup installs it), or leave out --instances"
                .into(),
        });
    };
    let port = scenario::free_port().map_err(|e| local(e.to_string()))?;
    let args: Vec<String> = [
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut redis = AppProcess::spawn("redis", &binary, &args, &[], dir, false)
        .map_err(|e| local(e.to_string()))?;
    let start = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        redis.check_alive().map_err(|e| local(e.to_string()))?;
        if start.elapsed() > START_TIMEOUT {
            return Err(local("redis-server did not listen in time"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    vcap["redis-cache"] = json!([{
        "name": manifests::redis_instance(names),
        "label": "redis-cache",
        "plan": "local",
        "tags": ["cache", "redis"],
        "credentials": {"hostname": "127.0.0.1", "port": port, "password": "", "tls": false},
    }]);
    Ok(redis)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| Error::io("read", from, e))? {
        let entry = entry.map_err(|e| Error::io("read", from, e))?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest)?;
        } else {
            copy_file(&path, &dest)?;
        }
    }
    Ok(())
}

/// A copy of `from` at `to`: a hard link where the filesystem allows it (the binaries are a few
/// hundred MB in the dev profile, and neither side is ever written in place: cargo replaces its
/// outputs), else a real copy.
pub fn copy_file(from: &Path, to: &Path) -> Result<(), Error> {
    if to.exists() {
        std::fs::remove_file(to).map_err(|e| Error::io("replace", to, e))?;
    }
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| Error::io("copy", from, e))
}

/// Every demo user logs in at the staged approuter: with the Backend API's role collection they see
/// the products table, without it 403.
pub async fn check_scenario(names: &ScenarioNames, approuter_url: &str) -> Result<(), Error> {
    println!();
    for user in &names.users {
        let allowed = user
            .role_collections
            .contains(&names.backend.role_collection);
        let browser = scenario::Browser::new();
        let page = browser
            .login(
                &format!("{approuter_url}/mainentry"),
                &user.name,
                &user.password,
            )
            .await
            .map_err(|e| local(format!("{} logging in: {e}", user.name)))?;
        let shows_products = page.body.contains("<table");
        let ok = if allowed {
            page.status.as_u16() == 200 && shows_products
        } else {
            page.status.as_u16() == 403 && !shows_products
        };
        println!(
            "{:<8} {} -> {} {}",
            user.name,
            if allowed {
                "(has the backend scope)"
            } else {
                "(no backend scope)    "
            },
            page.status.as_u16(),
            if shows_products {
                "products table"
            } else {
                "no products"
            }
        );
        if !ok {
            return Err(local(format!(
                "{} expected {} but got {} at {}:\n{}",
                user.name,
                if allowed {
                    "200 with the products"
                } else {
                    "403"
                },
                page.status,
                page.url,
                page.body.chars().take(600).collect::<String>()
            )));
        }
    }
    println!("scenario through the staged apps: ok");
    Ok(())
}
