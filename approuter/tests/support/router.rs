//! The router under test: in-process on 127.0.0.1:0, or the real `approuter` binary as a process.

use approuter::{App, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::net::{free_port, wait_healthy};

pub struct TestRouter {
    pub url: String,
    pub app: Arc<App>,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes `xs_app` into a fresh directory and returns the env the router reads, with `extra` on top.
pub fn env_with(
    dir: &Path,
    xs_app: &serde_json::Value,
    destinations: &serde_json::Value,
    extra: &[(&str, String)],
) -> HashMap<String, String> {
    let path = dir.join("xs-app.json");
    std::fs::write(&path, xs_app.to_string()).unwrap();
    let mut env = HashMap::new();
    env.insert("XS_APP_JSON".to_string(), path.display().to_string());
    env.insert("destinations".to_string(), destinations.to_string());
    for (k, v) in extra {
        env.insert(k.to_string(), v.clone());
    }
    env
}

impl TestRouter {
    pub async fn start(
        xs_app: serde_json::Value,
        destinations: serde_json::Value,
        extra: &[(&str, String)],
    ) -> Self {
        Self::start_with_dir(tempfile::tempdir().unwrap(), xs_app, destinations, extra).await
    }

    /// Like [`TestRouter::start`] in a directory the caller prepared (e.g. with static files).
    pub async fn start_with_dir(
        dir: tempfile::TempDir,
        xs_app: serde_json::Value,
        destinations: serde_json::Value,
        extra: &[(&str, String)],
    ) -> Self {
        let env = env_with(dir.path(), &xs_app, &destinations, extra);
        let config = Config::from_lookup(|k| env.get(k).cloned())
            .unwrap_or_else(|e| panic!("test configuration refused: {e}"));
        let app = App::new(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = app.clone();
        let task = tokio::spawn(async move {
            let _ = approuter::serve(listener, served, std::future::pending()).await;
        });
        wait_healthy(&url).await;
        TestRouter {
            url,
            app,
            dir,
            task,
        }
    }
}

/// The real binary, started with exactly the given env (plus PATH), killed on drop.
pub struct RouterProcess {
    pub url: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for RouterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(env: &HashMap<String, String>, log: &Path) -> Command {
    // `__BIN` (not passed on) runs another build of the binary, e.g. the release one.
    let binary = env
        .get("__BIN")
        .cloned()
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_approuter").to_string());
    let mut cmd = Command::new(binary);
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("RUST_LOG", "info");
    cmd.envs(env.iter().filter(|(k, _)| k.as_str() != "__BIN"));
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    cmd.stdout(Stdio::from(out)).stderr(Stdio::from(err));
    cmd
}

impl RouterProcess {
    pub async fn spawn(mut env: HashMap<String, String>, dir: &Path) -> Self {
        let port = free_port();
        env.insert("PORT".into(), port.to_string());
        env.insert("BIND_ADDRESS".into(), "127.0.0.1".into());
        let log = dir.join(format!("approuter-{port}.log"));
        let child = command(&env, &log).spawn().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut process = RouterProcess { url, child, log };
        let start = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = process.child.try_wait().unwrap() {
                panic!(
                    "approuter exited during start-up ({status}):\n{}",
                    process.log_text()
                );
            }
            if let Ok(r) = client.get(format!("{}/health", process.url)).send().await
                && r.status().is_success()
            {
                return process;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "approuter did not become healthy:\n{}",
                process.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `VmRSS` or `VmHWM` (peak) of the process in KiB, from /proc.
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// Runs the binary with `env` and expects it to stop on its own; returns its exit status
    /// success flag and its output.
    pub fn run_to_exit(env: HashMap<String, String>, dir: &Path) -> (bool, String) {
        let mut env = env;
        env.entry("PORT".into())
            .or_insert_with(|| free_port().to_string());
        env.insert("BIND_ADDRESS".into(), "127.0.0.1".into());
        let log = dir.join("exit.log");
        let mut child = command(&env, &log).spawn().unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "approuter did not stop on a bad configuration:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (
            status.success(),
            std::fs::read_to_string(&log).unwrap_or_default(),
        )
    }
}
