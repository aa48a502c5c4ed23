//! A sandbox for running the real xtask binary: temp folders, a fake `cf` (and `cargo`) first on the
//! PATH that record their arguments and answer like the real tools.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

pub const DOMAIN: &str = "cfapps.example.com";
pub const BACKEND_URL: &str = "https://backend.example.com";
pub const CLIENT_ID: &str = "sb-XsuaaForScenario!t1";
pub const CLIENT_SECRET: &str = "fake-secret-7f3a9c";
pub const UAA_URL: &str = "https://demo.authentication.example.com";
/// The `!t<n>` the fake landscape gives the Backend API's xsappname: not the mock's 6131, so a
/// generated file that hard-codes the local suffix is caught.
pub const BACKEND_TENANT: &str = "4711";
pub const BACKEND_XSAPPNAME: &str = "Backend-service!t4711";

pub struct Sandbox {
    dir: tempfile::TempDir,
}

pub struct Outcome {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Asserts that the command's error output says `text` (and shows it when not).
    #[track_caller]
    pub fn assert_stderr_has(&self, text: &str) {
        assert!(self.stderr.contains(text), "{}", self.stderr);
    }

    /// Asserts that the command's output says `text` (and shows it when not).
    #[track_caller]
    pub fn assert_stdout_has(&self, text: &str) {
        assert!(self.stdout.contains(text), "{}", self.stdout);
    }
}

impl Sandbox {
    /// With a fake `cf` on the PATH, logged in, no services yet.
    pub fn new() -> Self {
        let sandbox = Self::without_cf();
        sandbox.write_script("bin/cf", &fake_cf(sandbox.path()));
        sandbox.write_script("fake-cargo", &fake_cargo(sandbox.path()));
        sandbox
    }

    /// No `cf` anywhere on the PATH.
    pub fn without_cf() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    /// The shipped `scenario.yaml` with each `(from, to)` replaced, written into the sandbox as
    /// `file`; returns its path as text, for `--names`.
    pub fn names_file(&self, file: &str, replacements: &[(&str, &str)]) -> String {
        let shipped =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenario.yaml"))
                .unwrap();
        let edited = replacements
            .iter()
            .fold(shipped, |text, (from, to)| text.replace(from, to));
        let path = self.path().join(file);
        std::fs::write(&path, edited).unwrap();
        path.display().to_string()
    }

    /// Services `cf service NAME --guid` reports as existing.
    pub fn existing_services(&self, names: &[&str]) {
        std::fs::write(
            self.path().join("existing-services"),
            names.join("\n") + "\n",
        )
        .unwrap();
    }

    /// `cf target` fails as it does before `cf login`.
    pub fn not_logged_in(&self) {
        std::fs::write(self.path().join("not-logged-in"), "").unwrap();
    }

    /// The fake `cf` fails this subcommand (e.g. "create-service").
    pub fn fail_cf(&self, subcommand: &str) {
        std::fs::write(self.path().join("fail-cf"), subcommand).unwrap();
    }

    /// The fake cargo has no `zigbuild` subcommand.
    pub fn no_zigbuild(&self) {
        std::fs::write(self.path().join("no-zigbuild"), "").unwrap();
    }

    /// A folder with stand-ins for the release binaries, so tests never build them.
    pub fn prebuilt(&self) -> PathBuf {
        let dir = self.path().join("prebuilt");
        std::fs::create_dir_all(&dir).unwrap();
        for binary in ["approuter", "bsclient", "backend-api"] {
            std::fs::write(dir.join(binary), format!("#!/bin/sh\necho {binary}\n")).unwrap();
        }
        dir
    }

    /// The xtask binary with the sandbox's PATH and no deployment settings inherited from the caller.
    pub fn xtask(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        let path = format!("{}:/usr/bin:/bin", self.path().join("bin").display());
        cmd.env("PATH", path)
            .env("CARGO", self.path().join("fake-cargo"))
            .env("CARGO_TARGET_DIR", self.path().join("target"))
            .env_remove("CF_DOMAIN")
            .env_remove("BACKEND_URL")
            .env_remove("BACKEND_XSAPPNAME")
            .env_remove("CF_HOST_SUFFIX")
            .current_dir(self.path());
        cmd
    }

