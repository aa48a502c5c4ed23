//! One app as a child process: env like Cloud Foundry's, logs captured line by line with the app's
//! name as prefix, health polling, and a SIGTERM (Cloud Foundry's stop signal) on drop.

use crate::ScenarioError;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LOG_LINES_KEPT: usize = 400;

/// Where the workspace's binaries are: next to this test executable's `deps/` folder, or the
/// current executable's folder (xtask runs from `target/<profile>/`).
pub fn binary_path(app: &str) -> Result<PathBuf, ScenarioError> {
    binary_path_in(None, app)
}

/// `app` in `dir`, or where [`binary_path`] looks when `dir` is `None`.
pub fn binary_path_in(dir: Option<&Path>, app: &str) -> Result<PathBuf, ScenarioError> {
    let dir = match dir {
        Some(dir) => dir.to_path_buf(),
        None => {
            let exe = std::env::current_exe().map_err(|e| ScenarioError::Io(e.to_string()))?;
            let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
            if dir.file_name().is_some_and(|n| n == "deps") {
                dir.pop();
            }
            dir
        }
    };
    let path = dir.join(app);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ScenarioError::BinaryMissing {
            app: app.to_string(),
            path: path.display().to_string(),
        })
    }
}

/// Captured log lines, shared with the reader threads.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<VecDeque<String>>>);

impl LogBuffer {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == LOG_LINES_KEPT {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last `n` lines, joined.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let skip = lines.len().saturating_sub(n);
        lines
            .iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn contains(&self, needle: &str) -> bool {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().any(|l| l.contains(needle))
    }

    /// Whether a line containing `needle` arrives within `timeout`: the reader threads take a
    /// process's output as it comes, so a line printed just before an answer may land after it.
    pub async fn wait_for(&self, needle: &str, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.contains(needle) {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The first kept line containing `needle`.
    pub fn find(&self, needle: &str) -> Option<String> {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().find(|l| l.contains(needle)).cloned()
    }
}

pub struct AppProcess {
    pub name: String,
    child: Child,
    pub log: LogBuffer,
}

impl AppProcess {
    /// Starts `binary` with exactly `env` on top of a minimal inherited env (PATH, HOME, RUST_LOG),
    /// so what works here works with the env Cloud Foundry gives.
    pub fn spawn(
        name: &str,
        binary: &Path,
        args: &[String],
        env: &[(String, String)],
        workdir: &Path,
        echo: bool,
    ) -> Result<Self, ScenarioError> {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .current_dir(workdir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in [
            "PATH",
            "HOME",
            "RUST_LOG",
            "RUST_BACKTRACE",
            "MALLOC_ARENA_MAX",
        ] {
            if let Ok(value) = std::env::var(var) {
                cmd.env(var, value);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: prctl in the forked child before exec touches no Rust state; it makes the
        // kernel stop the app if the harness dies without running its destructors.
        #[allow(unsafe_code)]
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| ScenarioError::Spawn {
            app: name.to_string(),
            reason: format!("{}: {e}", binary.display()),
        })?;
        let log = LogBuffer::default();
        if let Some(out) = child.stdout.take() {
            pump(name, out, log.clone(), echo);
        }
        if let Some(err) = child.stderr.take() {
            pump(name, err, log.clone(), echo);
        }
        Ok(Self {
            name: name.to_string(),
            child,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` with the app's log when it has exited.
    pub fn check_alive(&mut self) -> Result<(), ScenarioError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                // Give the reader threads a moment to drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                Err(ScenarioError::DiedAtStartup {
                    app: self.name.clone(),
                    status: status.to_string(),
                    log: self.log.tail(40),
                })
            }
            Err(e) => Err(ScenarioError::Io(e.to_string())),
        }
    }

    /// Polls `url` until it answers 2xx, the process dies or `timeout` passes.
    pub async fn wait_healthy(
        &mut self,
        url: &str,
        timeout: Duration,
    ) -> Result<(), ScenarioError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let start = Instant::now();
        loop {
            self.check_alive()?;
            if let Ok(resp) = client.get(url).send().await
                && resp.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(ScenarioError::NotHealthy {
                    app: self.name.clone(),
                    seconds: timeout.as_secs(),
                    log: self.log.tail(40),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then SIGKILL if the app has not stopped after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: plain kill(2) on our own child's pid.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// CPU time used so far in ms ([`cpu_ms`]).
    pub fn cpu_ms(&self) -> Option<f64> {
        cpu_ms(self.child.id())
    }

    /// Resident memory of the process in KiB (from /proc), for benchmarks and memory tests.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.child.id())
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// CPU time the process has used so far, user plus system, all threads, in milliseconds (from
/// `/proc/<pid>/stat`, whose clock ticks are `USER_HZ` = 100 per second on Linux).
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 * 10.0)
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The highest RSS the process has had (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn pump(name: &str, stream: impl Read + Send + 'static, log: LogBuffer, echo: bool) {
    let prefix = format!("[{name}]");
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if echo {
                println!("{prefix} {line}");
            }
            log.push(line);
        }
    });
}
