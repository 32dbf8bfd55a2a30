//! The engine's budget for looks, against a protocol whose tasks progress evenly and whose
//! answers take a while: looks never exceed the status rate, never take the connection slot a
//! waiting submission needs, and see each task soon after its end.

use std::sync::Mutex;

use super::*;
use crate::api::rollback::{RollbackSpec, Strategy};

/// Tasks that run `life(i)` after their submission; every call takes `latency`.
struct Timed {
    rate: f64,
    latency: Duration,
    started: Mutex<HashMap<String, (Instant, JobHandle)>>,
    life: fn(&str) -> Duration,
    /// When each look left, and for which instance.
    looks: Mutex<Vec<(Instant, Instant, String)>>,
    /// Looks in flight now, and the most seen while a submission was waiting or in flight.
    in_flight: Mutex<(usize, usize)>,
    submissions_open: Mutex<usize>,
    next_job: Mutex<u64>,
}

impl Timed {
    fn new(rate: f64, latency: Duration, life: fn(&str) -> Duration) -> Self {
        Self {
            rate,
            latency,
            started: Mutex::default(),
            life,
            looks: Mutex::default(),
            in_flight: Mutex::default(),
            submissions_open: Mutex::default(),
            next_job: Mutex::default(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Protocol for Timed {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        tokio::time::sleep(self.latency).await;
        let job = {
            let mut n = lock(&self.next_job);
            *n += 1;
            JobHandle(n.to_string())
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
        {
            let mut f = lock(&self.in_flight);
            f.0 += 1;
            if *lock(&self.submissions_open) > 0 {
                f.1 = f.1.max(f.0);
            }
        }
        let sent = Instant::now();
        tokio::time::sleep(self.latency).await;
        lock(&self.in_flight).0 -= 1;
        // When it left (for the rate), and when the task's state was read (for the lag).
        let read = Instant::now();
        lock(&self.looks).push((sent, read, instance.to_owned()));
        let Some((start, handle)) = lock(&self.started).get(instance).cloned() else {
            return Ok(None);
        };
        if &handle != job {
            return Ok(None);
        }
        let share = read.saturating_duration_since(start).as_secs_f64()
            / (self.life)(instance).as_secs_f64();
        let (state, progress) = if share >= 1.0 {
            (TaskState::Succeeded, 100)
        } else {
            (TaskState::Running, (share * 100.0) as u8)
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
        self.rate
    }
}

/// Counts submissions waiting or in flight, as the engine sees them (for the slot bound).
struct Counting(Arc<Timed>);

impl Protocol for Counting {
    async fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        let result = self.0.submit(region, batch).await;
        *lock(&self.0.submissions_open) -= 1;
        result
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        self.0.tasks(region, instance).await
    }

    async fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        self.0.task(region, instance, job).await
    }

    fn poll_rate(&self) -> f64 {
        self.0.poll_rate()
    }
}

fn life(instance: &str) -> Duration {
    // 0.6 s to 1.5 s, by instance number.
    let n: u64 = instance.trim_start_matches("cdb-t").parse().unwrap_or(0);
    Duration::from_millis(600 + (n * 37) % 900)
}

async fn run(timed: &Arc<Timed>, n: usize, batch_size: usize, concurrency: usize) -> RunState {
    let ids: Vec<String> = (0..n).map(|i| format!("cdb-t{i}")).collect();
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
    *lock(&timed.submissions_open) = n.div_ceil(batch_size);
    let opts = Options {
        batch_size,
        concurrency,
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
        Arc::new(Counting(Arc::clone(timed))),
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
    engine.into_state()
}

#[tokio::test]
async fn looks_never_exceed_the_status_rate() {
    let rate = 40.0;
    let timed = Arc::new(Timed::new(rate, Duration::from_millis(5), life));
    let state = run(&timed, 60, 10, 4).await;
    assert!(state.all_final());
    let mut at: Vec<Instant> = lock(&timed.looks).iter().map(|(t, _, _)| *t).collect();
    at.sort();
    assert!(at.len() >= 60, "every task was seen: {}", at.len());
    // Evenly paced, with at most one slot caught up after a late wake-up: any window of
    // `w` seconds holds at most w · rate + 2 looks.
    let window = Duration::from_millis(250);
    let most = at
        .iter()
        .enumerate()
        .map(|(i, t)| at[i..].iter().take_while(|u| **u - *t < window).count())
        .max()
        .unwrap_or(0);
    assert!(
        most as f64 <= window.as_secs_f64() * rate + 2.0,
        "{most} looks in {window:?} at {rate}/s"
    );
}

#[tokio::test]
async fn looks_leave_a_connection_slot_to_waiting_submissions() {
    // Slow answers and many batches: looks of early batches are due while later batches
    // still wait to be sent.
    let timed = Arc::new(Timed::new(1000.0, Duration::from_millis(30), life));
    let state = run(&timed, 40, 2, 3).await;
    assert!(state.all_final());
    let most = lock(&timed.in_flight).1;
    assert!(most >= 1, "looks overlapped submissions");
    assert!(
        most <= 2,
        "{most} looks in flight with 3 slots while submissions waited"
    );
}

#[tokio::test]
async fn every_task_is_seen_soon_after_its_end() {
    let timed = Arc::new(Timed::new(200.0, Duration::from_millis(2), life));
    run(&timed, 30, 5, 4).await;
    let looks = lock(&timed.looks).clone();
    let started = lock(&timed.started).clone();
    for (id, (start, _)) in started {
        let end = start + life(&id);
        let seen = looks
            .iter()
            .filter(|(_, read, i)| *i == id && *read >= end)
            .map(|(_, read, _)| *read)
            .min()
            .unwrap_or_else(|| panic!("{id} never seen finished"));
        // The engine looks within `cadence.max` (240 ms) of any end, and closer when its
        // estimate holds; a loaded test machine gets some slack.
        let lag = seen - end;
        assert!(
            lag <= Duration::from_millis(400),
            "{id}: seen {lag:?} after its end"
        );
    }
}
