//! The side-by-side harness: SAP's `@sap/approuter` and our App Router, started on the same mock
//! platform with the same `xs-app.json`, the same `destinations` and the same recording backend,
//! get the same requests; what a client and the backend see is normalised (ports, tokens, session
//! ids) and compared.
//!
//! One [`RouterPair`] per distinct configuration; requests run one at a time so that what the
//! recording backend saw belongs to the request just sent.

use crate::env::{MockReady, vcap_application, vcap_services_with};
use crate::process::{AppProcess, binary_path};
use crate::stack::{make_workdir, start_mock};
use crate::{Browser, ScenarioError, StackOptions, free_port, sap_approuter};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The response headers a client relies on, compared for every case.
pub const COMPARED_HEADERS: &[&str] = &[
    "location",
    "set-cookie",
    "x-csrf-token",
    "cache-control",
    "allow",
    "www-authenticate",
    "content-type",
    "x-frame-options",
    "x-request-id",
];

/// The request headers the backend's behaviour depends on, compared for every forwarded request.
pub const BACKEND_HEADERS: &[&str] = &[
    "authorization",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-for",
    "x-forwarded-path",
    "x-correlationid",
    "x-request-id",
    "tenantid",
    "cookie",
    "x-csrf-token",
    "content-type",
    "x-custom",
    "sap-client",
    "x-http-header-from-env",
];

/// One request as the recording backend saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

