//! Instances' rollback tasks and their life, computed from the clock (submission time plus
//! duration), never by a ticker: waiting → running with growing progress → success, or failure
//! for instances configured to fail, or killed by StopRollback. Each job has an API 2.0 `jobId`
//! and an API 3.0 `AsyncRequestId`, so either protocol sees the other's tasks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};

use crate::api::rollback::RollbackSpec;

pub use super::phase::Phase;

/// Share of a task's duration spent waiting (status 0) before it runs.
const WAITING_SHARE: f64 = 0.1;
/// A failing task fails at this share of its duration.
const FAILURE_SHARE: f64 = 0.6;

/// One instance's part of a submission.
#[derive(Debug, Clone)]
pub struct Task {
    pub job_id: u64,
    pub task_id: u64,
    pub spec: RollbackSpec,
    /// When it was accepted, on the monotonic clock (drives its life)...
    pub started: Instant,
    /// ...and on the instance's wall clock (for `startTime` / `endTime`).
    pub started_wall: NaiveDateTime,
    pub duration: Duration,
    pub fails: bool,
    /// Ends REMOVED instead (configured per instance).
    pub removed: bool,
    /// Its successful end creates nothing (configured per instance).
    pub hollow: bool,
    /// When StopRollback asked to stop it...
    pub stop_requested: Option<Instant>,
    /// ...and when the stop takes effect (unless the task ends by itself first).
    pub killed: Option<Instant>,
}

impl Task {
    /// How long the task would live if nobody stopped it (until failure for a failing one).
    fn natural_lifetime(&self) -> Duration {
        if self.fails {
            self.duration.mul_f64(FAILURE_SHARE)
        } else {
            self.duration
        }
    }

    /// When a stop takes effect, if one was asked and comes before the natural end.
    fn kill_after(&self) -> Option<Duration> {
        self.killed
            .map(|k| k.saturating_duration_since(self.started))
            .filter(|k| *k <= self.natural_lifetime())
    }

    /// How long until the task ends, whichever way.
    fn lifetime(&self) -> Duration {
        self.kill_after().unwrap_or_else(|| self.natural_lifetime())
    }

    pub fn phase(&self, now: Instant) -> Phase {
        let elapsed = now.saturating_duration_since(self.started);
        let total = self.duration.as_secs_f64();
        let at = |secs: f64| -> u8 {
            let running = total * (1.0 - WAITING_SHARE);
            if running <= 0.0 {
                return 99;
            }
            let share = ((secs - total * WAITING_SHARE) / running).clamp(0.0, 0.99);
            (share * 100.0) as u8
        };
        if elapsed >= self.lifetime() {
            let progress = at(self.lifetime().as_secs_f64());
            return if self.kill_after().is_some() {
                Phase::Killed { progress }
            } else if self.removed {
                Phase::Removed { progress }
            } else if self.fails {
                Phase::Failed { progress }
            } else {
                Phase::Succeeded
            };
        }
        let secs = elapsed.as_secs_f64();
        if self.stop_requested.is_some_and(|r| now >= r) {
            Phase::Stopping { progress: at(secs) }
        } else if secs < total * WAITING_SHARE {
            Phase::Waiting
        } else {
            Phase::Running { progress: at(secs) }
        }
    }

    /// When the task ends on the monotonic clock, whichever way (for benchmarks).
    pub fn ends_at(&self) -> Instant {
        self.started + self.lifetime()
    }

    /// The wall-clock end, once terminal.
    pub fn ended_wall(&self, now: Instant) -> Option<NaiveDateTime> {
        self.phase(now).is_terminal().then(|| {
            let ms = i64::try_from(self.lifetime().as_millis()).unwrap_or(i64::MAX);
            self.started_wall + TimeDelta::milliseconds(ms)
        })
    }
}

