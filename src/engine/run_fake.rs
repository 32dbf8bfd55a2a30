//! The fake cloud the engine's pacing and survey tests share, on tokio's paused clock: tasks
//! that wait a tenth of their life then progress evenly, every call through the API client's
//! own per-action limiter, answers that take a while, and a listing in either shape.
//!
//! The server counts each request at a moment between its arrival and its answer (a
//! deterministic draw), as a real one might: the tests check the one-second windows of those
//! moments, not of the engine's intentions.

use std::sync::Mutex;

use super::*;
use crate::api::limiter::RateLimiter;
use crate::api::rollback::{RollbackSpec, Strategy};

/// How the fake lists tasks (DescribeTasks without an instance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Listing {
    /// No listing at all (API 2.0): every instance is polled on its own.
    None,
    /// One item per instance's task, with its true state.
    PerInstance,
    /// One item per submission naming all its instances, RUNNING until all have ended.
    PerSubmission,
    /// Every task listed as succeeded at once (the polls must not believe it).
    Premature,
    /// Refused for good (an unknown action).
    Refused,
}

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub action: &'static str,
    /// When the server counted it against the action's rate.
    pub counted: Instant,
    /// When its answer was read (a poll's is when the task's state was read).
    pub answered: Instant,
    pub instance: Option<String>,
}

pub struct Fake {
    pub listing: Listing,
    /// Round trip of every call.
    pub latency: Duration,
    pub life: fn(&str) -> Duration,
    limiters: HashMap<&'static str, RateLimiter>,
    pub started: Mutex<HashMap<String, (Instant, JobHandle)>>,
    pub calls: Mutex<Vec<Call>>,
    /// Polls in flight now, and the most seen while a submission was waiting or in flight.
    pub in_flight: Mutex<(usize, usize)>,
    pub submissions_open: Mutex<usize>,
    next_job: Mutex<u64>,
    draws: Mutex<u64>,
}

pub const SUBMIT: &str = "submit";
pub const POLL: &str = "poll";
pub const LIST: &str = "list";

/// Share of a task's life spent waiting before its progress moves.
const WAITING: f64 = 0.1;

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Fake {
    pub fn new(listing: Listing, rate: f64, latency: Duration, life: fn(&str) -> Duration) -> Self {
        // Requests per second per action, as the client's limiter and the server count them.
        let limiters = [SUBMIT, POLL, LIST]
            .into_iter()
            .map(|a| (a, RateLimiter::new(rate)))
            .collect();
        Self {
            listing,
            latency,
            life,
            limiters,
            started: Mutex::default(),
            calls: Mutex::default(),
            in_flight: Mutex::default(),
            submissions_open: Mutex::default(),
            next_job: Mutex::default(),
            draws: Mutex::new(0x5eed),
        }
    }

    /// A number in [0, 1), the same sequence every run.
    fn draw(&self) -> f64 {
        let mut s = lock(&self.draws);
        *s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*s >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One request of `action`: through its limiter, answered after the latency (a tenth to
    /// twice it), counted by the server somewhere in between. Returns when it was read.
    async fn call(&self, action: &'static str, instance: Option<&str>) -> Instant {
        let limiter = &self.limiters[action];
        let ticket = limiter.acquire().await;
        let sent = Instant::now();
        let trip = self.latency.mul_f64(0.1 + 1.9 * self.draw());
        let counted = sent + trip.mul_f64(self.draw());
        tokio::time::sleep(trip).await;
        let answered = Instant::now();
        limiter.answered(ticket);
        lock(&self.calls).push(Call {
            action,
            counted,
            answered,
            instance: instance.map(str::to_owned),
        });
        answered
    }

    /// Whole percent of the task's life gone by at `now` (100: ended).
    pub fn progress(&self, instance: &str, now: Instant) -> u8 {
        lock(&self.started).get(instance).map_or(0, |(start, _)| {
            let life = (self.life)(instance).as_secs_f64();
            let age = now.saturating_duration_since(*start).as_secs_f64();
            if age >= life {
                100
            } else {
                ((age - WAITING * life).max(0.0) / ((1.0 - WAITING) * life) * 100.0).min(99.0) as u8
            }
        })
    }

    /// When the instance's task ends.
    pub fn end(&self, instance: &str) -> Instant {
        let (start, _) = lock(&self.started)
            .get(instance)
            .cloned()
            .unwrap_or_else(|| panic!("{instance} never submitted"));
        start + (self.life)(instance)
    }

    /// The calls of one action.
    pub fn calls_of(&self, action: &str) -> Vec<Call> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.action == action)
            .cloned()
            .collect()
    }

    /// When each poll of `instance` was read.
    pub fn polls_of(&self, instance: &str) -> Vec<Instant> {
        self.calls_of(POLL)
            .into_iter()
            .filter(|c| c.instance.as_deref() == Some(instance))
            .map(|c| c.answered)
            .collect()
    }

    /// The most requests of `action` the server counted in any one second.
    pub fn busiest_second(&self, action: &str) -> usize {
        let mut at: Vec<Instant> = self.calls_of(action).iter().map(|c| c.counted).collect();
        at.sort();
        (0..at.len())
            .map(|i| {
                at[i..]
                    .iter()
                    .take_while(|u| **u - at[i] < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

impl Protocol for Fake {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        let now = self.call(SUBMIT, None).await;
        let job = {
            let mut n = lock(&self.next_job);
            *n += 1;
            JobHandle(format!("job-{n}"))
        };
        for r in batch {
            lock(&self.started).insert(r.instance_id.clone(), (now, job.clone()));
        }
        let mut open = lock(&self.submissions_open);
        *open = open.saturating_sub(1);
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
        {
            let mut f = lock(&self.in_flight);
            f.0 += 1;
            if *lock(&self.submissions_open) > 0 {
                f.1 = f.1.max(f.0);
            }
        }
        let read = self.call(POLL, Some(instance)).await;
        lock(&self.in_flight).0 -= 1;
        let Some((_, handle)) = lock(&self.started).get(instance).cloned() else {
            return Ok(None);
        };
        if &handle != job {
            return Ok(None);
        }
        let progress = self.progress(instance, read);
        let state = match progress {
            100 => TaskState::Succeeded,
            0 => TaskState::Waiting,
            _ => TaskState::Running,
        };
        Ok(Some(Task {
            job: Some(handle),
            state,
            progress: Some(progress),
            started_at: None,
            finished_at: None,
            message: None,
            spec: None,
        }))
    }

    fn poll_rate(&self) -> f64 {
        self.limiters[POLL].current_rate()
    }

    fn survey_rate(&self) -> f64 {
        self.limiters[LIST].current_rate()
    }

    fn surveys(&self) -> bool {
        self.listing != Listing::None
    }

    async fn survey(
        &self,
        _region: Option<&str>,
        _since: chrono::DateTime<FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        let now = self.call(LIST, None).await;
        if self.listing == Listing::Refused {
            return Err(Error::Cloud {
                action: "DescribeTasks".into(),
                code: "UnsupportedOperation".into(),
                message: "not offered".into(),
                request_id: String::new(),
            });
        }
        let started = lock(&self.started).clone();
        let ended = |id: &str| self.progress(id, now) >= 100;
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
            Listing::PerSubmission => {
                let mut jobs: HashMap<&JobHandle, Vec<String>> = HashMap::new();
                for (id, (_, job)) in &started {
                    jobs.entry(job).or_default().push(id.clone());
                }
                jobs.into_iter()
                    .map(|(job, ids)| {
                        let all = ids.iter().all(|i| ended(i));
                        item(ids, job, all)
                    })
                    .collect()
            }
            _ => started
                .iter()
                .map(|(id, (_, job))| {
                    let said = self.listing == Listing::Premature || ended(id);
                    item(vec![id.clone()], job, said)
                })
                .collect(),
        })
    }
}

/// Instances `cdb-t0` … of the run.
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("cdb-t{i}")).collect()
}