/// A backend that records every request and answers something fixed: `{"ok":true}` as JSON, except
/// under a few paths that let cases see how the routers treat backend answers:
/// `.../backend-redirect` (302 to an absolute backend URL), `.../backend-cookie` (a session
/// cookie), `.../backend-persistent-cookie` (a cookie with `Max-Age`), `.../backend-404` (404 with
/// a text body), `.../backend-nocache` (`Cache-Control: no-store`), `.../backend-large` (2 KB of
/// JSON, worth compressing), `.../backend-gzipped` (2 KB the backend compressed itself:
/// `Content-Encoding: gzip`), and `.../ws`: a WebSocket handshake answered with 101 and a session
/// cookie, then every message echoed.
pub struct RecordingBackend {
    pub url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    /// Signalled on every recorded request (calls a router makes on its own, e.g. backend logout).
    recorded: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct BackendState {
    log: Arc<Mutex<Vec<Recorded>>>,
    url: String,
    recorded: Arc<tokio::sync::Notify>,
}

impl RecordingBackend {
    pub async fn start() -> Result<Self, ScenarioError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ScenarioError::Io(e.to_string()))?;
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| ScenarioError::Io(e.to_string()))?
        );
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::new(tokio::sync::Notify::new());
        let state = BackendState {
            log: log.clone(),
            url: url.clone(),
            recorded: recorded.clone(),
        };
        let app = axum::Router::new().fallback(record).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            log,
            recorded,
            task,
        })
    }

    /// Waits (at most `limit`) until `count` requests are recorded since the last [`Self::take`].
    pub async fn wait_for(&self, count: usize, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.recorded.notified();
            if self.log.lock().unwrap_or_else(|p| p.into_inner()).len() >= count {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Everything recorded since the last call.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for RecordingBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(state): State<BackendState>, mut req: axum::extract::Request) -> Response {
    let upgrade = req
        .headers()
        .get("upgrade")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
        .then(|| hyper::upgrade::on(&mut req));
    let (parts, body) = req.into_parts();
    let (method, uri, headers): (Method, Uri, HeaderMap) = (parts.method, parts.uri, parts.headers);
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = uri.path().to_string();
    state
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Recorded {
            method: method.to_string(),
            path: path.clone(),
            query: uri.query().map(str::to_string),
            body: String::from_utf8_lossy(&body).into_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        });
    state.recorded.notify_waiters();
    let json = [("content-type", "application/json")];
    if let Some(upgrade) = upgrade
        && path.ends_with("/ws")
    {
        return testkit::backend::websocket_echo(upgrade, &headers, "ws_cookie=w1; Path=/");
    }
    if path.ends_with("/backend-redirect") {
        (
            StatusCode::FOUND,
            [("location", format!("{}/elsewhere", state.url))],
        )
            .into_response()
    } else if path.ends_with("/backend-cookie") {
        (
            StatusCode::OK,
            [
                ("content-type", "application/json"),
                ("set-cookie", "backend_cookie=b1; Path=/; HttpOnly"),
            ],
            "{\"ok\":true}",
        )
            .into_response()
    } else if path.ends_with("/backend-persistent-cookie") {
        (
            StatusCode::OK,
            [
                ("content-type", "application/json"),
                ("set-cookie", "persistent_cookie=p1; Max-Age=3600; Path=/"),
            ],
            "{\"ok\":true}",
        )
            .into_response()
    } else if path.ends_with("/backend-404") {
        (
            StatusCode::NOT_FOUND,
            [("content-type", "text/plain")],
            "no such thing",
        )
            .into_response()
    } else if path.ends_with("/backend-large") {
        (StatusCode::OK, json, large_json()).into_response()
    } else if path.ends_with("/backend-gzipped") {
        (
            StatusCode::OK,
            [
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            gzip_stored(large_json().as_bytes()),
        )
            .into_response()
    } else if path.ends_with("/backend-nocache") {
        (
            StatusCode::OK,
            [
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
            ],
            "{\"ok\":true}",
        )
            .into_response()
    } else {
        (StatusCode::OK, json, "{\"ok\":true}").into_response()
    }
}

/// 2 KB of JSON: above the routers' default compression threshold (1 KB).
fn large_json() -> String {
    let items: Vec<String> = (0..150).map(|i| format!("{{\"item\":{i:05}}}")).collect();
    format!("{{\"items\":[{}]}}", items.join(","))
}

/// `data` as a valid gzip stream of one stored (uncompressed) deflate block: what a backend that
/// compresses its answers sends, without a compression library in the harness.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let data = &data[..len as usize];
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.push(1); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The mock platform and the recording backend, shared by every [`RouterPair`] of a run.
pub struct Platform {
    pub mock: AppProcess,
    pub ready: MockReady,
    pub backend: RecordingBackend,
    pub workdir: PathBuf,
    /// Where `@sap/approuter` is installed.
    pub sap_dir: PathBuf,
    pub node: PathBuf,
}

impl Platform {
    pub async fn start(sap_dir: &Path, node: &Path) -> Result<Self, ScenarioError> {
        let workdir = make_workdir()?;
        // The recording backend first: the mock's Destination service has destinations to it.
        let backend = RecordingBackend::start().await?;
        let config_file = workdir.join("mock-config.yaml");
        std::fs::write(
            &config_file,
            serde_json::to_string(&mock_config(&backend.url))
                .map_err(|e| ScenarioError::Io(e.to_string()))?,
        )
        .map_err(|e| ScenarioError::Io(e.to_string()))?;
        let options = StackOptions {
            mock_config: Some(config_file),
            ..StackOptions::default()
        };
        let (mut mock, ready) = start_mock(&options, &workdir).await?;
        mock.wait_healthy(&format!("{}/health", ready.xsuaa.url), START_TIMEOUT)
            .await?;
        Ok(Self {
            mock,
            ready,
            backend,
            workdir,
            sap_dir: sap_dir.to_path_buf(),
            node: node.to_path_buf(),
        })
    }

    /// An XSUAA token of `user` for the App Router's own client (password grant), as a service
    /// that calls the router with `x-approuter-authorization` holds one.
    pub async fn user_token(&self, user: &str) -> Result<String, ScenarioError> {
        let password = self
            .user_password(user)
            .ok_or_else(|| ScenarioError::Login(format!("no demo user {user}")))?;
        let creds = &self.ready.vcap_services["xsuaa"][0]["credentials"];
        let field = |k: &str| creds[k].as_str().unwrap_or_default().to_string();
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/oauth/token", field("url")))
            .basic_auth(field("clientid"), Some(field("clientsecret")))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", &password),
            ])
            .send()
            .await?
            .json()
            .await?;
        answer["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ScenarioError::Login(format!("no token for {user}: {answer}")))
    }

    pub fn user_password(&self, user: &str) -> Option<String> {
        self.ready_users()
            .into_iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p)
    }

    fn ready_users(&self) -> Vec<(String, String)> {
        // The ready file lists the demo users; MockReady keeps only what the stack needs, so
        // read it again from the workdir.
        let text =
            std::fs::read_to_string(self.workdir.join("mock-ready.json")).unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        value["users"]
            .as_array()
            .map(|users| {
                users
                    .iter()
                    .filter_map(|u| {
                        Some((
                            u["name"].as_str()?.to_string(),
                            u["password"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `destinations` env both routers get: `backend` (token forwarded), `plain` (no token)
    /// and whatever `extra` adds, all pointing at the recording backend.
    pub fn destinations(&self, extra: &[Value]) -> Value {
        let mut list = vec![
            json!({"name": "backend", "url": self.backend.url, "forwardAuthToken": true}),
            json!({"name": "plain", "url": self.backend.url}),
        ];
        for e in extra {
            let text = e.to_string().replace("{backend}", &self.backend.url);
            list.push(serde_json::from_str(&text).unwrap_or_else(|_| e.clone()));
        }
        Value::Array(list)
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.workdir);
    }
}

/// Destinations in the mock Destination service, all to the recording backend, one per
/// authentication kind and a few that cannot be used: on the instance level, and `ds-sub` on the
/// subaccount level (the lookup finds both).
pub fn service_destinations(backend: &str) -> (Vec<Value>, Vec<Value>) {
    let names = mock_platform::names::ScenarioNames::builtin();
    let client = |d: Value| {
        let mut d = d;
        d["tokenServiceURL"] = json!("{{xsuaa.url}}/oauth/token");
        d["clientId"] = json!(format!("{{{{{}.clientid}}}}", names.xsuaa.instance));
        d["clientSecret"] = json!(format!("{{{{{}.clientsecret}}}}", names.xsuaa.instance));
        d
    };
    let http = |name: &str, auth: &str| json!({"Name": name, "Type": "HTTP", "URL": format!("{backend}/{name}"), "Authentication": auth, "ProxyType": "Internet"});
    let mut forward = http("ds-forward", "NoAuthentication");
    forward["HTML5.ForwardAuthToken"] = json!("true");
    let mut basic = http("ds-basic", "BasicAuthentication");
    basic["User"] = json!("svc-user");
    basic["Password"] = json!("svc-pass");
    let mut broken = client(http("ds-broken", "OAuth2ClientCredentials"));
    broken["clientSecret"] = json!("not-the-secret");
    let mut onprem = http("ds-onprem", "NoAuthentication");
    onprem["ProxyType"] = json!("OnPremise");
    let mut forward_basic = http("ds-forward-basic", "BasicAuthentication");
    forward_basic["User"] = json!("svc-user");
    forward_basic["Password"] = json!("svc-pass");
    forward_basic["HTML5.ForwardAuthToken"] = json!("true");
    let instance = vec![
        http("ds-none", "NoAuthentication"),
        forward,
        basic,
        client(http("ds-cc", "OAuth2ClientCredentials")),
        client(http("ds-exchange", "OAuth2UserTokenExchange")),
        client(http("ds-jwtbearer", "OAuth2JWTBearer")),
        broken,
        onprem,
        forward_basic,
    ];
    (instance, vec![http("ds-sub", "NoAuthentication")])
}

/// The tutorial's mock platform with [`service_destinations`] added.
fn mock_config(backend: &str) -> mock_platform::config::MockConfig {
    let mut config = mock_platform::config::MockConfig::builtin();
    let (instance, subaccount) = service_destinations(backend);
    if let Some(first) = config.destination.instances.first_mut() {
        let mut data = first.init_data.clone().unwrap_or_else(|| json!({}));
        let init = &mut data["init_data"];
        init["instance"] =
            json!({"existing_destinations_policy": "update", "destinations": instance});
        if let Some(list) = init["subaccount"]["destinations"].as_array_mut() {
            list.extend(subaccount);
        } else {
            init["subaccount"] =
                json!({"existing_destinations_policy": "update", "destinations": subaccount});
        }
        first.init_data = Some(data);
    }
    config
}

/// One configuration both routers run with.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    pub name: &'static str,
    pub xs_app: Value,
    /// More `destinations` entries (`{backend}` is the recording backend's URL).
    pub destinations: Vec<Value>,
    /// Env both routers get on top of the bindings.
    pub env: Vec<(String, String)>,
    /// Files next to `xs-app.json` (e.g. `resources/index.html` for `localDir` routes).
    pub files: Vec<(String, String)>,
}

/// Which router a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Sap,
    Ours,
}

impl Side {
    pub fn label(self) -> &'static str {
        match self {
            Side::Sap => "@sap/approuter",
            Side::Ours => "ours",
        }
    }
}

/// Both routers for one configuration, plus one logged-in browser per user and router.
pub struct RouterPair {
    pub sap: AppProcess,
    pub sap_url: String,
    pub ours: AppProcess,
    pub ours_url: String,
    browsers: HashMap<(Side, String), Browser>,
    _dirs: (PathBuf, PathBuf),
}

impl RouterPair {
    pub async fn start(platform: &Platform, config: &RouterConfig) -> Result<Self, ScenarioError> {
        let destinations = platform.destinations(&config.destinations).to_string();
        // Both routers are bound to the mock Destination service too: a route's destination that
        // the `destinations` env lacks is looked up there.
        let vcap = vcap_services_with(&platform.ready, &["xsuaa", "destination"]).to_string();
        let mut dirs = Vec::new();
        for side in ["sap", "ours"] {
            let dir = platform.workdir.join(format!("{}-{side}", config.name));
            std::fs::create_dir_all(&dir).map_err(|e| ScenarioError::Io(e.to_string()))?;
            std::fs::write(dir.join("xs-app.json"), config.xs_app.to_string())
                .map_err(|e| ScenarioError::Io(e.to_string()))?;
            for (name, text) in &config.files {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| ScenarioError::Io(e.to_string()))?;
                }
                std::fs::write(&path, text).map_err(|e| ScenarioError::Io(e.to_string()))?;
            }
            dirs.push(dir);
        }
        let env_for = |port: u16| {
            let mut env = vec![
                ("PORT".to_string(), port.to_string()),
                ("VCAP_SERVICES".to_string(), vcap.clone()),
                (
                    "VCAP_APPLICATION".to_string(),
                    vcap_application("approuter", port).to_string(),
                ),
                ("destinations".to_string(), destinations.clone()),
            ];
            for (k, v) in &config.env {
                env.retain(|(name, _)| name != k);
                env.push((k.clone(), v.clone()));
            }
            env
        };

        let sap_port = free_port()?;
        let mut sap_env = env_for(sap_port);
        if let Some(ca) = &platform.ready.xsuaa.ca_cert_file {
            // SAP's token validation fetches the keys from https://{uaadomain}.
            sap_env.push(("NODE_EXTRA_CA_CERTS".into(), ca.clone()));
        }
        let echo = std::env::var_os("DIFFERENTIAL_ECHO").is_some();
        let mut sap =
            sap_approuter::spawn(&platform.node, &platform.sap_dir, &dirs[0], &sap_env, echo)?;
        let ours_port = free_port()?;
        let mut ours_env = env_for(ours_port);
        ours_env.push((
            "XS_APP_JSON".into(),
            dirs[1].join("xs-app.json").display().to_string(),
        ));
        // DIFFERENTIAL_APPROUTER: another build of ours, e.g. to record what differed before a change.
        let binary = match std::env::var_os("DIFFERENTIAL_APPROUTER") {
            Some(path) => PathBuf::from(path),
            None => binary_path("approuter")?,
        };
        let mut ours = AppProcess::spawn("approuter", &binary, &[], &ours_env, &dirs[1], echo)?;
        let sap_url = format!("http://127.0.0.1:{sap_port}");
        let ours_url = format!("http://127.0.0.1:{ours_port}");
        ours.wait_healthy(&format!("{ours_url}/health"), START_TIMEOUT)
            .await?;
        // SAP's router has no health endpoint of its own; any answer on its port means it listens.
        wait_answers(&mut sap, &sap_url).await?;
        let mut dirs = dirs.into_iter();
        Ok(Self {
            sap,
            sap_url,
            ours,
            ours_url,
            browsers: HashMap::new(),
            _dirs: (
                dirs.next().unwrap_or_default(),
                dirs.next().unwrap_or_default(),
            ),
        })
    }

    pub fn url(&self, side: Side) -> &str {
        match side {
            Side::Sap => &self.sap_url,
            Side::Ours => &self.ours_url,
        }
    }

    fn process(&self, side: Side) -> &AppProcess {
        match side {
            Side::Sap => &self.sap,
            Side::Ours => &self.ours,
        }
    }

    /// The last log lines of both routers, for failure messages.
    pub fn logs(&self, lines: usize) -> String {
        format!(
            "--- @sap/approuter\n{}\n--- ours\n{}",
            self.sap.log.tail(lines),
            self.ours.log.tail(lines)
        )
    }

    /// A browser logged in as `user` on `side` through the mock XSUAA's login form, opened at
    /// `path` (a route that needs a login).
    async fn browser(
        &mut self,
        platform: &Platform,
        side: Side,
        user: &str,
        login_path: &str,
    ) -> Result<&Browser, ScenarioError> {
        let key = (side, user.to_string());
        if !self.browsers.contains_key(&key) {
            let password = platform
                .user_password(user)
                .ok_or_else(|| ScenarioError::Login(format!("no demo user {user}")))?;
            let browser = Browser::new();
            let start = format!("{}{login_path}", self.url(side));
            let page = browser.get(&start).await?;
            if !page.is_login_form() {
                return Err(ScenarioError::Login(format!(
                    "{}: {start} did not lead to the login form ({} at {}): {}\n{}",
                    side.label(),
                    page.status,
                    page.url,
                    page.body.chars().take(300).collect::<String>(),
                    self.process(side).log.tail(20)
                )));
            }
            let landed = browser.submit_login(&page, user, &password).await?;
            if !landed.url.as_str().starts_with(self.url(side)) {
                return Err(ScenarioError::Login(format!(
                    "{}: after the login form the browser is at {} ({}): {}\n{}",
                    side.label(),
                    landed.url,
                    landed.status,
                    landed.body.chars().take(300).collect::<String>(),
                    self.process(side).log.tail(20)
                )));
            }
            self.browsers.insert(key.clone(), browser);
        }
        Ok(&self.browsers[&key])
    }

    /// Sends `request` to `side` and returns what the client and the backend saw, normalised.
    pub async fn observe(
        &mut self,
        platform: &Platform,
        side: Side,
        request: &Request,
    ) -> Result<Observed, ScenarioError> {
        let base = self.url(side).to_string();
        let fresh;
        let browser = match request.user {
            Some(user) => {
                self.browser(platform, side, user, request.login_path)
                    .await?
            }
            None => {
                fresh = Browser::new();
                &fresh
            }
        };
        if let Some(cookie) = request.cookie
            && let Ok(url) = url::Url::parse(&base)
        {
            browser.add_cookie(&format!("{cookie}; Path=/"), &url);
        }
        let url = format!("{base}{}", request.path);
        if request.websocket {
            let cookies = browser.cookie_header(&url);
            return self
                .observe_websocket(platform, &base, &url, request, cookies)
                .await;
        }
        let client = browser.client().clone();
        let mut csrf_token = None;
        if request.csrf {
            let fetch_url = match request.csrf_path {
                Some(path) => format!("{base}{path}"),
                None => url.clone(),
            };
            let answer = client
                .get(&fetch_url)
                .header("x-csrf-token", "fetch")
                .send()
                .await?;
            csrf_token = answer
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
        platform.backend.take();
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|e| ScenarioError::Http(e.to_string()))?;
        let mut builder = client.request(method, &url);
        for (name, value) in request.headers {
            builder = builder.header(*name, *value);
        }
        if let Some(token) = &csrf_token {
            builder = builder.header("x-csrf-token", token);
        }
        if let Some(user) = request.service_user {
            let token = platform.user_token(user).await?;
            builder = builder.header("x-approuter-authorization", format!("Bearer {token}"));
        }
        if let Some(body) = request.body {
            builder = builder.body(body.to_string());
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let mut headers = BTreeMap::new();
        let norm = Normaliser {
            router: base.clone(),
            xsuaa: platform.ready.xsuaa.url.clone(),
            backend: platform.backend.url.clone(),
            sent_correlation: request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-correlationid"))
                .map(|(_, v)| v.to_string()),
        };
        for name in COMPARED_HEADERS.iter().chain(request.extra_headers) {
            let values: Vec<String> = response
                .headers()
                .get_all(*name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if values.is_empty() {
                continue;
            }
            headers.insert(name.to_string(), norm.response_header(name, &values));
        }
        let all_headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.text().await.unwrap_or_default();
        if request.backend_calls > 0 {
            platform
                .backend
                .wait_for(request.backend_calls, Duration::from_secs(10))
                .await;
        }
        let backend = platform.backend.take();
        Ok(Observed {
            compare_body: request.compare_body,
            status,
            headers,
            all_headers,
            body,
            backend: backend.iter().map(|r| norm.recorded(r)).collect(),
            csrf_fetched: csrf_token.is_some(),
        })
    }
}

impl RouterPair {
    /// A WebSocket handshake (`Origin` from the request's headers, `{router}` replaced by the
    /// router's URL; the browser's cookies) and, when the router switches protocols, one message
    /// that must come back: the status (101 or the refusal), the echo as the body, and what the
    /// backend's handshake looked like.
    async fn observe_websocket(
        &self,
        platform: &Platform,
        base: &str,
        url: &str,
        request: &Request,
        cookies: Option<String>,
    ) -> Result<Observed, ScenarioError> {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
        let io = |e: &dyn std::fmt::Display| ScenarioError::Http(format!("websocket: {e}"));
        let ws_url = url.replacen("http://", "ws://", 1);
        let mut handshake = ws_url.as_str().into_client_request().map_err(|e| io(&e))?;
        for (name, value) in request.headers {
            let value = value.replace("{router}", base);
            handshake.headers_mut().insert(
                *name,
                value
                    .parse()
                    .map_err(|e: axum::http::header::InvalidHeaderValue| io(&e))?,
            );
        }
        if let Some(cookies) = cookies {
            handshake.headers_mut().insert(
                "cookie",
                cookies
                    .parse()
                    .map_err(|e: axum::http::header::InvalidHeaderValue| io(&e))?,
            );
        }
        let parsed = url::Url::parse(&ws_url).map_err(|e| io(&e))?;
        let stream = tokio::net::TcpStream::connect((
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(80),
        ))
        .await
        .map_err(|e| io(&e))?;
        platform.backend.take();
        let (status, body) = match tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::client_async(handshake, stream),
        )
        .await
        {
            Err(_) => return Err(io(&"no answer to the handshake within 10 s")),
            Ok(Err(tungstenite::Error::Http(response))) => {
                (response.status().as_u16(), String::new())
            }
            Ok(Err(e)) => return Err(io(&e)),
            Ok(Ok((mut ws, _))) => {
                let sent = Message::text("round trip through the router");
                ws.send(sent.clone()).await.map_err(|e| io(&e))?;
                let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next())
                    .await
                    .map_err(|_| io(&"no echo within 10 s"))?;
                let text = match echoed {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    other => format!("{other:?}"),
                };
                let _ = ws.close(None).await;
                (101, text)
            }
        };
        let norm = Normaliser {
            router: base.to_string(),
            xsuaa: platform.ready.xsuaa.url.clone(),
            backend: platform.backend.url.clone(),
            sent_correlation: None,
        };
        let backend = platform.backend.take();
        Ok(Observed {
            compare_body: status == 101,
            status,
            headers: BTreeMap::new(),
            all_headers: Vec::new(),
            body,
            backend: backend.iter().map(|r| norm.recorded(r)).collect(),
            csrf_fetched: false,
        })
    }
}

async fn wait_answers(process: &mut AppProcess, url: &str) -> Result<(), ScenarioError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let start = std::time::Instant::now();
    loop {
        process.check_alive()?;
        if client.get(format!("{url}/")).send().await.is_ok() {
            return Ok(());
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(ScenarioError::NotHealthy {
                app: process.name.clone(),
                seconds: START_TIMEOUT.as_secs(),
                log: process.log.tail(40),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One request of a case.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub method: &'static str,
    pub path: &'static str,
    pub headers: &'static [(&'static str, &'static str)],
    pub body: Option<&'static str>,
    /// Logged in as this demo user (through the login form, once per router and user).
    pub user: Option<&'static str>,
    /// Where the login starts (a path that needs a login in this configuration).
    pub login_path: &'static str,
    /// Fetch a CSRF token first (`GET` the same path with `x-csrf-token: fetch`) and send it.
    pub csrf: bool,
    /// Response headers compared on top of [`COMPARED_HEADERS`].
    pub extra_headers: &'static [&'static str],
    /// A cookie (`name=value`) put into the browser's jar before the request, so that it goes
    /// along with the session cookie (it stays there for later cases of the same user).
    pub cookie: Option<&'static str>,
    /// Compare the bodies too (answers the router makes itself, e.g. the user API).
    pub compare_body: bool,
    /// A WebSocket handshake instead of a plain request (see [`RouterPair::observe`]).
    pub websocket: bool,
    /// Service to App Router: `x-approuter-authorization: Bearer <a token of this user>`, no
    /// browser login.
    pub service_user: Option<&'static str>,
    /// Calls the router makes to the backend after answering (backend logout): wait for this
    /// many recorded requests before comparing.
    pub backend_calls: usize,
    /// Where the CSRF token is fetched when not at `path` (e.g. for a POST-only logout endpoint).
    pub csrf_path: Option<&'static str>,
}

impl Request {
    pub const fn get(path: &'static str) -> Self {
        Self {
            method: "GET",
            path,
            headers: &[],
            body: None,
            user: None,
            login_path: "/",
            csrf: false,
            extra_headers: &[],
            cookie: None,
            compare_body: false,
            websocket: false,
            service_user: None,
            backend_calls: 0,
            csrf_path: None,
        }
    }
    /// A WebSocket handshake at `path` (headers such as `Origin` with `.headers`).
    pub const fn websocket(path: &'static str) -> Self {
        let mut r = Self::get(path);
        r.websocket = true;
        r
    }
    pub const fn csrf_at(mut self, path: &'static str) -> Self {
        self.csrf = true;
        self.csrf_path = Some(path);
        self
    }
    pub const fn service(mut self, user: &'static str) -> Self {
        self.service_user = Some(user);
        self
    }
    pub const fn backend_calls(mut self, count: usize) -> Self {
        self.backend_calls = count;
        self
    }
    pub const fn cookie(mut self, cookie: &'static str) -> Self {
        self.cookie = Some(cookie);
        self
    }
    pub const fn compare_body(mut self) -> Self {
        self.compare_body = true;
        self
    }
    pub const fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }
    pub const fn headers(mut self, headers: &'static [(&'static str, &'static str)]) -> Self {
        self.headers = headers;
        self
    }
    pub const fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }
    pub const fn user(mut self, user: &'static str, login_path: &'static str) -> Self {
        self.user = Some(user);
        self.login_path = login_path;
        self
    }
    pub const fn csrf(mut self) -> Self {
        self.csrf = true;
        self
    }
    pub const fn extra(mut self, headers: &'static [&'static str]) -> Self {
        self.extra_headers = headers;
        self
    }
}

