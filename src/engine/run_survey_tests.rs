//! Surveys against a protocol whose listing speaks for many instances: instances are looked
//! at on their own only once the listing says their task ended (and that look decides), or
//! when the listing cannot speak for them (one item per submission, a refused listing).
//!
//! The engine measures time with `std::time::Instant`, so these run on the real clock with
//! tasks of a fraction of a second; they assert which calls were made, never how fast.

use std::sync::Mutex;

use super::*;
use crate::api::rollback::{RollbackSpec, Strategy};

/// How the fake's listing answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Listing {
    /// One item per instance's task, with its true state.
    PerInstance,
    /// One item per submission naming all its instances, RUNNING until all have ended.
    PerSubmission,
    /// Every task listed as succeeded at once (the looks must not believe it).
    Premature,
    /// Refused for good (an unknown action).
    Refused,
}

struct Fake {
    listing: Listing,
    started: Mutex<HashMap<String, (Instant, JobHandle)>>,
    /// Every look: when its answer was read, for which instance.
    looks: Mutex<Vec<(Instant, String)>>,
    surveys: Mutex<usize>,
    next_job: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn life(instance: &str) -> Duration {
    // 150 ms to 550 ms, by instance number.
    let n: u64 = instance.trim_start_matches("cdb-s").parse().unwrap_or(0);
    Duration::from_millis(150 + (n * 53) % 400)
}

impl Fake {
    fn new(listing: Listing) -> Self {
        Self {
            listing,
            started: Mutex::default(),
            looks: Mutex::default(),
            surveys: Mutex::default(),
            next_job: Mutex::default(),
        }
    }

    fn ended(&self, instance: &str, now: Instant) -> bool {
        self.progress(instance, now) >= 100
    }

    /// Whole percent of the task's life gone by.
    fn progress(&self, instance: &str, now: Instant) -> u8 {
        lock(&self.started).get(instance).map_or(0, |(start, _)| {
            let share =
                now.saturating_duration_since(*start).as_secs_f64() / life(instance).as_secs_f64();
            (share * 100.0).min(100.0) as u8
        })
    }
}

impl Protocol for Fake {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        let job = {
            let mut n = lock(&self.next_job);
            *n += 1;
            JobHandle(format!("job-{n}"))
        };
        let now = Instant::now();
        for r in batch {
            lock(&self.started).insert(r.instance_id.clone(), (now, job.clone()));
        }
        Ok(job)
    }

    async fn tasks(&self, _region: Option<&str>, _instance: &str) -> Result<Vec<Task>, Error> {
        Ok(Vec::new())
    }

    async fn task(
        &self,
        _region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        let now = Instant::now();
        lock(&self.looks).push((now, instance.to_owned()));
        let progress = self.progress(instance, now);
        Ok(Some(Task {
            job: Some(job.clone()),
            state: if progress >= 100 {
                TaskState::Succeeded
            } else {
                TaskState::Running
            },
            progress: Some(progress),
            started_at: None,
            finished_at: None,
            message: None,
            spec: None,
        }))
    }

    fn surveys(&self) -> bool {
        true
    }

    async fn survey(
        &self,
        _region: Option<&str>,
        _since: chrono::DateTime<FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        *lock(&self.surveys) += 1;
        if self.listing == Listing::Refused {
            return Err(Error::Cloud {
                action: "DescribeTasks".into(),
                code: "UnsupportedOperation".into(),
                message: "not offered".into(),
                request_id: String::new(),
            });
        }
        let now = Instant::now();
        let started = lock(&self.started).clone();
        let item = |instances: Vec<String>, job: &JobHandle, ended: bool| Surveyed {
            job: Some(job.clone()),
            instances,
            state: if ended {
                TaskState::Succeeded
            } else {
                TaskState::Running
            },
            progress: Some(if ended { 100 } else { 50 }),
        };
        Ok(match self.listing {
            Listing::PerInstance | Listing::Premature => started
                .iter()
                .map(|(id, (_, job))| {
                    let ended = self.listing == Listing::Premature || self.ended(id, now);
                    item(vec![id.clone()], job, ended)
                })
                .collect(),
            Listing::PerSubmission | Listing::Refused => {
                let mut jobs: HashMap<&JobHandle, Vec<String>> = HashMap::new();
                for (id, (_, job)) in &started {
                    jobs.entry(job).or_default().push(id.clone());
                }
                jobs.into_iter()
                    .map(|(job, ids)| {
                        let ended = ids.iter().all(|i| self.ended(i, now));
                        item(ids, job, ended)
                    })
                    .collect()
            }
        })
    }
}

