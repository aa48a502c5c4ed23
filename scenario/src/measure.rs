//! Measuring the running stack: load with `wrk` (Debian's package), start-up time from exec to the
//! first answered `/health`, and resident memory from `/proc`.

use crate::ScenarioError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LoadResult {
    pub concurrency: u32,
    pub seconds: f64,
    pub requests: u64,
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Non-2xx/3xx answers plus socket errors.
    pub errors: u64,
}

/// `wrk` from the PATH, installed from Debian's packages when missing.
pub fn ensure_wrk() -> Result<PathBuf, ScenarioError> {
    if let Some(path) = which("wrk") {
        return Ok(path);
    }
    eprintln!("wrk is missing: installing Debian's package `wrk` (apt-get install -y wrk)");
    // SAFETY: geteuid(2) always succeeds and touches no memory.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    let sudo = if euid == 0 { None } else { Some("sudo") };
    for args in [
        vec!["apt-get", "update", "-qq"],
        vec!["apt-get", "install", "-y", "-qq", "wrk"],
    ] {
        let mut cmd = match sudo {
            Some(s) => {
                let mut c = Command::new(s);
                c.args(&args);
                c
            }
            None => {
                let mut c = Command::new(args[0]);
                c.args(&args[1..]);
                c
            }
        };
        let status = cmd
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| ScenarioError::Io(format!("{}: {e}", args.join(" "))))?;
        if !status.success() {
            return Err(ScenarioError::Io(format!(
                "`{}` failed ({status}); install wrk yourself: sudo apt-get install wrk",
                args.join(" ")
            )));
        }
    }
    which("wrk")
        .ok_or_else(|| ScenarioError::Io("wrk still not on the PATH after installing it".into()))
}

pub use testkit::programs::which;

/// Runs `wrk` against `url` for `duration` at `concurrency` connections, with `headers`, each
/// connection sending its next request as soon as the answer is in (the server saturated).
/// Bounded by wrk's own `-d` and a 2 s request timeout.
pub fn run_wrk(
    wrk: &Path,
    url: &str,
    headers: &[(String, String)],
    concurrency: u32,
    duration: Duration,
) -> Result<LoadResult, ScenarioError> {
    run_wrk_with(wrk, url, headers, concurrency, duration, None)
}

/// Like [`run_wrk`], but each connection pauses `pause_ms` after every answer (wrk's `delay()`
/// hook): the same 16 clients, without keeping the machine saturated, so the latency shows the
/// path itself rather than the queue in front of it.
pub fn run_wrk_paced(
    wrk: &Path,
    url: &str,
    headers: &[(String, String)],
    concurrency: u32,
    duration: Duration,
    pause_ms: u32,
) -> Result<LoadResult, ScenarioError> {
    let script = std::env::temp_dir().join(format!(
        "scenario-wrk-pace-{}-{pause_ms}.lua",
        std::process::id()
    ));
    std::fs::write(
        &script,
        format!("function delay()\n  return {pause_ms}\nend\n"),
    )
    .map_err(|e| ScenarioError::Io(format!("{}: {e}", script.display())))?;
    let result = run_wrk_with(wrk, url, headers, concurrency, duration, Some(&script));
    let _ = std::fs::remove_file(&script);
    result
}

/// Like [`run_wrk`], with a wrk Lua `script` (e.g. one that stops after a number of answers).
pub fn run_wrk_script(
    wrk: &Path,
    url: &str,
    headers: &[(String, String)],
    concurrency: u32,
    duration: Duration,
    script: &Path,
) -> Result<LoadResult, ScenarioError> {
    run_wrk_with(wrk, url, headers, concurrency, duration, Some(script))
}

