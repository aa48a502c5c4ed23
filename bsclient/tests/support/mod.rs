//! Test harness: bsclient served in-process in front of the mock platform, and plain GETs. The
//! platform starter, loopback and token helpers are `testkit`'s.
#![allow(dead_code, unused_imports)]

use bsclient::{AppState, BsClientConfig};
use common::cf::VcapServices;
use mock_platform::{MockConfig, RunningPlatform, Service};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use testkit::net::{START_TIMEOUT, client, closed_port_url, silent_listener, wait_healthy};

pub struct Platform {
    pub mock: RunningPlatform,
    pub vcap: VcapServices,
}

impl Platform {
    pub async fn start() -> Self {
        Self::start_with(MockConfig::builtin()).await
    }

    pub async fn start_with(config: MockConfig) -> Self {
        Self::from_mock(testkit::platform::start(config).await)
    }

    /// With the mock XSUAA's TLS listener and its CA file.
    pub async fn start_with_tls(config: MockConfig) -> Self {
        Self::from_mock(testkit::platform::start_with_tls(config).await)
    }

    fn from_mock(mock: RunningPlatform) -> Self {
        let vcap = VcapServices::parse(&mock.vcap_services().to_string())
            .expect("the mock's VCAP_SERVICES parses");
        Platform { mock, vcap }
    }

    /// bsclient's configuration for this platform, as `from_env` would build it from its
    /// `VCAP_SERVICES` (optional variables from `vars`).
    pub fn config(&self, vars: &[(&str, &str)]) -> BsClientConfig {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        BsClientConfig::from_parts(self.vcap.clone(), 0, move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .expect("valid bsclient config")
    }

    /// The env the `bsclient` binary gets on Cloud Foundry.
    pub fn env(&self, port: u16) -> Vec<(String, String)> {
        vec![
            ("PORT".into(), port.to_string()),
            (
                "VCAP_SERVICES".into(),
                self.mock.vcap_services().to_string(),
            ),
        ]
    }

    /// A user token as the App Router holds it after login: issued by XSUAA to the xsuaa binding's
    /// client (password grant with the user's demo password).
    pub async fn user_token(&self, user: &str) -> String {
        let creds = self.vcap.xsuaa().unwrap();
        let client = common::oauth::OAuthClient::from_xsuaa(&creds, common::http::client());
        let password = common::Secret::new(testkit::platform::password(&self.mock, user));
        client
            .password(user, &password)
            .await
            .unwrap_or_else(|e| panic!("token for {user}: {e}"))
            .access_token
            .expose()
            .to_owned()
    }

    /// `POST /__mock/token` on XSUAA: a token with chosen lifetime, scopes or claims.
    pub async fn mock_token(&self, request: Value) -> String {
        testkit::tokens::mock_token(&self.mock.xsuaa_url, &request).await
    }

    pub fn count(&self, service: Service, counter: &str) -> u64 {
        testkit::platform::count(&self.mock, service, counter)
    }

    /// Token exchanges done by the Destination service for lookups.
    pub fn exchanges(&self) -> u64 {
        self.count(Service::Destination, "exchanges")
    }

    pub fn backend_requests(&self) -> u64 {
        self.count(Service::Backend, "requests")
    }

    fn url_of(&self, service: Service) -> &str {
        match service {
            Service::Xsuaa => &self.mock.xsuaa_url,
            Service::Destination => &self.mock.destination_url,
            Service::Backend => &self.mock.backend_url,
            Service::Here => &self.mock.here_url,
        }
    }

    /// `POST /__mock/fail` on a service.
    pub async fn fail(&self, service: Service, fault: Value) {
        client()
            .post(format!("{}/__mock/fail", self.url_of(service)))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }

    /// Polls until `cond` holds (bounded): for waiting on the mock's counters.
    pub async fn wait_until(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + START_TIMEOUT;
        while !cond(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// bsclient served in-process on 127.0.0.1:0.
pub struct App {
    pub url: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl App {
    pub async fn start(config: BsClientConfig) -> App {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bsclient::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        wait_healthy(&url).await;
        App {
            url,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("JSON expected ({e}): {}", self.body))
    }

    /// The message of a JSON error answer.
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("error JSON expected: {}", self.body))
            .to_owned()
    }
}

/// GET with an optional bearer token and extra headers.
pub async fn get(url: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

pub async fn get_json(url: &str, token: Option<&str>) -> Answer {
    get(url, token, &[("accept", "application/json")]).await
}

pub async fn get_html(url: &str, token: Option<&str>) -> Answer {
    get(url, token, &[("accept", testkit::browser::BROWSER_ACCEPT)]).await
}

/// The builtin platform with one more product whose name is markup, to prove escaping.
pub fn config_with_markup_product() -> MockConfig {
    let mut config = MockConfig::builtin();
    let mut product = config
        .backend
        .data
        .first()
        .cloned()
        .expect("builtin products");
    let key = config
        .backend
        .properties
        .iter()
        .find(|p| p.key)
        .map(|p| p.name.clone())
        .expect("a key property");
    let name = config
        .backend
        .properties
        .iter()
        .find(|p| p.type_ == "Edm.String" && !p.key)
        .map(|p| p.name.clone())
        .expect("a string property");
    product.insert(key, json!(9999));
    product.insert(name, json!("<script>alert('x')</script> & Co"));
    config.backend.data.push(product);
    config
}
