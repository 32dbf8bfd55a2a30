//! What `apply`, `status` and `cancel` share on the CLI's side of the engine's
//! [`Apply`]: the flags, credentials and the API client (or the in-process sandbox), the
//! plan's lock, saying why a journal is refused, the summary table and the report.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::api_args::{ApiArgs, Generation};
use super::exit;
use super::located::Located;
use crate::api::Credentials;
use crate::engine::any::AnyProtocol;
use crate::engine::apply::{Apply, Settings, plan_offset};
use crate::engine::journal::{Lock, Record};
use crate::engine::prepare::Prepared;
use crate::engine::report::Report;
use crate::engine::state::RunState;
use crate::engine::store;
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;
use crate::record::PlanInfo;
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
    /// Option file with the `[client]` user and password of self-hosted servers
    /// (`provider: mysql`), as MySQL's tools read it [default: ~/.my.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
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

pub use crate::engine::store::Found;

/// An apply (or `status`'s, `cancel`'s view of one) as the CLI holds it: the engine's
/// [`Apply`], plus what only the CLI has — the sandbox it started, the plan's lock, and what
/// the plan asks for as the incident record keeps it.
pub struct Session {
    pub protocol: Arc<AnyProtocol>,
    sandbox: Option<Sandbox>,
    _lock: Option<Lock>,
    apply: Apply,
    /// The plan's description and timezone: with the prepared plan, what the journal's
    /// [`Record::Planned`] keeps (built when asked for, not held beside the prepared copy).
    about: (Option<String>, String),
}

/// The summary's last column: the error, else why an adopted task is unverified.
fn note(s: &crate::engine::state::InstanceState) -> String {
    match (&s.error, &s.unverified) {
        (Some(error), _) => error.clone(),
        (None, Some(why)) => format!("{}: {why}", crate::engine::state::ADOPTED_UNVERIFIED),
        (None, None) => String::new(),
    }
}

/// The engine's settings from the flags.
fn settings(args: &SessionArgs, sandboxed: bool, batch_size: usize) -> Settings {
    Settings {
        poll_interval: args.poll_interval,
        settle: args.settle,
        sandboxed,
        batch_size,
        ..Settings::default()
    }
}

impl Session {
    /// Credentials and client (or a fresh in-process sandbox), and the lock of the plan's
    /// journal `at` (apply; `at.sandboxed`: against a fresh in-process sandbox).
    pub async fn open(
        plan_path: &Path,
        plan: &ResolvedPlan,
        api: &ApiArgs,
        args: &SessionArgs,
        at: &Located,
        prepared: crate::engine::prepare::Prepared,
    ) -> Result<Self, i32> {
        let batch_size = prepared.batch_size;
        let sandboxed = at.sandboxed;
        let journal = at.journal();
        let lock = store::lock(&journal, &plan.name).map_err(|e| {
            match &e {
                store::Error::Locked { .. } => errln!(
                    "error: {}. Wait for it, or check it with `planrun status`.",
                    visible(&e.to_string())
                ),
                _ => errln!("error: {}", visible(&e.to_string())),
            }
            exit::USAGE
        })?;
        let (protocol, sandbox) = if super::selfhosted::only(plan) {
            // Nothing goes to the cloud: no credentials to look for, no sandbox to start.
            (offline_protocol()?, None)
        } else {
            connect(api, sandboxed.then(|| plan_offset(plan))).await?
        };
        let protocol = with_local(protocol, plan_path, plan, args, &journal, api, true)?;
        let action = match api.api {
            Generation::V2 => crate::api::v2::client::ROLLBACK,
            Generation::V3 => crate::api::v3::client::START_BATCH_ROLLBACK,
        };
        let version = match api.api {
            Generation::V2 => "v2",
            Generation::V3 => "v3",
        };
        let settings = Settings {
            concurrency: Some((api.concurrency as usize).max(1)),
            context: Some(super::operator::context(version, action, sandboxed)),
            ..settings(args, sandboxed, batch_size)
        };
        let mut session = Self::new(
            plan,
            Apply::with_prepared(plan, prepared, protocol, journal, settings),
        );
        session.sandbox = sandbox;
        session._lock = Some(lock);
        Ok(session)
    }

