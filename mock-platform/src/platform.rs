//! Starting the whole platform: bind the listeners (port 0 = a free port), fill in the URLs,
//! serve the services (XSUAA, Destination service, Backend API, HERE token endpoint), and describe the result (the ready file, with `VCAP_SERVICES`).

use crate::config::MockConfig;
use crate::error::{Error, Result};
use crate::keys::SigningKey;
use crate::model::{AppKind, Model};
use crate::state::{PlatformState, Service, Shared, Urls, known_counters};
use crate::tls::TlsMaterial;
use crate::xsuaa::ViaTls;
use common::server::ServerLimits;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where to listen. Port 0 picks a free port.
#[derive(Debug, Clone)]
pub struct Ports {
    pub host: IpAddr,
    pub xsuaa: u16,
    /// The https listener SAP's libraries need (`https://{uaadomain}`); None: no TLS.
    pub xsuaa_tls: Option<u16>,
    pub destination: u16,
    pub backend: u16,
    /// The HERE-style token endpoint (seed 003).
    pub here: u16,
    /// Where to write the CA certificate; default: a file in the temp dir, removed at shutdown.
    pub ca_cert_file: Option<PathBuf>,
    /// Timeouts and connection limit of every listener (`common::server`).
    pub limits: ServerLimits,
}

impl Default for Ports {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            xsuaa: 0,
            xsuaa_tls: Some(0),
            destination: 0,
            backend: 0,
            here: 0,
            ca_cert_file: None,
            limits: ServerLimits::default(),
        }
    }
}

/// A running platform. Dropping it stops the services.
pub struct RunningPlatform {
    /// `http://127.0.0.1:P`: the binding's `url`.
    pub xsuaa_url: String,
    /// `https://localhost:P`.
    pub xsuaa_tls_url: Option<String>,
    pub uaadomain: String,
    pub destination_url: String,
    pub backend_url: String,
    /// `http://127.0.0.1:P`: the HERE token endpoint is `{here_url}/oauth2/token`.
    pub here_url: String,
    /// The CA certificate clients must trust for [`RunningPlatform::xsuaa_tls_url`].
    pub ca_cert_file: Option<PathBuf>,
    pub ca_pem: Option<String>,
    ready: Value,
    state: Shared,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    remove_ca_file: bool,
}

/// Starts XSUAA, the Destination service and the Backend API on their own listeners.
pub async fn start(config: MockConfig, ports: Ports) -> Result<RunningPlatform> {
    let mut model = Model::resolve(&config)?;
    let key = match &model.keys_pem {
        Some(path) => SigningKey::load(path)?,
        None => tokio::task::spawn_blocking(SigningKey::generate)
            .await
            .map_err(|e| Error::startup("key generation", e))??,
    };

    let bind = |port: u16| async move {
        let addr = SocketAddr::new(ports.host, port);
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })
    };
    let xsuaa_listener = bind(ports.xsuaa).await?;
    let destination_listener = bind(ports.destination).await?;
    let backend_listener = bind(ports.backend).await?;
    let here_listener = bind(ports.here).await?;
    let url_of = |l: &tokio::net::TcpListener| -> Result<String> {
        let addr = l
            .local_addr()
            .map_err(|e| Error::startup("listener address", e))?;
        // Listening on all interfaces: clients on this machine still need a concrete address.
        Ok(match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
            IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[::1]:{}", addr.port()),
            IpAddr::V6(ip) => format!("http://[{ip}]:{}", addr.port()),
            IpAddr::V4(ip) => format!("http://{ip}:{}", addr.port()),
        })
    };

    let mut tls_listeners = Vec::new();
    let mut tls_url = None;
    if let Some(port) = ports.xsuaa_tls {
        // The certificate is for localhost; on all interfaces when asked to, else loopback only.
        let ip = if ports.host.is_unspecified() {
            ports.host
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let addr = SocketAddr::new(ip, port);
        let listener = std::net::TcpListener::bind(addr).map_err(|source| Error::Listen {
            addr: format!("{addr} (TLS)"),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::startup("TLS listener address", e))?
            .port();
        tls_listeners.push(listener);
        // `localhost` may resolve to ::1 first on other machines: listen there too when we can.
        if let Ok(v6) =
            std::net::TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port))
        {
            tls_listeners.push(v6);
        }
        tls_url = Some(format!("https://localhost:{port}"));
    }

    let urls = Urls {
        xsuaa: url_of(&xsuaa_listener)?,
        xsuaa_tls: tls_url.clone(),
        destination: url_of(&destination_listener)?,
        backend: url_of(&backend_listener)?,
    };
    model.fill_urls(&urls);
    let here_url = url_of(&here_listener)?;

    let tls = match ports.xsuaa_tls {
        Some(_) => Some(TlsMaterial::generate(&model.zone.subdomain)?),
        None => None,
    };
    let mut remove_ca_file = false;
    let ca_cert_file = match &tls {
        Some(tls) => {
            let path = match &ports.ca_cert_file {
                Some(path) => path.clone(),
                None => {
                    remove_ca_file = true;
                    std::env::temp_dir().join(format!(
                        "mock-platform-ca-{}-{}.pem",
                        std::process::id(),
                        tls_url
                            .as_deref()
                            .and_then(|u| u.rsplit(':').next())
                            .unwrap_or("0")
                    ))
                }
            };
            write_atomically(&path, &tls.ca_pem)?;
            Some(path)
        }
        None => None,
    };

    let state = PlatformState::new(
        model,
        key,
        urls.clone(),
        tls.as_ref().map(|t| t.ca_pem.as_str()),
    )?;
    let (shutdown, signal) = watch::channel(false);
    let mut tasks = Vec::new();
    for (listener, router) in [
        (xsuaa_listener, crate::xsuaa::router(state.clone())),
        (
            destination_listener,
            crate::destination::router(state.clone()),
        ),
        (backend_listener, crate::backend::router(state.clone())),
        (here_listener, crate::here::router(state.clone())),
    ] {
        let mut signal = signal.clone();
        let limits = ports.limits.clone();
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                let _ = signal.wait_for(|stop| *stop).await;
            };
            if let Err(e) = common::server::serve(listener, router, &limits, stop).await {
                tracing::error!(error = %e, "listener failed");
            }
        }));
    }
    if let Some(tls) = &tls {
        let config = tls.server_config()?;
        for listener in tls_listeners {
            let listener = listener
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpListener::from_std(listener))
                .map_err(|e| Error::startup("TLS listener", e))?;
            let router = crate::xsuaa::router(state.clone()).layer(axum::Extension(ViaTls));
            let config = config.clone();
            let limits = ports.limits.clone();
            let mut signal = signal.clone();
            tasks.push(tokio::spawn(async move {
                let stop = async move {
                    let _ = signal.wait_for(|stop| *stop).await;
                };
                if let Err(e) =
                    common::server::serve_tls(listener, router, &limits, config, stop).await
                {
                    tracing::error!(error = %e, "TLS listener failed");
                }
            }));
        }
    }

    let ca_pem = tls.map(|t| t.ca_pem);
    let ready = ready_json(&state, ca_cert_file.as_deref(), &here_url);
    let _ = state.ready.set(ready.clone());
    Ok(RunningPlatform {
        xsuaa_url: urls.xsuaa.clone(),
        xsuaa_tls_url: urls.xsuaa_tls.clone(),
        uaadomain: urls.uaadomain(),
        destination_url: urls.destination.clone(),
        backend_url: urls.backend.clone(),
        here_url,
        ca_cert_file,
        ca_pem,
        ready,
        state,
        shutdown,
        tasks,
        remove_ca_file,
    })
}

