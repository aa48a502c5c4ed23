//! `cargo xtask bench`: the stack's speed and memory, measured in one run so that ratios hold on
//! a noisy shared machine. Every load is bounded by its duration; logins by count and time.

use crate::measure::{self, LoadResult};
use crate::process::AppProcess;
use crate::{Browser, ScenarioError, Stack, StackOptions};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub seconds: u64,
    pub concurrencies: Vec<u32>,
    /// Logged-in sessions the App Router holds for the memory measurement.
    pub sessions: usize,
    /// Where the release binaries are.
    pub binary_dir: PathBuf,
    /// Anonymous browser requests of the flood case (0: no flood).
    pub anonymous: u64,
    /// Seconds of the soak (0: no soak).
    pub soak_seconds: u64,
    /// Other App Router binaries (a label and the path), e.g. a build of an earlier commit: each
    /// serves the same route on the same stack right after ours, so a change on the request path
    /// gets its before/after numbers from one run.
    pub compare_approuters: Vec<(String, PathBuf)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub name: String,
    pub load: LoadResult,
    /// RSS in KiB of the processes on the path, idle before and at the end of the load.
    pub rss_kib_before: Vec<(String, u64)>,
    pub rss_kib_after: Vec<(String, u64)>,
    /// CPU time each process on the path spent per request over the load, in ms (from /proc):
    /// unlike req/s, the ratio of two of these holds across machines.
    pub cpu_ms_per_request: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub what: String,
    pub measured: f64,
    pub limit: String,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub seconds_per_case: u64,
    pub cases: Vec<Case>,
    pub startup_ms: Vec<(String, f64)>,
    pub approuter_sessions: usize,
    pub approuter_rss_kib_idle: u64,
    pub approuter_rss_kib_with_sessions: u64,
    pub login_seconds: f64,
    pub ratios: Vec<(String, f64)>,
    pub targets: Vec<Target>,
    /// Why the tutorial's Node.js app was not measured, when it was not.
    pub node_baseline_skipped: Option<String>,
    /// Why SAP's `@sap/approuter` was not measured, when it was not.
    pub sap_baseline_skipped: Option<String>,
    /// The scheduler slice the App Router's threads got (its start-up log's `sched_slice`): the
    /// c16 tails depend on it, and kernels before Linux 6.12 keep their own.
    pub approuter_sched_slice: Option<String>,
    /// Anonymous browser requests against a fresh App Router (`--anonymous`).
    pub anonymous_flood: Option<AnonymousFlood>,
    /// Mixed traffic with failing upstream calls (`--soak`).
    pub soak: Option<Soak>,
}

const BACKEND_PATH: &str = "/odata/v2/ProductService/Products";

fn rss(processes: &[&AppProcess]) -> Vec<(String, u64)> {
    processes
        .iter()
        .map(|p| (p.name.clone(), p.rss_kib().unwrap_or(0)))
        .collect()
}

/// A saturated load's case name (without the concurrency), URL, headers and the processes on it.
type LoadPath<'a> = (String, String, &'a [(String, String)], Vec<&'a AppProcess>);

/// How each connection sends its requests.
#[derive(Clone, Copy)]
enum Pace {
    /// The next request as soon as the answer is in.
    Saturated,
    /// A pause of this many milliseconds after each answer.
    ThinkMs(u32),
}

/// The load tool and the time per case.
struct Load<'a> {
    wrk: &'a std::path::Path,
    duration: Duration,
}

impl Load<'_> {
    /// One case: the RSS of the processes `on_path` idle, the load, their RSS at its end.
    fn case(
        &self,
        name: String,
        url: &str,
        headers: &[(String, String)],
        concurrency: u32,
        pace: Pace,
        on_path: &[&AppProcess],
    ) -> Result<Case, ScenarioError> {
        let before = rss(on_path);
        let cpu_before: Vec<f64> = on_path.iter().map(|p| p.cpu_ms().unwrap_or(0.0)).collect();
        let load = match pace {
            Pace::Saturated => {
                measure::run_wrk(self.wrk, url, headers, concurrency, self.duration)?
            }
            Pace::ThinkMs(ms) => {
                measure::run_wrk_paced(self.wrk, url, headers, concurrency, self.duration, ms)?
            }
        };
        let rss_after = rss(on_path);
        let requests = load.requests.max(1) as f64;
        let cpu_ms_per_request = on_path
            .iter()
            .zip(cpu_before)
            .map(|(p, before)| {
                let used = p.cpu_ms().unwrap_or(before) - before;
                (p.name.clone(), used / requests)
            })
            .collect();
        Ok(Case {
            name,
            load,
            rss_kib_before: before,
            rss_kib_after: rss_after,
            cpu_ms_per_request,
        })
    }
}