async fn run(fake: &Arc<Fake>, n: usize) -> RunState {
    let ids: Vec<String> = (0..n).map(|i| format!("cdb-s{i}")).collect();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (journal, _) =
        Journal::open(&dir.path().join("j.journal")).unwrap_or_else(|e| panic!("{e}"));
    let requests = ids
        .iter()
        .map(|id| InstanceRollback {
            instance_id: id.clone(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Db,
                dbs: vec![],
                tables: vec![],
            },
        })
        .collect();
    let opts = Options {
        batch_size: 10,
        concurrency: 4,
        cadence: Cadence {
            min: Duration::from_millis(20),
            max: Duration::from_millis(240),
        },
        first_poll: Duration::from_millis(40),
        ..Options::default()
    };
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let mut engine = Engine::new(
        Arc::clone(fake),
        requests,
        vec![None; n],
        opts,
        journal,
        RunState::new(ids.iter().map(String::as_str)),
        tx,
    );
    let ending = tokio::time::timeout(Duration::from_secs(60), engine.run(cancelled))
        .await
        .unwrap_or_else(|_| panic!("the engine did not end"));
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    let state = engine.into_state();
    assert!(state.all_final());
    assert!(
        state
            .instances
            .iter()
            .all(|s| s.status == Status::Succeeded),
        "every task succeeded"
    );
    state
}

/// Looks per instance, and whether any came before the instance's end.
fn looks_of(fake: &Fake, id: &str) -> (usize, bool) {
    let (start, _) = lock(&fake.started)
        .get(id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} never submitted"));
    let looks: Vec<Instant> = lock(&fake.looks)
        .iter()
        .filter(|(_, i)| i == id)
        .map(|(at, _)| *at)
        .collect();
    let early = looks.iter().any(|at| *at < start + life(id));
    (looks.len(), early)
}

#[tokio::test]
async fn a_per_instance_listing_leaves_one_confirming_look_per_instance() {
    let fake = Arc::new(Fake::new(Listing::PerInstance));
    let state = run(&fake, 40).await;
    for s in &state.instances {
        let (looks, early) = looks_of(&fake, &s.id);
        assert_eq!(looks, 1, "{}: one look, the one that confirms", s.id);
        assert!(!early, "{}: no look before the listing saw its end", s.id);
    }
    // The listing answered for all 40 instances at once, survey after survey.
    let surveys = *lock(&fake.surveys);
    assert!(surveys >= 1, "{surveys} surveys");
}

#[tokio::test]
async fn a_listing_that_says_ended_too_soon_is_not_believed_without_a_look() {
    let fake = Arc::new(Fake::new(Listing::Premature));
    run(&fake, 20).await;
    let started = lock(&fake.started).clone();
    for (id, (start, _)) in &started {
        let last = lock(&fake.looks)
            .iter()
            .filter(|(_, i)| i == id)
            .map(|(at, _)| *at)
            .max()
            .unwrap_or_else(|| panic!("{id} never looked at"));
        assert!(
            last >= *start + life(id),
            "{id} finished only on a look after its end"
        );
    }
}

#[tokio::test]
async fn one_item_per_submission_hands_each_instance_to_looks_of_its_own() {
    let fake = Arc::new(Fake::new(Listing::PerSubmission));
    run(&fake, 20).await;
    // The item stays RUNNING until the whole submission ends; the short tasks of a batch
    // were looked at on their own before that.
    let started = lock(&fake.started).clone();
    let looks = lock(&fake.looks).clone();
    let mut early_seen = 0;
    for (id, (start, job)) in &started {
        let batch_end = started
            .iter()
            .filter(|(_, (_, j))| j == job)
            .map(|(i, (s, _))| *s + life(i))
            .max()
            .unwrap_or(*start);
        let seen = looks
            .iter()
            .filter(|(at, i)| i == id && *at >= *start + life(id))
            .map(|(at, _)| *at)
            .min()
            .unwrap_or_else(|| panic!("{id} never seen ended"));
        early_seen += usize::from(seen < batch_end);
    }
    assert!(
        early_seen > 0,
        "no instance was seen before its batch ended"
    );
}

#[tokio::test]
async fn a_refused_listing_is_asked_once_and_instances_get_looks_of_their_own() {
    let fake = Arc::new(Fake::new(Listing::Refused));
    run(&fake, 20).await;
    assert_eq!(*lock(&fake.surveys), 1);
    assert!(lock(&fake.looks).len() >= 20);
}