/// What one router's answer looked like, normalised.
#[derive(Debug, Clone)]
pub struct Observed {
    pub status: u16,
    /// The compared response headers, normalised.
    pub headers: BTreeMap<String, String>,
    /// Every response header as sent, for cases that look further.
    pub all_headers: Vec<(String, String)>,
    pub body: String,
    /// What the backend received, normalised (empty: nothing was forwarded).
    pub backend: Vec<BTreeMap<String, String>>,
    pub csrf_fetched: bool,
    pub compare_body: bool,
}

impl Observed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn raw_header(&self, name: &str) -> Option<&str> {
        self.all_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What the backend received, the one request of this case (`None`: nothing was forwarded).
    pub fn received(&self, field: &str) -> Option<&str> {
        self.backend
            .first()
            .and_then(|r| r.get(field))
            .map(String::as_str)
    }

    /// A one-line summary for the report.
    pub fn summary(&self) -> String {
        let forwarded = match self.backend.first() {
            Some(r) => format!(
                "-> {} {}",
                r.get("method").map(String::as_str).unwrap_or("?"),
                r.get("path").map(String::as_str).unwrap_or("?")
            ),
            None => "-> (not forwarded)".into(),
        };
        format!("{} {forwarded}", self.status)
    }
}

/// Differences every router-made error answer has, deliberately: SAP's error handler sends the
/// bare status text without a `Content-Type` (or `text/plain`), ours a small HTML page declared
/// `text/html; charset=utf-8` (so no browser has to sniff it). Listed in the README; not counted
/// per case.
pub const ERROR_PAGE_DIFFERENCE: &str = "router-made errors: SAP sends the status text without Content-Type, ours a declared text/html page";