/// The API 3.0 `AsyncRequestId` of a job: four groups of 8 hex digits like the cloud's
/// (`a6040589-3b098df5-b551d9e5-81c6bfdc`); the last group is the job id, so ids never collide.
pub fn async_request_id(job_id: u64) -> String {
    let h = super::faults::stable_hash(0x7c3, &job_id.to_string());
    format!(
        "{:08x}-{:08x}-{:08x}-{:08x}",
        h >> 32,
        h & 0xffff_ffff,
        (h >> 16) & 0xffff_ffff,
        job_id & 0xffff_ffff
    )
}

/// All tasks, per instance, plus the id counters and an index of the jobs in submission
/// order (so that a listing costs what its page holds, not every task).
#[derive(Debug)]
pub struct Tasks {
    by_instance: HashMap<String, Vec<Task>>,
    jobs: Vec<Job>,
    /// Job id → its position in `jobs`.
    job_pos: HashMap<u64, usize>,
    /// AsyncRequestId → job id.
    by_async_id: HashMap<String, u64>,
    next_job: u64,
    next_task: u64,
}

/// One job of the index.
#[derive(Debug, Clone)]
pub struct Job {
    pub job_id: u64,
    /// Its tasks' start on the instances' clock (one for the whole job).
    pub started_wall: NaiveDateTime,
    /// Its instances, sorted.
    pub instances: Vec<String>,
    /// Tasks of this job and all before it.
    tasks_through: usize,
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            by_instance: HashMap::new(),
            jobs: Vec::new(),
            job_pos: HashMap::new(),
            by_async_id: HashMap::new(),
            next_job: 1000,
            next_task: 1,
        }
    }
}

/// What a new task needs beyond its spec.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub instance_id: String,
    pub spec: RollbackSpec,
    pub duration: Duration,
    pub fails: bool,
    pub removed: bool,
    pub hollow: bool,
}

impl Tasks {
    /// Whether the instance has a task not yet finished.
    pub fn busy(&self, instance_id: &str, now: Instant) -> bool {
        self.by_instance
            .get(instance_id)
            .is_some_and(|tasks| tasks.iter().any(|t| !t.phase(now).is_terminal()))
    }

    /// Records one job: one task per instance, all under a fresh jobId.
    pub fn submit(&mut self, tasks: Vec<NewTask>, now: Instant, wall: NaiveDateTime) -> u64 {
        let job_id = self.next_job;
        self.next_job += 1;
        let mut instances: Vec<String> = tasks.iter().map(|t| t.instance_id.clone()).collect();
        instances.sort();
        let before = self.jobs.last().map_or(0, |j| j.tasks_through);
        self.job_pos.insert(job_id, self.jobs.len());
        self.by_async_id.insert(async_request_id(job_id), job_id);
        self.jobs.push(Job {
            job_id,
            started_wall: wall,
            tasks_through: before + instances.len(),
            instances,
        });
        for new in tasks {
            let task = Task {
                job_id,
                task_id: self.next_task,
                spec: new.spec,
                started: now,
                started_wall: wall,
                duration: new.duration,
                fails: new.fails,
                removed: new.removed,
                hollow: new.hollow,
                stop_requested: None,
                killed: None,
            };
            self.next_task += 1;
            self.by_instance
                .entry(new.instance_id)
                .or_default()
                .push(task);
        }
        job_id
    }

    /// Asks the instance's unfinished tasks not yet being stopped to stop; each is PAUSED for
    /// `delay`, then KILLED (unless it ends by itself first). How many were asked.
    pub fn kill(&mut self, instance_id: &str, now: Instant, delay: Duration) -> usize {
        let mut stopped = 0;
        for task in self.by_instance.get_mut(instance_id).into_iter().flatten() {
            if !task.phase(now).is_terminal() && task.stop_requested.is_none() {
                task.stop_requested = Some(now);
                // Beyond the clock's range the stop never takes effect: PAUSED until the end.
                task.killed = now.checked_add(delay);
                stopped += 1;
            }
        }
        stopped
    }

    /// Every task of one job, whatever the instance, by instance id.
    pub fn of_job(&self, job_id: u64) -> impl Iterator<Item = &Task> {
        self.job_tasks(job_id).map(|(_, t)| t)
    }

