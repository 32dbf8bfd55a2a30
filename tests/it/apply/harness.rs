//! What the apply tests share: a `planrun sandbox serve` child with known credentials and its
//! counters, and a temporary plan with its state directory whose commands are [`Test`]s.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

pub use crate::support::{LIMIT, Output, Running, Test};
use crate::support::{STEP, wait_for_blocking};

/// Credentials the served sandbox accepts (given to it with --secret-id/--secret-key).
pub const SECRET_ID: &str = "AKIDapplyTESTS00000000000000000000";
pub const SECRET_KEY: &str = "applyTestsSecretKey-9f8e7d6c5b4a";

/// `planrun sandbox serve` as a child process on a free loopback port.
pub struct Served {
    // Dropped first: the child is killed before its home goes.
    _child: Running,
    _home: tempfile::TempDir,
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
        let home = tempfile::tempdir().unwrap();
        let mut child = Test::in_dir(home.path())
            .real_clock()
            .args(["sandbox", "serve", "--port", "0"])
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .args(["--job-seconds", &job_seconds.to_string()])
            // These tests make up their fleets.
            .arg("--any-instance")
            .args(extra)
            .spawn();
        let line = child.wait_for_stdout(banner, Duration::from_secs(20));
        let endpoint = line
            .strip_prefix(banner)
            .unwrap_or_else(|| panic!("banner line {line:?}"))
            .to_owned();
        let addr = endpoint
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{endpoint}");
        Self {
            _child: child,
            _home: home,
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
            .unwrap();
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
        wait_for_blocking(&format!("the sandbox to see {what}"), limit, STEP, || {
            let counters = self.counters();
            if ready(&counters) {
                Ok(())
            } else {
                Err(counters)
            }
        });
    }

    /// Requests being answered right now.
    pub fn in_flight(counters: &Value) -> u64 {
        counters["in_flight"].as_u64().unwrap_or_default()
    }

    /// The rollback times the sandbox's tasks of request `job` on `instance` echo (asked
    /// through planrun's own API 3.0 client: DescribeRollbackTaskDetail by AsyncRequestId).
    pub fn echoed_times(&self, instance: &str, job: &str) -> Vec<String> {
        use planrun::api::v3::{AsyncRequestId, Client};
        use planrun::api::{ClientConfig, Credentials};
        let config = ClientConfig::new(
            self.endpoint.clone(),
            "ap-guangzhou",
            Credentials::new(SECRET_ID, SECRET_KEY),
        );
        let client = Client::new(config).unwrap_or_else(|e| panic!("client: {e}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tasks = runtime
            .block_on(client.all_rollback_tasks(instance, Some(&AsyncRequestId(job.to_owned()))))
            .unwrap_or_else(|e| panic!("DescribeRollbackTaskDetail: {e}"));
        tasks
            .iter()
            .filter_map(|t| t.detail_of(instance).map(|d| d.rollback_time.clone()))
            .collect()
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

/// `n` instance ids `cdb-<tag><nnnn>` (tag: 4 lowercase letters).
pub fn ids(tag: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("cdb-{tag}{i:04}")).collect()
}

/// A rollback time one hour ago on the instances' clock (+08:00): valid, never in the future.
pub fn recent_time() -> String {
    hours_ago(1)
}

/// A rollback time `hours` ago on the instances' clock (+08:00).
pub fn hours_ago(hours: i64) -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("offset"));
    (chrono::Utc::now() - chrono::Duration::hours(hours))
        .with_timezone(&beijing)
        .format(planrun::contract::TIME_FORMAT)
        .to_string()
}

/// The text of a plan (named `name`, else after its file) rolling back `orders.payments` and
/// `orders.refunds` of `ids` as `rename` says, an hour ago.
pub fn plan_text(name: Option<&str>, ids: &[String], batch_size: usize, rename: &str) -> String {
    plan_text_at(name, ids, batch_size, rename, &recent_time())
}

/// The same, rolling back to `time`.
pub fn plan_text_at(
    name: Option<&str>,
    ids: &[String],
    batch_size: usize,
    rename: &str,
    time: &str,
) -> String {
    let list = ids.join(", ");
    let name = name.map(|n| format!("name: \"{n}\"\n")).unwrap_or_default();
    format!(
        "version: 1\n{name}rollback_time: \"{}\"\nstrategy: table\n\
         rename: \"{rename}\"\nregion: ap-guangzhou\nbatch_size: {batch_size}\n\
         instances:\n  - ids: [{list}]\n    tables:\n      orders: [payments, refunds]\n",
        time
    )
}

/// `test` with the served sandbox's credentials and endpoint (API 3.0, the default).
pub fn against(test: Test, served: &Served) -> Test {
    test.env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .env("PLANRUN_ENDPOINT", &served.endpoint)
}

/// A plan in a temporary directory, with its own state directory.
pub struct Work {
    pub dir: tempfile::TempDir,
    pub plan: PathBuf,
}

pub const PLAN_NAME: &str = "drill";

impl Work {
    pub fn new(ids: &[String], batch_size: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("drill.yaml");
        let work = Self { dir, plan };
        work.write_plan(ids, batch_size, "{name}_bak");
        work
    }

    pub fn write_plan(&self, ids: &[String], batch_size: usize, rename: &str) {
        let text = plan_text(Some(PLAN_NAME), ids, batch_size, rename);
        std::fs::write(&self.plan, text).unwrap();
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The plan's journal (its file's own, in its state directory).
    pub fn journal(&self) -> PathBuf {
        crate::support::journal_of(&self.plan, PLAN_NAME, &self.state_dir(), false)
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

    /// `planrun` in the plan's directory on the real clock (the plan's time is an hour ago).
    pub fn planrun(&self) -> Test {
        Test::in_dir(self.dir.path()).real_clock()
    }

    /// The same with the served sandbox's credentials and endpoint.
    pub fn command(&self, served: &Served) -> Test {
        against(self.planrun(), served)
    }

    /// `planrun apply PLAN --yes` with fast polling and its own state directory.
    pub fn apply(&self, served: &Served) -> Test {
        self.apply_unconfirmed(served).arg("--yes")
    }

    /// The same without `--yes`.
    pub fn apply_unconfirmed(&self, served: &Served) -> Test {
        self.apply_paced(served, "100ms", "300ms")
    }

    /// `planrun apply PLAN` (without `--yes`) with this `--poll-interval` and `--settle`.
    pub fn apply_paced(&self, served: &Served, poll: &str, settle: &str) -> Test {
        self.command(served)
            .arg("apply")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--poll-interval", poll, "--settle", settle])
            .args(["--api", served.api])
    }

    /// `planrun cancel PLAN --yes` for every unfinished instance.
    pub fn cancel(&self, served: &Served) -> Test {
        self.command(served)
            .arg("cancel")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--api", served.api, "--yes"])
    }

    /// `planrun plan PLAN --preflight --format json` (no state is written).
    pub fn plan_preflight_json(&self, served: &Served) -> Test {
        self.command(served).arg("plan").arg(&self.plan).args([
            "--preflight",
            "--format",
            "json",
            "--api",
            served.api,
        ])
    }

    pub fn status(&self, served: &Served) -> Test {
        self.command(served)
            .arg("status")
            .arg(&self.plan)
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(["--api", served.api])
    }
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