fn is_error_page_difference(sap: &Observed, ours: &Observed) -> bool {
    sap.status == ours.status
        && sap.status >= 400
        && sap.backend.is_empty()
        && ours.backend.is_empty()
        && matches!(sap.header("content-type"), None | Some("text/plain"))
        && ours.header("content-type") == Some("text/html;charset=utf-8")
}

/// The differences between SAP's answer and ours, one line each (empty: the same).
pub fn differences(sap: &Observed, ours: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let error_page = is_error_page_difference(sap, ours);
    if sap.status != ours.status {
        out.push(format!("status: SAP {} / ours {}", sap.status, ours.status));
    }
    let names: std::collections::BTreeSet<&String> =
        sap.headers.keys().chain(ours.headers.keys()).collect();
    for name in names {
        let (a, b) = (sap.headers.get(name), ours.headers.get(name));
        if a != b && !(error_page && name == "content-type") {
            out.push(format!("{name}: SAP {a:?} / ours {b:?}"));
        }
    }
    if sap.compare_body && sap.body != ours.body {
        out.push(format!("body: SAP {:?} / ours {:?}", sap.body, ours.body));
    }
    if sap.backend.len() != ours.backend.len() {
        out.push(format!(
            "backend requests: SAP {} / ours {}",
            sap.backend.len(),
            ours.backend.len()
        ));
    }
    for (a, b) in sap.backend.iter().zip(&ours.backend) {
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for key in keys {
            let (x, y) = (a.get(key), b.get(key));
            if x != y {
                out.push(format!("backend {key}: SAP {x:?} / ours {y:?}"));
            }
        }
    }
    out
}

