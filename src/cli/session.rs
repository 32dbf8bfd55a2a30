//! What `apply` and `status` share: the state directory, its lock and journal, credentials,
//! the API client (or the in-process sandbox), the summary table and the report.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::api_args::{ApiArgs, ApiVersion};
use super::exit;
use crate::api::rollback::InstanceRollback;
use crate::api::{Client, Credentials};
use crate::engine::any::AnyProtocol;
use crate::engine::journal::{Journal, Lock, Record};
use crate::engine::plan_hash::plan_hash;
use crate::engine::protocol::V2;
use crate::engine::report::Report;
use crate::engine::request;
use crate::engine::run::Options;
use crate::engine::schedule::Cadence;
use crate::engine::state::{RunState, Status};
use crate::plan::ResolvedPlan;
use crate::sandbox::{self, Sandbox};

/// Flags about where state lives and how often to look.
#[derive(Debug, Clone, clap::Args)]
pub struct SessionArgs {
    /// Where the journal and lock live [default: .planrun/ beside the plan]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Shortest time between two looks at one task (e.g. 2s, 500ms). Looks adapt to each
    /// task's progress above it, and all together stay within --rate per second [default: 5s;
    /// 500ms with --sandbox]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub poll_interval: Option<Duration>,
    /// How long to wait before looking for the job of a submission whose answer was lost, so
    /// that the API lists it [default: 5s; 500ms with --sandbox]. Hidden: for tests and
    /// emulators that list jobs at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide = true)]
    pub settle: Option<Duration>,
}

/// `90`, `90s`, `500ms`, `30m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, "s"), |i| t.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 30m, 2h)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 30.0 * 86_400.0 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub struct Session {
    pub protocol: Arc<AnyProtocol>,
    sandbox: Option<Sandbox>,
    _lock: Option<Lock>,
    journal_path: PathBuf,
    plan_name: String,
    hash: String,
    requests: Vec<InstanceRollback>,
    regions: Vec<Option<String>>,
    state: RunState,
    journal: Option<Journal>,
    offset: chrono::FixedOffset,
    poll_interval: Duration,
    settle: Option<Duration>,
    sandboxed: bool,
    batch_size: usize,
    /// `--concurrency`: submissions in flight at once, as the client's bound on requests.
    concurrency: usize,
}

/// `NAME.journal`, or `NAME.sandbox.journal` for `apply --sandbox` (kept apart: its jobs
/// lived in an emulator, not in the cloud).
pub fn journal_name(plan: &str, sandboxed: bool) -> String {
    let plan = file_stem(plan);
    if sandboxed {
        format!("{plan}.sandbox.journal")
    } else {
        format!("{plan}.journal")
    }
}

/// The plan's name as a file name: anything but letters, digits, `.`, `-` and `_` becomes `_`
/// (a name like `../x` must not put the journal outside the state directory).
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "plan".to_owned()
    } else {
        stem
    }
}

/// Where the journal of this plan lives.
pub fn journal_path(plan_path: &Path, plan: &str, args: &SessionArgs, sandboxed: bool) -> PathBuf {
    state_dir(plan_path, args).join(journal_name(plan, sandboxed))
}

/// The plan's timezone (+08:00 when unreadable: validation has already checked it).
fn plan_offset(plan: &ResolvedPlan) -> chrono::FixedOffset {
    crate::plan::rules::parse_timezone(&plan.timezone).unwrap_or_else(|| {
        chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
    })
}

fn state_dir(plan: &Path, args: &SessionArgs) -> PathBuf {
    args.state_dir
        .clone()
        .unwrap_or_else(|| plan.parent().unwrap_or(Path::new(".")).join(".planrun"))
}

