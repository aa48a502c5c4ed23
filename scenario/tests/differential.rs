//! Our App Router side by side with SAP's `@sap/approuter` (pinned, installed from npm into
//! `target/`): the same mock platform, the same `xs-app.json`, the same `destinations`, the same
//! recording backend, the same requests, logins through the mock XSUAA's real login form. Each case
//! is one line of the table below: the `xs-app.json` fragment (or env) it exercises, the request,
//! and the expectation: `Same` (status, the headers a client relies on and what the backend
//! received all match after normalising ports, tokens and ids), or `Differs(why, check)` where we
//! deliberately differ because SAP's behaviour is unsafe (the check asserts ours).
//!
//! Needs `node`/`npm` (`bash .ci/setup`) and the npm registry; without them it prints why and
//! passes. `DIFFERENTIAL_ECHO=1` prints both routers' logs; `DIFFERENTIAL_ONLY=<text>` runs the
//! cases whose name contains the text.

use scenario::differential::{
    Observed, Platform, Request, RouterConfig, RouterPair, Side, differences,
};
use scenario::{measure, sap_approuter};
use serde_json::json;

type Check = fn(&Observed) -> Result<(), String>;

enum Expect {
    /// Client and backend see the same from both routers.
    Same,
    /// We deliberately differ from SAP; the reason, and what ours must do.
    Differs(&'static str, Check),
}
use Expect::*;

struct Case {
    config: &'static str,
    name: &'static str,
    /// The `xs-app.json` key, route property or env variable the case covers.
    covers: &'static str,
    request: Request,
    expect: Expect,
}

const ALICE: &str = "alice";
const BOB: &str = "bob";
/// The scope alice has and bob has not (scenario.yaml's backend scope).
const BACKEND_SCOPE: &str = "Backend-service!t6131.AllAccess";

fn configs() -> Vec<RouterConfig> {
    let index = (
        "resources/index.html".to_string(),
        "<html>index</html>".to_string(),
    );
    let sub = (
        "resources/web2/page.html".to_string(),
        "<html>web2</html>".to_string(),
    );
    vec![
        RouterConfig {
            name: "route",
            xs_app: json!({
                "welcomeFile": "/web/index.html",
                "authenticationMethod": "route",
                "sessionTimeout": 20,
                "login": {"callbackEndpoint": "/login/callback"},
                "logout": {"logoutEndpoint": "/do/logout", "logoutPage": "/web/index.html"},
                "responseHeaders": [{"name": "x-custom-response", "value": "from-xs-app"}],
                "websockets": {"enabled": true},
                "cors": [
                    {"uriPattern": "^/open/any/", "allowedOrigin": [{"host": "*"}]},
                    {"uriPattern": "^/open/", "allowedOrigin": [{"host": "ui.example", "protocol": "https"}], "allowedMethods": ["GET", "POST", "OPTIONS"], "allowedHeaders": ["Content-Type", "X-Custom"], "exposeHeaders": ["x-custom-response"], "maxAge": 600},
                    {"uriPattern": "^/api/", "allowedOrigin": [{"host": "ui.example"}], "allowedCredentials": true},
                ],
                "routes": [
                    {"source": "^/web/(.*)$", "target": "$1", "localDir": "resources", "authenticationType": "none", "cacheControl": "public, max-age=60"},
                    {"source": "^/open/(.*)$", "target": "/$1", "destination": "plain", "authenticationType": "none"},
                    {"source": "^/api/", "target": "/", "destination": "backend"},
                    {"source": "^/full/(.*)$", "target": "/base/$1", "destination": "backend"},
                    {"source": "^/notarget/", "destination": "backend"},
                    {"source": "^/scoped/(.*)$", "target": "/$1", "destination": "backend", "scope": BACKEND_SCOPE},
                    {"source": "^/xsappname/(.*)$", "target": "/$1", "destination": "backend", "scope": "$XSAPPNAME.Admin"},
                    {"source": "^/anyof/(.*)$", "target": "/$1", "destination": "backend", "scope": ["nope.scope", "uaa.user"]},
                    {"source": "^/permethod/(.*)$", "target": "/$1", "destination": "backend", "scope": {"GET": "uaa.user", "POST": BACKEND_SCOPE, "default": "nope.scope"}},
                    {"source": "^/methods/(.*)$", "target": "/$1", "destination": "backend", "httpMethods": ["GET", "POST"]},
                    {"source": "^/nocsrf/(.*)$", "target": "/$1", "destination": "backend", "csrfProtection": false},
                    {"source": {"path": "^/case/(.*)$", "matchCase": false}, "target": "/case/$1", "destination": "backend"},
                    {"source": "^/dollar/(.*)$", "target": "/a$$b/$1", "destination": "backend"},
                    {"source": "^/two/([^/]+)/(.*)$", "target": "/$2/$1", "destination": "backend"},
                    {"source": "^/web2/", "localDir": "resources", "authenticationType": "none"},
                    {"source": "^/static/(.*)$", "target": "$1", "localDir": "resources"},
                    {"source": "^/exact$", "destination": "plain", "authenticationType": "none"},
                ]
            }),
            destinations: vec![],
            env: vec![],
            files: vec![index.clone(), sub.clone()],
        },
        RouterConfig {
            name: "none",
            xs_app: json!({
                "welcomeFile": "index.html",
                "authenticationMethod": "none",
                "errorPage": [{"status": [404, 502], "file": "errors/not-found.html"}],
                "routes": [
                    {"source": "^/api/(.*)$", "target": "/$1", "destination": "backend"},
                    {"source": "^/(.*)$", "target": "$1", "localDir": "resources", "replace": {"pathSuffixes": ["replaced.html", "/conf/settings.json"], "vars": ["REPLACE_TEXT", "REPLACE_UNSET"]}},
                ]
            }),
            destinations: vec![],
            env: vec![("REPLACE_TEXT".into(), "<b>Tom & \"Jerry\"</b>".into())],
            files: vec![
                index.clone(),
                ("errors/not-found.html".into(), "<html>sorry, not here</html>".into()),
                ("resources/replaced.html".into(), "<p>{{REPLACE_TEXT}}</p><p>{{{REPLACE_TEXT}}}</p><p>[{{REPLACE_UNSET}}]</p>".into()),
                ("resources/conf/settings.json".into(), "{\"title\": \"{{{REPLACE_TEXT}}}\"}".into()),
                ("resources/not-replaced.html".into(), "<p>{{REPLACE_TEXT}}</p>".into()),
                ("resources/large.html".into(), format!("<html>{}</html>", "<p>compress me</p>".repeat(150))),
                (
                    "default-env.json".into(),
                    json!({"httpHeaders": [{"x-from-default-env": "yes"}]}).to_string(),
                ),
            ],
        },
        RouterConfig {
            name: "env",
            xs_app: json!({
                "sessionTimeout": 30,
                "websockets": {"enabled": true},
                "errorPage": [{"status": 404, "path": "/open/not-found"}],
                "routes": [
                    {"source": "^/api/(.*)$", "target": "/$1", "destination": "backend"},
                    {"source": "^/open/(.*)$", "target": "/$1", "destination": "plain", "authenticationType": "none"},
                ]
            }),
            destinations: vec![],
            env: vec![
                (
                    "httpHeaders".into(),
                    json!([{"x-http-header-from-env": "yes"}]).to_string(),
                ),
                ("SEND_XFRAMEOPTIONS".into(), "false".into()),
                ("COOKIES".into(), json!({"SameSite": "None"}).to_string()),
                ("SESSION_TIMEOUT".into(), "5".into()),
                ("JWT_REFRESH".into(), "10".into()),
                ("XS_BIND_ADDRESS".into(), "127.0.0.1".into()),
                ("UAA_SERVICE_NAME".into(), "XsuaaForScenario".into()),
                (
                    "WS_ALLOWED_ORIGINS".into(),
                    json!([{"protocol": "https", "host": "*.example.com"}]).to_string(),
                ),
                (
                    "CORS".into(),
                    json!([{"uriPattern": "^/open/", "allowedOrigin": [{"host": "env.example", "protocol": "http"}], "allowedCredentials": false}]).to_string(),
                ),
                ("COMPRESSION".into(), json!({"enabled": false}).to_string()),
            ],
            // No route has a localDir: both routers add one for this folder.
            files: vec![index.clone()],
        },
        RouterConfig {
            name: "secure",
            xs_app: json!({
                "routes": [
                    {"source": "^/open/(.*)$", "target": "/$1", "destination": "plain", "authenticationType": "none"},
                ]
            }),
            destinations: vec![],
            env: vec![("SECURE_SESSION_COOKIE".into(), "true".into())],
            files: vec![],
        },
        RouterConfig {
            name: "compat",
            xs_app: json!({
                "stateProtection": true,
                "routes": [
                    {"source": "^/user-api(.*)", "target": "$1", "service": "sap-approuter-userapi"},
                    {"source": "^/api/(.*)$", "target": "/$1", "destination": "backend", "setBackendSessionCookies": true},
                    {"source": "^/back/(\\w+)/\\1$", "target": "/same/$1", "destination": "backend"},
                    {"source": "^/(?!api/|user-api|back/).*$", "destination": "plain", "authenticationType": "none"},
                ]
            }),
            destinations: vec![],
            env: vec![("PRESERVE_FRAGMENT".into(), "false".into())],
            files: vec![],
        },
        // Issue 14, items 2-4: destinations of the bound Destination service (see
        // `differential::service_destinations`), service to App Router, backend logout.
        RouterConfig {
            name: "dest",
            xs_app: json!({
                "routes": [
                    {"source": "^/none/(.*)$", "target": "/$1", "destination": "ds-none", "authenticationType": "none"},
                    {"source": "^/sub/(.*)$", "target": "/$1", "destination": "ds-sub", "authenticationType": "none"},
                    {"source": "^/basic/(.*)$", "target": "/$1", "destination": "ds-basic", "authenticationType": "none"},
                    {"source": "^/cc/(.*)$", "target": "/$1", "destination": "ds-cc", "authenticationType": "none"},
                    {"source": "^/broken/(.*)$", "target": "/$1", "destination": "ds-broken", "authenticationType": "none"},
                    {"source": "^/onprem/(.*)$", "target": "/$1", "destination": "ds-onprem", "authenticationType": "none"},
                    {"source": "^/missing/(.*)$", "target": "/$1", "destination": "ds-missing", "authenticationType": "none"},
                    {"source": "^/fwdbasic/(.*)$", "target": "/$1", "destination": "ds-forward-basic", "authenticationType": "none"},
                    {"source": "^/fwd/(.*)$", "target": "/$1", "destination": "ds-forward"},
                    {"source": "^/exchange/(.*)$", "target": "/$1", "destination": "ds-exchange"},
                    {"source": "^/jwtbearer/(.*)$", "target": "/$1", "destination": "ds-jwtbearer"},
                    {"source": "^/ucc/(.*)$", "target": "/$1", "destination": "ds-cc"},
                    {"source": "^/api/(.*)$", "target": "/$1", "destination": "backend"},
                    {"source": "^/scoped/(.*)$", "target": "/$1", "destination": "backend", "scope": BACKEND_SCOPE},
                ]
            }),
            destinations: vec![],
            env: vec![],
            files: vec![],
        },
        RouterConfig {
            name: "logout",
            xs_app: json!({
                "logout": {"logoutEndpoint": "/do/logout", "logoutPage": "/open/bye", "logoutMethod": "POST"},
                "destinations": {"backend": {"logoutPath": "/backend-logout", "logoutMethod": "GET"}},
                "routes": [
                    {"source": "^/api/(.*)$", "target": "/$1", "destination": "backend"},
                    {"source": "^/open/(.*)$", "target": "/$1", "destination": "plain", "authenticationType": "none"},
                ]
            }),
            destinations: vec![],
            env: vec![],
            files: vec![],
        },
    ]
}

const LOGIN: &str = "a browser without a session: both answer 200 with a small page whose script keeps the URL fragment in a cookie and navigates to XSUAA (PRESERVE_FRAGMENT); SAP gives every anonymous visitor a server-side session for it, ours keeps the login in flight (state, PKCE verifier, return path) in a sealed cookie, so the page costs the server no memory, and allows nothing but its own script (CSP default-src 'none' with a nonce)";
const LOGIN_302: &str = "PRESERVE_FRAGMENT=false: both answer 302 to XSUAA's authorize endpoint; SAP keeps the return path in a plain cookie and gives the anonymous visitor a server-side session, ours keeps it with state and PKCE verifier in the sealed login cookie";
const JSON_401: &str = "a client that does not accept HTML cannot run SAP's login script: ours answers 401 (SAP does so only for X-Requested-With: XMLHttpRequest)";
const QUERY: &str = "routes match the normalised path without the query: SAP matches source against path and query, so a query can steer a request to another route (or, as here, away from its route)";
const CALLBACK: &str = "a login callback without state and code is refused with 400 naming the reason; SAP starts a new login from it";
const NO_STORE: &str =
    "our redirects carry Cache-Control: no-store (SAP sends none), so no cache replays a redirect";
const COOKIE: &str = "session cookie: SAP sets HttpOnly; Secure even over plain http and no SameSite; ours HttpOnly; SameSite=Lax (a CSRF defence), Secure whenever the browser talks https (always on Cloud Foundry), so a local http run works in every browser";
const SECURE: &str = "SECURE_SESSION_COOKIE=true: SAP refuses every plain-http request with 403; ours serves it with a Secure session cookie (which the browser never sends back over plain http)";

const USERINFO: &str = "user API attributes: ours lays the user_attributes of XSUAA's /userinfo over the token's details, as SAP's user-api-middleware does for a session whose token records authenticationType xsuaa; SAP's router, logged in against the mock platform, records none (it takes it from XSUAA zone info) and answers the token's details alone";

fn custom_attributes(o: &Observed) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(&o.body).map_err(|e| format!("{e}: {}", o.body))?;
    if o.status == 200
        && v["firstname"] == "Alice"
        && v["Department"] == json!(["Sales"])
        && v["Country"] == json!(["DE", "FR"])
    {
        Ok(())
    } else {
        Err(format!("no custom attributes from /userinfo: {}", o.body))
    }
}