pub async fn run(options: BenchOptions) -> Result<Report, ScenarioError> {
    let wrk = measure::ensure_wrk()?;
    let duration = Duration::from_secs(options.seconds);
    let stack = Stack::start(StackOptions {
        binary_dir: Some(options.binary_dir.clone()),
        // The router-to-backend path: the same endpoint as "direct", with session lookup,
        // proxying and the forwarded token on top.
        extra_routes: vec![json!({
            "source": "^/backend/(.*)$",
            "target": "/$1",
            "destination": "backend",
            "authenticationType": "xsuaa",
            "csrfProtection": false,
        })],
        extra_destinations: vec![json!({
            "name": "backend", "url": "{backend}", "forwardAuthToken": true,
        })],
        ..StackOptions::default()
    })
    .await?;
    let sched_slice = stack.approuter.log.find("sched_slice=").and_then(|line| {
        line.split_once("sched_slice=")
            .map(|(_, v)| v.trim().to_string())
    });
    let alice = stack
        .names
        .users
        .first()
        .cloned()
        .ok_or_else(|| ScenarioError::Login("scenario.yaml has no users".into()))?;

    // One logged-in browser session for the router case, and alice's token for the direct cases.
    let cookie = login_cookie(
        &stack.approuter_url,
        &format!("/backend{BACKEND_PATH}?$top=1"),
        &alice.name,
        &alice.password,
        "",
    )
    .await?;
    let token = user_token(&stack, &alice.name, &alice.password).await?;
    let bearer = vec![("Authorization".to_string(), format!("Bearer {token}"))];

    let (mut cold, cold_url, _) =
        stack.spawn_bsclient(&[("BSCLIENT_DISABLE_CACHE".into(), "true".into())])?;
    cold.wait_healthy(&format!("{cold_url}/health"), Duration::from_secs(30))
        .await?;

    let mut node_skipped = None;
    let node_app = match node_baseline(&stack, &options, &bearer).await {
        Ok(app) => Some(app),
        Err(reason) => {
            eprintln!("the tutorial's Node.js app is not measured: {reason}");
            node_skipped = Some(reason);
            None
        }
    };

    let mut sap_skipped = None;
    let sap_router = match sap_baseline(&stack, &options, &alice.name, &alice.password).await {
        Ok(router) => Some(router),
        Err(reason) => {
            eprintln!("SAP's @sap/approuter is not measured: {reason}");
            sap_skipped = Some(reason);
            None
        }
    };

    let mut compared = Vec::new();
    for (label, binary) in &options.compare_approuters {
        compared.push((
            label.clone(),
            other_approuter(&stack, binary, &alice.name, &alice.password).await?,
        ));
    }

    let load = Load {
        wrk: &wrk,
        duration,
    };
    let direct_url = format!("{}{BACKEND_PATH}", stack.backend_url());
    let router_url = format!("{}/backend{BACKEND_PATH}", stack.approuter_url);
    let router_headers = vec![("Cookie".to_string(), cookie.clone())];
    let mainentry_headers = headers_for_mainentry(&bearer);
    let warm_url = format!("{}/mainentry", stack.bsclient_url);
    let get_token = format!("{}/getToken?ttl=3600", stack.bsclient_url);
    let other_headers: Vec<Vec<(String, String)>> = compared
        .iter()
        .map(|(_, (_, _, cookie))| vec![("Cookie".to_string(), cookie.clone())])
        .collect();
    let sap_headers = sap_router
        .as_ref()
        .map(|(_, _, cookie)| vec![("Cookie".to_string(), cookie.clone())]);

    // Every saturated path: its case name, URL, headers and the processes it runs through. The
    // compared App Routers and SAP's follow ours directly, so their numbers are the closest in time.
    let mut paths: Vec<LoadPath> = vec![
        (
            "direct backend".into(),
            direct_url.clone(),
            &bearer,
            vec![&stack.mock],
        ),
        (
            ROUTER_CASE.into(),
            router_url.clone(),
            &router_headers,
            vec![&stack.approuter, &stack.mock],
        ),
    ];
    for ((label, (other, other_url, _)), headers) in compared.iter().zip(&other_headers) {
        paths.push((
            compared_case(label),
            format!("{other_url}/backend{BACKEND_PATH}"),
            headers,
            vec![other, &stack.mock],
        ));
    }
    if let (Some((sap, sap_url, _)), Some(headers)) = (&sap_router, &sap_headers) {
        paths.push((
            SAP_CASE.into(),
            format!("{sap_url}/backend{BACKEND_PATH}"),
            headers,
            vec![sap, &stack.mock],
        ));
    }
    // Seed 003's token provider (HERE flavour): served from the cache, and (cold bsclient) one
    // signed request to the mock HERE endpoint per call.
    paths.extend([
        (
            "bsclient /mainentry warm".into(),
            warm_url.clone(),
            &mainentry_headers[..],
            vec![&stack.bsclient, &stack.mock],
        ),
        (
            "bsclient /mainentry cold".into(),
            format!("{cold_url}/mainentry"),
            &mainentry_headers[..],
            vec![&cold, &stack.mock],
        ),
        (
            "bsclient /getToken warm".into(),
            get_token.clone(),
            &bearer[..],
            vec![&stack.bsclient],
        ),
        (
            "bsclient /getToken cold".into(),
            format!("{cold_url}/getToken?ttl=3600"),
            &bearer[..],
            vec![&cold, &stack.mock],
        ),
    ]);
    if let Some((node, node_url)) = &node_app {
        paths.push((
            NODE_CASE.into(),
            format!("{node_url}/mainentry"),
            &mainentry_headers,
            vec![node, &stack.mock],
        ));
    }

    let mut cases = Vec::new();
    for &c in &options.concurrencies {
        // Fill the caches once, so the warm cases measure warm requests only.
        warm_up(&warm_url, &mainentry_headers).await?;
        warm_up(&get_token, &bearer).await?;
        for (name, url, headers, on_path) in &paths {
            cases.push(load.case(
                format!("{name} c{c}"),
                url,
                headers,
                c,
                Pace::Saturated,
                on_path,
            )?);
        }
    }
    drop(paths);
    drop(cold);
    drop(compared);
    drop(node_app);
    drop(sap_router);

    // The same 16 clients with 4 ms of think time each: the latency of the path itself, next to the
    // saturated c16 case above, whose latency is mostly waiting in line for the two cores.
    if options.concurrencies.contains(&16) {
        let paced = Pace::ThinkMs(PACE_MS);
        cases.push(load.case(
            format!("direct backend c16 {PACED}"),
            &direct_url,
            &bearer,
            16,
            paced,
            &[&stack.mock],
        )?);
        cases.push(load.case(
            format!("approuter -> backend c16 {PACED}"),
            &router_url,
            &router_headers,
            16,
            paced,
            &[&stack.approuter, &stack.mock],
        )?);
    }

    let mut startup_ms = Vec::new();
    for app in ["approuter", "bsclient"] {
        let (mut process, url, started) = match app {
            "approuter" => stack.spawn_approuter(&[])?,
            _ => stack.spawn_bsclient(&[])?,
        };
        let ms = measure::startup_ms(&mut process, started, &format!("{url}/health")).await?;
        startup_ms.push((app.to_string(), ms));
    }

    // A fresh App Router holding `sessions` logged-in sessions.
    let (mut router, router_url, _) = stack.spawn_approuter(&[])?;
    router
        .wait_healthy(&format!("{router_url}/health"), Duration::from_secs(30))
        .await?;
    let idle = router.rss_kib().unwrap_or(0);
    let login_started = Instant::now();
    let logged_in = login_many(
        &router_url,
        &alice.name,
        &alice.password,
        options.sessions,
        Duration::from_secs(300),
    )
    .await?;
    let login_seconds = login_started.elapsed().as_secs_f64();
    let with_sessions = router.rss_kib().unwrap_or(0);

    let mut report = report(
        &options,
        cases,
        startup_ms,
        logged_in,
        idle,
        with_sessions,
        login_seconds,
    );
    report.node_baseline_skipped = node_skipped;
    report.sap_baseline_skipped = sap_skipped;
    report.approuter_sched_slice = sched_slice;
    drop(router);
    if options.anonymous > 0 {
        report.anonymous_flood = Some(
            anonymous_flood(
                &stack,
                &wrk,
                &alice.name,
                &alice.password,
                options.anonymous,
            )
            .await?,
        );
    }
    if options.soak_seconds > 0 {
        report.soak = Some(
            soak(
                &stack,
                &wrk,
                &alice.name,
                &alice.password,
                options.soak_seconds,
            )
            .await?,
        );
    }
    report.targets.extend(security_targets(
        report.anonymous_flood.as_ref(),
        report.soak.as_ref(),
    ));
    Ok(report)
}

