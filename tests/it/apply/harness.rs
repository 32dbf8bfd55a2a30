//! What the apply tests share: a `planrun sandbox serve` child with known credentials and its
//! counters, a temporary plan with its state directory, and children run with a time limit.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Credentials the served sandbox accepts (given to it with --secret-id/--secret-key).
pub const SECRET_ID: &str = "AKIDapplyTESTS00000000000000000000";
pub const SECRET_KEY: &str = "applyTestsSecretKey-9f8e7d6c5b4a";

/// Time limit of one `planrun apply` or `status` child.
pub const LIMIT: Duration = Duration::from_secs(60);

pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("planrun")
}

/// `planrun sandbox serve` as a child process on a free loopback port.
pub struct Served {
    child: Child,
    pub endpoint: String,
    /// The API generation the tests speak to it (`--api`).
    pub api: &'static str,
    addr: String,
}

impl Served {
    /// Tasks last about `job_seconds` (±25 %); `extra` are more `sandbox serve` flags. Spoken
    /// to through API 2.0.
    pub fn start(job_seconds: f64, extra: &[&str]) -> Self {
        Self::start_api("v2", job_seconds, extra)
    }

    /// The same, spoken to through `api` (`v2` or `v3`).
    pub fn start_api(api: &'static str, job_seconds: f64, extra: &[&str]) -> Self {
        let banner = if api == "v3" {
            "endpoint v3: "
        } else {
            "endpoint: "
        };
        let mut child = Command::new(bin())
            .args(["sandbox", "serve", "--port", "0"])
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .args(["--job-seconds", &job_seconds.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn sandbox: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the child never blocks.
                    continue;
                }
            }
        });
        let mut endpoint = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while endpoint.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("sandbox banner: {e}"));
            endpoint = line.strip_prefix(banner).map(str::to_owned);
        }
        let endpoint = endpoint.unwrap_or_default();
        let addr = endpoint
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{endpoint}");
        Self {
            child,
            endpoint,
            api,
            addr,
        }
    }

    /// `/_sandbox/counters`, read with a bare HTTP/1.0 request.
    pub fn counters(&self) -> Value {
        let mut stream = TcpStream::connect(&self.addr).unwrap_or_else(|e| panic!("counters: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("{e}"));
        write!(
            stream,
            "GET /_sandbox/counters HTTP/1.0\r\nHost: {}\r\n\r\n",
            self.addr
        )
        .unwrap_or_else(|e| panic!("counters: {e}"));
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("counters: {e}"));
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("counters {body:?}: {e}"))
    }

    /// Waits until the counters satisfy `ready` (the sandbox is another process: what it saw
    /// is only known by asking); panics after `limit`.
    pub fn wait_until(&self, what: &str, limit: Duration, ready: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let counters = self.counters();
            if ready(&counters) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sandbox never saw {what} within {limit:?}: {counters}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Requests being answered right now.
    pub fn in_flight(counters: &Value) -> u64 {
        counters["in_flight"].as_u64().unwrap_or_default()
    }

    /// Accepted submissions per instance.
    pub fn accepted(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(self.counters()["accepted_submissions"].clone())
            .unwrap_or_else(|e| panic!("accepted_submissions: {e}"))
    }

    /// Every instance of `ids` was submitted (accepted) exactly once, and nothing else was.
    pub fn assert_each_accepted_once(&self, ids: &[String]) {
        let expected: BTreeMap<String, u64> = ids.iter().map(|i| (i.clone(), 1)).collect();
        assert_eq!(self.accepted(), expected, "counters: {}", self.counters());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // Our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` instance ids `cdb-<tag><nnnn>` (tag: 4 lowercase letters).
pub fn ids(tag: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("cdb-{tag}{i:04}")).collect()
}

/// A rollback time one hour ago on the instances' clock (+08:00): valid, never in the future.
pub fn recent_time() -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("offset"));
    (chrono::Utc::now() - chrono::Duration::hours(1))
        .with_timezone(&beijing)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A plan in a temporary directory, with its own state directory.
pub struct Work {
    pub dir: tempfile::TempDir,
    pub plan: PathBuf,
}

pub const PLAN_NAME: &str = "drill";

