//! The apps' tokio runtime, with each worker thread asking the kernel for a short scheduler slice.
//!
//! A request through the App Router crosses three processes (client, router, backend), each a
//! hand-off to a thread that has to be woken. When the cores are busy, Linux's EEVDF scheduler
//! (6.6+) lets a woken thread wait until the running ones have used up their slices (1.4 ms each by
//! default on a 2-core machine), and that wait is the tail latency. Since Linux 6.12 a thread may ask for a
//! shorter slice (`sched_setattr`, `sched_runtime` of a normal task): it then gets earlier
//! deadlines and runs soon after its wake-up, while its share of the CPU stays the same. A
//! request/response server, which works in short bursts between waits, is what the short slice is
//! for. Older kernels ignore the request; it is never an error there.
//!
//! `SCHED_SLICE_US` sets the slice in microseconds (100..=100000, the kernel's range; default
//! [`DEFAULT_SLICE_US`]); `0` leaves the kernel's default.

use std::fmt;

pub const ENV: &str = "SCHED_SLICE_US";
pub const DEFAULT_SLICE_US: u64 = 100;
const MIN_SLICE_US: u64 = 100;
const MAX_SLICE_US: u64 = 100_000;

/// The scheduler slice the app's threads ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedSlice {
    /// `None`: the kernel's default.
    micros: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ENV}={value:?}: {reason}")]
pub struct SliceError {
    value: String,
    reason: &'static str,
}

/// What became of the request on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceOutcome {
    /// `SCHED_SLICE_US=0`.
    KernelDefault,
    /// The kernel reports the slice back: it is in force.
    Applied(u64),
    /// The kernel took the call but keeps its own slice (before Linux 6.12).
    Ignored,
    /// The call failed (e.g. a seccomp filter); errno text.
    Failed(i32),
}

impl fmt::Display for SliceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SliceOutcome::KernelDefault => write!(f, "kernel default ({ENV}=0)"),
            SliceOutcome::Applied(us) => write!(f, "{us} µs"),
            SliceOutcome::Ignored => {
                write!(
                    f,
                    "kernel default (this kernel has no custom slices: Linux 6.12+)"
                )
            }
            SliceOutcome::Failed(errno) => write!(
                f,
                "kernel default (sched_setattr failed: {})",
                std::io::Error::from_raw_os_error(*errno)
            ),
        }
    }
}

impl SchedSlice {
    pub fn kernel_default() -> Self {
        SchedSlice { micros: None }
    }

    pub fn micros(micros: u64) -> Result<Self, SliceError> {
        Self::parse(&micros.to_string())
    }

    /// `SCHED_SLICE_US` from the env, [`DEFAULT_SLICE_US`] when unset.
    pub fn from_env() -> Result<Self, SliceError> {
        match std::env::var(ENV) {
            Ok(value) => Self::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(SchedSlice {
                micros: Some(DEFAULT_SLICE_US),
            }),
            Err(std::env::VarError::NotUnicode(v)) => Err(SliceError {
                value: v.to_string_lossy().into_owned(),
                reason: "not valid UTF-8",
            }),
        }
    }

    pub fn parse(value: &str) -> Result<Self, SliceError> {
        let error = |reason| SliceError {
            value: value.to_owned(),
            reason,
        };
        let micros: u64 = value
            .trim()
            .parse()
            .map_err(|_| error("expected a whole number of microseconds"))?;
        match micros {
            0 => Ok(Self::kernel_default()),
            MIN_SLICE_US..=MAX_SLICE_US => Ok(SchedSlice {
                micros: Some(micros),
            }),
            _ => Err(error(
                "the kernel accepts 100..=100000 microseconds (0 = the kernel's default)",
            )),
        }
    }

    /// Asks for the slice for the calling thread and reads back what the kernel made of it.
    pub fn apply_to_current_thread(&self) -> SliceOutcome {
        let Some(micros) = self.micros else {
            return SliceOutcome::KernelDefault;
        };
        apply(micros)
    }

    /// A multi-thread runtime whose every thread (workers and blocking pool) asks for the slice;
    /// the calling thread asks too, since it runs the `block_on` future. Returns what the kernel
    /// made of it, for the start-up log.
    pub fn runtime(&self) -> std::io::Result<(tokio::runtime::Runtime, SliceOutcome)> {
        let outcome = self.apply_to_current_thread();
        let slice = *self;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .on_thread_start(move || {
                slice.apply_to_current_thread();
            })
            .build()?;
        Ok((runtime, outcome))
    }
}