    /// Like [`xtask`](Self::xtask) but PATH holds only an empty folder.
    pub fn xtask_without_path(&self) -> Command {
        let mut cmd = self.xtask();
        let empty = self.path().join("empty-bin");
        std::fs::create_dir_all(&empty).unwrap();
        cmd.env("PATH", empty);
        cmd
    }

    /// Argument lines the fake `cf` received, in order.
    pub fn cf_calls(&self) -> Vec<String> {
        read_lines(&self.path().join("cf-calls.log"))
    }

    pub fn cargo_calls(&self) -> Vec<String> {
        read_lines(&self.path().join("cargo-calls.log"))
    }

    fn write_script(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

pub fn run(mut cmd: Command) -> Outcome {
    let output = cmd.output().expect("xtask binary runs");
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// The fake CLI answers `target`, `service NAME --guid` and `service-key` the way cf v8 does.
fn fake_cf(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        r#"#!/bin/sh
printf '%s\n' "$*" >> '{dir}/cf-calls.log'
if [ -e '{dir}/fail-cf' ] && [ "$1" = "$(cat '{dir}/fail-cf')" ]; then
  echo "FAILED" >&2
  exit 1
fi
case "$1" in
  target)
    if [ -e '{dir}/not-logged-in' ]; then
      echo "FAILED"
      echo "Not logged in. Use 'cf login' or 'cf login --sso' to log in." >&2
      exit 1
    fi
    echo "API endpoint:   https://api.cf.example.com"
    echo "org:            demo-org"
    echo "space:          dev"
    ;;
  service)
    if grep -qx "$2" '{dir}/existing-services' 2>/dev/null; then
      echo "0f6c7d5e-1b2a-4c3d-9e8f-123456789abc"
      exit 0
    fi
    echo "Service instance '$2' not found" >&2
    exit 1
    ;;
  service-key)
    echo "Getting key $3 for service instance $2 as demo@example.com..."
    echo
    if [ "$2" = "BackendXsuaa" ]; then
      cat <<'JSON'
{{
  "credentials": {{
    "clientid": "sb-Backend-service!t{BACKEND_TENANT}",
    "clientsecret": "backend-secret",
    "url": "{UAA_URL}",
    "uaadomain": "authentication.example.com",
    "xsappname": "Backend-service!t{BACKEND_TENANT}"
  }}
}}
JSON
      exit 0
    fi
    cat <<'JSON'
{{
  "credentials": {{
    "apiurl": "https://api.authentication.example.com",
    "clientid": "{CLIENT_ID}",
    "clientsecret": "{CLIENT_SECRET}",
    "identityzone": "demo",
    "tenantmode": "dedicated",
    "uaadomain": "authentication.example.com",
    "url": "{UAA_URL}",
    "xsappname": "XsuaaForScenario!t1"
  }}
}}
JSON
    ;;
  *)
    echo "OK"
    ;;
esac
exit 0
"#
    )
}

/// Stands in for cargo: records the call and "builds" by writing small scripts where cargo would.
fn fake_cargo(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        r#"#!/bin/sh
printf '%s\n' "$*" >> '{dir}/cargo-calls.log'
case "$1" in
  zigbuild)
    if [ -e '{dir}/no-zigbuild' ]; then
      echo "error: no such command: \`zigbuild\`" >&2
      exit 101
    fi
    if [ "$2" = "--version" ]; then echo "cargo-zigbuild 0.20.0"; exit 0; fi
    out="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
    ;;
  build)
    out="$CARGO_TARGET_DIR/release"
    ;;
  *)
    exit 101
    ;;
esac
mkdir -p "$out"
for b in approuter bsclient backend-api; do printf '#!/bin/sh\necho built-%s\n' "$b" > "$out/$b"; done
"#
    )
}
