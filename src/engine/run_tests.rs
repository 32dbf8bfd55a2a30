//! The apply loop against a scripted protocol: lost answers, refusals and listing errors on
//! demand, with every submission counted.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use super::fake::lock;
use super::*;
use crate::api::rollback::{RollbackSpec, Strategy};
use crate::contract::TIME_FORMAT;
use crate::engine::schedule::Cadence;

/// What the fake does with the next submission.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Carry it out (or refuse it) and answer.
    Answer,
    /// Carry it out (or refuse it), then lose the answer.
    Lose,
    /// Lose it before it is carried out (a gateway error): the outcome is just as unknown.
    Drop,
}

#[derive(Default)]
struct Fake {
    script: Mutex<VecDeque<Script>>,
    missing: HashSet<String>,
    /// Instances whose submissions are refused with this API code.
    refuse: HashMap<String, i64>,
    /// Instances whose task listing fails with this API code.
    listing_fails: HashMap<String, i64>,
    tasks: Mutex<HashMap<String, Vec<Task>>>,
    submissions: Mutex<HashMap<String, u32>>,
    next_job: Mutex<u64>,
    /// Listings (`tasks`) that still miss every task, as an API lagging behind would.
    lagging_listings: Mutex<u32>,
    /// Refuse a submission with 9592 while the instance has a task (as if still running).
    busy_while_listed: bool,
    /// Tasks run for ever (halfway through), so that only `--timeout` ends the run.
    never_end: bool,
}

fn api(code: i64, message: &str) -> Error {
    Error::Api {
        action: "Fake".into(),
        code,
        message: message.into(),
        code_desc: String::new(),
    }
}

fn spec() -> RollbackSpec {
    RollbackSpec {
        rollbacktime: "2026-11-20 03:15:00".into(),
        strategy: Strategy::Db,
        dbs: vec![crate::api::rollback::DatabaseRename {
            dbname: "orders".into(),
            newname: "orders_bak".into(),
        }],
        tables: vec![],
    }
}

impl Fake {
    fn carry_out(&self, batch: &[InstanceRollback]) -> Result<JobHandle, Error> {
        if let Some(r) = batch.iter().find(|r| self.missing.contains(&r.instance_id)) {
            return Err(api(
                11041,
                &format!("instance {} does not exist", r.instance_id),
            ));
        }
        if let Some((id, code)) = batch
            .iter()
            .find_map(|r| self.refuse.get_key_value(&r.instance_id))
        {
            return Err(api(*code, &format!("refused {id}")));
        }
        if self.busy_while_listed {
            let tasks = lock(&self.tasks);
            if let Some(r) = batch.iter().find(|r| tasks.contains_key(&r.instance_id)) {
                return Err(api(
                    9592,
                    &format!("a task is running on {}", r.instance_id),
                ));
            }
        }
        let job = {
            let mut n = lock(&self.next_job);
            *n += 1;
            JobHandle(n.to_string())
        };
        let started = (Utc::now() + chrono::Duration::hours(8))
            .format(TIME_FORMAT)
            .to_string();
        for r in batch {
            *lock(&self.submissions)
                .entry(r.instance_id.clone())
                .or_default() += 1;
            lock(&self.tasks)
                .entry(r.instance_id.clone())
                .or_default()
                .push(Task {
                    job: Some(job.clone()),
                    state: if self.never_end {
                        TaskState::Running
                    } else {
                        TaskState::Succeeded
                    },
                    progress: Some(if self.never_end { 50 } else { 100 }),
                    started_at: Some(started.clone()),
                    finished_at: None,
                    message: None,
                    spec: Some(r.spec.clone()),
                });
        }
        Ok(job)
    }

    fn listing(&self, instance: &str) -> Result<Vec<Task>, Error> {
        if let Some(code) = self.listing_fails.get(instance) {
            return Err(api(*code, "listing refused"));
        }
        if self.missing.contains(instance) {
            return Err(api(11041, "instance does not exist"));
        }
        Ok(lock(&self.tasks).get(instance).cloned().unwrap_or_default())
    }
}

impl Protocol for Fake {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        let script = lock(&self.script).pop_front().unwrap_or(Script::Answer);
        let result = match script {
            Script::Drop => Err(api(0, "dropped")),
            _ => self.carry_out(batch),
        };
        match script {
            Script::Answer => result,
            Script::Lose | Script::Drop => Err(Error::OutcomeUnknown {
                action: "RollbackCdbDatabaseTables".into(),
                source: Box::new(Error::MaybeSent {
                    action: "RollbackCdbDatabaseTables".into(),
                    reason: "connection closed".into(),
                }),
            }),
        }
    }

    async fn tasks(&self, _region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        let all = self.listing(instance)?;
        let mut lag = lock(&self.lagging_listings);
        if *lag > 0 {
            *lag -= 1;
            return Ok(Vec::new());
        }
        Ok(all)
    }

    async fn task(
        &self,
        _region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        Ok(self
            .listing(instance)?
            .into_iter()
            .find(|t| t.job.as_ref() == Some(job)))
    }
}

fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("cdb-fake{i:04}")).collect()
}

fn options() -> Options {
    Options {
        cadence: Cadence {
            min: Duration::from_millis(10),
            max: Duration::from_millis(100),
        },
        first_poll: Duration::from_millis(10),
        settle: Duration::from_millis(10),
        busy_wait: Duration::from_secs(1),
        retry_base: Duration::from_millis(10),
        ..Options::default()
    }
}

/// Runs the engine over `ids` with `fake`; returns how it ended and the final state.
async fn run(fake: Arc<Fake>, ids: &[String], batch_size: usize) -> (Ending, RunState) {
    run_with(fake, ids, batch_size, options()).await
}

/// [`run`] with these options.
async fn run_with(
    fake: Arc<Fake>,
    ids: &[String],
    batch_size: usize,
    opts: Options,
) -> (Ending, RunState) {
    let (ending, state, _) = run_journaled(fake, ids, batch_size, opts).await;
    (ending, state)
}

/// [`run_with`], with the journal the run wrote.
async fn run_journaled(
    fake: Arc<Fake>,
    ids: &[String],
    batch_size: usize,
    opts: Options,
) -> (Ending, RunState, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&dir.path().join("j.journal")).unwrap();
    let requests: Vec<InstanceRollback> = ids
        .iter()
        .map(|id| InstanceRollback {
            instance_id: id.clone(),
            spec: spec(),
        })
        .collect();
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let mut engine = Engine::new(
        fake,
        Work::batched(
            requests.into_iter().map(|r| (r, None)).collect(),
            batch_size,
        ),
        opts,
        journal,
        RunState::new(ids.iter().map(String::as_str)),
        tx,
    );
    let ending = tokio::time::timeout(Duration::from_secs(10), engine.run(cancelled))
        .await
        .unwrap_or_else(|_| panic!("the engine did not end"));
    let state = engine.into_state();
    // What a resumed run would see is what this run ended with.
    let records = Journal::read(&dir.path().join("j.journal")).unwrap();
    let replayed = RunState::replay(ids.iter().map(String::as_str), &records);
    assert_eq!(
        replayed.instances, state.instances,
        "journal and state differ"
    );
    (ending, state, records)
}

#[tokio::test]
async fn a_lost_answer_for_a_batch_with_a_missing_instance_ends_with_it_rejected() {
    let ids = ids(3);
    let fake = Arc::new(Fake {
        script: Mutex::new(VecDeque::from([Script::Lose])),
        missing: HashSet::from([ids[1].clone()]),
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 3).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    let statuses: Vec<Status> = state.instances.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [Status::Succeeded, Status::Rejected, Status::Succeeded]
    );
    assert!(
        state.instances[1]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("11041")),
        "{:?}",
        state.instances[1].error
    );
    let submitted = lock(&fake.submissions).clone();
    assert_eq!(
        submitted,
        HashMap::from([(ids[0].clone(), 1), (ids[2].clone(), 1)])
    );
}