    /// The tasks of one job with their instance, sorted by instance id.
    pub fn job_tasks(&self, job_id: u64) -> impl Iterator<Item = (&str, &Task)> {
        let job = self.job_pos.get(&job_id).map(|&p| &self.jobs[p]);
        job.into_iter().flat_map(move |j| {
            j.instances.iter().filter_map(move |id| {
                let tasks = self.by_instance.get(id)?;
                let task = tasks.iter().find(|t| t.job_id == job_id)?;
                Some((id.as_str(), task))
            })
        })
    }

    /// The job whose AsyncRequestId this is, if any.
    pub fn job_of_async_id(&self, async_id: &str) -> Option<u64> {
        self.by_async_id.get(async_id).copied()
    }

    /// The jobs, oldest first: in submission order, so their start times never go back (the
    /// instances' clock is one).
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Tasks of the first `jobs` jobs (oldest first).
    pub fn tasks_of_first(&self, jobs: usize) -> usize {
        jobs.checked_sub(1)
            .map_or(0, |last| self.jobs[last].tasks_through)
    }

    /// Every task of every instance, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = (&str, &Task)> {
        self.by_instance
            .iter()
            .flat_map(|(id, tasks)| tasks.iter().map(move |t| (id.as_str(), t)))
    }

    /// The instance's tasks, newest first.
    pub fn newest_first(&self, instance_id: &str) -> impl Iterator<Item = &Task> {
        self.by_instance
            .get(instance_id)
            .into_iter()
            .flat_map(|tasks| tasks.iter().rev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::Strategy;

    fn spec() -> RollbackSpec {
        RollbackSpec {
            rollbacktime: "2026-11-20 03:00:00".into(),
            strategy: Strategy::Full,
            dbs: vec![],
            tables: vec![],
        }
    }

    fn task(fails: bool) -> Task {
        Task {
            job_id: 1,
            task_id: 1,
            spec: spec(),
            started: Instant::now(),
            started_wall: NaiveDateTime::default(),
            duration: Duration::from_secs(100),
            fails,
            removed: false,
            hollow: false,
            stop_requested: None,
            killed: None,
        }
    }

    #[test]
    fn a_task_waits_then_runs_with_growing_progress_then_succeeds() {
        let t = task(false);
        let at = |s: u64| t.phase(t.started + Duration::from_secs(s));
        assert_eq!(at(5), Phase::Waiting);
        let (p1, p2) = (at(30).progress(), at(80).progress());
        assert_eq!(at(30).status(), 1);
        assert!(p1 > 0 && p2 > p1 && p2 < 100, "{p1} {p2}");
        assert_eq!(at(100), Phase::Succeeded);
        assert_eq!(at(100).progress(), 100);
        assert!(t.ended_wall(t.started + Duration::from_secs(50)).is_none());
        assert_eq!(
            t.ended_wall(t.started + Duration::from_secs(100)),
            Some(t.started_wall + TimeDelta::seconds(100))
        );
    }

    #[test]
    fn a_failing_task_ends_failed_with_partial_progress() {
        let t = task(true);
        let phase = t.phase(t.started + Duration::from_secs(70));
        assert_eq!(phase.status(), 3);
        assert!(phase.progress() > 0 && phase.progress() < 100);
    }

    #[test]
    fn a_killed_task_ends_killed_at_once_and_frees_the_instance() {
        let mut tasks = Tasks::default();
        let now = Instant::now();
        let new = NewTask {
            instance_id: "cdb-aaaaaaaa".into(),
            spec: spec(),
            duration: Duration::from_secs(100),
            fails: false,
            removed: false,
            hollow: false,
        };
        tasks.submit(vec![new], now, NaiveDateTime::default());
        let later = now + Duration::from_secs(50);
        assert_eq!(tasks.kill("cdb-aaaaaaaa", later, Duration::ZERO), 1);
        assert!(!tasks.busy("cdb-aaaaaaaa", later));
        let phase = tasks
            .newest_first("cdb-aaaaaaaa")
            .map(|t| t.phase(later))
            .next();
        assert!(
            matches!(phase, Some(Phase::Killed { progress }) if progress > 0 && progress < 100)
        );
        assert_eq!(
            phase.map(|p| (p.status(), p.v3_status())),
            Some((4, "KILLED"))
        );
        assert_eq!(
            tasks.kill("cdb-aaaaaaaa", later, Duration::ZERO),
            0,
            "nothing left to stop"
        );
        assert_eq!(tasks.kill("cdb-bbbbbbbb", later, Duration::ZERO), 0);
    }

    #[test]
    fn a_stop_with_a_delay_is_paused_then_killed_unless_the_task_ends_first() {
        let mut tasks = Tasks::default();
        let now = Instant::now();
        let new = |id: &str| NewTask {
            instance_id: id.into(),
            spec: spec(),
            duration: Duration::from_secs(100),
            fails: false,
            removed: false,
            hollow: false,
        };
        tasks.submit(
            vec![new("cdb-aaaaaaaa"), new("cdb-bbbbbbbb")],
            now,
            NaiveDateTime::default(),
        );
        let at = |tasks: &Tasks, id: &str, s: u64| {
            tasks
                .newest_first(id)
                .map(|t| t.phase(now + Duration::from_secs(s)))
                .next()
        };
        let t50 = now + Duration::from_secs(50);
        assert_eq!(tasks.kill("cdb-aaaaaaaa", t50, Duration::from_secs(10)), 1);
        assert_eq!(
            tasks.kill("cdb-aaaaaaaa", t50, Duration::from_secs(10)),
            0,
            "already being stopped"
        );
        let paused = at(&tasks, "cdb-aaaaaaaa", 55);
        assert!(matches!(paused, Some(Phase::Stopping { .. })), "{paused:?}");
        assert_eq!(
            paused.map(|p| (p.status(), p.v3_status())),
            Some((6, "PAUSED"))
        );
        assert!(tasks.busy("cdb-aaaaaaaa", now + Duration::from_secs(55)));
        assert!(matches!(
            at(&tasks, "cdb-aaaaaaaa", 60),
            Some(Phase::Killed { .. })
        ));
        // A stop that would take effect after the natural end changes nothing but the wait.
        let t95 = now + Duration::from_secs(95);
        assert_eq!(tasks.kill("cdb-bbbbbbbb", t95, Duration::from_secs(10)), 1);
        assert!(matches!(
            at(&tasks, "cdb-bbbbbbbb", 97),
            Some(Phase::Stopping { .. })
        ));
        assert_eq!(at(&tasks, "cdb-bbbbbbbb", 100), Some(Phase::Succeeded));
    }

    #[test]
    fn async_request_ids_look_like_the_clouds_and_differ_per_job() {
        let a = async_request_id(1000);
        assert_eq!(a.len(), 35);
        assert!(
            a.split('-')
                .all(|g| g.len() == 8 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        assert_ne!(a, async_request_id(1001));
        assert_eq!(a, async_request_id(1000));
    }

    #[test]
    fn busy_until_the_last_task_ends_and_lists_newest_first() {
        let mut tasks = Tasks::default();
        let now = Instant::now();
        let new = |d| NewTask {
            instance_id: "cdb-aaaaaaaa".into(),
            spec: spec(),
            duration: Duration::from_secs(d),
            fails: false,
            removed: false,
            hollow: false,
        };
        let first = tasks.submit(vec![new(10)], now, NaiveDateTime::default());
        let second = tasks.submit(vec![new(20)], now, NaiveDateTime::default());
        assert!(second > first);
        assert!(tasks.busy("cdb-aaaaaaaa", now + Duration::from_secs(15)));
        assert!(!tasks.busy("cdb-aaaaaaaa", now + Duration::from_secs(20)));
        assert!(!tasks.busy("cdb-bbbbbbbb", now));
        let jobs: Vec<u64> = tasks
            .newest_first("cdb-aaaaaaaa")
            .map(|t| t.job_id)
            .collect();
        assert_eq!(jobs, [second, first]);
    }
}