fn run_wrk_with(
    wrk: &Path,
    url: &str,
    headers: &[(String, String)],
    concurrency: u32,
    duration: Duration,
    script: Option<&Path>,
) -> Result<LoadResult, ScenarioError> {
    // One load thread: on a two-core machine a second one competes with the servers it measures
    // and its own scheduling delays show up as their tail latency (direct p99 at c16 went from
    // 3.3 ms with two threads to 1.4 ms with one, at the same requests/s). One wrk thread drives
    // 64 connections at well over the direct backend's rate.
    let mut cmd = Command::new(wrk);
    cmd.arg("-t1")
        .arg(format!("-c{concurrency}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--timeout")
        .arg("2s")
        .arg("--latency");
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if let Some(script) = script {
        cmd.arg("-s").arg(script);
    }
    cmd.arg(url);
    let output = cmd
        .output()
        .map_err(|e| ScenarioError::Io(format!("wrk: {e}")))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(ScenarioError::Io(format!(
            "wrk failed ({}): {}{}",
            output.status,
            text,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse_wrk(&text, concurrency)
        .ok_or_else(|| ScenarioError::Io(format!("cannot read wrk's output:\n{text}")))
}

/// Reads wrk's `--latency` report.
pub fn parse_wrk(text: &str, concurrency: u32) -> Option<LoadResult> {
    let mut result = LoadResult {
        concurrency,
        seconds: 0.0,
        requests: 0,
        requests_per_sec: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        errors: 0,
    };
    let mut saw_rps = false;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Latency", _avg, _stdev, max, ..] => result.max_ms = duration_ms(max)?,
            ["50%", v] => result.p50_ms = duration_ms(v)?,
            ["99%", v] => result.p99_ms = duration_ms(v)?,
            [n, "requests", "in", secs, ..] => {
                result.requests = n.parse().ok()?;
                result.seconds = duration_ms(secs.trim_end_matches(','))? / 1000.0;
            }
            ["Requests/sec:", v] => {
                result.requests_per_sec = v.parse().ok()?;
                saw_rps = true;
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => result.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                for w in rest {
                    if let Ok(n) = w.trim_end_matches(',').parse::<u64>() {
                        result.errors += n;
                    }
                }
            }
            _ => {}
        }
    }
    saw_rps.then_some(result)
}

/// "1.23ms", "456.00us", "2.00s", "1.5m" in milliseconds.
fn duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        _ => return None,
    })
}

/// Milliseconds from exec to the first 2xx of `health_url`, polling every millisecond.
pub async fn startup_ms(
    app: &mut crate::process::AppProcess,
    started: Instant,
    health_url: &str,
) -> Result<f64, ScenarioError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    loop {
        app.check_alive()?;
        if let Ok(resp) = client.get(health_url).send().await
            && resp.status().is_success()
        {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(ScenarioError::NotHealthy {
                app: app.name.clone(),
                seconds: 30,
                log: app.log.tail(20),
            });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK_OUTPUT: &str =
        "Running 10s test @ http://127.0.0.1:8082/odata/v2/ProductService/Products
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.33us  201.11us  12.04ms   91.20%
    Req/Sec    13.21k     1.02k   15.11k    70.00%
  Latency Distribution
     50%  580.00us
     75%  690.00us
     90%  810.00us
     99%    1.41ms
  262931 requests in 10.00s, 1.02GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  26290.51
Transfer/sec:    104.40MB
";

    #[test]
    fn reads_wrk_latency_report() {
        let r = parse_wrk(WRK_OUTPUT, 16).unwrap();
        assert_eq!(r.requests, 262_931);
        assert_eq!(r.seconds, 10.0);
        assert_eq!(r.requests_per_sec, 26_290.51);
        assert_eq!(r.p50_ms, 0.58);
        assert_eq!(r.p99_ms, 1.41);
        assert_eq!(r.max_ms, 12.04);
        assert_eq!(r.errors, 10);
    }

    #[test]
    fn output_without_a_rate_is_not_a_result() {
        assert_eq!(
            parse_wrk("unable to connect to 127.0.0.1:1 Connection refused", 1),
            None
        );
    }
}
