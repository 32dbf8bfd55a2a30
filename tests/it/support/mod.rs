//! How tests run the binary: [`Test`], a fluent builder (as casey/just's) that always starts
//! from a cleared environment — nothing of whoever runs the tests leaks in (credentials,
//! endpoint, colour, width) — and pins `NO_COLOR`, `COLUMNS` and `PLANRUN_NOW`; the test
//! adds what it means to set. [`Test::run`] runs to the end within a time limit,
//! [`Test::spawn`] starts a child the test watches ([`Running`], whose `finish` has one too).
//! `both_apis!` writes a test once and runs it for API 2.0 and 3.0. [`wait_for`] is the one way
//! a test waits for something to happen.

pub mod golden;
pub mod rollback;
mod running;
mod wait;

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub use running::Running;
pub use wait::{STEP, wait_for, wait_for_blocking, wait_for_every};

/// The clock rollback-time rules compare against unless a test asks for the real one.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// How long a run may take unless the test says otherwise.
pub const LIMIT: Duration = Duration::from_secs(60);

/// One run of `planrun` being set up.
#[must_use = "a Test does nothing until it is run or spawned"]
pub struct Test {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    terminal: bool,
    limit: Duration,
}

/// What a finished run said. `code` is `None` when a signal ended it; `signal` names it.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Both streams, for a failure message.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Test {
    /// `planrun` in `dir` (also its `HOME`: no credentials file of the machine is read).
    pub fn in_dir(dir: &Path) -> Self {
        let mut cmd = Command::new(bin());
        cmd.env_clear()
            .env("HOME", dir)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("PLANRUN_NOW", NOW)
            .current_dir(dir);
        Self {
            cmd,
            stdin: None,
            stdout: None,
            stderr: None,
            terminal: false,
            limit: LIMIT,
        }
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

    /// Unsets a variable this builder (or a helper building on it) set.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// The real clock instead of [`NOW`] (plans whose times are relative to today).
    pub fn real_clock(self) -> Self {
        self.env_remove("PLANRUN_NOW")
    }

    /// What the child reads on stdin (by default nothing: `/dev/null`, not a terminal).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Stdout goes there (a pipe the test holds) instead of being collected.
    pub fn stdout_to(mut self, to: impl Into<Stdio>) -> Self {
        self.stdout = Some(to.into());
        self
    }

    /// Stderr goes there instead of being collected.
    pub fn stderr_to(mut self, to: impl Into<Stdio>) -> Self {
        self.stderr = Some(to.into());
        self
    }

    /// A process group of its own (`0`: led by the child), as a shell makes one per job.
    pub fn process_group(mut self, pgid: i32) -> Self {
        std::os::unix::process::CommandExt::process_group(&mut self.cmd, pgid);
        self
    }

    /// Runs on a pseudo-terminal (made by `script`): stdin, stdout and stderr are a TTY, and
    /// what the child writes arrives on stdout (with `\r\n` line ends).
    pub fn on_terminal(mut self) -> Self {
        self.terminal = true;
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Runs to its end; a run longer than its time limit is killed and the test panics.
    pub fn run(self) -> Output {
        let limit = self.limit;
        self.spawn().finish(limit)
    }

    /// Starts the child and returns at once; stdout and stderr are collected as they come.
    pub fn spawn(mut self) -> Running {
        let captured = (self.stdout.is_none(), self.stderr.is_none());
        if self.terminal {
            self.cmd = Self::in_script(&self.cmd);
        }
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(self.stdout.take().unwrap_or_else(Stdio::piped))
            .stderr(self.stderr.take().unwrap_or_else(Stdio::piped));
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn planrun: {e}"));
        if let (Some(bytes), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            // A child that stops reading early must not block the test.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        Running::watch(child, captured)
    }

    /// `script -qec 'planrun …' /dev/null` with the same environment and directory.
    fn in_script(cmd: &Command) -> Command {
        let quote = |w: &OsStr| format!("'{}'", w.to_string_lossy().replace('\'', r"'\''"));
        let words: Vec<String> = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(quote)
            .collect();
        let mut script = Command::new("script");
        script
            .env_clear()
            .args(["-qec", &words.join(" "), "/dev/null"]);
        for (key, value) in cmd.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        if let Some(dir) = cmd.get_current_dir() {
            script.current_dir(dir);
        }
        script
    }
}

/// The journal planrun keeps for the plan file `plan` (named `name`) in `state_dir`: its file's
/// key, computed by the library as `apply` computes it (`.sandbox` for `apply --sandbox`).
pub fn journal_of(
    plan: &std::path::Path,
    name: &str,
    state_dir: &std::path::Path,
    sandboxed: bool,
) -> PathBuf {
    let key = planrun::engine::store::JournalKey::of_file(name, plan)
        .unwrap_or_else(|e| panic!("{}: {e}", plan.display()));
    state_dir.join(key.journal_name(sandboxed))
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_planrun"))
}

/// One test body run for each API generation: `both_apis! { fn name(api) { … } }` makes a
/// module `name` with the `#[test]`s `v2` and `v3`, so that a failure names the API;
/// `async fn` makes `#[tokio::test]`s.
macro_rules! both_apis {
    ($(#[doc = $doc:expr])* fn $name:ident($api:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($api: &'static str) $body

            #[test]
            fn v2() {
                body("v2");
            }

            #[test]
            fn v3() {
                body("v3");
            }
        }
    };
    ($(#[doc = $doc:expr])* async fn $name:ident($api:ident) $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($api: &'static str) $body

            #[tokio::test]
            async fn v2() {
                body("v2").await;
            }

            #[tokio::test]
            async fn v3() {
                body("v3").await;
            }
        }
    };
}
pub(crate) use both_apis;