fn status(expected: u16) -> Check {
    match expected {
        200 => |o| check_status(o, 200),
        400 => |o| check_status(o, 400),
        _ => |o| check_status(o, 401),
    }
}

fn check_status(o: &Observed, expected: u16) -> Result<(), String> {
    if o.status == expected {
        Ok(())
    } else {
        Err(format!("status {} instead of {expected}", o.status))
    }
}

fn login_redirect(o: &Observed) -> Result<(), String> {
    let location = o.header("location").unwrap_or_default();
    if o.status == 302
        && location.starts_with("{xsuaa}/oauth/authorize?")
        && location.contains("code_challenge=*")
        && location.contains("code_challenge_method=S256")
        && location.contains("state=*")
        && location.contains("redirect_uri={router}%2Flogin%2Fcallback")
        && o.header("cache-control") == Some("no-store")
    {
        Ok(())
    } else {
        Err(format!(
            "not a 302 to the authorize endpoint with state and PKCE: {} {location}",
            o.status
        ))
    }
}

/// Our login page: 200, not cached, a CSP that allows its own script by nonce only, and the
/// script goes to the authorize endpoint with state and PKCE.
fn login_page(o: &Observed) -> Result<(), String> {
    let csp = o.raw_header("content-security-policy").unwrap_or_default();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_default();
    let Some((cookies, target)) = testkit::login_script::script_redirect(&o.body, "/") else {
        return Err(format!("no login script in {}", o.body));
    };
    let ok = o.status == 200
        && !nonce.is_empty()
        && csp.contains("default-src 'none'")
        && o.body.contains(&format!("<script nonce=\"{nonce}\">"))
        && o.header("cache-control") == Some("no-cache, no-store, must-revalidate")
        && target.contains("/oauth/authorize?")
        && target.contains("code_challenge_method=S256")
        && target.contains("state=")
        && cookies
            .iter()
            .any(|c| c.starts_with("JSESSIONID_FRAGMENT_"))
        && o.header("set-cookie")
            .is_some_and(|c| c.starts_with("JSESSIONID_STATE_"));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "not our login page: {} csp {csp:?} cache-control {:?} cookies {:?} target {target}",
            o.status,
            o.header("cache-control"),
            o.header("set-cookie")
        ))
    }
}