/// An app's `main`: the runtime for `SCHED_SLICE_US`, then `run` on it with what the kernel made
/// of the slice (for the start-up log). A bad `SCHED_SLICE_US`, or a runtime that cannot start, is
/// a configuration error of `app`: logged, printed to stderr, and `error_code`.
pub fn block_on<F, Fut>(
    app: &str,
    error_code: std::process::ExitCode,
    run: F,
) -> std::process::ExitCode
where
    F: FnOnce(SliceOutcome) -> Fut,
    Fut: std::future::Future<Output = std::process::ExitCode>,
{
    let runtime = SchedSlice::from_env()
        .map_err(|e| e.to_string())
        .and_then(|slice| {
            slice
                .runtime()
                .map_err(|e| format!("cannot start tokio: {e}"))
        });
    match runtime {
        Ok((runtime, slice)) => runtime.block_on(run(slice)),
        Err(e) => {
            tracing::error!("configuration error: {e}");
            eprintln!("{app}: configuration error: {e}");
            error_code
        }
    }
}

#[cfg(target_os = "linux")]
fn apply(micros: u64) -> SliceOutcome {
    // SCHED_OTHER (policy 0) keeps the thread a normal, fair-share task: only its slice changes.
    let mut attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        sched_nice: 0,
        sched_priority: 0,
        sched_runtime: micros * 1000,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: plain syscalls on the calling thread (pid 0) with a correctly sized `sched_attr`
    // that lives across each call.
    #[allow(unsafe_code)]
    unsafe {
        // Keep the thread's nice value: sched_setattr sets it too.
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        if *libc::__errno_location() == 0 {
            attr.sched_nice = nice;
        }
        if libc::syscall(
            libc::SYS_sched_setattr,
            0,
            &attr as *const libc::sched_attr,
            0,
        ) != 0
        {
            return SliceOutcome::Failed(*libc::__errno_location());
        }
        let mut read = std::mem::zeroed::<libc::sched_attr>();
        let size = std::mem::size_of::<libc::sched_attr>() as u32;
        if libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut read as *mut libc::sched_attr,
            size,
            0,
        ) != 0
        {
            return SliceOutcome::Failed(*libc::__errno_location());
        }
        if read.sched_runtime == micros * 1000 {
            SliceOutcome::Applied(micros)
        } else {
            SliceOutcome::Ignored
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn apply(_micros: u64) -> SliceOutcome {
    SliceOutcome::Ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kernels_range_and_zero() {
        assert_eq!(SchedSlice::parse("0"), Ok(SchedSlice::kernel_default()));
        assert_eq!(SchedSlice::parse(" 250 ").map(|s| s.micros), Ok(Some(250)));
        assert_eq!(SchedSlice::parse("100").map(|s| s.micros), Ok(Some(100)));
        assert_eq!(
            SchedSlice::parse("100000").map(|s| s.micros),
            Ok(Some(100_000))
        );
        for bad in ["99", "100001", "-5", "1.5", "fast", ""] {
            let e = SchedSlice::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("SCHED_SLICE_US={bad:?}: ")), "{e}");
        }
        assert!(
            SchedSlice::parse("99")
                .unwrap_err()
                .to_string()
                .contains("100..=100000")
        );
    }

    #[test]
    fn kernel_default_touches_nothing() {
        assert_eq!(
            SchedSlice::kernel_default().apply_to_current_thread(),
            SliceOutcome::KernelDefault
        );
    }

    #[test]
    fn the_runtime_threads_get_the_slice_where_the_kernel_has_custom_slices() {
        let slice = SchedSlice::micros(300).unwrap();
        let (runtime, outcome) = std::thread::spawn(move || slice.runtime().unwrap())
            .join()
            .unwrap();
        let in_worker =
            runtime.block_on(async { tokio::spawn(async { read_slice_ns() }).await.unwrap() });
        match outcome {
            SliceOutcome::Applied(us) => {
                assert_eq!(us, 300);
                assert_eq!(in_worker, Some(300_000), "worker threads ask for it too");
            }
            SliceOutcome::Ignored => {
                println!("SKIPPED: this kernel has no custom scheduler slices (Linux 6.12+)")
            }
            other => panic!("sched_setattr on a normal thread must not fail: {other:?}"),
        }
    }

    fn read_slice_ns() -> Option<u64> {
        // SAFETY: as in `apply`.
        #[allow(unsafe_code)]
        unsafe {
            let mut read = std::mem::zeroed::<libc::sched_attr>();
            let size = std::mem::size_of::<libc::sched_attr>() as u32;
            (libc::syscall(libc::SYS_sched_getattr, 0, &mut read as *mut _, size, 0) == 0)
                .then_some(read.sched_runtime)
        }
    }
}
