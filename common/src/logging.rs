//! Log set-up shared by the apps: `RUST_LOG` filter (default `info`), `LOG_FORMAT=json` for one JSON
//! object per line, colours only on a terminal.
//!
//! Lines are collected in memory and written in batches by a background thread, at most
//! [`FLUSH_DELAY`] after they were logged. Why: an access log line per request written straight to
//! the pipe that Cloud Foundry's log agent (or `cargo xtask run`) reads costs a `write` syscall,
//! the stdout lock and often a wake-up of the reader, on the request's own thread; on a two-core
//! machine that was a millisecond of p99 latency at 16 concurrent requests. Batching turns
//! thousands of writes per second into a few dozen. Nothing is dropped: past [`MAX_PENDING`] bytes
//! the logging thread writes the batch itself.
//! Not `tracing-appender`'s non-blocking writer: its worker writes each line with its own `write` (the
//! syscall per line this avoids) and, when its queue is full, drops lines (or blocks the request).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait for the batch it belongs to.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);
/// Pending bytes at which a logging thread stops queueing and writes out the batch itself.
pub const MAX_PENDING: usize = 256 * 1024;

/// Where the log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

impl LogTarget {
    fn write_all(self, bytes: &[u8]) {
        // A closed or full log pipe must not take the app down; there is nowhere left to report it.
        let _ = match self {
            LogTarget::Stdout => std::io::stdout().lock().write_all(bytes),
            LogTarget::Stderr => std::io::stderr().lock().write_all(bytes),
        };
    }

    fn is_terminal(self) -> bool {
        match self {
            LogTarget::Stdout => std::io::stdout().is_terminal(),
            LogTarget::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

struct Shared {
    target: LogTarget,
    pending: Mutex<Pending>,
    wake: Condvar,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves at worst a partial line; keep logging.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, line: &[u8]) {
        let mut pending = self.lock();
        if pending.closed {
            drop(pending);
            self.target.write_all(line);
            return;
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        if pending.bytes.len() >= MAX_PENDING {
            // Writing under the lock keeps the lines in order; the other threads wait, which is
            // the back-pressure that keeps memory bounded.
            let batch = std::mem::take(&mut pending.bytes);
            self.target.write_all(&batch);
        } else if was_empty {
            self.wake.notify_one();
        }
    }

    fn flush_now(&self) {
        let mut pending = self.lock();
        let batch = std::mem::take(&mut pending.bytes);
        if !batch.is_empty() {
            self.target.write_all(&batch);
        }
    }

    fn run_flusher(&self) {
        loop {
            {
                let mut pending = self.lock();
                while pending.bytes.is_empty() && !pending.closed {
                    pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
                }
                if pending.closed {
                    return;
                }
            }
            // Let more lines join the batch.
            std::thread::sleep(FLUSH_DELAY);
            self.flush_now();
        }
    }
}

/// The `MakeWriter` handed to `tracing_subscriber::fmt`: each event is formatted whole and
/// appended with one `write`, so lines never interleave.
#[derive(Clone)]
pub struct BatchedWriter(Arc<Shared>);

impl Write for BatchedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Writes out what is pending when dropped (keep it alive for the whole of `main`); lines logged
/// after that go straight to the target.
#[must_use = "dropping the guard at once switches batching off"]
pub struct LogGuard(Arc<Shared>);

impl Drop for LogGuard {
    fn drop(&mut self) {
        let mut pending = self.0.lock();
        pending.closed = true;
        let batch = std::mem::take(&mut pending.bytes);
        if !batch.is_empty() {
            self.0.target.write_all(&batch);
        }
        drop(pending);
        self.0.wake.notify_all();
    }
}

/// A batched writer to `target` and the guard that flushes it, without installing a subscriber.
pub fn batched_writer(target: LogTarget) -> (BatchedWriter, LogGuard) {
    let shared = Arc::new(Shared {
        target,
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
    });
    let flusher = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || flusher.run_flusher());
    if spawned.is_err() {
        // Without the thread, every line is written at once.
        shared.lock().closed = true;
    }
    (BatchedWriter(shared.clone()), LogGuard(shared))
}

/// Installs the global subscriber writing to `target`.
pub fn init(target: LogTarget) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let (writer, guard) = batched_writer(target);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(target.is_terminal() && !json)
        .with_writer(writer);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging already initialised: {e}");
    }
    guard
}
