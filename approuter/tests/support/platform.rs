//! The mock platform (XSUAA) in-process, the recording backend, and the router in front of it
//! with the tutorial's `xs-app.json` plus a public route and a logout endpoint.

use super::{Backend, Browser, TestRouter};
use mock_platform::{MockConfig, RunningPlatform};
use serde_json::{Value, json};
use url::Url;

pub struct Scenario {
    pub platform: RunningPlatform,
    pub backend: Backend,
    pub router: TestRouter,
    /// The scope the catch-all route needs (alice has it, bob not).
    pub scope: String,
}

#[derive(Default)]
pub struct Options {
    /// Access token lifetime of the router's XSUAA client, seconds.
    pub token_validity: Option<i64>,
    pub extra_env: Vec<(&'static str, String)>,
}

pub async fn start_platform(token_validity: Option<i64>) -> RunningPlatform {
    let mut config = MockConfig::builtin();
    if let Some(seconds) = token_validity {
        config.xsuaa.apps[0].token_validity_seconds = Some(seconds);
    }
    testkit::platform::start(config).await
}

/// The scope the mock backend's catch-all route needs (alice has it, bob not).
pub fn required_scope(platform: &RunningPlatform) -> String {
    platform.ready()["backend"]["required_scope"]
        .as_str()
        .expect("the ready description names the backend's scope")
        .to_string()
}

/// `VCAP_SERVICES` with the xsuaa binding only, as the approuter app gets it.
pub fn router_vcap(platform: &RunningPlatform) -> String {
    json!({"xsuaa": platform.vcap_services()["xsuaa"].clone()}).to_string()
}

pub fn xs_app(scope: &str) -> Value {
    json!({
        "welcomeFile": "/mainentry",
        "authenticationMethod": "route",
        "logout": {"logoutEndpoint": "/do/logout", "logoutPage": "/bye.html"},
        "routes": [
            {"source": "^/bye.html$", "destination": "backend", "authenticationType": "none"},
            {"source": "^/(.*)$", "target": "$1", "destination": "backend",
             "authenticationType": "xsuaa", "scope": [scope]}
        ]
    })
}

impl Scenario {
    pub async fn start(options: Options) -> Self {
        let platform = start_platform(options.token_validity).await;
        let backend = Backend::start().await;
        let scope = required_scope(&platform);
        let mut env = vec![("VCAP_SERVICES", router_vcap(&platform))];
        env.extend(options.extra_env);
        let router = TestRouter::start(
            xs_app(&scope),
            json!([{"name": "backend", "url": backend.url, "forwardAuthToken": true}]),
            &env,
        )
        .await;
        Scenario {
            platform,
            backend,
            router,
            scope,
        }
    }

    /// Where the mock XSUAA sends `browser` back after alice fills in the login form that
    /// `/mainentry` leads to: the router's callback with code and state, not yet visited.
    pub async fn callback_url(&self, browser: &Browser) -> Url {
        let form = browser.get(&self.url("/mainentry")).await.unwrap();
        browser
            .login_callback(&form, "alice", "alice-pass")
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.router.url)
    }

    pub fn xsuaa_stat(&self, key: &str) -> u64 {
        testkit::platform::count(&self.platform, mock_platform::Service::Xsuaa, key)
    }
}