#[tokio::test]
async fn an_in_doubt_instance_whose_tasks_cannot_be_listed_is_unknown_without_a_resubmission() {
    let ids = ids(2);
    let fake = Arc::new(Fake {
        script: Mutex::new(VecDeque::from([Script::Lose])),
        listing_fails: HashMap::from([(ids[0].clone(), 4000)]),
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 2).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(state.instances[0].status, Status::Unknown);
    assert!(
        state.instances[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not resubmitted") && e.contains("planrun jobs")),
        "{:?}",
        state.instances[0].error
    );
    assert_eq!(state.instances[1].status, Status::Succeeded);
    // The lost submission was carried out once; nothing was sent again.
    assert_eq!(
        lock(&fake.submissions).clone(),
        HashMap::from([(ids[0].clone(), 1), (ids[1].clone(), 1)])
    );
}

#[tokio::test]
async fn lost_answers_are_adopted_and_never_resubmitted() {
    let ids = ids(5);
    let fake = Arc::new(Fake {
        script: Mutex::new(VecDeque::from([Script::Lose, Script::Answer, Script::Lose])),
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 2).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert!(
        state
            .instances
            .iter()
            .all(|s| s.status == Status::Succeeded)
    );
    assert!(lock(&fake.submissions).values().all(|n| *n == 1));
    assert_eq!(lock(&fake.submissions).len(), 5);
}

#[tokio::test]
async fn a_lost_submission_the_listing_missed_is_adopted_on_9592_not_submitted_again() {
    let ids = ids(1);
    let fake = Arc::new(Fake {
        script: Mutex::new(VecDeque::from([Script::Lose])),
        lagging_listings: Mutex::new(1),
        busy_while_listed: true,
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 1).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(state.instances[0].status, Status::Succeeded);
    assert_eq!(state.instances[0].job, Some(JobHandle("1".into())));
    assert_eq!(lock(&fake.submissions).get(&ids[0]), Some(&1));
}

#[test]
fn retry_delays_double_with_jitter_and_stay_under_a_minute() {
    let base = Duration::from_secs(2);
    for attempt in 0..4 {
        let full = base * 2u32.pow(attempt);
        let d = retry_delay(base, attempt);
        assert!(d >= full / 2 && d < full, "attempt {attempt}: {d:?}");
    }
    assert!(retry_delay(base, 30) < Duration::from_secs(60));
}

#[tokio::test]
async fn an_instance_refused_by_transient_errors_stays_pending_not_rejected() {
    let ids = ids(2);
    let fake = Arc::new(Fake {
        refuse: HashMap::from([(ids[0].clone(), 9006)]),
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 1).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(state.instances[0].status, Status::Pending);
    assert_eq!(state.instances[1].status, Status::Succeeded);
    assert!(state.complete.is_none(), "the journal stays resumable");
}

#[tokio::test]
async fn an_instance_that_cannot_be_reconciled_stays_unknown_while_its_batch_is_resubmitted() {
    let ids = ids(2);
    let fake = Arc::new(Fake {
        script: Mutex::new(VecDeque::from([Script::Drop])),
        listing_fails: HashMap::from([(ids[0].clone(), 4000)]),
        ..Fake::default()
    });
    let (ending, state) = run(Arc::clone(&fake), &ids, 2).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(state.instances[0].status, Status::Unknown);
    assert_eq!(state.instances[1].status, Status::Succeeded);
    // Never sent again blind: only the instance found to be missing was resubmitted.
    assert_eq!(
        lock(&fake.submissions).clone(),
        HashMap::from([(ids[1].clone(), 1)])
    );
    assert!(state.complete.is_some());
}

#[tokio::test]
async fn a_run_that_times_out_journals_it_and_its_replay_ends_timed_out() {
    let ids = ids(3);
    let fake = Arc::new(Fake {
        refuse: HashMap::from([(ids[2].clone(), 9003)]),
        never_end: true,
        ..Fake::default()
    });
    let opts = Options {
        // Tasks never end: only the timeout ends the run (the refusal comes long before).
        timeout: Some(Duration::from_secs(1)),
        ..options()
    };
    // `run_with` asserts that the journal's replay equals the state the run ended with.
    let (ending, state) = run_with(Arc::clone(&fake), &ids, 1, opts).await;
    assert!(matches!(ending, Ending::TimedOut), "{ending:?}");
    let statuses: Vec<Status> = state.instances.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [Status::TimedOut, Status::TimedOut, Status::Rejected],
        "a final instance is not timed out"
    );
    assert!(state.complete.is_none(), "the journal stays resumable");
}

#[tokio::test]
async fn a_busy_refusal_that_outlasts_the_wait_is_journaled_under_the_instances_own_call() {
    let ids = ids(3);
    let fake = Arc::new(Fake {
        refuse: HashMap::from([(ids[0].clone(), 9592)]),
        ..Fake::default()
    });
    let opts = Options {
        // Refused at the first busy answer: by then the other instances' calls were sent
        // too (one call each, all sent before any answer is read), so the run's latest
        // call is not the busy instance's.
        busy_wait: Duration::ZERO,
        ..options()
    };
    let (ending, state, records) = run_journaled(Arc::clone(&fake), &ids, 1, opts).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(state.instances[0].status, Status::Rejected);
    let sent: Vec<u64> = records
        .iter()
        .filter_map(|r| match r {
            Record::Intent {
                batch, instances, ..
            } if instances == &ids[..1] => Some(*batch),
            _ => None,
        })
        .collect();
    let refused: Vec<(u64, Option<String>)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Rejected { batch, code, .. } => Some((*batch, code.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{records:?}");
    assert_eq!(refused, [(sent[0], Some("9592".to_owned()))], "{records:?}");
    assert!(
        state.next_batch > sent[0] + 1,
        "other calls came later: {records:?}"
    );
}