/// The instance's number.
pub fn number(instance: &str) -> u64 {
    instance.trim_start_matches("cdb-t").parse().unwrap_or(0)
}

/// A run's calls of at most `batch_size` instances, and the engine's options.
pub struct Pace {
    pub batch_size: usize,
    pub opts: Options,
}

/// Options like planrun's at a 1 s poll interval (`--poll-interval 1s`), calls of at most
/// `batch_size` instances.
pub fn options(batch_size: usize, concurrency: usize) -> Pace {
    let opts = Options {
        concurrency,
        cadence: Cadence {
            min: Duration::from_secs(1),
            max: Duration::from_secs(12),
        },
        first_poll: Duration::from_secs(2),
        ..Options::default()
    };
    Pace { batch_size, opts }
}

/// Runs the engine over `n` instances against `fake` to the end (on the paused clock, the
/// hours it may take pass at once); every task must succeed.
pub async fn run(fake: &Arc<Fake>, n: usize, pace: Pace) -> RunState {
    run_journaled(fake, n, pace).await.0
}

/// [`run`], with the journal's records and how many fsyncs wrote them.
pub async fn run_journaled(
    fake: &Arc<Fake>,
    n: usize,
    pace: Pace,
) -> (RunState, Vec<crate::engine::journal::Record>, u64) {
    let ids = ids(n);
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&dir.path().join("j.journal")).unwrap();
    let requests: Vec<InstanceRollback> = ids
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
    *lock(&fake.submissions_open) = n.div_ceil(pace.batch_size);
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let mut engine = Engine::new(
        Arc::clone(fake),
        Work::batched(
            requests.into_iter().map(|r| (r, None)).collect(),
            pace.batch_size,
        ),
        pace.opts,
        journal,
        RunState::new(ids.iter().map(String::as_str)),
        tx,
    );
    let ending = tokio::time::timeout(Duration::from_secs(86_400), engine.run(cancelled))
        .await
        .unwrap_or_else(|_| panic!("the engine did not end"));
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    let syncs = engine.journal().syncs();
    let records = Journal::read(&dir.path().join("j.journal")).unwrap();
    let state = engine.into_state();
    assert!(
        state
            .instances
            .iter()
            .all(|s| s.status == Status::Succeeded),
        "every task succeeded"
    );
    (state, records, syncs)
}
