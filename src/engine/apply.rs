//! One apply of a plan as the engine carries it out: what the journal on disk means for it
//! ([`Apply::inspect`]), opening the journal ([`Apply::open`]), the run's start records, the
//! run itself, and what other processes journaled meanwhile — ending in one [`Outcome`].
//! The CLI confirms, draws the events and maps the outcome to an exit code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};

use super::any::AnyProtocol;
use super::journal::{Journal, Lock, Record, RunContext};
use super::ops::{escaped, shown};
use super::planned::PlanInfo;
use super::prepare::{Prepared, prepare};
use super::report::{Report, Totals};
use super::run::{Ending, Engine, Event, Options};
use super::schedule::Cadence;
use super::state::{RunState, Status};
use super::store::{self, Found, Store};
use crate::api::rollback::InstanceRollback;
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;

/// How an apply ended: the one value the CLI turns into an exit code.
#[derive(Debug)]
pub enum Outcome {
    /// The journal says the plan was applied completely before: nothing was submitted.
    AlreadyApplied(Totals),
    /// The run ended so, with these totals (other processes' records folded in).
    Ran { ending: Ending, totals: Totals },
}

/// Why an apply cannot go on: its journal refused or unusable, or the run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another apply of the plan holds its lock.
    #[error("{}. Wait for it, or check it with `planrun status`.", escaped(.0))]
    Locked(store::Error),
    #[error(
        "plan {} changed since its unfinished apply (journal {}).\n  Resuming would mix two plans. Restore the plan to finish that apply, or pass --restart to start over\n  (instances already submitted are then submitted again).",
        visible(.plan),
        shown(.path)
    )]
    PlanChanged { plan: String, path: PathBuf },
    #[error(
        "cannot read the journal {}: {source}\n  Check it (what was submitted?) with `planrun jobs INSTANCE`, then pass --restart to set it aside and start over.",
        shown(.path)
    )]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--retry-failed` over a plan never applied.
    #[error(
        "no apply of plan {} is recorded (journal {}): nothing to retry. Apply it without --retry-failed.",
        visible(.plan),
        shown(.path)
    )]
    NothingToRetry { plan: String, path: PathBuf },
    /// `--retry-failed` over a journal of another version of the plan.
    #[error(
        "plan {} changed since its last apply (journal {}): --retry-failed sends again what that apply was asked. Apply the plan as it was, or apply it without --retry-failed.",
        visible(.plan),
        shown(.path)
    )]
    RetryChanged { plan: String, path: PathBuf },
    /// The old journal of `apply --sandbox` could not be removed.
    #[error("cannot replace the old sandbox journal: {0}")]
    SandboxJournal(std::io::Error),
    /// Any other refusal of the journal's ([`store::Error`]).
    #[error("{}", escaped(.0))]
    Store(store::Error),
    /// [`Apply::run`] before [`Apply::open`].
    #[error("the journal {} is not open", path.display())]
    NotOpen { path: PathBuf },
    /// The run's start could not be journaled: nothing was submitted.
    #[error("cannot write the journal {}: {source}", path.display())]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the flags say about how this apply polls and where its journal is.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The shortest time between two polls of a task [default: 5s; 500ms in the sandbox or
    /// when every instance is self-hosted].
    pub poll_interval: Option<Duration>,
    /// How long to wait before looking for the job of a submission whose answer was lost.
    pub settle: Option<Duration>,
    pub sandboxed: bool,
    pub batch_size: usize,
    /// Submissions in flight at once [default: the engine's].
    pub concurrency: Option<usize>,
    /// Who applies, with what: recorded by the run's start.
    pub context: Option<RunContext>,
}

/// One plan's apply (or, for `status` and `cancel`, its journal and protocol).
pub struct Apply {
    pub protocol: Arc<AnyProtocol>,
    /// The journal on disk and what it means.
    store: Store,
    /// The plan's lock, while this apply holds it ([`Apply::holding`]).
    _lock: Option<Lock>,
    plan_name: String,
    /// The plan's description and timezone: with the prepared plan, what the journal's
    /// [`Record::Planned`] keeps (built when needed, not held beside the prepared copy).
    about: (Option<String>, String),
    /// What the apply sends, computed once ([`prepare`]).
    prepared: Prepared,
    state: RunState,
    journal: Option<Journal>,
    offset: chrono::FixedOffset,
    poll_interval: Duration,
    settings: Settings,
    /// The instances `apply --retry-failed` sends again ([`Apply::retry`]).
    retry: Vec<String>,
    /// The preflight's verdicts, when it overlaps the run ([`Apply::overlap`]).
    gate: Option<crate::engine::gate::Gate>,
    /// For `status`: whether no apply held the plan's lock just before [`Apply::load`] read
    /// the journal ([`Apply::interrupt`]).
    loaded_idle: bool,
}

/// Takes the lock of the plan's journal at `journal` ([`store::lock`]): while an apply holds
/// it, another is refused.
pub fn lock(journal: &Path, plan: &str) -> Result<Lock, Error> {
    store::lock(journal, plan).map_err(|e| match e {
        store::Error::Locked { .. } => Error::Locked(e),
        other => Error::Store(other),
    })
}

/// The plan's timezone (+08:00 when unreadable: validation has already checked it).
pub fn plan_offset(plan: &ResolvedPlan) -> chrono::FixedOffset {
    crate::plan::rules::parse_timezone(&plan.timezone).unwrap_or_else(|| {
        chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
    })
}

impl Apply {
    /// The apply of `plan`, prepared here for `protocol`'s API generation (what `status`,
    /// `cancel` and `report` read it with).
    pub fn new(
        plan: &ResolvedPlan,
        protocol: AnyProtocol,
        journal_path: PathBuf,
        settings: Settings,
    ) -> Self {
        let prepared = prepare(plan, protocol.generation(), settings.batch_size);
        Self::with_prepared(plan, prepared, protocol, journal_path, settings)
    }

    /// The apply of `plan` as `prepared` — the very value the diff was drawn from, so that
    /// what was reviewed is what is sent (and the plan is prepared once).
    pub fn with_prepared(
        plan: &ResolvedPlan,
        prepared: Prepared,
        protocol: AnyProtocol,
        journal_path: PathBuf,
        settings: Settings,
    ) -> Self {
        // Local restores cost no API calls to poll: poll often.
        let local_only = plan.instances.iter().all(|i| i.selfhosted.is_some());
        let default_poll = if settings.sandboxed || local_only {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        };
        Self {
            protocol: Arc::new(protocol),
            store: Store::new(
                journal_path,
                &plan.name,
                plan.instances.iter().map(|i| i.id.clone()).collect(),
                prepared.hash.clone(),
                settings.sandboxed,
            ),
            _lock: None,
            loaded_idle: false,
            plan_name: plan.name.clone(),
            about: (plan.description.clone(), plan.timezone.clone()),
            prepared,
            state: RunState::new(plan.instances.iter().map(|i| i.id.as_str())),
            journal: None,
            offset: plan_offset(plan),
            poll_interval: settings.poll_interval.unwrap_or(default_poll),
            settings,
            retry: Vec::new(),
            gate: None,
        }
    }

    /// This apply holding the plan's `lock` ([`super::store::lock`]) until it is dropped.
    #[must_use]
    pub fn holding(mut self, lock: Lock) -> Self {
        self._lock = Some(lock);
        self
    }

    /// The plan's lock, when this apply holds it.
    pub fn lock(&self) -> Option<&Lock> {
        self._lock.as_ref()
    }

    /// What the apply sends: every instance's request and region, the calls, the hash.
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// What the plan asks of each instance, as the journal's first run records it (and the
    /// incident record's fallback for journals written before they kept it).
    pub fn plan_info(&self) -> PlanInfo {
        let (description, timezone) = self.about.clone();
        PlanInfo::with(description, timezone, &self.prepared)
    }

    pub fn plan_name(&self) -> &str {
        &self.plan_name
    }

    pub fn journal_path(&self) -> &Path {
        &self.store.journal_path
    }

    pub fn sandboxed(&self) -> bool {
        self.settings.sandboxed
    }

    /// The run's state: as the journal had it before this run (a resumed run counts from it),
    /// then, after [`Apply::run`], as the run left it.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn state_mut(&mut self) -> &mut RunState {
        &mut self.state
    }

    pub fn regions(&self) -> Vec<Option<String>> {
        self.prepared.regions()
    }

    /// `--poll-interval` (or its default): the shortest time between two polls of a task.
    /// The instances' clock (the plan's timezone): how the API's task times are read.
    pub fn offset(&self) -> chrono::FixedOffset {
        self.offset
    }

    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    pub fn report(&self) -> Report {
        Report::new(&self.plan_name, &self.state)
    }

    /// Writes the JSON report atomically (a temporary file renamed into place).
    pub fn write_report(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.report()).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp-report");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }

    /// How many instances an earlier run already finished (what a resumed apply says).
    pub fn finished(&self) -> usize {
        self.state
            .instances
            .iter()
            .filter(|s| s.status.is_final())
            .count()
    }

    /// The instances the journal has not submitted yet: what a (resumed) apply still checks.
    pub fn pending(&self) -> Vec<&str> {
        self.state
            .instances
            .iter()
            .filter(|s| s.status == Status::Pending)
            .map(|s| s.id.as_str())
            .collect()
    }

    /// The requests of the cloud's instances the journal has not submitted yet: the cloud
    /// preflight checks only these, since a resumed apply's own rollbacks may have created
    /// the targets (self-hosted instances have a preflight of their own).
    pub fn cloud_to_check(&self, plan: &ResolvedPlan) -> Vec<InstanceRollback> {
        let pending: HashSet<&str> = self.pending().into_iter().collect();
        let cloud: HashSet<&str> = plan
            .instances
            .iter()
            .filter(|i| i.selfhosted.is_none())
            .map(|i| i.id.as_str())
            .collect();
        self.prepared
            .requests()
            .into_iter()
            .filter(|r| cloud.contains(r.instance_id.as_str()))
            .filter(|r| pending.contains(r.instance_id.as_str()))
            .collect()
    }

    /// Reads the journal on disk and decides what the apply will do with it, changing nothing
    /// ([`Store::inspect`]): every refusal comes before the diff, the preflight and the question.
    pub fn inspect(&mut self, restart: bool) -> Result<Found, Error> {
        let (found, state) = self.store.inspect(restart).map_err(|e| match e {
            store::Error::PlanChanged { plan, path } => Error::PlanChanged { plan, path },
            store::Error::Unreadable { path, source } => Error::Unreadable { path, source },
            other => Error::Store(other),
        })?;
        if let Some(state) = state {
            self.state = state;
        }
        Ok(found)
    }

    /// `apply --retry-failed`, after [`Apply::inspect`] `found` an apply of this very plan:
    /// the instances the journal records as failed, rejected or unknown are to be sent again
    /// (an unknown one once the rule of evidence finds no task of it). They are so in the
    /// state from now on (what the preflight checks and the question counts), and the run
    /// journals it ([`Record::Retry`]) before anything is sent. Everything else stays as it
    /// is. Returns them, in plan order.
    pub fn retry(&mut self, found: Found) -> Result<&[String], Error> {
        let (plan, path) = (self.plan_name.clone(), self.store.journal_path.clone());
        match found {
            Found::Nothing => return Err(Error::NothingToRetry { plan, path }),
            Found::SetAside => return Err(Error::RetryChanged { plan, path }),
            Found::Unfinished | Found::Complete => {}
        }
        self.retry = self.state.retryable();
        self.fold_retry();
        Ok(&self.retry)
    }

    /// The retry as the state sees it (folding it again changes nothing).
    fn fold_retry(&mut self) -> Option<Record> {
        if self.retry.is_empty() {
            return None;
        }
        let record = Record::Retry {
            instances: self.retry.clone(),
            at: Utc::now(),
        };
        self.state.apply(&record);
        Some(record)
    }

    /// The outcome of a plan the journal records as applied completely.
    pub fn already_applied(&self) -> Outcome {
        Outcome::AlreadyApplied(self.report().totals)
    }

    /// Carries out what [`Apply::inspect`] found, once the person said yes: sets an old
    /// journal aside when asked to (returning where it went), then opens the journal for
    /// appending.
    pub fn open(&mut self, found: Found) -> Result<Option<PathBuf>, Error> {
        let sandboxed = self.settings.sandboxed;
        let (journal, state, set_aside) = self.store.open(found).map_err(|e| match e {
            store::Error::Archive { source, .. } if sandboxed => Error::SandboxJournal(source),
            other => Error::Store(other),
        })?;
        self.state = state;
        self.fold_retry();
        self.journal = Some(journal);
        Ok(set_aside)
    }

    /// For `status` (after its refresh): when no apply of the plan runs, the journal's
    /// submitted and running instances are [`Status::Interrupted`] — nothing carries them on
    /// until `planrun apply` resumes them (issue 27). How many; 0 while an apply runs, or
    /// when that cannot be told. The lock must have been free before the journal was read
    /// and still be free now: an apply that was running while `status` read the journal and
    /// finished during its refresh never has its instances called interrupted from that
    /// older reading. (One that starts after the reading and ends before this check is not
    /// seen; the refresh's own check of the journal's length says when another run wrote.)
    pub fn interrupt(&mut self) -> usize {
        if self._lock.is_some() || !self.loaded_idle {
            return 0;
        }
        match store::apply_running(self.journal_path()) {
            Some(false) => self.state.interrupt(),
            _ => 0,
        }
    }

    /// Reads the journal for `status`. `Ok(false)` when there is none.
    pub fn load(&mut self) -> std::io::Result<bool> {
        let idle = self._lock.is_none() && store::apply_running(self.journal_path()) == Some(false);
        match self.store.load()? {
            Some(state) => {
                self.state = state;
                self.loaded_idle = idle;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// How the engine runs this apply, `timeout` aside.
    pub fn options(&self) -> Options {
        let min = self.poll_interval;
        let sandboxed = self.settings.sandboxed;
        let mut o = Options {
            // More submissions than the client lets out at once would only wait inside it,
            // and a Ctrl-C would then still send them.
            concurrency: self
                .settings
                .concurrency
                .unwrap_or(Options::default().concurrency),
            cadence: Cadence {
                min,
                // Scales with the interval, so a benchmark at a reduced time scale polls
                // as the cloud would.
                max: min * 12,
            },
            first_poll: min * 2,
            settle: self.settings.settle.unwrap_or(if sandboxed {
                Duration::from_millis(500)
            } else {
                Duration::from_secs(5)
            }),
            // What cannot be seen (a task unlisted, a listing that cannot tell) and another
            // task in the way are waited for 120 poll intervals: 10 minutes by default.
            missing_after: min * 120,
            busy_wait: min * 120,
            offset: self.offset,
            ..Options::default()
        };
        if sandboxed {
            o.busy_wait = Duration::from_secs(30);
            o.retry_base = Duration::from_millis(500);
        }
        o
    }

    /// Makes the next [`Apply::run`] submit the instances the preflight checks only as it
    /// passes them ([`crate::engine::gate`]): the preflight overlaps the work.
    pub fn overlap(&mut self, gate: crate::engine::gate::Gate) {
        self.gate = Some(gate);
    }

    /// The prepared calls of `requests` (what [`Apply::cloud_to_check`] returned), for the
    /// preflight that overlaps the run.
    pub fn calls_to_check(
        &self,
        requests: &[InstanceRollback],
    ) -> Vec<crate::engine::ops::preflight::overlap::Call> {
        crate::engine::ops::preflight::overlap::calls(&self.prepared, requests)
    }

    /// Journals the run's start (and, in a journal's first run, what the plan asks for:
    /// [`Record::Planned`]), runs the engine to its end, and takes in what another process
    /// wrote to the journal meanwhile: `planrun cancel` records its stops there while `apply`
    /// tracks, and a task it stopped ends `killed`, which is `cancelled` (or still
    /// `stopping`), not `failed`. A run that stops early leaves its unfinished rollbacks
    /// `interrupted`.
    pub async fn run(
        &mut self,
        timeout: Option<Duration>,
        cancel: watch::Receiver<bool>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Outcome, Error> {
        let path = self.store.journal_path.clone();
        let Some(mut journal) = self.journal.take() else {
            return Err(Error::NotOpen { path });
        };
        let start = Record::Start {
            plan: self.plan_name.clone(),
            plan_hash: self.prepared.hash.clone(),
            at: Utc::now(),
            by: self.settings.context.clone(),
        };
        // A journal holds one plan (a changed plan starts a new one): its first start says
        // what that plan asks for.
        let mut records = vec![start.clone()];
        if self.state.started_at.is_none() {
            records.push(self.plan_info().into_record());
        }
        // The retry is journaled before anything is sent again; its replay after the start
        // gives the state this run starts from.
        let retry = self.fold_retry();
        records.extend(retry.clone());
        journal
            .append_all(&records)
            .map_err(|source| Error::Journal { path, source })?;
        // The plan's every request, written: not held through the run.
        drop(records);
        self.state.apply(&start);
        if let Some(retry) = &retry {
            self.state.apply(retry);
        }
        let mut options = self.options();
        options.timeout = timeout;
        let mut engine = Engine::new(
            Arc::clone(&self.protocol),
            self.prepared.work(),
            options,
            journal,
            // The engine's state is the run's until it hands it back below.
            std::mem::take(&mut self.state),
            events,
        );
        if let Some(gate) = self.gate.take() {
            engine = engine.gated(gate);
        }
        let ending = engine.run(cancel).await;
        self.state = self.store.fold_in_others(engine.into_state());
        // A run stopped before its rollbacks ended (Ctrl-C, a refused credential, an
        // unwritable journal) leaves them to nobody: its summary and report say
        // `interrupted`, as `status` will once this process is gone (issue 27).
        if !matches!(ending, Ending::Complete | Ending::TimedOut) {
            self.state.interrupt();
        }
        Ok(Outcome::Ran {
            ending,
            totals: self.report().totals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::batch::tests::plan;

    fn apply(plan: &ResolvedPlan, dir: &Path) -> Apply {
        let protocol = AnyProtocol::offline().unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings {
            batch_size: 10,
            ..Settings::default()
        };
        Apply::new(plan, protocol, dir.join("p.journal"), settings)
    }

    #[test]
    fn a_resumed_apply_checks_only_the_clouds_unsubmitted_instances() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut p = plan(&[None, None, None]);
        p.instances[2].selfhosted = Some(crate::plan::SelfHosted {
            server: "db1:3306".into(),
            backups: "dumps".into(),
            restore_server: None,
        });
        let mut a = apply(&p, dir.path());
        a.state_mut().apply(&Record::Intent {
            batch: 1,
            instances: vec!["cdb-00000000".into()],
            at: Utc::now(),
        });
        let ids: Vec<String> = a
            .cloud_to_check(&p)
            .into_iter()
            .map(|r| r.instance_id)
            .collect();
        assert_eq!(ids, ["cdb-00000001"]);
        assert_eq!(a.pending(), ["cdb-00000001", "cdb-00000002"]);
        assert_eq!(a.finished(), 0);
    }

    #[tokio::test]
    async fn a_run_before_the_journal_is_open_submits_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = plan(&[None]);
        let mut a = apply(&p, dir.path());
        let (_cancel, cancel) = watch::channel(false);
        let (tx, _rx) = mpsc::unbounded_channel();
        let run = a.run(None, cancel, tx).await;
        assert!(matches!(run, Err(Error::NotOpen { .. })), "{run:?}");
        assert!(!dir.path().join("p.journal").exists());
    }

    #[tokio::test]
    async fn a_fresh_journal_starts_with_the_start_and_what_the_plan_asks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // No instance: the run ends at once, without a call.
        let p = plan(&[]);
        let mut a = apply(&p, dir.path());
        let found = a.inspect(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found, Found::Nothing);
        a.open(found).unwrap_or_else(|e| panic!("{e}"));
        let (_cancel, cancel) = watch::channel(false);
        let (tx, _rx) = mpsc::unbounded_channel();
        let outcome = a
            .run(None, cancel, tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(
                outcome,
                Outcome::Ran {
                    ending: Ending::Complete,
                    ..
                }
            ),
            "{outcome:?}"
        );
        let records = Journal::read(a.journal_path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(records[0], Record::Start { .. }), "{records:?}");
        assert_eq!(records[1], a.plan_info().into_record(), "{records:?}");
    }
}
