//! Is this task ours? Matching a task the API lists against a submission whose outcome is
//! unknown. There is no idempotency token in either API generation, so this is the only way
//! to avoid submitting a rollback twice. In order of trust:
//! 1. API 3.0's DescribeTasks ties a task to its submission (its AsyncRequestId and the
//!    instances sent together); the adapter does that match ([`crate::engine::v3`]).
//! 2. The echo: a listed task with the same rollback time, strategy and names, started no
//!    earlier than the attempt minus the clock skew allowed ([`find`]).
//! 3. Nothing matches, nothing tells what a task rolls back, but a rollback task started on
//!    the instance after the attempt: it is adopted *unverified* ([`Found::Unverified`]) rather
//!    than risking a second submission.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::protocol::{JobHandle, Task};
use crate::api::rollback::RollbackSpec;
use crate::api::v2::matching::same_renames;

/// Clock difference tolerated between this machine and the API's task times.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Same point in time, strategy, databases and tables (order does not matter).
pub fn same_spec(a: &RollbackSpec, b: &RollbackSpec) -> bool {
    a.rollbacktime == b.rollbacktime && a.strategy == b.strategy && same_renames(a, b)
}

/// The task's start as UTC, reading its `YYYY-MM-DD HH:MM:SS` in the instances' clock.
pub fn started_utc(task: &Task, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let naive =
        NaiveDateTime::parse_from_str(task.started_at.as_deref()?, "%Y-%m-%d %H:%M:%S").ok()?;
    naive
        .and_local_timezone(offset)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The task among `tasks` that is the submission of `spec` attempted at `attempt`, if any.
/// A task without a start time is accepted on its spec alone; one without a spec never is.
pub fn find<'t>(
    tasks: &'t [Task],
    spec: &RollbackSpec,
    attempt: DateTime<Utc>,
    offset: FixedOffset,
) -> Option<&'t Task> {
    tasks.iter().find(|t| {
        t.job.is_some()
            && t.spec.as_ref().is_some_and(|s| same_spec(s, spec))
            && started_utc(t, offset).is_none_or(|start| start >= attempt - CLOCK_SKEW)
    })
}

/// An in-doubt submission, as reconciliation needs it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Every instance of the call, in the order sent.
    pub batch: Vec<String>,
    pub spec: RollbackSpec,
    pub attempt: DateTime<Utc>,
    /// The instances' clock.
    pub offset: FixedOffset,
}

/// What reconciliation found for one instance of an in-doubt submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Its task, tied to the submission by the API or by the echo of the spec.
    Verified(JobHandle),
    /// A rollback task that started after the attempt, which nothing ties to it: adopted
    /// anyway (resubmitting could roll back twice), and reported with `why`.
    Unverified { job: JobHandle, why: String },
    /// No task: the submission never took effect, and is sent again.
    Nothing,
}

/// Decides from the instance's listed tasks: the echo first; then, if `unverified` allows it,
/// a task with no known spec that started after the attempt.
pub fn decide(tasks: &[Task], sent: &Sent, unverified: bool) -> Found {
    if let Some(job) =
        find(tasks, &sent.spec, sent.attempt, sent.offset).and_then(|t| t.job.clone())
    {
        return Found::Verified(job);
    }
    if !unverified {
        return Found::Nothing;
    }
    let since = sent.attempt - CLOCK_SKEW;
    tasks
        .iter()
        .filter(|t| t.spec.is_none())
        .filter_map(|t| Some((t.job.clone()?, t.started_at.clone()?, started_utc(t, sent.offset)?)))
        .filter(|(.., start)| *start >= since)
        .min_by_key(|(.., start)| *start)
        .map_or(Found::Nothing, |(job, started, _)| Found::Unverified {
            job,
            why: format!(
                "a rollback task started on the instance at {started}, after the submission whose answer was lost; \
                 the API says neither what it rolls back nor which request made it"
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v2::matching::tests::spec;
    use crate::engine::protocol::{JobHandle, TaskState};

    fn task(job: &str, started: &str, spec: RollbackSpec) -> Task {
        Task {
            job: Some(JobHandle(job.into())),
            state: TaskState::Running,
            progress: Some(10),
            started_at: Some(started.into()),
            finished_at: None,
            message: None,
            spec: Some(spec),
        }
    }

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn attempt() -> DateTime<Utc> {
        // 2026-11-23 12:00:00 +08:00
        DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_task_with_the_same_spec_started_after_the_attempt_is_ours() {
        let mut reordered = spec();
        reordered.tables[0].table.reverse();
        let tasks = [task("41", "2026-11-23 12:00:02", reordered)];
        assert_eq!(
            find(&tasks, &spec(), attempt(), beijing()).and_then(|t| t.job.clone()),
            Some(JobHandle("41".into()))
        );
    }

    #[test]
    fn an_older_task_or_another_spec_is_not_ours() {
        let mut other = spec();
        other.tables[0].table[0].newname = "payments_x".into();
        let mut other_time = spec();
        other_time.rollbacktime = "2026-11-20 03:10:00".into();
        let tasks = [
            task("1", "2026-11-22 09:00:00", spec()),
            task("2", "2026-11-23 12:00:05", other),
            task("3", "2026-11-23 12:00:05", other_time),
        ];
        assert!(find(&tasks, &spec(), attempt(), beijing()).is_none());
    }

    fn sent() -> Sent {
        Sent {
            batch: vec!["cdb-aaaaaaaa".into()],
            spec: spec(),
            attempt: attempt(),
            offset: beijing(),
        }
    }

    #[test]
    fn without_an_echo_a_later_task_is_adopted_unverified_an_earlier_one_never() {
        let mut later = task("d1", "2026-11-23 12:00:03", spec());
        later.spec = None;
        let mut earlier = task("d0", "2026-11-23 10:00:00", spec());
        earlier.spec = None;
        let tasks = [earlier.clone(), later];
        assert!(matches!(
            decide(&tasks, &sent(), true),
            Found::Unverified { job, why } if job.0 == "d1" && why.contains("12:00:03")
        ));
        assert_eq!(decide(&tasks, &sent(), false), Found::Nothing);
        assert_eq!(decide(&[earlier], &sent(), true), Found::Nothing);
        let echoed = [task("v", "2026-11-23 12:00:03", spec())];
        assert_eq!(
            decide(&echoed, &sent(), true),
            Found::Verified(JobHandle("v".into()))
        );
    }

    #[test]
    fn clock_skew_within_five_minutes_is_tolerated() {
        let tasks = [task("7", "2026-11-23 11:56:00", spec())];
        assert!(find(&tasks, &spec(), attempt(), beijing()).is_some());
    }
}