impl Work {
    pub fn new(ids: &[String], batch_size: usize) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let plan = dir.path().join("drill.yaml");
        let work = Self { dir, plan };
        work.write_plan(ids, batch_size, "{name}_bak");
        work
    }

    pub fn write_plan(&self, ids: &[String], batch_size: usize, rename: &str) {
        let list = ids.join(", ");
        let text = format!(
            "version: 1\nname: {PLAN_NAME}\nrollback_time: \"{}\"\nstrategy: table\n\
             rename: \"{rename}\"\nregion: ap-guangzhou\nbatch_size: {batch_size}\n\
             instances:\n  - ids: [{list}]\n    tables:\n      orders: [payments, refunds]\n",
            recent_time()
        );
        std::fs::write(&self.plan, text).unwrap_or_else(|e| panic!("{e}"));
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn journal(&self) -> PathBuf {
        self.state_dir().join(format!("{PLAN_NAME}.journal"))
    }

    pub fn journal_text(&self) -> String {
        std::fs::read_to_string(self.journal()).unwrap_or_default()
    }

    /// The journal's records as JSON values (every line must parse).
    pub fn records(&self) -> Vec<Value> {
        self.journal_text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("journal line {l}: {e}")))
            .collect()
    }

    /// A command with credentials and nothing else inherited ([`crate::support::planrun`]).
    fn command(&self, served: &Served) -> Command {
        let mut cmd = crate::support::planrun(self.dir.path());
        cmd.env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
            .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
            .env("PLANRUN_ENDPOINT", &served.endpoint);
        cmd
    }

    /// `planrun apply PLAN --yes` with fast polling and its own state directory.
    pub fn apply(&self, served: &Served) -> Command {
        let mut cmd = self.apply_unconfirmed(served);
        cmd.arg("--yes");
        cmd
    }

    /// The same without `--yes`.
    pub fn apply_unconfirmed(&self, served: &Served) -> Command {
        let mut cmd = self.command(served);
        cmd.arg("apply")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--poll-interval", "100ms", "--settle", "300ms"])
            .args(["--api", served.api]);
        cmd
    }

    /// `planrun cancel PLAN --yes` for every unfinished instance.
    pub fn cancel(&self, served: &Served) -> Command {
        let mut cmd = self.command(served);
        cmd.arg("cancel")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--api", served.api, "--yes"]);
        cmd
    }

    /// `planrun plan PLAN --preflight --format json` (no state is written).
    pub fn plan_preflight_json(&self, served: &Served) -> Command {
        let mut cmd = self.command(served);
        cmd.arg("plan").arg(&self.plan).args([
            "--preflight",
            "--format",
            "json",
            "--api",
            served.api,
        ]);
        cmd
    }

    pub fn status(&self, served: &Served) -> Command {
        let mut cmd = self.command(served);
        cmd.arg("status")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--api", served.api]);
        cmd
    }
}

/// What a finished child said.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A running child whose stderr lines arrive on a channel (stdout is collected whole).
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<()>>,
}

pub fn spawn(mut cmd: Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let mut out = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let err = child.stderr.take().unwrap_or_else(|| panic!("stderr"));
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let (tx, rx) = mpsc::channel();
    let stderr = std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    Running {
        child,
        lines: rx,
        seen: Vec::new(),
        stdout: Some(stdout),
        stderr: Some(stderr),
    }
}

impl Running {
    /// Waits for a stderr line containing `needle`; panics (killing the child) after `limit`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?} ({e}); stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(mut self) -> Out {
        let _ = self.child.kill();
        self.finish(LIMIT)
    }

    /// SIGINT, as Ctrl-C sends it (`kill -INT` on our own child's id).
    pub fn interrupt(&self) {
        self.signal("INT");
    }

    /// `kill -NAME` on our own child's id.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill -{name}: {e}"));
        assert!(status.success());
    }

    /// Waits for the exit (killing the child and panicking after `limit`).
    pub fn finish(mut self, limit: Duration) -> Out {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "child ran longer than {limit:?}; stderr:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        };
        let stdout = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
        self.seen.extend(self.lines.try_iter());
        Out {
            code: status.code(),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }
}

impl Drop for Running {
    /// A test that fails half-way must not leave an apply behind (it would poll a stopped
    /// sandbox forever): our own child, by its handle.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` to its end within [`LIMIT`].
pub fn run(cmd: Command) -> Out {
    spawn(cmd).finish(LIMIT)
}

/// The `status` of each instance in a report (or `status --format json`), by id.
pub fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("no instances in {report}"))
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default().to_owned(),
                i["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn all(ids: &[String], status: &str) -> BTreeMap<String, String> {
    ids.iter().map(|i| (i.clone(), status.to_owned())).collect()
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