impl Session {
    /// Credentials and client (or a fresh in-process sandbox), and the plan's lock when
    /// `lock` is set (apply).
    pub async fn open(
        plan_path: &Path,
        plan: &ResolvedPlan,
        api: &ApiArgs,
        args: &SessionArgs,
        sandboxed: bool,
        batch_size: usize,
    ) -> Result<Self, i32> {
        let dir = state_dir(plan_path, args);
        let stem = if sandboxed {
            format!("{}.sandbox", file_stem(&plan.name))
        } else {
            file_stem(&plan.name)
        };
        let lock = match Lock::try_acquire(&dir.join(format!("{stem}.lock"))) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                eprintln!(
                    "error: another `planrun apply` of plan {} is running (lock {}). Wait for it, or check it with `planrun status`.",
                    plan.name,
                    dir.join(format!("{stem}.lock")).display()
                );
                return Err(exit::USAGE);
            }
            Err(e) => {
                eprintln!(
                    "error: cannot create the state directory {}: {e}",
                    dir.display()
                );
                return Err(exit::USAGE);
            }
        };
        let (protocol, sandbox) = connect(api, sandboxed.then(|| plan_offset(plan))).await?;
        let mut session = Self::new(
            plan,
            protocol,
            dir.join(journal_name(&plan.name, sandboxed)),
            sandboxed,
            args,
            batch_size,
        );
        session.sandbox = sandbox;
        session._lock = Some(lock);
        session.concurrency = (api.concurrency as usize).max(1);
        Ok(session)
    }

    /// For `status`: credentials and client, no lock (reading the journal is safe).
    pub async fn observe(
        plan_path: &Path,
        plan: &ResolvedPlan,
        api: &ApiArgs,
        args: &SessionArgs,
    ) -> Result<Self, i32> {
        let dir = state_dir(plan_path, args);
        let (protocol, _) = connect(api, None).await?;
        Ok(Self::new(
            plan,
            protocol,
            dir.join(journal_name(&plan.name, false)),
            false,
            args,
            plan.batch_size,
        ))
    }

    /// For `status --offline`: the journal only; the client is never used.
    /// With `sandboxed`, the journal of `apply --sandbox` (its emulator is gone with it, so
    /// the journal is all there is).
    pub fn offline(
        plan_path: &Path,
        plan: &ResolvedPlan,
        args: &SessionArgs,
        sandboxed: bool,
    ) -> Result<Self, i32> {
        let dir = state_dir(plan_path, args);
        let config = crate::api::ClientConfig::new(
            "http://127.0.0.1:9/v2/index.php",
            "",
            Credentials::new("offline", "offline"),
        );
        let client = Client::new(config).map_err(|e| {
            eprintln!("{:?}", miette::Report::new(e));
            exit::USAGE
        })?;
        Ok(Self::new(
            plan,
            AnyProtocol::V2(V2::new(client)),
            dir.join(journal_name(&plan.name, sandboxed)),
            false,
            args,
            plan.batch_size,
        ))
    }

    fn new(
        plan: &ResolvedPlan,
        protocol: AnyProtocol,
        journal_path: PathBuf,
        sandboxed: bool,
        args: &SessionArgs,
        batch_size: usize,
    ) -> Self {
        let requests: Vec<InstanceRollback> =
            plan.instances.iter().map(request::rollback).collect();
        let regions: Vec<Option<String>> =
            plan.instances.iter().map(|i| i.region.clone()).collect();
        let hash = plan_hash(&requests, &regions);
        let default_poll = if sandboxed {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        };
        Self {
            protocol: Arc::new(protocol),
            sandbox: None,
            _lock: None,
            journal_path,
            plan_name: plan.name.clone(),
            hash,
            state: RunState::new(plan.instances.iter().map(|i| i.id.as_str())),
            requests,
            regions,
            journal: None,
            offset: plan_offset(plan),
            poll_interval: args.poll_interval.unwrap_or(default_poll),
            settle: args.settle,
            sandboxed,
            batch_size,
            concurrency: Options::default().concurrency,
        }
    }

    /// The API request of each instance, in plan order.
    pub fn requests(&self) -> &[InstanceRollback] {
        &self.requests
    }

    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    fn ids(&self) -> Vec<String> {
        self.state.instances.iter().map(|s| s.id.clone()).collect()
    }

    /// Opens the journal and replays it; refuses a changed plan over an unfinished journal
    /// unless `restart`. A sandbox run always starts fresh (its sandbox is new).
    pub fn prepare(&mut self, restart: bool) -> Result<(), i32> {
        let existing = match Journal::read(&self.journal_path) {
            Ok(records) => Some(records).filter(|r| !r.is_empty()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // Unreadable: resuming cannot be trusted, but --restart can set it aside.
            Err(_) if self.sandboxed || restart => {
                self.archive()?;
                None
            }
            Err(e) => {
                eprintln!(
                    "error: cannot read the journal {}: {e}\n  Check it (what was submitted?) with `planrun jobs INSTANCE`, then pass --restart to set it aside and start over.",
                    self.journal_path.display()
                );
                return Err(exit::USAGE);
            }
        };
        if let Some(records) = existing {
            let ids = self.ids();
            let state = RunState::replay(ids.iter().map(String::as_str), &records);
            let changed = state.plan_hash.as_deref() != Some(self.hash.as_str());
            let unfinished = state.complete.is_none();
            if self.sandboxed || restart || (changed && !unfinished) {
                self.archive()?;
            } else if changed {
                eprintln!(
                    "error: plan {} changed since its unfinished apply (journal {}).\n  Resuming would mix two plans. Restore the plan to finish that apply, or pass --restart to start over\n  (instances already submitted are then submitted again).",
                    self.plan_name,
                    self.journal_path.display()
                );
                return Err(exit::USAGE);
            } else {
                self.state = state;
            }
        }
        match Journal::open(&self.journal_path) {
            Ok((journal, records)) => {
                if !records.is_empty() {
                    let ids = self.ids();
                    self.state = RunState::replay(ids.iter().map(String::as_str), &records);
                }
                self.journal = Some(journal);
                Ok(())
            }
            Err(e) => {
                eprintln!(
                    "error: cannot open the journal {}: {e}",
                    self.journal_path.display()
                );
                Err(exit::USAGE)
            }
        }
    }

    /// Sets the old journal aside (kept beside the new one). A sandbox run's journal is only
    /// replaced: its tasks lived in an emulator that is gone, so it records nothing to keep.
    fn archive(&self) -> Result<(), i32> {
        if self.sandboxed {
            return std::fs::remove_file(&self.journal_path).map_err(|e| {
                eprintln!("error: cannot replace the old sandbox journal: {e}");
                exit::USAGE
            });
        }
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let to = self.journal_path.with_extension(format!("journal.{stamp}"));
        std::fs::rename(&self.journal_path, &to).map_err(|e| {
            eprintln!(
                "error: cannot set the old journal aside ({}): {e}",
                to.display()
            );
            exit::USAGE
        })
    }

    /// The instances the journal of this very plan records as submitted, read before
    /// [`Session::prepare`] (empty when the run starts over: `restart`, a sandbox, a changed
    /// plan, no journal). A resumed apply does not preflight them again: their own rollback
    /// may have created the targets by now.
    pub fn submitted_before(&self, restart: bool) -> std::collections::BTreeSet<String> {
        let records = match Journal::read(&self.journal_path) {
            Ok(records) if !(self.sandboxed || restart) => records,
            _ => return std::collections::BTreeSet::new(),
        };
        let ids = self.ids();
        let state = RunState::replay(ids.iter().map(String::as_str), &records);
        if state.plan_hash.as_deref() != Some(self.hash.as_str()) {
            return std::collections::BTreeSet::new();
        }
        state
            .instances
            .iter()
            .filter(|i| i.status != Status::Pending)
            .map(|i| i.id.clone())
            .collect()
    }

    pub fn already_complete(&self) -> bool {
        self.state.complete.is_some()
    }

    pub fn engine_options(&self) -> Options {
        let min = self.poll_interval;
        let mut o = Options {
            batch_size: self.batch_size,
            // More submissions than the client lets out at once would only wait inside it,
            // and a Ctrl-C would then still send them.
            concurrency: self.concurrency,
            cadence: Cadence {
                min,
                // Scales with the interval, so a benchmark at a reduced time scale polls
                // as the cloud would.
                max: min * 12,
            },
            first_poll: min * 2,
            settle: self.settle.unwrap_or(if self.sandboxed {
                Duration::from_millis(500)
            } else {
                Duration::from_secs(5)
            }),
            offset: self.offset,
            ..Options::default()
        };
        if self.sandboxed {
            o.busy_wait = Duration::from_secs(30);
            o.retry_base = Duration::from_millis(500);
        }
        o
    }

    /// Writes the run's start and hands the journal and state to the engine.
    #[allow(clippy::type_complexity)]
    pub fn take_run(
        &mut self,
    ) -> Result<
        (
            Journal,
            RunState,
            Vec<InstanceRollback>,
            Vec<Option<String>>,
        ),
        i32,
    > {
        let Some(mut journal) = self.journal.take() else {
            return Err(exit::USAGE);
        };
        let start = Record::Start {
            plan: self.plan_name.clone(),
            plan_hash: self.hash.clone(),
            at: Utc::now(),
        };
        if let Err(e) = journal.append(&start) {
            eprintln!(
                "error: cannot write the journal {}: {e}",
                self.journal_path.display()
            );
            return Err(exit::USAGE);
        }
        self.state.apply(&start);
        Ok((
            journal,
            self.state.clone(),
            self.requests.clone(),
            self.regions.clone(),
        ))
    }

    pub fn finish(&mut self, state: RunState) {
        self.state = state;
    }

    pub fn report(&self) -> Report {
        Report::new(&self.plan_name, &self.state)
    }

    /// Writes the report atomically (a temporary file renamed into place).
    pub fn write_report(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.report()).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp-report");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }

    /// 0 when every instance succeeded, 1 when something failed, was refused or timed out, 3
    /// when something is unfinished.
    pub fn summary_exit_code(&self) -> i32 {
        let s = &self.state;
        if s.instances.iter().all(|i| i.status == Status::Succeeded) {
            exit::OK
        } else if s.instances.iter().any(|i| {
            matches!(
                i.status,
                Status::Failed | Status::Rejected | Status::TimedOut | Status::Cancelled
            )
        }) {
            exit::FAILED
        } else {
            exit::UNFINISHED
        }
    }

    /// The table printed at the end: instance, job, status, duration, error.
    pub fn summary_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<14} {:<10} {:<10} {:>9}  error",
            "instance", "job", "status", "duration"
        );
        for s in &self.state.instances {
            let duration = match (s.submitted_at, s.finished_at) {
                (Some(a), Some(b)) => format!("{}s", (b - a).num_seconds().max(0)),
                _ => "-".into(),
            };
            let _ = writeln!(
                out,
                "{:<14} {:<10} {:<10} {:>9}  {}",
                s.id,
                s.job.as_ref().map_or("-", |j| j.0.as_str()),
                s.status.name(),
                duration,
                s.error.as_deref().unwrap_or("")
            );
        }
        let r = self.report().totals;
        let _ = writeln!(
            out,
            "\n{} succeeded, {} failed, {} rejected, {} timed out, {} cancelled, {} unfinished.",
            r.succeeded,
            r.failed,
            r.rejected,
            r.timed_out,
            r.cancelled,
            r.pending + r.submitted + r.running
        );
        out
    }

    /// Reads the journal for `status`. `Ok(false)` when there is none.
    pub fn load_journal(&mut self) -> std::io::Result<bool> {
        match Journal::read(&self.journal_path) {
            Ok(records) => {
                let ids = self.ids();
                self.state = RunState::replay(ids.iter().map(String::as_str), &records);
                Ok(!records.is_empty())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn state_mut(&mut self) -> &mut RunState {
        &mut self.state
    }

    pub fn regions(&self) -> &[Option<String>] {
        &self.regions
    }

    pub async fn shutdown(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }
}

/// The protocol for `--sandbox` (a fresh in-process emulator with demo credentials and short
/// tasks) or for the configured endpoint with credentials found the way Tencent's tools find
/// them.
///
/// `sandbox`: the instances' clock (the plan's timezone). The emulated instances run on it,
/// so that a rollback time valid in the plan is not "in the future" for them and task start
/// times read back the way the plan reads them.
pub async fn connect(
    api: &ApiArgs,
    sandbox: Option<chrono::FixedOffset>,
) -> Result<(AnyProtocol, Option<Sandbox>), i32> {
    let sandboxed = sandbox.is_some();
    let (mut config, sandbox, api) = if let Some(offset) = sandbox {
        let mut sc = sandbox::Config::demo();
        sc.task_seconds = (2.0, 6.0);
        if let Some(check) = &mut sc.rollback_time_check {
            check.utc_offset_seconds = offset.local_minus_utc();
        }
        // Ten years of "backups": the example plans keep passing preflight as they age.
        sc.default_window_seconds = 3650 * 86_400;
        let sb = sandbox::start(sc, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| {
                eprintln!("error: cannot start the sandbox: {e}");
                exit::USAGE
            })?;
        let credentials = Credentials::new(sandbox::DEMO_SECRET_ID, sandbox::DEMO_SECRET_KEY);
        // The in-process sandbox speaks both APIs: the one of --api.
        let api = api.clone();
        let mut config = api.client_config(credentials);
        config.endpoint = match api.api {
            ApiVersion::V2 => sb.endpoint_v2(),
            ApiVersion::V3 => sb.endpoint_v3(),
        };
        eprintln!(
            "sandbox: serving the emulated API at {} (demo credentials; nothing leaves this machine)",
            config.endpoint
        );
        (config, Some(sb), api)
    } else {
        let found = api.credentials().map_err(|e| {
            eprintln!("{:?}", miette::Report::new(e));
            exit::USAGE
        })?;
        let mut config = api.client_config(found.credentials);
        if config.region.is_empty()
            && let Some(region) = found.region
        {
            config.region = region;
        }
        (config, None, api.clone())
    };
    if sandboxed && config.region.is_empty() {
        config.region = "ap-guangzhou".into();
    }
    let protocol = api.protocol(config).map_err(|e| {
        eprintln!("{:?}", miette::Report::new(e));
        exit::USAGE
    })?;
    Ok((protocol, sandbox))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plan_name_cannot_lead_the_journal_out_of_the_state_directory() {
        assert_eq!(
            super::journal_name("../../etc/x", false),
            "______etc_x.journal"
        );
        assert_eq!(
            super::journal_name("incident-42", true),
            "incident-42.sandbox.journal"
        );
        assert_eq!(super::journal_name("", false), "plan.journal");
    }
}
