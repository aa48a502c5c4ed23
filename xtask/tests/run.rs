//! `cargo xtask run` as a user meets it: the real command starts the three apps, prints the App
//! Router's URL, serves, and stops everything on Ctrl-C. (A port in use: `tests/manifests.rs`.)
//! The app binaries are the ones `cargo test --workspace` built (`--no-build`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn xtask_run(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.arg("run").arg("--no-build").args(args);
    cmd
}

/// Status line of `GET path` on `host:port`, bounded by short timeouts.
/// The status line of `GET path`.
fn http_status(addr: &str, path: &str, accept: &str) -> std::io::Result<String> {
    Ok(http_get(addr, path, accept)?
        .lines()
        .next()
        .unwrap_or_default()
        .to_string())
}

/// The whole answer (head and body) of `GET path`.
fn http_get(addr: &str, path: &str, accept: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_serves_the_scenario_and_stops_on_ctrl_c() {
    let mut child = xtask_run(&[
        "--port",
        "0",
        "--bsclient-port",
        "0",
        "--xsuaa-port",
        "0",
        "--destination-port",
        "0",
        "--backend-port",
        "0",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no App Router URL within 60 s:\n{}", seen.join("\n")));
        if let Some((_, url)) = line.split_once("Open the App Router:") {
            break url.trim().to_string();
        }
        seen.push(line);
    };
    let addr = url.trim_start_matches("http://").to_string();
    assert!(
        seen.iter().any(|l| l.contains("alice")),
        "the demo users are printed before the URL:\n{}",
        seen.join("\n")
    );

    assert!(
        http_status(&addr, "/health", "*/*")
            .unwrap()
            .contains(" 200"),
        "the App Router answers"
    );
    // The login page that keeps the URL's fragment and goes on to XSUAA's authorize endpoint.
    let login = http_get(&addr, "/mainentry", "text/html").unwrap();
    assert!(
        login.starts_with("HTTP/1.1 200") && login.contains("/oauth/authorize?"),
        "a browser is sent to log in: {login}"
    );

    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stop_deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < stop_deadline,
            "Ctrl-C did not stop it within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "Ctrl-C is a normal end: {status}");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the App Router is stopped with it"
    );
}