const NODE_CASE: &str = "node tutorial app /mainentry";

/// The case name of a compared App Router binary (`--compare-approuter LABEL=PATH`).
fn compared_case(label: &str) -> String {
    format!("approuter[{label}] -> backend")
}

/// Starts another App Router binary with our router's environment and logs alice in through it.
async fn other_approuter(
    stack: &Stack,
    binary: &std::path::Path,
    user: &str,
    password: &str,
) -> Result<(AppProcess, String, String), ScenarioError> {
    let (mut process, url, _) = stack.spawn_approuter_binary(binary, &[])?;
    process
        .wait_healthy(&format!("{url}/health"), Duration::from_secs(30))
        .await?;
    let cookie = login_cookie(
        &url,
        &format!("/backend{BACKEND_PATH}?$top=1"),
        user,
        password,
        "",
    )
    .await?;
    Ok((process, url, cookie))
}
/// Logs `user` in through the router at `base` (the login form of the mock XSUAA, as a browser)
/// and returns the session's `Cookie` header; `page_has` must be in the page the login ends on.
async fn login_cookie(
    base: &str,
    path: &str,
    user: &str,
    password: &str,
    page_has: &str,
) -> Result<String, ScenarioError> {
    let browser = Browser::new();
    let page = browser
        .login(&format!("{base}{path}"), user, password)
        .await?;
    if !page.status.is_success() || !page.body.contains(page_has) {
        return Err(ScenarioError::Login(format!(
            "login through {base} ended with {}: {}",
            page.status,
            page.body.chars().take(300).collect::<String>()
        )));
    }
    browser
        .cookie_header(base)
        .ok_or_else(|| ScenarioError::Login("no session cookie after login".into()))
}

const SAP_CASE: &str = "sap approuter -> backend";
const ROUTER_CASE: &str = "approuter -> backend";
const PACE_MS: u32 = 4;
const PACED: &str = "paced 4 ms";

/// The user's token and `Accept: application/json`, as the App Router forwards a fetch.
fn headers_for_mainentry(bearer: &[(String, String)]) -> Vec<(String, String)> {
    let mut headers = bearer.to_vec();
    headers.push(("Accept".to_string(), "application/json".to_string()));
    headers
}

/// Node.js, and the folder next to the binaries (kept between runs) where a Node.js baseline is
/// installed.
fn node_and_dir(options: &BenchOptions, name: &str) -> Result<(PathBuf, PathBuf), String> {
    let node =
        measure::which("node").ok_or("node is not on the PATH (bash .ci/setup installs it)")?;
    let dir = options
        .binary_dir
        .parent()
        .unwrap_or(&options.binary_dir)
        .join(name);
    Ok((node, dir))
}

