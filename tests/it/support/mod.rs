//! How tests run the binary: [`Test`], a fluent builder (as casey/just's) that always starts
//! from a cleared environment — nothing of whoever runs the tests leaks in (credentials,
//! endpoint, colour, width) — and pins `NO_COLOR`, `COLUMNS` and `PLANRUN_NOW`; the test
//! adds what it means to set.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The clock rollback-time rules compare against unless a test asks for the real one.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// One run of `planrun` being set up.
pub struct Test {
    cmd: assert_cmd::Command,
}

/// What a finished run said.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    /// `planrun` in `dir` (also its `HOME`: no credentials file of the machine is read).
    pub fn in_dir(dir: &Path) -> Self {
        let mut cmd = assert_cmd::Command::new(bin());
        cmd.env_clear()
            .env("HOME", dir)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("PLANRUN_NOW", NOW)
            .current_dir(dir)
            .timeout(Duration::from_secs(60));
        Self { cmd }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// The real clock instead of [`NOW`] (plans whose times are relative to today).
    pub fn real_clock(mut self) -> Self {
        self.cmd.env_remove("PLANRUN_NOW");
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Self {
        self.cmd.timeout(limit);
        self
    }

    /// Runs to its end; a run killed by its time limit panics.
    pub fn run(mut self) -> Output {
        let out = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("planrun runs: {e}"));
        Output {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("planrun was killed (time limit?)")),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command itself, for a test that spawns it or uses assert_cmd's own checks.
    pub fn command(self) -> assert_cmd::Command {
        self.cmd
    }
}

/// The binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("planrun")
}

/// `planrun` as a `std::process::Command` with the same cleared environment, but the real
/// clock (for runs that must be spawned and watched, with times relative to today).
pub fn planrun(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    cmd.env_clear()
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .current_dir(home)
        .stdin(std::process::Stdio::null());
    cmd
}