/// Writes `text` to a temporary file next to `path`, then renames it: readers never see half a file.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::startup(format!("cannot write {}", path.display()), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

fn ready_json(state: &Shared, ca_cert_file: Option<&Path>, here_url: &str) -> Value {
    let model = &state.model;
    let urls = &state.urls;
    let zone = &model.zone;
    let verification_key = state.keys.current().public_pem.clone();
    let uaadomain = urls.uaadomain();
    let xsuaa_bindings: Vec<Value> = model
        .bound_apps()
        .map(|app| {
            let instance = app.instance.clone().unwrap_or_default();
            json!({
                "name": instance, "instance_name": instance, "label": "xsuaa", "plan": "application",
                "tags": ["xsuaa"], "binding_name": null, "provider": null, "syslog_drain_url": null, "volume_mounts": [],
                "credentials": {
                    "clientid": app.client_id, "clientsecret": app.client_secret, "url": urls.xsuaa,
                    "uaadomain": uaadomain, "xsappname": app.xsappname, "identityzone": zone.subdomain,
                    "identityzoneid": zone.id, "tenantid": zone.id, "zoneid": zone.id, "subaccountid": zone.id,
                    "verificationkey": verification_key, "tenantmode": app.tenant_mode,
                    "credential-type": "binding-secret", "sburl": urls.xsuaa, "apiurl": urls.xsuaa,
                }
            })
        })
        .collect();
    let destination_bindings: Vec<Value> = model
        .destination_instances
        .iter()
        .map(|instance| {
            let app = &model.apps[instance.app];
            json!({
                "name": instance.name, "instance_name": instance.name, "label": "destination", "plan": "lite",
                "tags": ["destination", "conn", "connsvc"], "binding_name": null, "provider": null,
                "syslog_drain_url": null, "volume_mounts": [],
                "credentials": {
                    "clientid": app.client_id, "clientsecret": app.client_secret, "uri": urls.destination,
                    "url": urls.xsuaa, "uaadomain": uaadomain, "xsappname": app.xsappname,
                    "identityzone": zone.subdomain, "tenantid": zone.id, "zoneid": zone.id,
                    "subaccountid": zone.id, "tenantmode": "dedicated", "verificationkey": verification_key,
                    "instanceid": crate::model::stable_guid(&format!("instance/{}", instance.name)),
                    "credential-type": "binding-secret",
                }
            })
        })
        .collect();
    let mut vcap = serde_json::Map::new();
    if !xsuaa_bindings.is_empty() {
        vcap.insert("xsuaa".into(), Value::Array(xsuaa_bindings));
    }
    if !destination_bindings.is_empty() {
        vcap.insert("destination".into(), Value::Array(destination_bindings));
    }
    let users: Vec<Value> = model
        .users
        .iter()
        .map(|u| json!({"name": u.name, "password": u.password, "id": u.id, "email": u.email, "role_collections": u.role_collections, "scopes": u.scopes}))
        .collect();
    json!({
        "xsuaa": {
            "url": urls.xsuaa, "tls_url": urls.xsuaa_tls, "uaadomain": uaadomain,
            "ca_cert_file": ca_cert_file.map(|p| p.display().to_string()),
        },
        "destination": {"url": urls.destination},
        "backend": {
            "url": urls.backend,
            "service_url": format!("{}{}", urls.backend, crate::backend::service_root_path(&model.backend)),
            "required_scope": model.backend_required_scope,
        },
        "here": {
            "url": here_url,
            "token_endpoint_url": format!("{here_url}/oauth2/token"),
            "demo_url": format!("{here_url}/demo/whoami"),
            "access_keys": model.here.access_keys.iter().map(|k| json!({"id": k.id, "secret": k.secret, "user_id": k.user_id})).collect::<Vec<_>>(),
            "credentials_properties": model.here.access_keys.first().map(|k| crate::here::credentials_properties(k, &format!("{here_url}/oauth2/token"))),
        },
        "zone": {"id": zone.id, "subdomain": zone.subdomain},
        "users": users,
        "vcap_services": Value::Object(vcap),
    })
}