/// Installs and starts the tutorial's Node.js app and checks that it really shows the products
/// (it answers 200 even for its errors, so the load tool alone could not tell).
async fn node_baseline(
    stack: &Stack,
    options: &BenchOptions,
    bearer: &[(String, String)],
) -> Result<(AppProcess, String), String> {
    let (node, dir) = node_and_dir(options, "node-tutorial")?;
    eprintln!("preparing the tutorial's Node.js app in {}", dir.display());
    crate::node::prepare(&dir)?;
    let (mut process, url) = stack
        .spawn_node_tutorial(&node, &dir)
        .map_err(|e| e.to_string())?;
    // Without a token the app answers 200 with its own error text: it is up.
    process
        .wait_healthy(&format!("{url}/mainentry"), Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    let (_, body) = get(&format!("{url}/mainentry"), &headers_for_mainentry(bearer))
        .await
        .map_err(|e| format!("GET /mainentry: {e}"))?;
    if !body.contains("RESULT of request to Backend service") || !body.contains("ProductID") {
        return Err(format!(
            "it does not show the products: {}\n{}",
            body.chars().take(300).collect::<String>(),
            process.log.tail(20)
        ));
    }
    Ok((process, url))
}

/// Installs (into the build's target dir, kept between runs) and starts SAP's `@sap/approuter`
/// with our App Router's `xs-app.json`, destinations and bindings, connection reuse to backends
/// on as on Cloud Foundry, and logs a browser in through the mock XSUAA's form. Returns it, its
/// URL and the session's `Cookie` header.
async fn sap_baseline(
    stack: &Stack,
    options: &BenchOptions,
    user: &str,
    password: &str,
) -> Result<(AppProcess, String, String), String> {
    let (node, dir) = node_and_dir(options, "sap-approuter")?;
    eprintln!(
        "preparing @sap/approuter {} in {}",
        crate::sap_approuter::VERSION,
        dir.display()
    );
    crate::sap_approuter::prepare(&dir)?;
    let (mut process, url) = stack
        .spawn_sap_approuter(
            &node,
            &dir,
            &[("DISABLE_CONNECTION_REUSE".into(), "false".into())],
        )
        .map_err(|e| e.to_string())?;
    // SAP's router has no health endpoint: its login page answers once it listens.
    process
        .wait_healthy(&format!("{url}/backend/"), Duration::from_secs(60))
        .await
        .map_err(|e| e.to_string())?;
    let cookie = login_cookie(
        &url,
        &format!("/backend{BACKEND_PATH}?$top=1"),
        user,
        password,
        "ProductID",
    )
    .await
    .map_err(|e| format!("{e}\n{}", process.log.tail(20)))?;
    Ok((process, url, cookie))
}

/// A token for `user` from the mock XSUAA (password grant with the xsuaa binding's client).
pub async fn user_token(
    stack: &Stack,
    user: &str,
    password: &str,
) -> Result<String, ScenarioError> {
    let creds = &stack.mock_ready.vcap_services["xsuaa"][0]["credentials"];
    let (Some(id), Some(secret)) = (creds["clientid"].as_str(), creds["clientsecret"].as_str())
    else {
        return Err(ScenarioError::ReadyFile {
            path: "vcap_services.xsuaa[0].credentials".into(),
            reason: "no clientid/clientsecret".into(),
        });
    };
    let resp: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", stack.xsuaa_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await?
        .json()
        .await?;
    resp["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ScenarioError::Login(format!("password grant for {user} failed: {resp}")))
}

/// `GET url` with `headers`: the status and the body.
async fn get(
    url: &str,
    headers: &[(String, String)],
) -> Result<(reqwest::StatusCode, String), ScenarioError> {
    let client = reqwest::Client::new();
    let mut request = client.get(url);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let resp = request.send().await?;
    let status = resp.status();
    Ok((status, resp.text().await.unwrap_or_default()))
}

async fn warm_up(url: &str, headers: &[(String, String)]) -> Result<(), ScenarioError> {
    let (status, body) = get(url, headers).await?;
    if !status.is_success() {
        return Err(ScenarioError::Http(format!(
            "{url} answered {status}: {body}"
        )));
    }
    Ok(())
}

/// Logs in `count` times (16 at once), each login a new browser, and keeps the sessions alive by
/// leaving them in the router. Stops at `limit`.
async fn login_many(
    router_url: &str,
    user: &str,
    password: &str,
    count: usize,
    limit: Duration,
) -> Result<usize, ScenarioError> {
    use futures_util::{StreamExt, stream};
    let started = Instant::now();
    let url = format!("{router_url}/backend{BACKEND_PATH}?$top=1");
    let results: Vec<bool> = stream::iter(0..count)
        .map(|_| {
            let url = url.clone();
            async move {
                if started.elapsed() > limit {
                    return false;
                }
                let browser = Browser::new();
                matches!(browser.login(&url, user, password).await, Ok(p) if p.status.is_success())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    Ok(results.into_iter().filter(|ok| *ok).count())
}

fn rps(cases: &[Case], name: &str) -> f64 {
    cases
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.load.requests_per_sec)
        .unwrap_or(0.0)
}

/// CPU per request of `router` over that of the Backend API (the mock) in the case `name`: the
/// router does the backend's socket work twice (client side and backend side), so about 1 is
/// near the limit, on any machine.
fn cpu_ratio(cases: &[Case], name: &str, router: &str) -> Option<f64> {
    let case = cases.iter().find(|c| c.name == name)?;
    let of = |process: &str| {
        case.cpu_ms_per_request
            .iter()
            .find(|(p, _)| p == process)
            .map(|(_, ms)| *ms)
    };
    let backend = of("mock-platform")?;
    (backend > 0.0).then(|| of(router).unwrap_or(0.0) / backend)
}

fn report(
    options: &BenchOptions,
    cases: Vec<Case>,
    startup_ms: Vec<(String, f64)>,
    sessions: usize,
    idle: u64,
    with_sessions: u64,
    login_seconds: f64,
) -> Report {
    let mut ratios = Vec::new();
    let mut targets = Vec::new();
    for &c in &options.concurrencies {
        let direct = rps(&cases, &format!("direct backend c{c}"));
        let router = rps(&cases, &format!("approuter -> backend c{c}"));
        let warm = rps(&cases, &format!("bsclient /mainentry warm c{c}"));
        let cold = rps(&cases, &format!("bsclient /mainentry cold c{c}"));
        let router_ratio = if direct > 0.0 { router / direct } else { 0.0 };
        let warm_ratio = if cold > 0.0 { warm / cold } else { 0.0 };
        ratios.push((format!("approuter/direct c{c}"), router_ratio));
        ratios.push((format!("warm/cold c{c}"), warm_ratio));
        let sap = rps(&cases, &format!("{SAP_CASE} c{c}"));
        if sap > 0.0 {
            let ours_vs_sap = router / sap;
            ratios.push((format!("approuter/sap approuter req/s c{c}"), ours_vs_sap));
            if c == 16 {
                targets.push(Target {
                    what: "approuter req/s vs @sap/approuter's, c16".into(),
                    measured: ours_vs_sap,
                    limit: ">= 20".into(),
                    met: ours_vs_sap >= 20.0,
                });
            }
            let rss_after = |name: &str, process: &str| {
                cases
                    .iter()
                    .find(|x| x.name == name)
                    .and_then(|x| x.rss_kib_after.iter().find(|(p, _)| p == process))
                    .map_or(0.0, |(_, kib)| *kib as f64)
            };
            let ours = rss_after(&format!("{ROUTER_CASE} c{c}"), "approuter");
            let theirs = rss_after(&format!("{SAP_CASE} c{c}"), "sap-approuter");
            if ours > 0.0 && theirs > 0.0 {
                let rss_ratio = ours / theirs;
                ratios.push((
                    format!("approuter/sap approuter RSS under load c{c}"),
                    rss_ratio,
                ));
                if c == 16 {
                    targets.push(Target {
                        what: "approuter RSS vs @sap/approuter's under load, c16".into(),
                        measured: rss_ratio,
                        limit: "<= 0.125".into(),
                        met: rss_ratio <= 0.125,
                    });
                }
            }
            if let Some(cpu) = cpu_ratio(&cases, &format!("{SAP_CASE} c{c}"), "sap-approuter") {
                ratios.push((
                    format!("sap approuter CPU/backend CPU per request c{c}"),
                    cpu,
                ));
            }
        }
        if let Some(cpu) = cpu_ratio(&cases, &format!("{ROUTER_CASE} c{c}"), "approuter") {
            ratios.push((format!("approuter CPU/backend CPU per request c{c}"), cpu));
            if c == 16 {
                targets.push(Target {
                    what: "approuter CPU per request vs the Backend API's, c16".into(),
                    measured: cpu,
                    limit: "<= 1.3".into(),
                    met: cpu <= 1.3,
                });
            }
        }
        for (label, _) in &options.compare_approuters {
            let name = format!("{} c{c}", compared_case(label));
            let other = rps(&cases, &name);
            if other > 0.0 {
                ratios.push((
                    format!("approuter/approuter[{label}] req/s c{c}"),
                    router / other,
                ));
            }
            let cpu = |case: &str, process: &str| {
                cases
                    .iter()
                    .find(|x| x.name == case)
                    .and_then(|x| x.cpu_ms_per_request.iter().find(|(p, _)| p == process))
                    .map(|(_, ms)| *ms)
            };
            if let (Some(ours), Some(theirs)) = (
                cpu(&format!("{ROUTER_CASE} c{c}"), "approuter"),
                cpu(&name, "approuter"),
            ) && theirs > 0.0
            {
                ratios.push((
                    format!("approuter/approuter[{label}] CPU per request c{c}"),
                    ours / theirs,
                ));
            }
        }
        let node = rps(&cases, &format!("{NODE_CASE} c{c}"));
        if node > 0.0 {
            ratios.push((format!("bsclient warm/node tutorial app c{c}"), warm / node));
            ratios.push((format!("bsclient cold/node tutorial app c{c}"), cold / node));
        }
        targets.push(Target {
            what: format!("approuter path req/s vs direct, c{c}"),
            measured: router_ratio,
            limit: ">= 0.45".into(),
            met: router_ratio >= 0.45,
        });
        targets.push(Target {
            what: format!("warm /mainentry vs cold, c{c}"),
            measured: warm_ratio,
            limit: ">= 10".into(),
            met: warm_ratio >= 10.0,
        });
        if c == 16
            && let Some(case) = cases.iter().find(|x| x.name == "approuter -> backend c16")
        {
            targets.push(Target {
                what: "approuter path p99 at c16 (ms)".into(),
                measured: case.load.p99_ms,
                limit: "< 2".into(),
                met: case.load.p99_ms < 2.0,
            });
        }
    }
    let mib = with_sessions as f64 / 1024.0;
    targets.push(Target {
        what: format!("approuter RSS with {sessions} sessions (MiB)"),
        measured: mib,
        limit: "< 20".into(),
        met: mib < 20.0,
    });
    for (app, ms) in &startup_ms {
        targets.push(Target {
            what: format!("{app} start-up, exec to first /health (ms)"),
            measured: *ms,
            limit: "< 50".into(),
            met: *ms < 50.0,
        });
    }
    Report {
        seconds_per_case: options.seconds,
        cases,
        startup_ms,
        approuter_sessions: sessions,
        approuter_rss_kib_idle: idle,
        approuter_rss_kib_with_sessions: with_sessions,
        login_seconds,
        ratios,
        targets,
        node_baseline_skipped: None,
        sap_baseline_skipped: None,
        approuter_sched_slice: None,
        anonymous_flood: None,
        soak: None,
    }
}

/// The report as a table for stdout.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<34} {:>10} {:>9} {:>9} {:>9} {:>7}  {}\n",
        "case", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "RSS KiB before -> after"
    ));
    for case in &report.cases {
        let rss: Vec<String> = case
            .rss_kib_before
            .iter()
            .zip(&case.rss_kib_after)
            .map(|((name, b), (_, a))| format!("{name} {b}->{a}"))
            .collect();
        let cpu: Vec<String> = case
            .cpu_ms_per_request
            .iter()
            .map(|(name, ms)| format!("{name} {:.1}", ms * 1000.0))
            .collect();
        out.push_str(&format!(
            "{:<34} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>7}  {}; CPU µs/request: {}\n",
            case.name,
            case.load.requests_per_sec,
            case.load.p50_ms,
            case.load.p99_ms,
            case.load.max_ms,
            case.load.errors,
            rss.join(", "),
            cpu.join(", ")
        ));
    }
    out.push('\n');
    for (app, ms) in &report.startup_ms {
        out.push_str(&format!("start-up {app}: {ms:.1} ms\n"));
    }
    out.push_str(&format!(
        "approuter scheduler slice: {}\n",
        report
            .approuter_sched_slice
            .as_deref()
            .unwrap_or("not in its log")
    ));
    out.push_str(&format!(
        "approuter RSS: {} KiB idle, {} KiB holding {} sessions (logins took {:.1} s)\n\n",
        report.approuter_rss_kib_idle,
        report.approuter_rss_kib_with_sessions,
        report.approuter_sessions,
        report.login_seconds
    ));
    for (name, ratio) in &report.ratios {
        out.push_str(&format!("ratio {name}: {ratio:.2}\n"));
    }
    if let Some(reason) = &report.node_baseline_skipped {
        out.push_str(&format!("node tutorial app not measured: {reason}\n"));
    }
    if let Some(reason) = &report.sap_baseline_skipped {
        out.push_str(&format!("@sap/approuter not measured: {reason}\n"));
    }
    out.push_str(&render_security(
        report.anonymous_flood.as_ref(),
        report.soak.as_ref(),
    ));
    out.push('\n');
    for t in &report.targets {
        out.push_str(&format!(
            "[{}] {}: {:.2} (target {})\n",
            if t.met { "met" } else { "MISSED" },
            t.what,
            t.measured,
            t.limit
        ));
    }
    out
}

// ---------------------------------------------------------------- anonymous flood and soak
//
// Issue 12: anonymous browser GETs must cost the App Router nothing it keeps, and the whole stack
// must hold flat memory under mixed traffic with failing upstream calls. Both measure honestly
// whatever the router does today and print [MISSED] when a target is missed.

/// Anonymous requests that are answered within this many MiB of the idle RSS meet the target.
const FLAT_MIB: f64 = 5.0;
/// Connections of the anonymous load (one wrk thread).
const ANONYMOUS_CONNECTIONS: u32 = 32;
/// The path logged-in users and anonymous browsers ask for (a protected route).
const PROTECTED_PATH: &str = "/backend/odata/v2/ProductService/Products?$top=1";
/// A path of the same route whose backend calls the soak makes fail.
const FAILING_PATH: &str = "/backend/odata/v2/ProductService/Products(1)";
const FAILING_PREFIX: &str = "/odata/v2/ProductService/Products(";

/// Requests sent by the bench's own clients, by outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClientLoad {
    pub requests: u64,
    pub ok: u64,
    /// Answers the case provoked on purpose (the injected upstream failure, as a 5xx).
    pub expected_failures: u64,
    /// Everything else: a wrong status, a redirect to the login page, a transport error.
    pub unexpected: u64,
    pub max_ms: f64,
    /// The first few unexpected outcomes, for the report.
    pub examples: Vec<String>,
}

