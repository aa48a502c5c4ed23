//! What the local run and the deployment generate from `scenario.yaml` for the App Router: its
//! `xs-app.json` and `destinations`. One home, used by `xtask` (manifests, deploy) and by
//! `scenario` (the local stack), so the two cannot drift apart.

use crate::names::ScenarioNames;
use serde_json::{Value, json};

/// Where the client page of seed 003 lives, next to `xs-app.json` (the route's `localDir`).
pub const TOKEN_CLIENT_DIR: &str = "token-client";

/// The client page's route: `/token-client/...` from `localDir`, behind the XSUAA login like every
/// route; the page calls `/getToken` (the catch-all route to bsclient) and the mock's demo API.
pub fn token_client_route() -> Value {
    json!({
        "source": format!("^/{TOKEN_CLIENT_DIR}/(.*)$"),
        "target": "$1",
        "localDir": TOKEN_CLIENT_DIR,
        "authenticationType": "xsuaa",
    })
}

/// The tutorial's `xs-app.json`: every path needs an XSUAA login and the backend's `AllAccess`
/// scope, and is forwarded with the user's token to bsclient. `/` opens `/mainentry`.
pub fn xs_app_json(names: &ScenarioNames) -> Value {
    json!({
        "welcomeFile": "/mainentry",
        "authenticationMethod": "route",
        "logout": {"logoutEndpoint": "/do/logout"},
        "routes": [{
            "source": "^/(.*)$",
            "target": "$1",
            "destination": names.destinations.router_to_bsclient,
            "authenticationType": "xsuaa",
            "scope": [names.backend_scope()],
        }],
    })
}

/// The approuter's `destinations` env: bsclient, with the user's token forwarded.
pub fn approuter_destinations(names: &ScenarioNames, bsclient_url: &str) -> Value {
    json!([{
        "name": names.destinations.router_to_bsclient,
        "url": bsclient_url,
        "forwardAuthToken": true,
    }])
}