    /// For `status` and `cancel`: credentials and client, no lock (reading the journal is
    /// safe), over the plan's `journal` ([`Located::readable`]).
    pub async fn observe(
        plan_path: &Path,
        plan: &ResolvedPlan,
        api: &ApiArgs,
        args: &SessionArgs,
        journal: PathBuf,
    ) -> Result<Self, i32> {
        let protocol = if super::selfhosted::only(plan) {
            offline_protocol()?
        } else {
            connect(api, None).await?.0
        };
        let protocol = with_local(protocol, plan_path, plan, args, &journal, api, false)?;
        let settings = settings(args, false, plan.batch_size);
        Ok(Self::new(
            plan,
            Apply::new(plan, protocol, journal, settings),
        ))
    }

    /// For `status --offline`: the `journal` only; the client is never used. (The journal
    /// of `apply --sandbox` is read so: its emulator is gone with it.)
    pub fn offline(plan: &ResolvedPlan, args: &SessionArgs, journal: PathBuf) -> Result<Self, i32> {
        let settings = settings(args, false, plan.batch_size);
        Ok(Self::new(
            plan,
            Apply::new(plan, offline_protocol()?, journal, settings),
        ))
    }

    fn new(plan: &ResolvedPlan, apply: Apply) -> Self {
        Self {
            protocol: Arc::clone(&apply.protocol),
            sandbox: None,
            _lock: None,
            apply,
            about: (plan.description.clone(), plan.timezone.clone()),
        }
    }

    /// What the apply sends: every instance's request and region, the calls, the hash.
    pub fn prepared(&self) -> &Prepared {
        self.apply.prepared()
    }

    pub fn journal_path(&self) -> &Path {
        self.apply.journal_path()
    }

    /// `apply`: adopts an older planrun's journal of this plan, under the lock this session
    /// holds ([`Located::adopt_older`]).
    pub fn adopt_older(&self, at: &Located, restart: bool) -> Result<(), i32> {
        let Some(lock) = &self._lock else {
            return Ok(());
        };
        at.adopt_older(lock, self.apply.plan_name(), &self.prepared().hash, restart)
    }

    /// What the journal on disk means for this apply ([`Apply::inspect`]); a refusal is said
    /// here.
    pub fn inspect(&mut self, restart: bool) -> Result<Found, i32> {
        let path = self.journal_path().display().to_string();
        let path = visible(&path).into_owned();
        match self.apply.inspect(restart) {
            Ok(found) => Ok(found),
            Err(store::Error::PlanChanged { .. }) => {
                errln!(
                    "error: plan {} changed since its unfinished apply (journal {path}).\n  Resuming would mix two plans. Restore the plan to finish that apply, or pass --restart to start over\n  (instances already submitted are then submitted again).",
                    visible(self.apply.plan_name()),
                );
                Err(exit::USAGE)
            }
            Err(store::Error::Unreadable { source, .. }) => {
                errln!(
                    "error: cannot read the journal {path}: {source}\n  Check it (what was submitted?) with `planrun jobs INSTANCE`, then pass --restart to set it aside and start over."
                );
                Err(exit::USAGE)
            }
            Err(e) => {
                errln!("error: {}", visible(&e.to_string()));
                Err(exit::USAGE)
            }
        }
    }