impl ClientLoad {
    fn merge(&mut self, other: ClientLoad) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.expected_failures += other.expected_failures;
        self.unexpected += other.unexpected;
        self.max_ms = self.max_ms.max(other.max_ms);
        for e in other.examples {
            if self.examples.len() < 5 {
                self.examples.push(e);
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AnonymousFlood {
    /// Anonymous requests asked for (`--anonymous`).
    pub requested: u64,
    /// Answers wrk counted (it stops at `requested`, or at its time limit).
    pub answered: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    /// Answers other than the redirect to the login page, and socket errors.
    pub errors: u64,
    /// A fresh App Router after one login and a few logged-in requests.
    pub rss_kib_idle: u64,
    /// After the flood, its connections closed.
    pub rss_kib_after: u64,
    /// The highest RSS the router reached (`VmHWM`).
    pub rss_kib_peak: u64,
    /// The logged-in user's requests while the flood ran.
    pub logged_in: ClientLoad,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakProcess {
    pub name: String,
    pub rss_kib_start: u64,
    pub rss_kib_end: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Soak {
    pub seconds: u64,
    pub processes: Vec<SoakProcess>,
    /// Logged-in requests through the App Router to the Backend API.
    pub router_to_backend: ClientLoad,
    /// Logged-in requests through the App Router to bsclient's `/mainentry` (Destination
    /// service, token exchange, Backend API).
    pub router_to_bsclient: ClientLoad,
    /// Logged-in requests whose backend call fails (`/__mock/fail`, 503): expected failures.
    pub failing_upstream: ClientLoad,
    /// Anonymous browser GETs, all the time (wrk).
    pub anonymous: LoadResult,
    pub expected_failures: u64,
    pub unexpected_errors: u64,
}

/// `GET url` with `headers` by `workers` clients in a loop, each pausing `pause` after an answer,
/// until `stop` is set; `expected_failure` says which non-2xx statuses the case provokes.
fn spawn_clients(
    url: String,
    headers: Vec<(String, String)>,
    workers: usize,
    pause: Duration,
    expected_failure: fn(u16) -> bool,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<ClientLoad>> {
    use std::sync::atomic::Ordering;
    (0..workers)
        .map(|_| {
            let (url, headers, stop) = (url.clone(), headers.clone(), stop.clone());
            tokio::spawn(async move {
                let mut load = ClientLoad::default();
                let client = match reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(10))
                    .build()
                {
                    Ok(c) => c,
                    Err(e) => {
                        load.unexpected += 1;
                        load.examples.push(format!("no HTTP client: {e}"));
                        return load;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let mut request = client.get(&url);
                    for (k, v) in &headers {
                        request = request.header(k, v);
                    }
                    let started = Instant::now();
                    let outcome = match request.send().await {
                        Ok(resp) => {
                            let status = resp.status();
                            // The body too: an answer counts when it is complete.
                            match resp.bytes().await {
                                Ok(_) if status.is_success() => Ok(()),
                                Ok(_) if expected_failure(status.as_u16()) => Err(None),
                                Ok(_) => Err(Some(format!("{status}"))),
                                Err(e) => Err(Some(format!("{status}, body: {e}"))),
                            }
                        }
                        Err(e) => Err(Some(format!("{e}"))),
                    };
                    load.requests += 1;
                    load.max_ms = load.max_ms.max(started.elapsed().as_secs_f64() * 1000.0);
                    match outcome {
                        Ok(()) => load.ok += 1,
                        Err(None) => load.expected_failures += 1,
                        Err(Some(what)) => {
                            load.unexpected += 1;
                            if load.examples.len() < 5 {
                                load.examples.push(what);
                            }
                        }
                    }
                    if !pause.is_zero() {
                        tokio::time::sleep(pause).await;
                    }
                }
                load
            })
        })
        .collect()
}

async fn join_clients(handles: Vec<tokio::task::JoinHandle<ClientLoad>>) -> ClientLoad {
    let mut total = ClientLoad::default();
    for h in handles {
        match h.await {
            Ok(load) => total.merge(load),
            Err(e) => {
                total.unexpected += 1;
                total.examples.push(format!("client task failed: {e}"));
            }
        }
    }
    total
}

fn no_failure_expected(_: u16) -> bool {
    false
}

/// The injected 503, as the router passes it on or maps it (502/503/504).
fn upstream_failure(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// wrk with a Lua script that stops after `count` answers (one wrk thread, so one counter), or
/// at `limit`, whichever comes first.
fn run_wrk_count(
    wrk: &std::path::Path,
    url: &str,
    headers: &[(String, String)],
    concurrency: u32,
    count: u64,
    limit: Duration,
) -> Result<LoadResult, ScenarioError> {
    let script = std::env::temp_dir().join(format!(
        "scenario-wrk-count-{}-{count}.lua",
        std::process::id()
    ));
    std::fs::write(
        &script,
        format!(
            "local answered = 0\n\
             function response(status, headers, body)\n  \
               answered = answered + 1\n  \
               if answered >= {count} then wrk.thread:stop() end\n\
             end\n"
        ),
    )
    .map_err(|e| ScenarioError::Io(format!("{}: {e}", script.display())))?;
    let result = measure::run_wrk_script(wrk, url, headers, concurrency, limit, &script);
    let _ = std::fs::remove_file(&script);
    result
}

/// Headers of a browser navigating without a session: it gets sent to the login page.
fn anonymous_browser() -> Vec<(String, String)> {
    vec![(
        "Accept".to_string(),
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".to_string(),
    )]
}

/// A fresh App Router: `count` anonymous browser GETs of a protected route (each answered with
/// the redirect to XSUAA) while a logged-in user keeps asking for data; its RSS idle, at the end
/// and at its peak.
pub async fn anonymous_flood(
    stack: &Stack,
    wrk: &std::path::Path,
    user: &str,
    password: &str,
    count: u64,
) -> Result<AnonymousFlood, ScenarioError> {
    let (mut router, router_url, _) = stack.spawn_approuter(&[])?;
    router
        .wait_healthy(&format!("{router_url}/health"), Duration::from_secs(30))
        .await?;
    let cookie = login_cookie(&router_url, PROTECTED_PATH, user, password, "").await?;
    let logged_in = vec![
        ("Cookie".to_string(), cookie),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    let url = format!("{router_url}{PROTECTED_PATH}");
    // A few logged-in requests first, so "idle" includes what serving one user takes.
    warm_up(&url, &logged_in).await?;
    let idle = router.rss_kib().unwrap_or(0);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients = spawn_clients(
        url.clone(),
        logged_in,
        2,
        Duration::from_millis(5),
        no_failure_expected,
        stop.clone(),
    );
    // About 4,000 answers a second at the least, else the time limit ends it (and the report
    // shows how many were answered).
    let limit = Duration::from_secs((count / 4000).max(20));
    let flood = {
        let (wrk, url) = (wrk.to_path_buf(), url.clone());
        tokio::task::spawn_blocking(move || {
            run_wrk_count(
                &wrk,
                &url,
                &anonymous_browser(),
                ANONYMOUS_CONNECTIONS,
                count,
                limit,
            )
        })
        .await
        .map_err(|e| ScenarioError::Io(format!("the load thread failed: {e}")))?
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let logged_in = join_clients(clients).await;
    let flood = flood?;
    let after = router.rss_kib().unwrap_or(0);
    let peak = crate::process::peak_rss_kib(router.pid()).unwrap_or(0);
    Ok(AnonymousFlood {
        requested: count,
        answered: flood.requests,
        seconds: flood.seconds,
        requests_per_sec: flood.requests_per_sec,
        errors: flood.errors,
        rss_kib_idle: idle,
        rss_kib_after: after,
        rss_kib_peak: peak,
        logged_in,
    })
}

/// `seconds` of logged-in traffic (router -> backend, router -> bsclient), anonymous browser
/// traffic and logged-in requests whose backend call fails, against the running stack; the RSS
/// of each process at the start and the end.
pub async fn soak(
    stack: &Stack,
    wrk: &std::path::Path,
    user: &str,
    password: &str,
    seconds: u64,
) -> Result<Soak, ScenarioError> {
    // A login of its own: the bench's first session may have idled out by now.
    let cookie = login_cookie(&stack.approuter_url, PROTECTED_PATH, user, password, "").await?;
    let logged_in = vec![
        ("Cookie".to_string(), cookie),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    let router = &stack.approuter_url;
    let backend_url = format!("{router}{PROTECTED_PATH}");
    let bsclient_url = format!("{router}/mainentry");
    let failing_url = format!("{router}{FAILING_PATH}");
    let anonymous_url = format!("{router}/mainentry");

    // Every backend call under `Products(` fails from now on, until the soak ends.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let fault_url = format!("{}/__mock/fail", stack.backend_url());
    let set = http
        .post(&fault_url)
        .json(&json!({"status": 503, "path_prefix": FAILING_PREFIX}))
        .send()
        .await?;
    if !set.status().is_success() {
        return Err(ScenarioError::Http(format!(
            "POST {fault_url} answered {}",
            set.status()
        )));
    }
    // One request of each kind before the start, so the start RSS includes serving them.
    warm_up(&backend_url, &logged_in).await?;
    warm_up(&bsclient_url, &logged_in).await?;
    let processes = [&stack.approuter, &stack.bsclient, &stack.mock];
    let start = rss(&processes);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pause = Duration::from_millis(2);
    let backend = spawn_clients(
        backend_url,
        logged_in.clone(),
        2,
        pause,
        no_failure_expected,
        stop.clone(),
    );
    let bsclient = spawn_clients(
        bsclient_url,
        logged_in.clone(),
        2,
        pause,
        no_failure_expected,
        stop.clone(),
    );
    let failing = spawn_clients(
        failing_url,
        logged_in,
        1,
        pause,
        upstream_failure,
        stop.clone(),
    );
    let anonymous = {
        let wrk = wrk.to_path_buf();
        tokio::task::spawn_blocking(move || {
            measure::run_wrk(
                &wrk,
                &anonymous_url,
                &anonymous_browser(),
                8,
                Duration::from_secs(seconds),
            )
        })
        .await
        .map_err(|e| ScenarioError::Io(format!("the load thread failed: {e}")))?
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let router_to_backend = join_clients(backend).await;
    let router_to_bsclient = join_clients(bsclient).await;
    let failing_upstream = join_clients(failing).await;
    let _ = http.delete(&fault_url).send().await;
    let anonymous = anonymous?;
    let end = rss(&processes);

    let unexpected_errors = router_to_backend.unexpected
        + router_to_bsclient.unexpected
        + failing_upstream.unexpected
        + anonymous.errors;
    let expected_failures = failing_upstream.expected_failures;
    Ok(Soak {
        seconds,
        processes: start
            .into_iter()
            .zip(end)
            .map(|((name, s), (_, e))| SoakProcess {
                name,
                rss_kib_start: s,
                rss_kib_end: e,
            })
            .collect(),
        router_to_backend,
        router_to_bsclient,
        failing_upstream,
        anonymous,
        expected_failures,
        unexpected_errors,
    })
}

fn mib_over(after: u64, before: u64) -> f64 {
    (after as f64 - before as f64) / 1024.0
}

/// The targets of the flood and the soak.
pub fn security_targets(flood: Option<&AnonymousFlood>, soak: Option<&Soak>) -> Vec<Target> {
    let mut targets = Vec::new();
    if let Some(f) = flood {
        let grown = mib_over(f.rss_kib_after, f.rss_kib_idle);
        targets.push(Target {
            what: format!(
                "approuter RSS after {} anonymous requests, MiB over idle",
                f.answered
            ),
            measured: grown,
            limit: format!("<= {FLAT_MIB}"),
            met: grown <= FLAT_MIB && f.answered >= f.requested,
        });
        let failed = f.logged_in.unexpected + f.errors;
        targets.push(Target {
            what: format!(
                "errors during the anonymous flood ({} logged-in requests served)",
                f.logged_in.ok
            ),
            measured: failed as f64,
            limit: "= 0".into(),
            met: failed == 0 && f.logged_in.ok > 0,
        });
    }
    if let Some(s) = soak {
        for p in &s.processes {
            let grown = mib_over(p.rss_kib_end, p.rss_kib_start);
            targets.push(Target {
                what: format!("{} RSS growth over the {} s soak (MiB)", p.name, s.seconds),
                measured: grown,
                limit: format!("<= {FLAT_MIB}"),
                met: grown <= FLAT_MIB,
            });
        }
        targets.push(Target {
            what: format!(
                "unexpected errors in the soak ({} expected failures)",
                s.expected_failures
            ),
            measured: s.unexpected_errors as f64,
            limit: "= 0".into(),
            met: s.unexpected_errors == 0 && s.expected_failures > 0,
        });
    }
    targets
}

/// The flood and the soak as lines of the report.
pub fn render_security(flood: Option<&AnonymousFlood>, soak: Option<&Soak>) -> String {
    let mut out = String::new();
    let load = |l: &ClientLoad| {
        format!(
            "{} requests: {} ok, {} expected failures, {} unexpected{} (max {:.1} ms)",
            l.requests,
            l.ok,
            l.expected_failures,
            l.unexpected,
            if l.examples.is_empty() {
                String::new()
            } else {
                format!(" e.g. {}", l.examples.join("; "))
            },
            l.max_ms
        )
    };
    if let Some(f) = flood {
        out.push_str(&format!(
            "anonymous flood: {} of {} answered in {:.1} s ({:.0} req/s, {} not the login page); \
             approuter RSS {} KiB idle -> {} KiB after (peak {} KiB)\n  logged-in meanwhile: {}\n",
            f.answered,
            f.requested,
            f.seconds,
            f.requests_per_sec,
            f.errors,
            f.rss_kib_idle,
            f.rss_kib_after,
            f.rss_kib_peak,
            load(&f.logged_in)
        ));
    }
    if let Some(s) = soak {
        let rss: Vec<String> = s
            .processes
            .iter()
            .map(|p| format!("{} {}->{}", p.name, p.rss_kib_start, p.rss_kib_end))
            .collect();
        out.push_str(&format!(
            "soak {} s: RSS KiB start->end: {}; {} expected failures, {} unexpected errors\n  \
             router -> backend: {}\n  router -> bsclient: {}\n  failing upstream: {}\n  \
             anonymous: {} requests, {:.0} req/s, {} not the login page\n",
            s.seconds,
            rss.join(", "),
            s.expected_failures,
            s.unexpected_errors,
            load(&s.router_to_backend),
            load(&s.router_to_bsclient),
            load(&s.failing_upstream),
            s.anonymous.requests,
            s.anonymous.requests_per_sec,
            s.anonymous.errors
        ));
    }
    out
}
