//! `GET /mainentry` against the mock platform: the tutorial's flow, the per-user cache and every
//! failure's answer.

mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;
use mock_platform::Service;
use reqwest::StatusCode;
use serde_json::json;
use support::{App, Platform, get, get_html, get_json};

#[tokio::test]
async fn alice_with_the_scope_gets_the_products_as_a_table_and_as_json() {
    let platform = Platform::start_with(support::config_with_markup_product()).await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;

    let json = get_json(&app.url("/mainentry"), Some(&alice)).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    assert!(
        json.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let products = json.json()["d"]["results"]
        .as_array()
        .cloned()
        .expect("the backend's OData collection");
    assert!(products.len() > 1);

    let page = get_html(&app.url("/mainentry"), Some(&alice)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.body.contains("<table>"));
    for product in &products {
        let name = product["Name"].as_str().unwrap();
        if !name.contains('<') {
            assert!(
                page.body
                    .contains(&format!("<td>{}</td>", name.replace('"', "&quot;"))),
                "{name} missing: {}",
                page.body
            );
        }
    }
    assert!(
        page.body
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"),
        "markup from the backend is escaped"
    );
    assert!(!page.body.contains("<script>"));
    assert_eq!(page.header("cache-control"), Some("private, no-store"));
}

#[tokio::test]
async fn without_accept_a_browser_page_is_the_default() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    let page = get(&app.url("/mainentry"), Some(&alice), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<table>"));
}

#[tokio::test]
async fn bob_without_the_scope_gets_403_with_the_backends_reason() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let bob = platform.user_token("bob").await;

    let json = get_json(&app.url("/mainentry"), Some(&bob)).await;
    assert_eq!(json.status, StatusCode::FORBIDDEN, "{}", json.body);
    let message = json.message();
    assert!(
        message.starts_with("Backend API refused access"),
        "{message}"
    );
    assert_eq!(json.json()["error"]["code"], "backend_forbidden");

    let page = get_html(&app.url("/mainentry"), Some(&bob)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Backend API refused access"));
    assert!(!page.body.contains("<table"));
}

#[tokio::test]
async fn no_token_and_a_bad_token_get_401() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;

    let none = get_json(&app.url("/mainentry"), None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.message().starts_with("No user token"), "{}", none.body);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    let none_html = get_html(&app.url("/mainentry"), None).await;
    assert_eq!(none_html.status, StatusCode::UNAUTHORIZED);
    assert!(none_html.body.contains("No user token"));

    // More scopes and another user in the payload, the signature left as it was.
    let mut parts: Vec<String> = alice.split('.').map(str::to_owned).collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    claims["user_name"] = json!("mallory");
    claims["scope"].as_array_mut().unwrap().push(json!("admin"));
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = parts.join(".");
    let answer = get_json(&app.url("/mainentry"), Some(&tampered)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert!(
        answer.message().starts_with("Invalid user token"),
        "{}",
        answer.body
    );

    let signature_of_another = {
        let bob = platform.user_token("bob").await;
        let mut alice_parts: Vec<&str> = alice.split('.').collect();
        alice_parts[2] = bob.split('.').nth(2).unwrap();
        alice_parts.join(".")
    };
    let answer = get_json(&app.url("/mainentry"), Some(&signature_of_another)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let expired = platform
        .mock_token(json!({"user": "alice", "expires_in": -600}))
        .await;
    let answer = get_json(&app.url("/mainentry"), Some(&expired)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.message().contains("expired"), "{}", answer.body);

    let garbage = get_json(&app.url("/mainentry"), Some("not-a-jwt")).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    let basic = get(
        &app.url("/mainentry"),
        None,
        &[("authorization", "Basic YWxpY2U6YWxpY2UtcGFzcw==")],
    )
    .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        platform.count(Service::Destination, "requests"),
        0,
        "no upstream call for a rejected token"
    );
}

#[tokio::test]
async fn fifty_concurrent_first_requests_make_one_exchange_and_fifty_warm_ones_only_backend_calls()
{
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    let url = app.url("/mainentry");

    let cold = join_all((0..50).map(|_| get_json(&url, Some(&alice)))).await;
    assert!(cold.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(platform.exchanges(), 1, "single flight: one exchange");
    assert_eq!(platform.count(Service::Destination, "lookups"), 1);
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        1
    );
    assert_eq!(platform.backend_requests(), 50);

    let warm = join_all((0..50).map(|_| get_json(&url, Some(&alice)))).await;
    assert!(warm.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(platform.exchanges(), 1, "warm requests make no exchange");
    assert_eq!(platform.count(Service::Destination, "requests"), 1);
    assert_eq!(platform.backend_requests(), 100, "one backend call each");
    assert_eq!(
        platform.count(Service::Xsuaa, "token_keys"),
        1,
        "signing keys are fetched once, not per request"
    );
}

#[tokio::test]
async fn each_user_token_has_its_own_exchange() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let alice = platform.user_token("alice").await;
    let bob = platform.user_token("bob").await;

    assert_eq!(
        get_json(&app.url("/mainentry"), Some(&alice)).await.status,
        StatusCode::OK
    );
    // Bob right after Alice: never Alice's exchanged token.
    assert_eq!(
        get_json(&app.url("/mainentry"), Some(&bob)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(platform.exchanges(), 2);
    assert_eq!(
        get_json(&app.url("/mainentry"), Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_eq!(platform.exchanges(), 2, "Alice's lookup is still cached");

    // A new login of Alice is a new token, so a new exchange.
    let alice_again = platform.user_token("alice").await;
    assert_ne!(alice, alice_again);
    assert_eq!(
        get_json(&app.url("/mainentry"), Some(&alice_again))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(platform.exchanges(), 3);
}

#[tokio::test]
async fn cold_mode_does_every_upstream_call_on_every_request() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[("BSCLIENT_DISABLE_CACHE", "true")])).await;
    let alice = platform.user_token("alice").await;
    for _ in 0..3 {
        assert_eq!(
            get_json(&app.url("/mainentry"), Some(&alice)).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(platform.exchanges(), 3);
    assert_eq!(
        platform.count(Service::Xsuaa, "token.client_credentials"),
        3
    );
    assert_eq!(platform.backend_requests(), 3);
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    let health = get(&app.url("/health"), None, &[]).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "UP");
}

#[tokio::test]
async fn a_lookup_is_never_cached_beyond_the_user_tokens_exp() {
    let platform = Platform::start().await;
    let app = App::start(platform.config(&[])).await;
    // The exchanged token lives for hours; the user token for 3 s.
    let token = platform
        .mock_token(json!({"user": "alice", "expires_in": 3}))
        .await;
    let first = get_json(&app.url("/mainentry"), Some(&token)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(platform.count(Service::Destination, "lookups"), 1);

    // Keep asking: once the user token's exp has passed, the cached lookup must not be used any
    // more, so the Destination service sees a second lookup (bounded wait, no timing assertion).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while platform.count(Service::Destination, "lookups") < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the lookup stayed cached past the user token's exp"
        );
        get_json(&app.url("/mainentry"), Some(&token)).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

// ---- Faults: one row per way the flow can break --------------------------------------------

/// How a row breaks the flow.
enum Break {
    /// Only bsclient's own settings (the row's `vars`).
    Settings,
    /// bsclient's Destination service binding points at a closed port.
    DestinationClosed,
    /// ... at a port that accepts connections and never answers.
    DestinationSilent,
    /// The mock fails or delays the next matching requests (`POST /__mock/fail`).
    Inject(Service, serde_json::Value),
    /// A user token without `uaa.user`: valid for bsclient, refused by the token exchange.
    TokenWithoutUaaUser,
    /// The destination's URL is a closed port, with a query (`sap-client=secret`) that must not
    /// be shown.
    BackendClosed,
}

/// What the user is told.
enum Says {
    Is(&'static str),
    StartsWith(&'static str),
    /// The prefix followed by the upstream's own reason.
    StartsWithAReason(&'static str),
    Contains(&'static str),
}

impl Says {
    fn text(&self) -> &'static str {
        match self {
            Says::Is(t) | Says::StartsWith(t) | Says::StartsWithAReason(t) | Says::Contains(t) => t,
        }
    }

    fn check(&self, row: &str, message: &str) {
        let ok = match self {
            Says::Is(t) => message == *t,
            Says::StartsWith(t) => message.starts_with(t),
            Says::StartsWithAReason(t) => message.starts_with(t) && message.len() > t.len(),
            Says::Contains(t) => message.contains(t),
        };
        assert!(
            ok,
            "{row}: the message {message:?} does not match {:?}",
            self.text()
        );
    }
}

/// What must hold after the failed request.
enum Then {
    Nothing,
    /// The failure was not cached: the next request looks up again and succeeds.
    NextRequestSucceeds,
    /// Errors are not cached: a second request asks the Destination service again, and the
    /// Backend API is never called.
    LooksUpAgainWithoutBackendCalls,
    /// The rejected exchanged token was dropped: the next request exchanges again and succeeds.
    ExchangesAgain,
    /// The message names the backend's URL without its query, and says why.
    NamesTheUrlWithoutItsQuery,
}

struct Fault {
    name: &'static str,
    vars: &'static [(&'static str, &'static str)],
    breaks: Break,
    /// A successful request (and exchange) before the fault.
    warm_first: bool,
    status: StatusCode,
    code: &'static str,
    says: Says,
    /// Also as a browser page: same status, the message in the page.
    page: bool,
    then: Then,
}

fn faults() -> Vec<Fault> {
    let timeout = &[("BSCLIENT_UPSTREAM_TIMEOUT_MS", "2000")];
    vec![
        Fault {
            name: "stopped Destination service",
            vars: &[],
            breaks: Break::DestinationClosed,
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "destination_service_unreachable",
            says: Says::StartsWith("Destination service unreachable"),
            page: true,
            then: Then::Nothing,
        },
        Fault {
            name: "Destination service answers 503 once",
            vars: &[],
            breaks: Break::Inject(
                Service::Destination,
                json!({"status": 503, "count": 1, "path_prefix": "/destination-configuration"}),
            ),
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "destination_service_failed",
            says: Says::StartsWith("Destination service failed with HTTP 503"),
            page: false,
            then: Then::NextRequestSucceeds,
        },
        Fault {
            name: "Destination service refuses bsclient's credentials",
            vars: &[],
            breaks: Break::Inject(
                Service::Destination,
                json!({"status": 401, "count": 1, "path_prefix": "/destination-configuration"}),
            ),
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "destination_service_rejected",
            says: Says::StartsWith(
                "Destination service rejected bsclient's credentials (HTTP 401)",
            ),
            page: false,
            then: Then::Nothing,
        },
        Fault {
            name: "silent Destination service",
            vars: timeout,
            breaks: Break::DestinationSilent,
            warm_first: false,
            status: StatusCode::GATEWAY_TIMEOUT,
            code: "destination_service_timeout",
            says: Says::Contains("Destination service"),
            page: true,
            then: Then::Nothing,
        },
        Fault {
            name: "wrong destination name",
            vars: &[("BACKEND_DESTINATION", "NoSuchDestination")],
            breaks: Break::Settings,
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "destination_not_found",
            says: Says::Is(
                "Destination \"NoSuchDestination\" was not found in the Destination service",
            ),
            page: true,
            then: Then::Nothing,
        },
        Fault {
            name: "failed token exchange",
            vars: &[],
            breaks: Break::TokenWithoutUaaUser,
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "token_exchange_failed",
            says: Says::StartsWithAReason(
                "Destination \"BackendServiceAPI\": the token exchange failed: ",
            ),
            page: false,
            then: Then::LooksUpAgainWithoutBackendCalls,
        },
        Fault {
            name: "Backend API answers 500",
            vars: &[],
            breaks: Break::Inject(
                Service::Backend,
                json!({"status": 500, "path_prefix": "/odata"}),
            ),
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "backend_failed",
            says: Says::StartsWithAReason("Backend API failed with HTTP 500: "),
            page: true,
            then: Then::Nothing,
        },
        Fault {
            name: "Backend API answers 401 to a cached exchanged token",
            vars: &[],
            breaks: Break::Inject(
                Service::Backend,
                json!({"status": 401, "count": 1, "path_prefix": "/odata"}),
            ),
            warm_first: true,
            status: StatusCode::FORBIDDEN,
            code: "backend_forbidden",
            says: Says::StartsWith("Backend API refused access (HTTP 401)"),
            page: false,
            then: Then::ExchangesAgain,
        },
        Fault {
            name: "slow Backend API",
            vars: timeout,
            breaks: Break::Inject(
                Service::Backend,
                json!({"count": 1, "path_prefix": "/odata", "delay_ms": 20000}),
            ),
            warm_first: false,
            status: StatusCode::GATEWAY_TIMEOUT,
            code: "backend_timeout",
            says: Says::StartsWith("Backend API did not answer in time"),
            page: false,
            then: Then::Nothing,
        },
        Fault {
            name: "unreachable Backend API",
            vars: &[],
            breaks: Break::BackendClosed,
            warm_first: false,
            status: StatusCode::BAD_GATEWAY,
            code: "backend_unreachable",
            says: Says::StartsWith("Backend API unreachable (http://127.0.0.1:"),
            page: false,
            then: Then::NamesTheUrlWithoutItsQuery,
        },
    ]
}

/// Every fault gets its status, code and message; rows run concurrently, each on its own
/// platform, and the test names every row that failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_gets_its_status_code_and_message() {
    let rows: Vec<_> = faults()
        .into_iter()
        .map(|fault| (fault.name, tokio::spawn(check(fault))))
        .collect();
    testkit::table::all_rows_pass(rows).await;
}

async fn check(fault: Fault) {
    let row = fault.name;
    let mut mock = mock_platform::MockConfig::builtin();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    if let Break::BackendClosed = fault.breaks {
        let init_data = mock.destination.instances[0]
            .init_data
            .as_mut()
            .expect("the built-in destination instance has init_data");
        init_data["init_data"]["subaccount"]["destinations"][0]["URL"] = json!(format!(
            "http://127.0.0.1:{dead}/odata/v2/ProductService/Products?sap-client=secret"
        ));
    }
    let platform = Platform::start_with(mock).await;
    let mut config = platform.config(fault.vars);
    let mut _silent = None;
    match fault.breaks {
        Break::DestinationClosed => config.destination.uri = support::closed_port_url(),
        Break::DestinationSilent => {
            let (url, listener) = support::silent_listener().await;
            config.destination.uri = url;
            _silent = Some(listener);
        }
        _ => {}
    }
    let app = App::start(config).await;
    let url = app.url("/mainentry");
    let token = match fault.breaks {
        Break::TokenWithoutUaaUser => {
            platform
                .mock_token(json!({"user": "alice", "scopes": ["openid"]}))
                .await
        }
        _ => platform.user_token("alice").await,
    };
    if fault.warm_first {
        assert_eq!(
            get_json(&url, Some(&token)).await.status,
            StatusCode::OK,
            "{row}"
        );
    }
    if let Break::Inject(service, injected) = &fault.breaks {
        platform.fail(*service, injected.clone()).await;
    }

    let answer = get_json(&url, Some(&token)).await;
    assert_eq!(answer.status, fault.status, "{row}: {}", answer.body);
    assert_eq!(
        answer.json()["error"]["code"],
        fault.code,
        "{row}: {}",
        answer.body
    );
    let message = answer.message();
    fault.says.check(row, &message);
    if fault.page {
        let page = get_html(&url, Some(&token)).await;
        assert_eq!(page.status, fault.status, "{row}: the page");
        let shown = common::html::escape(fault.says.text());
        assert!(page.body.contains(&shown), "{row}: the page: {}", page.body);
        assert!(
            !page.body.contains("<table"),
            "{row}: the page has no table"
        );
    }

    match fault.then {
        Then::Nothing => {}
        Then::NextRequestSucceeds => {
            let next = get_json(&url, Some(&token)).await;
            assert_eq!(
                next.status,
                StatusCode::OK,
                "{row}: the next request: {}",
                next.body
            );
        }
        Then::LooksUpAgainWithoutBackendCalls => {
            get_json(&url, Some(&token)).await;
            assert_eq!(platform.count(Service::Destination, "lookups"), 2, "{row}");
            assert_eq!(platform.backend_requests(), 0, "{row}");
        }
        Then::ExchangesAgain => {
            assert_eq!(platform.exchanges(), 1, "{row}: before");
            let next = get_json(&url, Some(&token)).await;
            assert_eq!(
                next.status,
                StatusCode::OK,
                "{row}: the next request: {}",
                next.body
            );
            assert_eq!(
                platform.exchanges(),
                2,
                "{row}: the rejected exchanged token was dropped"
            );
        }
        Then::NamesTheUrlWithoutItsQuery => {
            let shown = format!(
                "Backend API unreachable (http://127.0.0.1:{dead}/odata/v2/ProductService/Products)"
            );
            assert!(message.starts_with(&shown), "{row}: {message}");
            assert!(
                !message.contains("secret"),
                "{row}: no query string: {message}"
            );
            assert!(
                message.to_lowercase().contains("connect"),
                "{row}: says why: {message}"
            );
        }
    }
}