/// Turns what differs only by port, token, id or random value into the same text.
struct Normaliser {
    router: String,
    xsuaa: String,
    backend: String,
    sent_correlation: Option<String>,
}

impl Normaliser {
    fn urls(&self, text: &str) -> String {
        let router_host = self.router.trim_start_matches("http://");
        // Node listens dual-stack and reports IPv4 peers as IPv4-mapped IPv6 addresses.
        text.replace("::ffff:127.0.0.1", "127.0.0.1")
            .replace(&self.router, "{router}")
            .replace(&self.xsuaa, "{xsuaa}")
            .replace(&self.backend, "{backend}")
            .replace(&encode(&self.router), "{router}")
            .replace(router_host, "{router-host}")
    }

    fn response_header(&self, name: &str, values: &[String]) -> String {
        match name {
            // `!` and `%21` mean the same in a query; SAP leaves it raw, we encode it.
            "location" => self.location(&values[0].replace("%21", "!")),
            "set-cookie" => {
                let mut cookies: Vec<String> = values.iter().map(|c| normalise_cookie(c)).collect();
                cookies.sort();
                cookies.join(" | ")
            }
            "x-csrf-token" => {
                let v = &values[0];
                if v.eq_ignore_ascii_case("required") || v.eq_ignore_ascii_case("fetch") {
                    v.to_ascii_lowercase()
                } else {
                    "<token>".into()
                }
            }
            "content-type" => values[0].to_ascii_lowercase().replace(' ', ""),
            "x-request-id" => "<id>".into(),
            _ => self.urls(&values.join(", ")),
        }
    }

