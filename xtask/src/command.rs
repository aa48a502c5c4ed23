//! External commands that are printed exactly as a user would type them, before they run.
//! Not `xshell`: its echo shows the program it runs (cargo's absolute `$CARGO`, not `cargo`) and
//! quotes only arguments with spaces, Rust-style, so its lines do not paste into a shell.

use crate::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    /// What the user sees as the program (`cargo` instead of the absolute path cargo gave us).
    shown_as: String,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: &str) -> Self {
        Self {
            program: program.into(),
            shown_as: program.to_string(),
            args: Vec::new(),
            cwd: None,
        }
    }

    /// Runs `program` but prints `shown_as`.
    pub fn with_program(program: impl Into<OsString>, shown_as: &str) -> Self {
        Self {
            program: program.into(),
            shown_as: shown_as.to_string(),
            args: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
    }

    /// Prints the command line (`$ ...`) so the log reads like a shell session.
    pub fn announce(&self) {
        println!("$ {self}");
        // Our line must come before the child's own output, which goes straight to the terminal.
        let _ = std::io::stdout().flush();
    }

    /// Prints, runs with the terminal's stdout/stderr, and fails on a non-zero exit.
    pub fn run(&self) -> Result<(), Error> {
        self.announce();
        let status = self
            .command()
            .status()
            .map_err(|source| self.spawn_error(source))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::CommandFailed {
                command: self.to_string(),
                status: status.to_string(),
                detail: String::new(),
            })
        }
    }

    /// Prints and runs with captured output; the caller decides what of it may be shown
    /// (a service key's output holds a client secret and is never echoed).
    pub fn output(&self) -> Result<Output, Error> {
        self.announce();
        self.command()
            .stdin(Stdio::null())
            .output()
            .map_err(|source| self.spawn_error(source))
    }

    /// Runs with captured output and without printing: for queries such as `cargo tree`.
    pub fn quiet_output(&self) -> Result<Output, Error> {
        self.command()
            .stdin(Stdio::null())
            .output()
            .map_err(|source| self.spawn_error(source))
    }

    /// Runs without printing: for probes whose outcome, not output, matters.
    pub fn probe(&self) -> bool {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn spawn_error(&self, source: std::io::Error) -> Error {
        Error::Spawn {
            command: self.to_string(),
            source,
        }
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&shell_quote(&self.shown_as))?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(&arg.to_string_lossy()))?;
        }
        Ok(())
    }
}

/// Quotes for a POSIX shell so a printed command can be copied and pasted.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Whether `name` is an executable file in a directory of `PATH` (what the shell would run).
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_commands_can_be_pasted_into_a_shell() {
        let cmd = Cmd::new("cf")
            .args(["create-service", "xsuaa", "application", "My Instance"])
            .arg("-c")
            .arg("/tmp/it's/xs-security.json");
        assert_eq!(
            cmd.to_string(),
            r"cf create-service xsuaa application 'My Instance' -c '/tmp/it'\''s/xs-security.json'"
        );
        assert_eq!(
            shell_quote("x86_64-unknown-linux-gnu.2.35"),
            "x86_64-unknown-linux-gnu.2.35"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a!b"), "'a!b'");
    }
}