const CORS_ANY: &str = "CORS with allowedOrigin host \"*\" and allowedCredentials (SAP's default): SAP echoes every origin with Access-Control-Allow-Credentials, so any web site can read the user's data with the user's cookies; ours answers Access-Control-Allow-Origin: * without credentials";

fn any_origin_without_credentials(o: &Observed) -> Result<(), String> {
    match (
        o.status,
        o.header("access-control-allow-origin"),
        o.header("access-control-allow-credentials"),
    ) {
        (200, Some("*"), None) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

fn same_site_none_login(o: &Observed) -> Result<(), String> {
    login_page(o)?;
    match o.header("set-cookie") {
        Some(c)
            if c.contains("samesite=none")
                && c.contains("secure")
                && o.body.contains(";samesite=none;secure\"") =>
        {
            Ok(())
        }
        other => Err(format!(
            "the session cookie is not SameSite=None; Secure: {other:?}"
        )),
    }
}

fn redirect_to(location: &'static str) -> Check {
    match location {
        "{router}/web/index.html" => |o| check_redirect(o, "{router}/web/index.html"),
        "{router}/open/not-found" => |o| check_redirect(o, "{router}/open/not-found"),
        _ => |o| check_redirect(o, "{router}/index.html"),
    }
}

fn check_redirect(o: &Observed, location: &str) -> Result<(), String> {
    let got = o.header("location").unwrap_or_default();
    // A relative Location is what the browser resolves against the router.
    let got = if got.starts_with('/') {
        format!("{{router}}{got}")
    } else {
        got.to_string()
    };
    if (o.status == 302 || o.status == 301)
        && got == location
        && o.header("cache-control") == Some("no-store")
    {
        Ok(())
    } else {
        Err(format!(
            "{} to {got:?} (cache-control {:?})",
            o.status,
            o.header("cache-control")
        ))
    }
}

fn logout_redirect(o: &Observed) -> Result<(), String> {
    let location = o.header("location").unwrap_or_default();
    let cookie = o.header("set-cookie").unwrap_or_default();
    if o.status == 302
        && location.starts_with("{xsuaa}/logout.do?redirect={router}%2Fweb%2Findex.html")
        && cookie.starts_with("JSESSIONID=; expires; httponly; max-age=0; path=/; samesite=lax")
    {
        Ok(())
    } else {
        Err(format!("{} {location} {cookie}", o.status))
    }
}

fn forwarded_exact(o: &Observed) -> Result<(), String> {
    match o.received("path") {
        Some("/exact") if o.status == 200 => Ok(()),
        other => Err(format!("{} forwarded to {other:?}", o.status)),
    }
}

const LOCATION: &str = "a backend's redirect to its own URL is mapped back to the router's URL (the route it came through): SAP passes the backend's internal URL to the browser";
const BACKEND_COOKIE: &str = "a backend's persistent cookie reaches the browser scoped to the route's path (so it goes back only through that route); SAP passes it with the backend's own Path";
const ANONYMOUS_BACKEND_COOKIE: &str = "a backend's session cookie on a route without login goes to the browser (scoped to the route's path): ours makes no server-side session for anonymous visitors; SAP makes one and keeps the cookie there";
const BROWSER_BACKEND_COOKIES: &str = "setBackendSessionCookies: both send the backend's session cookie to the browser, ours scoped to the route's path; SAP also passes the router's own session cookie to the backend, ours never does";
const ERROR_NO_STORE: &str = "every error the router makes is marked Cache-Control: no-cache, no-store, must-revalidate; SAP leaves its login-callback errors without";

fn backend_redirect_mapped(o: &Observed) -> Result<(), String> {
    match o.header("location") {
        Some("{router}/api/elsewhere") if o.status == 302 => Ok(()),
        other => Err(format!("{} to {other:?}", o.status)),
    }
}

fn backend_cookie_scoped(o: &Observed) -> Result<(), String> {
    match o.header("set-cookie") {
        Some(c) if c.starts_with("persistent_cookie=<value>;") && c.contains("path=/api/") => {
            Ok(())
        }
        other => Err(format!("{other:?}")),
    }
}

fn anonymous_backend_cookie(o: &Observed) -> Result<(), String> {
    match o.header("set-cookie") {
        Some("backend_cookie=<value>; httponly; path=/open/") => Ok(()),
        other => Err(format!("no session, the cookie to the browser: {other:?}")),
    }
}

fn backend_cookies_to_browser(o: &Observed) -> Result<(), String> {
    no_session_cookie_to_backend_at(o, "/backend-cookie")?;
    match o.header("set-cookie") {
        Some(c) if c.starts_with("backend_cookie=<value>;") && c.contains("path=/api/") => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

const SESSION_COOKIE: &str = "setBackendSessionCookies: SAP passes the router's own session cookie to the backend, which could then act as the user; ours never forwards the router's session cookie (the key is accepted with a start-up warning)";

fn no_session_cookie_to_backend(o: &Observed) -> Result<(), String> {
    no_session_cookie_to_backend_at(o, "/x")
}

fn no_session_cookie_to_backend_at(o: &Observed, path: &str) -> Result<(), String> {
    match (o.status, o.received("path"), o.received("header cookie")) {
        (200, Some(p), None) if p == path => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

const FORWARDED: &str = "X-Forwarded-* are trusted only from TRUSTED_PROXIES (on Cloud Foundry the platform's network): SAP believes any client's, which then decide the URLs the backend builds";

fn own_forwarded_host(o: &Observed) -> Result<(), String> {
    match (
        o.received("header x-forwarded-host"),
        o.received("header x-forwarded-proto"),
    ) {
        (Some("{router-host}"), Some("http")) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

const DESTINATION_502: &str = "a destination the Destination service cannot give (authTokens[0].error, unknown name, ProxyType OnPremise without the Connectivity service, HTML5.ForwardAuthToken with an Authentication) is an upstream failure: ours answers 502 naming the destination (not its URL); SAP answers 500";
const LOGOUT_METHOD: &str = "a logout request with a method other than logout.logoutMethod: SAP fails it with 500; ours answers 405 with Allow (the client's mistake, not the router's)";
const BACKEND_LOGOUT: &str = "backend logout: SAP copies the browser's logout request headers into the call to logoutPath, the router's own session cookie included (a backend could replay it); ours sends only the user's token (forwardAuthToken) and the correlation id (the cleared session cookie differs as in every logout)";

fn bad_gateway(o: &Observed) -> Result<(), String> {
    if o.status == 502 && o.backend.is_empty() && !o.body.contains("127.0.0.1") {
        Ok(())
    } else {
        Err(format!(
            "{} (forwarded {}): {}",
            o.status,
            o.backend.len(),
            o.body
        ))
    }
}

fn method_not_allowed_post(o: &Observed) -> Result<(), String> {
    match (o.status, o.header("allow")) {
        (405, Some("POST")) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

fn backend_logged_out(o: &Observed) -> Result<(), String> {
    let call = o
        .backend
        .iter()
        .find(|r| r.get("path").map(String::as_str) == Some("/backend-logout"));
    match call {
        Some(r)
            if o.status == 200
                && r.get("method").map(String::as_str) == Some("GET")
                && r.get("header authorization")
                    .is_some_and(|a| a.contains("user_name=alice")) =>
        {
            Ok(())
        }
        _ => Err(format!("{} {:?}", o.status, o.backend)),
    }
}

/// A JWT in XSUAA's shape that no key of the platform signed.
const FORGED: &[(&str, &str)] = &[(
    "x-approuter-authorization",
    "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZvcmdlZCJ9.eyJleHRfYXR0ciI6eyJlbmhhbmNlciI6IlhTVUFBIn0sInVzZXJfbmFtZSI6ImFsaWNlIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsInNjb3BlIjpbInVhYS51c2VyIiwib3BlbmlkIl0sImNsaWVudF9pZCI6InNiLWZvcmdlZCIsImNpZCI6InNiLWZvcmdlZCIsImF1ZCI6WyJzYi1mb3JnZWQiXX0.c2lnbmF0dXJl",
)];

const XHR: &[(&str, &str)] = &[("x-requested-with", "XMLHttpRequest")];
const OWN_ORIGIN: &[(&str, &str)] = &[("origin", "{router}")];
const FOREIGN_ORIGIN: &[(&str, &str)] = &[("origin", "http://evil.example")];
const LISTED_ORIGIN: &[(&str, &str)] = &[("origin", "https://app.example.com")];
const GZIP: &[(&str, &str)] = &[("accept-encoding", "gzip, deflate, br")];
const COMPRESSION_HEADERS: &[&str] = &["content-encoding", "vary"];
const CORS_HEADERS: &[&str] = &[
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
    "access-control-expose-headers",
];
const JSON_ACCEPT: &[(&str, &str)] = &[("accept", "application/json")];
const CUSTOM_RESPONSE: &[&str] = &["x-custom-response"];

// One line per case, as a table: rustfmt would break each into ten.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let r = Request::get;
    let mut c = Vec::new();
    let mut add = |config, name, covers, request, expect| {
        c.push(Case {
            config,
            name,
            covers,
            request,
            expect,
        })
    };
    // ---- authenticationMethod "route": the main configuration.
    add("route", "welcome file", "welcomeFile", r("/"), Differs(NO_STORE, redirect_to("{router}/web/index.html")));
    add("route", "static file without login", "localDir, target, authenticationType none, cacheControl", r("/web/index.html").extra(CUSTOM_RESPONSE), Same);
    add("route", "static file missing", "localDir", r("/web/missing.html"), Same);
    add("route", "static file HEAD", "localDir", r("/web/index.html").method("HEAD"), Same);
    add("route", "localDir without target", "localDir", r("/web2/page.html"), Same);
    add("route", "open destination with query", "destination, authenticationType none", r("/open/x?a=1&b=two"), Same);
    add("route", "open destination POST body", "destination, csrfProtection default without login", r("/open/x").method("POST").headers(&[("content-type", "application/json")]).body("{\"a\":1}"), Same);
    add("route", "login needed, browser", "authenticationType xsuaa, PRESERVE_FRAGMENT", r("/api/x"), Differs(LOGIN, login_page));
    add("route", "login needed, XHR", "authenticationType xsuaa", r("/api/x").headers(XHR), Same);
    add("route", "login needed, JSON client", "authenticationType xsuaa", r("/api/x").headers(JSON_ACCEPT), Differs(JSON_401, status(401)));
    add("route", "logged in, token forwarded", "destination forwardAuthToken", r("/api/x").user(ALICE, "/api/x"), Same);
    add("route", "target replaces the match, keeps the rest", "target", r("/api/deep/path?q=1").user(ALICE, "/api/x"), Same);
    add("route", "target with a group", "target $1", r("/full/a/b").user(ALICE, "/api/x"), Same);
    add("route", "no target: path as is", "route without target", r("/notarget/x").user(ALICE, "/api/x"), Same);
    add("route", "scope string, user has it", "scope (string)", r("/scoped/x").user(ALICE, "/api/x"), Same);
    add("route", "scope string, user lacks it", "scope (string)", r("/scoped/x").user(BOB, "/api/x"), Same);
    add("route", "$XSAPPNAME scope", "scope $XSAPPNAME", r("/xsappname/x").user(ALICE, "/api/x"), Same);
    add("route", "scope array: any one", "scope (array)", r("/anyof/x").user(BOB, "/api/x"), Same);
    add("route", "per-method scope GET", "scope (per method)", r("/permethod/x").user(BOB, "/api/x"), Same);
    add("route", "per-method scope POST lacking", "scope (per method)", r("/permethod/x").method("POST").csrf().user(BOB, "/api/x"), Same);
    add("route", "per-method scope POST held", "scope (per method)", r("/permethod/x").method("POST").csrf().user(ALICE, "/api/x"), Same);
    add("route", "per-method scope default", "scope (per method, default)", r("/permethod/x").method("DELETE").csrf().user(ALICE, "/api/x"), Same);
    add("route", "httpMethods allowed", "httpMethods", r("/methods/x").user(ALICE, "/api/x"), Same);
    add("route", "httpMethods not allowed", "httpMethods", r("/methods/x").method("DELETE").csrf().user(ALICE, "/api/x"), Same);
    add("route", "httpMethods not allowed, no token", "httpMethods", r("/methods/x").method("PUT").user(ALICE, "/api/x"), Same);
    add("route", "CSRF token missing", "csrfProtection (default)", r("/api/x").method("POST").body("a").user(ALICE, "/api/x"), Same);
    add("route", "CSRF token sent", "csrfProtection (default)", r("/api/x").method("POST").body("a").csrf().user(ALICE, "/api/x"), Same);
    add("route", "CSRF fetch", "csrfProtection (default)", r("/api/x").headers(&[("x-csrf-token", "fetch")]).user(ALICE, "/api/x"), Same);
    add("route", "CSRF wrong token", "csrfProtection (default)", r("/api/x").method("PUT").headers(&[("x-csrf-token", "wrong")]).user(ALICE, "/api/x"), Same);
    add("route", "csrfProtection false", "csrfProtection false", r("/nocsrf/x").method("POST").body("b").user(ALICE, "/api/x"), Same);
    add("route", "matchCase false", "source {path, matchCase}", r("/CASE/Abc").user(ALICE, "/api/x"), Same);
    add("route", "$$ in target", "target $$", r("/dollar/x").user(ALICE, "/api/x"), Same);
    add("route", "two groups swapped", "target $1 $2", r("/two/one/two").user(ALICE, "/api/x"), Same);
    add("route", "authenticated localDir", "localDir with login", r("/static/index.html").user(ALICE, "/api/x"), Same);
    add("route", "authenticated localDir anonymous", "localDir with login", r("/static/index.html"), Differs(LOGIN, login_page));
    add("route", "no route, logged in", "routes", r("/nothing").user(ALICE, "/api/x"), Same);
    add("route", "no route, anonymous", "routes", r("/nothing"), Same);
    add("route", "correlation id kept", "x-correlationid", r("/api/x").headers(&[("x-correlationid", "abc-123")]).user(ALICE, "/api/x"), Same);
    add("route", "client cookies forwarded, session cookie not", "cookies", r("/api/x").cookie("mine=1").user(ALICE, "/api/x"), Same);
    add("route", "backend redirect", "destination", r("/api/backend-redirect").user(ALICE, "/api/x"), Differs(LOCATION, backend_redirect_mapped));
    add("route", "backend session cookie kept in the session", "backend session cookies", r("/api/backend-cookie").user(ALICE, "/api/x"), Same);
    add("route", "backend session cookie replayed", "backend session cookies", r("/api/x").user(ALICE, "/api/x"), Same);
    add("route", "backend session cookie not another user's", "backend session cookies", r("/api/x").user(BOB, "/api/x"), Same);
    add("route", "backend persistent cookie", "backend cookies", r("/api/backend-persistent-cookie").user(ALICE, "/api/x"), Differs(BACKEND_COOKIE, backend_cookie_scoped));
    add("route", "backend session cookie, no login", "backend session cookies", r("/open/backend-cookie"), Differs(ANONYMOUS_BACKEND_COOKIE, anonymous_backend_cookie));
    add("route", "__VCAP_ID__ not forwarded", "cookies (__VCAP_ID__)", r("/api/x").cookie("__VCAP_ID__=instance1").user(ALICE, "/api/x"), Same);
    add("route", "sapextlb cookies not forwarded", "cookies (sapextlb*)", r("/api/x").cookie("SAPEXTLBSERVER=lb1").user(ALICE, "/api/x"), Same);
    add("route", "websocket round trip", "websockets.enabled", Request::websocket("/api/ws").headers(OWN_ORIGIN).user(ALICE, "/api/x"), Same);
    add("route", "websocket handshake cookie replayed", "websockets, backend session cookies", r("/api/x").user(ALICE, "/api/x"), Same);
    add("route", "websocket on a public route", "websockets, authenticationType none", Request::websocket("/open/ws").headers(OWN_ORIGIN), Same);
    add("route", "websocket without a session", "websockets", Request::websocket("/api/ws").headers(OWN_ORIGIN), Same);
    add("route", "websocket from a foreign origin", "websockets", Request::websocket("/api/ws").headers(FOREIGN_ORIGIN).user(ALICE, "/api/x"), Same);
    add("route", "websocket without an origin", "websockets", Request::websocket("/api/ws").user(ALICE, "/api/x"), Same);
    add("route", "websocket lacking the scope", "websockets, scope", Request::websocket("/scoped/ws").headers(OWN_ORIGIN).user(BOB, "/api/x"), Same);
    add("route", "websocket to a static route", "websockets, localDir", Request::websocket("/web/ws").headers(OWN_ORIGIN), Same);
    add("route", "backend 404", "destination", r("/api/backend-404").user(ALICE, "/api/x"), Same);
    add("route", "backend cache-control", "destination", r("/api/backend-nocache").user(ALICE, "/api/x"), Same);
    add("route", "client Authorization replaced", "forwardAuthToken", r("/api/x").headers(&[("authorization", "Bearer forged")]).user(ALICE, "/api/x"), Same);
    add("route", "encoded query kept", "target", r("/api/x?q=%2Fpath&r=a%20b").user(ALICE, "/api/x"), Same);
    add("route", "custom request header passes", "destination", r("/api/x").headers(&[("x-custom", "v")]).user(ALICE, "/api/x"), Same);
    add("route", "X-Forwarded-Host from a client", "destination (x-forwarded-*)", r("/open/x").headers(&[("x-forwarded-host", "evil.example"), ("x-forwarded-proto", "https")]), Differs(FORWARDED, own_forwarded_host));
    add("route", "dot segments", "source", r("/open/%2e%2e/api/x"), Differs(LOGIN, login_page));
    add("route", "source anchored at $ with a query", "source", r("/exact?x=1"), Differs(QUERY, forwarded_exact));
    add("route", "logout", "logout.logoutEndpoint, logoutPage", r("/do/logout").user(BOB, "/api/x"), Differs(COOKIE, logout_redirect));
    add("route", "login callback without code", "login.callbackEndpoint", r("/login/callback"), Differs(CALLBACK, status(400)));
    add("route", "login callback with a bad state", "login.callbackEndpoint", r("/login/callback?code=x&state=y"), Differs(ERROR_NO_STORE, status(400)));
    add("route", "responseHeaders", "responseHeaders", r("/open/x").extra(CUSTOM_RESPONSE), Same);
    add("route", "OPTIONS anonymous", "authenticationType xsuaa", r("/api/x").method("OPTIONS"), Same);
    add("route", "HEAD logged in", "destination", r("/api/x").method("HEAD").user(ALICE, "/api/x"), Same);
    add("route", "CORS preflight allowed", "cors (uriPattern, allowedOrigin, allowedMethods, allowedHeaders, maxAge)", r("/open/x").method("OPTIONS").headers(&[("origin", "https://ui.example"), ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type,x-custom")]).extra(CORS_HEADERS), Same);
    add("route", "CORS preflight before login", "cors", r("/api/x").method("OPTIONS").headers(&[("origin", "http://ui.example"), ("access-control-request-method", "GET")]).extra(CORS_HEADERS), Same);
    add("route", "CORS preflight, origin not allowed", "cors (allowedOrigin)", r("/open/x").method("OPTIONS").headers(&[("origin", "https://evil.example"), ("access-control-request-method", "POST")]).extra(CORS_HEADERS), Same);
    add("route", "CORS preflight, wrong scheme", "cors (allowedOrigin protocol)", r("/open/x").method("OPTIONS").headers(&[("origin", "http://ui.example"), ("access-control-request-method", "GET")]).extra(CORS_HEADERS), Same);
    add("route", "CORS preflight, method not allowed", "cors (allowedMethods)", r("/open/x").method("OPTIONS").headers(&[("origin", "https://ui.example"), ("access-control-request-method", "DELETE")]).extra(CORS_HEADERS), Same);
    add("route", "CORS preflight, header not allowed", "cors (allowedHeaders)", r("/open/x").method("OPTIONS").headers(&[("origin", "https://ui.example"), ("access-control-request-method", "GET"), ("access-control-request-headers", "authorization")]).extra(CORS_HEADERS), Same);
    add("route", "CORS actual request", "cors (exposeHeaders, allowedCredentials default)", r("/open/x").headers(&[("origin", "https://ui.example")]).extra(CORS_HEADERS), Same);
    add("route", "CORS actual request, origin not allowed", "cors", r("/open/x").headers(&[("origin", "https://evil.example")]).extra(CORS_HEADERS), Same);
    add("route", "CORS invalid Origin", "cors", r("/open/x").headers(&[("origin", "null")]).extra(CORS_HEADERS), Same);
    add("route", "CORS logged in, credentials", "cors (allowedCredentials)", r("/api/x").headers(&[("origin", "http://ui.example")]).user(ALICE, "/api/x").extra(CORS_HEADERS), Same);
    add("route", "CORS any origin", "cors (allowedOrigin host *)", r("/open/any/x").headers(&[("origin", "https://whoever.example")]).extra(CORS_HEADERS), Differs(CORS_ANY, any_origin_without_credentials));
    add("route", "gzip for a large backend answer", "compression (default on)", r("/open/backend-large").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    add("route", "no gzip without Accept-Encoding", "compression", r("/open/backend-large").extra(COMPRESSION_HEADERS), Same);
    add("route", "backend's gzip kept as is", "compression (never twice)", r("/open/backend-gzipped").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    add("route", "small answer not compressed", "compression (1 KB threshold)", r("/open/x").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    // ---- authenticationMethod "none".
    add("none", "forwarded without token", "authenticationMethod none", r("/api/x"), Same);
    add("none", "POST without session", "authenticationMethod none, csrfProtection", r("/api/x").method("POST").body("c"), Same);
    add("none", "welcome file without slash", "welcomeFile", r("/"), Differs(NO_STORE, redirect_to("{router}/index.html")));
    add("none", "static file", "localDir", r("/index.html"), Same);
    add("none", "default-env.json", "default-env.json", r("/index.html").extra(&["x-from-default-env"]), Same);
    add("none", "missing file", "localDir", r("/missing"), Same);
    add("none", "websockets not enabled", "websockets (default)", Request::websocket("/api/ws").headers(OWN_ORIGIN), Same);
    add("none", "missing file", "localDir, errorPage (file)", r("/missing").compare_body(), Same);
    add("none", "replace vars", "replace (pathSuffixes, vars)", r("/replaced.html").compare_body(), Same);
    add("none", "replace in JSON", "replace (pathSuffixes with a path)", r("/conf/settings.json").compare_body(), Same);
    add("none", "replace only for its suffixes", "replace (pathSuffixes)", r("/not-replaced.html").compare_body(), Same);
    add("none", "gzip for a large static file", "compression (static files)", r("/large.html").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    add("none", "gzip when only gzip is accepted", "compression (negotiation)", r("/large.html").headers(&[("accept-encoding", "gzip")]).extra(COMPRESSION_HEADERS), Same);
    add("none", "small static file: Vary only", "compression (minSize)", r("/index.html").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    add("none", "HEAD of a large file", "compression (not for HEAD)", r("/large.html").method("HEAD").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    // ---- env variables.
    add("env", "httpHeaders, SEND_XFRAMEOPTIONS=false", "httpHeaders, SEND_XFRAMEOPTIONS", r("/open/x").extra(&["x-http-header-from-env"]), Same);
    add("env", "COOKIES SameSite=None", "COOKIES, UAA_SERVICE_NAME, XS_BIND_ADDRESS", r("/api/x"), Differs(LOGIN, same_site_none_login));
    add("secure", "SECURE_SESSION_COOKIE=true over plain http", "SECURE_SESSION_COOKIE", r("/open/x"), Differs(SECURE, status(200)));
    add("env", "logged in with env", "SESSION_TIMEOUT, JWT_REFRESH", r("/api/x").user(ALICE, "/api/x"), Same);
    add("env", "WS_ALLOWED_ORIGINS listed origin", "WS_ALLOWED_ORIGINS", Request::websocket("/open/ws").headers(LISTED_ORIGIN), Same);
    add("env", "WS_ALLOWED_ORIGINS replaces the own origin", "WS_ALLOWED_ORIGINS", Request::websocket("/open/ws").headers(OWN_ORIGIN), Same);
    add("env", "implicit resources route", "./resources without a localDir route", r("/index.html").user(ALICE, "/api/x"), Same);
    add("env", "implicit resources route needs a login", "./resources without a localDir route", r("/index.html"), Differs(LOGIN, login_page));
    add("env", "errorPage path", "errorPage (path)", r("/missing.html").user(ALICE, "/api/x"), Differs(NO_STORE, redirect_to("{router}/open/not-found")));
    add("env", "CORS env preflight", "CORS", r("/open/x").method("OPTIONS").headers(&[("origin", "http://env.example"), ("access-control-request-method", "GET")]).extra(CORS_HEADERS), Same);
    add("env", "COMPRESSION disabled", "COMPRESSION", r("/open/backend-large").headers(GZIP).extra(COMPRESSION_HEADERS), Same);
    // ---- keys ours refused before issue 13.
    add("compat", "PRESERVE_FRAGMENT=false: plain redirect", "PRESERVE_FRAGMENT", r("/api/x"), Differs(LOGIN_302, login_redirect));
    add("compat", "user API", "service sap-approuter-userapi", r("/user-api/currentUser").user(ALICE, "/api/x").compare_body(), Same);
    add("compat", "user API attributes", "service sap-approuter-userapi, endpoint", r("/user-api/attributes").user(BOB, "/api/x"), Same);
    add("compat", "user API attributes from /userinfo", "service sap-approuter-userapi (attributes merged with XSUAA /userinfo)", r("/user-api/attributes").user(ALICE, "/api/x").compare_body(), Differs(USERINFO, custom_attributes));
    add("compat", "look-ahead source", "source (ECMAScript look-ahead), stateProtection", r("/other"), Same);
    add("compat", "setBackendSessionCookies", "setBackendSessionCookies", r("/api/x").user(ALICE, "/api/x"), Differs(SESSION_COOKIE, no_session_cookie_to_backend));
    add("compat", "back-reference in source", "source (ECMAScript back-reference)", r("/back/ab/ab").user(ALICE, "/api/x"), Same);
    add("compat", "back-reference not met", "source (ECMAScript back-reference)", r("/back/ab/cd").user(ALICE, "/api/x"), Same);
    add("compat", "look-ahead excludes", "source (ECMAScript look-ahead)", r("/api/x").user(ALICE, "/api/x"), Differs(SESSION_COOKIE, no_session_cookie_to_backend));
    // Last of its configuration: the cookie it puts in the browser differs in Path.
    add("compat", "setBackendSessionCookies: cookies to the browser", "setBackendSessionCookies", r("/api/backend-cookie").user(ALICE, "/api/x"), Differs(BROWSER_BACKEND_COOKIES, backend_cookies_to_browser));
    // ---- issue 14: destinations from the Destination service (instance level, then subaccount).
    add("dest", "service destination NoAuthentication", "Destination service: NoAuthentication", r("/none/x?a=1"), Same);
    add("dest", "service destination on the subaccount level", "Destination service: subaccount level", r("/sub/x"), Same);
    add("dest", "service destination BasicAuthentication", "Destination service: BasicAuthentication", r("/basic/x"), Same);
    add("dest", "service destination OAuth2ClientCredentials", "Destination service: OAuth2ClientCredentials", r("/cc/x"), Same);
    add("dest", "service destination client credentials, logged in", "Destination service: OAuth2ClientCredentials", r("/ucc/x").user(ALICE, "/fwd/x"), Same);
    add("dest", "service destination ForwardAuthToken", "Destination service: HTML5.ForwardAuthToken", r("/fwd/x").user(ALICE, "/fwd/x"), Same);
    add("dest", "service destination OAuth2UserTokenExchange", "Destination service: OAuth2UserTokenExchange", r("/exchange/x").user(ALICE, "/fwd/x"), Same);
    add("dest", "service destination exchange again (cached)", "Destination service: cache", r("/exchange/y?z=1").user(ALICE, "/fwd/x"), Same);
    add("dest", "service destination OAuth2JWTBearer", "Destination service: OAuth2JWTBearer", r("/jwtbearer/x").user(ALICE, "/fwd/x"), Same);
    add("dest", "service destination token error", "Destination service: authTokens[0].error", r("/broken/x"), Differs(DESTINATION_502, bad_gateway));
    add("dest", "service destination OnPremise", "Destination service: ProxyType OnPremise", r("/onprem/x"), Differs(DESTINATION_502, bad_gateway));
    add("dest", "service destination unknown", "Destination service: not found", r("/missing/x"), Differs(DESTINATION_502, bad_gateway));
    add("dest", "service destination ForwardAuthToken with Basic", "Destination service: HTML5.ForwardAuthToken", r("/fwdbasic/x"), Differs(DESTINATION_502, bad_gateway));
    // ---- issue 14: service to App Router.
    add("dest", "x-approuter-authorization", "x-approuter-authorization", r("/api/x").service(ALICE), Same);
    add("dest", "x-approuter-authorization scope held", "x-approuter-authorization, scope", r("/scoped/x").service(ALICE), Same);
    add("dest", "x-approuter-authorization scope lacking", "x-approuter-authorization, scope", r("/scoped/x").service(BOB), Same);
    add("dest", "x-approuter-authorization POST without CSRF token", "x-approuter-authorization, csrfProtection", r("/api/x").method("POST").body("s").service(ALICE), Same);
    add("dest", "x-approuter-authorization to a service destination", "x-approuter-authorization, Destination service", r("/exchange/x").service(ALICE), Same);
    add("dest", "x-approuter-authorization forged", "x-approuter-authorization", r("/api/x").headers(FORGED), Same);
    add("dest", "x-approuter-authorization not a JWT", "x-approuter-authorization", r("/api/x").headers(&[("x-approuter-authorization", "Bearer not-a-jwt")]), Same);
    // ---- issue 14: logout.logoutMethod POST, logout.csrfProtection, backend logout, skip-redirect.
    add("logout", "POST logout without CSRF token", "logout.logoutMethod POST, logout.csrfProtection", r("/do/logout").method("POST").user(ALICE, "/api/x"), Same);
    add("logout", "GET logout when POST is configured", "logout.logoutMethod POST", r("/do/logout").user(ALICE, "/api/x"), Differs(LOGOUT_METHOD, method_not_allowed_post));
    add("logout", "POST logout calls the backend's logoutPath", "destinations.<name>.logoutPath, logoutMethod", r("/do/logout").method("POST").csrf_at("/api/x").user(ALICE, "/api/x").backend_calls(1), Differs(BACKEND_LOGOUT, backend_logged_out));
    add("logout", "logout with skip-redirect", "logout ?skip-redirect", r("/do/logout?skip-redirect").method("POST").csrf_at("/api/x").user(BOB, "/api/x").backend_calls(1), Differs(BACKEND_LOGOUT, status(200)));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_app_router_behaves_like_sap_approuter() {
    let Some(node) = measure::which("node") else {
        eprintln!("SKIPPED: node is not on the PATH (bash .ci/setup installs it)");
        return;
    };
    let sap_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sap-approuter");
    if let Err(reason) = sap_approuter::prepare(&sap_dir) {
        eprintln!(
            "SKIPPED: cannot install @sap/approuter {} from npm: {reason}",
            sap_approuter::VERSION
        );
        return;
    }
    let platform = Platform::start(&sap_dir, &node)
        .await
        .unwrap_or_else(|e| panic!("the mock platform did not start: {e}"));
    let only = std::env::var("DIFFERENTIAL_ONLY").ok();
    let cases = cases();
    assert!(cases.len() >= 60, "the table has {} cases", cases.len());

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for config in configs() {
        let selected: Vec<&Case> = cases
            .iter()
            .filter(|c| c.config == config.name)
            .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let mut pair = match RouterPair::start(&platform, &config).await {
            Ok(pair) => pair,
            Err(e) => {
                for case in selected {
                    failures.push(format!(
                        "[{}] {}: routers did not start: {e}",
                        config.name, case.name
                    ));
                }
                continue;
            }
        };
        for case in selected {
            let line = run_case(&platform, &mut pair, case).await;
            match line {
                Ok(text) => report.push(text),
                Err(text) => {
                    report.push(text.clone());
                    failures.push(format!("{text}\n{}", pair.logs(15)));
                }
            }
        }
    }
    println!(
        "\n{:-<100}\nDIFFERENTIAL REPORT (@sap/approuter {} vs ours)",
        "",
        sap_approuter::VERSION
    );
    for line in &report {
        println!("{line}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

async fn run_case(
    platform: &Platform,
    pair: &mut RouterPair,
    case: &Case,
) -> Result<String, String> {
    let head = format!(
        "[{}] {} ({}): {} {}{}",
        case.config,
        case.name,
        case.covers,
        case.request.method,
        case.request.path,
        case.request
            .user
            .map(|u| format!(" as {u}"))
            .unwrap_or_default()
    );
    let sap = pair
        .observe(platform, Side::Sap, &case.request)
        .await
        .map_err(|e| format!("FAIL {head}: @sap/approuter: {e}"))?;
    let ours = pair
        .observe(platform, Side::Ours, &case.request)
        .await
        .map_err(|e| format!("FAIL {head}: ours: {e}"))?;
    let diffs = differences(&sap, &ours);
    match &case.expect {
        Same if diffs.is_empty() => Ok(format!("same    {head}: {}", ours.summary())),
        Same => Err(format!(
            "FAIL    {head}: expected the same, differs:\n        {}\n        SAP body: {}\n        our body: {}",
            diffs.join("\n        "),
            snippet(&sap.body),
            snippet(&ours.body)
        )),
        Differs(why, check) => {
            if diffs.is_empty() {
                return Err(format!(
                    "FAIL    {head}: expected a deliberate difference ({why}), but both answer the same"
                ));
            }
            check(&ours).map_err(|e| {
                format!(
                    "FAIL    {head}: ours does not do what it should ({why}): {e}\n        {}",
                    diffs.join("\n        ")
                )
            })?;
            Ok(format!(
                "differs {head}: {why}\n        {}",
                diffs.join("\n        ")
            ))
        }
    }
}

fn snippet(body: &str) -> String {
    body.chars()
        .take(200)
        .collect::<String>()
        .replace('\n', " ")
}
