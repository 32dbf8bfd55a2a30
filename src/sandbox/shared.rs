//! What both API dialects are served over: the state every handler shares (tasks, counters,
//! faults, quirks, what was received), the handler prelude (count the request, draw a fault,
//! answer a 502 or slow down), the in-flight count, and the life of an accepted submission's
//! tasks. `v2` and `v3` only parse, verify and answer in their own words.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDateTime, TimeDelta, Utc};

use super::answer::Quirks;
use super::config::Config;
use super::counters::Counters;
use super::faults::{FaultKind, FaultPlan, stable_fraction};
use super::rules;
use super::state::{NewTask, Tasks};
use super::verify::Verifier;

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    pub config: Config,
    inner: Mutex<Inner>,
}

/// The mutable part; never held across an `.await`.
#[derive(Debug)]
pub struct Inner {
    pub verifier: Verifier,
    pub tasks: Tasks,
    pub counters: Counters,
    pub polls: super::timeline::Polls,
    /// DescribeDatabases / DescribeTables answered (for benchmarks: [`super::Timeline`]).
    pub object_polls: super::timeline::Polls,
    pub faults: FaultPlan,
    pub quirks: Quirks,
    pub v3: super::v3::Quirks,
    pub received: super::received::Log,
}

impl Shared {
    pub fn new(config: Config) -> Self {
        let inner = Inner {
            verifier: Verifier::default(),
            tasks: Tasks::default(),
            counters: Counters::default(),
            polls: super::timeline::Polls::default(),
            object_polls: super::timeline::Polls::default(),
            faults: FaultPlan::new(&config.faults),
            quirks: Quirks::new(config.seed),
            v3: super::v3::Quirks::new(config.seed),
            received: super::received::Log::default(),
        };
        Self {
            config,
            inner: Mutex::new(inner),
        }
    }

    /// A panic elsewhere must not wedge the sandbox: a poisoned lock is still usable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The instances' wall clock (`startTime`, `endTime`).
pub fn instance_clock(config: &Config) -> NaiveDateTime {
    let offset = config
        .rollback_time_check
        .map_or(8 * 3600, |c| c.utc_offset_seconds);
    Utc::now().naive_utc() + TimeDelta::seconds(i64::from(offset))
}

/// Every request's first steps, in either dialect: counted by action, then a fault drawn;
/// a 502 is answered here (`Err`), a slow answer waits here; the rest is the dialect's.
pub async fn prelude(shared: &Shared, action: &str) -> Result<Option<FaultKind>, Response> {
    let fault = {
        let mut inner = shared.lock();
        inner.counters.request(action);
        let fault = inner.faults.draw(action);
        if let Some(kind) = fault {
            inner.counters.fault(kind.as_str());
        }
        fault
    };
    match fault {
        Some(FaultKind::Http502) => {
            Err((StatusCode::BAD_GATEWAY, "502 Bad Gateway").into_response())
        }
        Some(FaultKind::Slow) => {
            tokio::time::sleep(Duration::from_millis(shared.config.faults.slow_ms)).await;
            Ok(fault)
        }
        _ => Ok(fault),
    }
}

/// Counts a request as in flight until dropped, even when its client goes away mid-answer.
pub struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    pub fn enter(shared: &'a Shared) -> Self {
        shared.lock().counters.enter();
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().counters.leave();
    }
}

/// Starts one task per instance of an accepted submission (either API); returns the job id.
pub fn record(
    config: &Config,
    inner: &mut Inner,
    submissions: Vec<rules::Submission>,
    now: Instant,
) -> u64 {
    let ids: Vec<String> = submissions.iter().map(|s| s.instance_id.clone()).collect();
    let tasks = submissions
        .into_iter()
        .map(|s| NewTask {
            duration: task_duration(config, &s.instance_id),
            fails: config.failing_instances.contains(&s.instance_id),
            removed: config.removed_instances.contains(&s.instance_id),
            hollow: config.hollow_instances.contains(&s.instance_id),
            instance_id: s.instance_id,
            spec: s.spec,
        })
        .collect();
    // A held task's life (INITIAL, then running) begins after the hold.
    let hold = config.initial_hold_seconds * config.time_scale;
    let hold = Duration::try_from_secs_f64(hold.max(0.0)).unwrap_or(Duration::ZERO);
    let begins = now.checked_add(hold).unwrap_or(now);
    let job_id = inner.tasks.submit(tasks, begins, instance_clock(config));
    inner.counters.accepted(&ids);
    job_id
}

/// Seconds of the sandbox's clock (times `time_scale`) as a duration; nonsense is zero.
pub fn scaled(config: &Config, seconds: f64) -> Duration {
    Duration::try_from_secs_f64((seconds * config.time_scale).max(0.0)).unwrap_or(Duration::ZERO)
}

/// Whether the task is listed yet: `visible_after_seconds` after its life began (a held
/// task's life begins after the hold); at once without that delay.
pub fn listed(config: &Config, task: &super::state::Task, now: Instant) -> bool {
    config.visible_after_seconds <= 0.0
        || now >= task.started + scaled(config, config.visible_after_seconds)
}

pub fn job_id_i64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// Between `task_seconds.0` and `.1`, fixed per instance by the seed, times `time_scale`.
pub fn task_duration(config: &Config, instance_id: &str) -> Duration {
    let (lo, hi) = config.task_seconds;
    let secs = (lo + stable_fraction(config.seed, instance_id) * (hi - lo)) * config.time_scale;
    if secs.is_finite() && secs > 0.0 {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_vary_per_instance_within_the_range_and_follow_the_seed() {
        let config = Config {
            task_seconds: (10.0, 20.0),
            time_scale: 0.5,
            seed: 4,
            ..Config::demo()
        };
        let ids = [
            "cdb-aaaaaaaa",
            "cdb-bbbbbbbb",
            "cdb-cccccccc",
            "cdb-dddddddd",
        ];
        let durations: Vec<Duration> = ids.iter().map(|id| task_duration(&config, id)).collect();
        for d in &durations {
            assert!((5.0..=10.0).contains(&d.as_secs_f64()), "{d:?}");
        }
        assert!(durations.windows(2).any(|w| w[0] != w[1]), "{durations:?}");
        assert_eq!(durations[0], task_duration(&config, ids[0]));
        let other_seed = Config {
            seed: 5,
            ..config.clone()
        };
        assert_ne!(durations[0], task_duration(&other_seed, ids[0]));
    }

    #[test]
    fn nonsense_durations_become_zero_not_a_panic() {
        for range in [
            (f64::NAN, 1.0),
            (-5.0, -1.0),
            (f64::INFINITY, f64::INFINITY),
        ] {
            let config = Config {
                task_seconds: range,
                ..Config::demo()
            };
            assert_eq!(task_duration(&config, "cdb-aaaaaaaa"), Duration::ZERO);
        }
    }
}