    /// Opens the journal once the person said yes ([`Apply::open`]); a failure is said here.
    pub fn prepare(&mut self, found: Found) -> Result<(), i32> {
        match self.apply.open(found) {
            Ok(Some(set_aside)) => {
                errln!(
                    "note: the journal of this plan's earlier apply is kept as {}",
                    visible(&set_aside.display().to_string())
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(store::Error::Archive { source, .. }) if self.apply.sandboxed() => {
                errln!("error: cannot replace the old sandbox journal: {source}");
                Err(exit::USAGE)
            }
            Err(e) => {
                errln!("error: {}", visible(&e.to_string()));
                Err(exit::USAGE)
            }
        }
    }

    /// The engine's apply: what the journal holds, what is still to do.
    pub fn apply(&self) -> &Apply {
        &self.apply
    }

    /// The engine's apply, to run it ([`Apply::run`]).
    pub fn apply_mut(&mut self) -> &mut Apply {
        &mut self.apply
    }

    /// What the journal's first run records of the plan.
    pub fn planned(&self) -> Record {
        self.plan_info().into_record()
    }

    /// The run's state ([`Apply::state`]).
    pub fn state(&self) -> &RunState {
        self.apply.state()
    }

    /// What the plan asks of each instance (the incident record's fallback for journals
    /// written before they kept it).
    pub fn plan_info(&self) -> PlanInfo {
        let (description, timezone) = self.about.clone();
        PlanInfo::with(description, timezone, self.prepared())
    }

    pub fn report(&self) -> Report {
        self.apply.report()
    }

    /// Writes the report atomically (a temporary file renamed into place).
    pub fn write_report(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.report()).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp-report");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }

    /// The table printed at the end ([`summary_table`]).
    pub fn summary_table(&self) -> String {
        summary_table(self.state(), &self.report().totals)
    }

    /// Reads the journal for `status`. `Ok(false)` when there is none.
    pub fn load_journal(&mut self) -> std::io::Result<bool> {
        self.apply.load()
    }

    pub fn state_mut(&mut self) -> &mut RunState {
        self.apply.state_mut()
    }

    /// `--poll-interval` (or its default): the shortest time between two looks at a task.
    pub fn poll_interval(&self) -> Duration {
        self.apply.poll_interval()
    }

    pub fn regions(&self) -> Vec<Option<String>> {
        self.apply.regions()
    }

    pub async fn shutdown(self) {
        if let Some(sb) = self.sandbox {
            sb.shutdown().await;
        }
    }
}

/// The table printed at the end: instance, job, status, duration, error. Columns are as
/// wide as their longest value (API 3.0's job ids are 35 characters).
pub fn summary_table(state: &RunState, r: &crate::engine::report::Totals) -> String {
    let rows: Vec<[String; 5]> = state
        .instances
        .iter()
        .map(|s| {
            let duration = match (s.submitted_at, s.finished_at) {
                (Some(a), Some(b)) => format!("{}s", (b - a).num_seconds().max(0)),
                _ => "-".into(),
            };
            [
                s.id.clone(),
                s.job
                    .as_ref()
                    .map_or("-".into(), |j| visible(&j.0).into_owned()),
                s.status.name().to_owned(),
                duration,
                note(s),
            ]
        })
        .collect();
    let header = ["instance", "job", "status", "duration", "error"].map(str::to_owned);
    let width = |c: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|r| r[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    let mut out = String::new();
    // A message's later lines continue under the error column.
    let indent = " ".repeat(w0 + w1 + w2 + w3 + 5);
    for r in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$} {:<w1$} {:<w2$} {:>w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            super::foreign::block(&r[4], &indent)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "\n{} succeeded, {} failed, {} rejected, {} timed out, {} cancelled, {} unfinished.",
        r.succeeded,
        r.failed,
        r.rejected,
        r.timed_out,
        r.cancelled,
        r.pending + r.submitted + r.running + r.stopping
    );
    out
}

/// [`AnyProtocol::offline`], or why not (said here).
fn offline_protocol() -> Result<AnyProtocol, i32> {
    AnyProtocol::offline().map_err(|e| {
        super::report_error(&e);
        exit::USAGE
    })
}

/// Adds the restores of the plan's self-hosted instances, when it has any.
fn with_local(
    protocol: AnyProtocol,
    plan_path: &Path,
    plan: &ResolvedPlan,
    args: &SessionArgs,
    journal: &Path,
    api: &ApiArgs,
    resume: bool,
) -> Result<AnyProtocol, i32> {
    if !super::selfhosted::any(plan) {
        return Ok(protocol);
    }
    let creds = super::selfhosted::credentials(args.defaults_file.as_deref())?;
    let concurrency = (api.concurrency as usize).max(1);
    Ok(protocol.with_local(super::selfhosted::local(
        plan_path,
        plan,
        creds,
        concurrency,
        journal.parent().unwrap_or(Path::new(".")),
        journal,
        resume,
    )))
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
    connect_with(api, sandbox, None).await
}

/// [`connect`], with the sandbox's fleet from `catalog` instead of the demo's (`compare
/// --sandbox --catalog FILE`: instances whose address is a real local server).
pub async fn connect_with(
    api: &ApiArgs,
    sandbox: Option<chrono::FixedOffset>,
    catalog: Option<sandbox::Catalog>,
) -> Result<(AnyProtocol, Option<Sandbox>), i32> {
    let sandboxed = sandbox.is_some();
    let (mut config, sandbox, api) = if let Some(offset) = sandbox {
        let mut sc = sandbox::Config::demo();
        if let Some(catalog) = catalog {
            sc.catalog = catalog;
        }
        sc.task_seconds = (2.0, 6.0);
        if let Some(check) = &mut sc.rollback_time_check {
            check.utc_offset_seconds = offset.local_minus_utc();
        }
        // Ten years of "backups": the example plans keep passing preflight as they age.
        sc.default_window_seconds = 3650 * 86_400;
        // The demo applies any plan: every well-formed id is an instance of its fleet.
        sc.any_instance = true;
        let sb = sandbox::start(sc, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| {
                errln!("error: cannot start the sandbox: {e}");
                exit::USAGE
            })?;
        let credentials = Credentials::new(sandbox::DEMO_SECRET_ID, sandbox::DEMO_SECRET_KEY);
        // The in-process sandbox speaks both APIs: the one of --api.
        let api = api.clone();
        let mut config = api.client_config(credentials);
        config.endpoint = match api.api {
            Generation::V2 => sb.endpoint_v2(),
            Generation::V3 => sb.endpoint_v3(),
        };
        errln!(
            "sandbox: serving the emulated API at {} (demo credentials; nothing leaves this machine)",
            config.endpoint
        );
        (config, Some(sb), api)
    } else {
        let found = api.credentials().map_err(|e| {
            super::report_error(&e);
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
        super::report_error(&e);
        exit::USAGE
    })?;
    Ok((protocol, sandbox))
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary_columns_are_as_wide_as_api_3_job_ids() {
        use crate::engine::journal::Record;
        use crate::engine::protocol::JobHandle;
        use crate::engine::state::RunState;
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let ids = ["cdb-aaaaaaaa", "cdb-bbbbbbbb"];
        let records = [
            Record::Intent {
                batch: 1,
                instances: vec![ids[0].into()],
                at,
            },
            Record::Accepted {
                batch: 1,
                job: JobHandle("03c369a7-3b135f1b-69a73b13-000003e8".into()),
                at,
            },
        ];
        let state = RunState::replay(ids, &records);
        let report = crate::engine::report::Report::new("p", &state);
        let table = super::summary_table(&state, &report.totals);
        let lines: Vec<&str> = table.lines().take(3).collect();
        let status_at = |line: &str| line.find("status").or_else(|| line.find("submitted"));
        assert_eq!(status_at(lines[0]), lines[1].find("submitted"), "{table}");
        assert_eq!(lines[2].find("pending"), lines[0].find("status"), "{table}");
        assert!(
            lines[1].contains("03c369a7-3b135f1b-69a73b13-000003e8 "),
            "{table}"
        );
    }

    #[test]
    fn a_servers_message_continues_under_the_error_column_without_its_payload() {
        use crate::engine::state::{RunState, Status};
        let mut state = RunState::new(["shop", "orders-shard-1"]);
        let body = "AbCdEfGh0123456789+/".repeat(4);
        state.instances[0].status = Status::Failed;
        state.instances[0].error = Some(format!(
            "mariadb exited 1:\nERROR 1062 (23000) at line 45: Duplicate entry\nBINLOG '\n{body}\n{body}\n'"
        ));
        let report = crate::engine::report::Report::new("p", &state);
        let table = super::summary_table(&state, &report.totals);
        assert!(!table.contains("\\u{a}"), "{table}");
        assert!(!table.contains(&body), "{table}");
        let lines: Vec<&str> = table.lines().collect();
        let column = lines[0].find("error").unwrap_or_default();
        assert_eq!(lines[1].find("mariadb exited 1:"), Some(column), "{table}");
        assert_eq!(lines[2].find("ERROR 1062"), Some(column), "{table}");
        assert_eq!(lines[3].trim(), "BINLOG '", "{table}");
        assert_eq!(
            lines[4].trim(),
            "[2 lines of encoded data not shown]",
            "{table}"
        );
        assert!(lines[6].starts_with("orders-shard-1"), "{table}");
    }
}