    /// Authorize URLs keep their parameter names and the values that are the same for both
    /// routers; state, PKCE challenge and nonce are random.
    fn location(&self, location: &str) -> String {
        let text = self.urls(location);
        let Some((base, query)) = text.split_once('?') else {
            return text;
        };
        if !base.ends_with("/oauth/authorize") {
            return text;
        }
        let mut params: Vec<String> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                match k {
                    "state" | "code_challenge" | "nonce" => format!("{k}=*"),
                    _ => format!("{k}={v}"),
                }
            })
            .collect();
        params.sort();
        format!("{base}?{}", params.join("&"))
    }

    fn recorded(&self, r: &Recorded) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        out.insert("method".into(), r.method.clone());
        out.insert("path".into(), r.path.clone());
        out.insert("query".into(), r.query.clone().unwrap_or_default());
        out.insert("body".into(), r.body.clone());
        for name in BACKEND_HEADERS {
            let values: Vec<&str> = r
                .headers
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            if values.is_empty() {
                continue;
            }
            let joined = values.join(", ");
            let value = match *name {
                "authorization" => describe_authorization(&joined),
                "x-correlationid" => {
                    if Some(&joined) == self.sent_correlation.as_ref() {
                        joined
                    } else {
                        "<generated>".into()
                    }
                }
                "x-request-id" => "<generated>".into(),
                "cookie" => {
                    // The browser's jar is per host, not per port: the mock XSUAA's login cookie
                    // reaches both routers, and each passes it on. Only the other cookies tell.
                    let mut cookies: Vec<&str> = joined
                        .split(';')
                        .map(str::trim)
                        .filter(|c| !c.starts_with("mock_xsuaa_session="))
                        .collect();
                    if cookies.is_empty() {
                        continue;
                    }
                    cookies.sort();
                    cookies.join("; ")
                }
                "x-csrf-token" => "<token>".into(),
                _ => self.urls(&joined),
            };
            out.insert(format!("header {name}"), value);
        }
        out
    }
}