impl RunningPlatform {
    /// What `--ready-file` holds: URLs, `vcap_services`, users.
    pub fn ready(&self) -> &Value {
        &self.ready
    }

    /// Exactly what a bound app gets as `VCAP_SERVICES`.
    pub fn vcap_services(&self) -> &Value {
        &self.ready["vcap_services"]
    }

    /// Credentials of the first `xsuaa` binding.
    pub fn xsuaa_credentials(&self) -> &Value {
        &self.ready["vcap_services"]["xsuaa"][0]["credentials"]
    }

    /// Credentials of the first `destination` binding.
    pub fn destination_credentials(&self) -> &Value {
        &self.ready["vcap_services"]["destination"][0]["credentials"]
    }

    pub fn state(&self) -> &Shared {
        &self.state
    }

    /// A service's counters (same as `GET /__mock/stats` on it).
    pub fn stats(&self, service: Service) -> BTreeMap<String, u64> {
        self.state
            .stats
            .of(service)
            .snapshot(known_counters(service))
    }

    /// The URLs and users, as printed at start.
    pub fn summary(&self) -> String {
        let model = &self.state.model;
        let mut out = String::from("mock-platform ready\n");
        out.push_str(&format!("  XSUAA                {}\n", self.xsuaa_url));
        if let Some(tls) = &self.xsuaa_tls_url {
            out.push_str(&format!(
                "  XSUAA (https)        {tls}   uaadomain {}, CA {}\n",
                self.uaadomain,
                self.ca_cert_file
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ));
        }
        out.push_str(&format!(
            "  Destination service  {}\n",
            self.destination_url
        ));
        out.push_str(&format!(
            "  Backend API          {}{}{}\n",
            self.backend_url,
            crate::backend::service_root_path(&model.backend),
            model.backend.entity_set
        ));
        out.push_str(&format!(
            "  HERE token endpoint  {}/oauth2/token   (demo API {}/demo/whoami)\n",
            self.here_url, self.here_url
        ));
        for key in &model.here.access_keys {
            out.push_str(&format!("  HERE access key: {}\n", key.id));
        }
        for app in &model.apps {
            let kind = match (app.kind, &app.instance) {
                (AppKind::Xsuaa, Some(i)) => format!("xsuaa instance {i}"),
                (AppKind::Xsuaa, None) => "xsuaa app (not bound)".into(),
                (AppKind::Destination, i) => {
                    format!("destination instance {}", i.as_deref().unwrap_or_default())
                }
            };
            out.push_str(&format!(
                "  {kind}: xsappname {}, clientid {}\n",
                app.xsappname, app.client_id
            ));
        }
        out.push_str("users:\n");
        for user in &model.users {
            out.push_str(&format!(
                "  {} / {}   role collections: {}; has {}: {}\n",
                user.name,
                user.password,
                user.role_collections.join(", "),
                model.backend_required_scope,
                if user.scopes.contains(&model.backend_required_scope) {
                    "yes"
                } else {
                    "no"
                }
            ));
        }
        out
    }

    /// Stops the listeners (in-flight requests finish, for up to 5 s).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RunningPlatform {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
        if self.remove_ca_file
            && let Some(path) = &self.ca_cert_file
        {
            let _ = std::fs::remove_file(path);
        }
    }
}