fn encode(url: &str) -> String {
    url.replace(':', "%3A").replace('/', "%2F")
}

/// `Name=<value>; attributes`, attributes lower-cased and sorted, the value replaced unless empty.
fn normalise_cookie(cookie: &str) -> String {
    let mut parts = cookie.split(';').map(str::trim);
    let first = parts.next().unwrap_or_default();
    let (name, value) = first.split_once('=').unwrap_or((first, ""));
    let mut attributes: Vec<String> = parts
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = k.to_ascii_lowercase();
            match k.as_str() {
                "expires" => "expires".to_string(),
                _ if v.is_empty() => k,
                _ => format!("{k}={}", v.to_ascii_lowercase()),
            }
        })
        .collect();
    attributes.sort();
    let value = if value.is_empty() { "" } else { "<value>" };
    format!("{name}={value}; {}", attributes.join("; "))
}

/// `Bearer <user>` from the token's claims (both routers hold different tokens of the same user).
fn describe_authorization(value: &str) -> String {
    let Some(token) = value.strip_prefix("Bearer ") else {
        return value.split(' ').next().unwrap_or("?").to_string() + " ...";
    };
    match common::jwt::decode_unverified(token) {
        Ok(c) => format!(
            "Bearer JWT(user_name={}, grant_type={})",
            c.user_name.as_deref().unwrap_or("-"),
            c.grant_type.as_deref().unwrap_or("-")
        ),
        Err(_) => "Bearer <not a JWT>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pre_compressed_answer_is_valid_gzip() {
        // CRC-32 of "123456789" is 0xCBF43926 (the standard check value).
        let gz = gzip_stored(b"123456789");
        assert_eq!(
            &gz[gz.len() - 8..gz.len() - 4],
            &0xCBF4_3926u32.to_le_bytes()
        );
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        assert!(large_json().len() > 2000);
    }

    #[test]
    fn cookies_compare_by_name_and_attributes() {
        assert_eq!(
            normalise_cookie("JSESSIONID=abc; Path=/; HttpOnly; SameSite=Lax; Secure"),
            "JSESSIONID=<value>; httponly; path=/; samesite=lax; secure"
        );
        assert_eq!(
            normalise_cookie("a=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
            "a=; expires; max-age=0"
        );
    }
}
