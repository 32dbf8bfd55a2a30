//! Is this task ours? Matching a task the API lists against a submission whose outcome is
//! unknown: same rollback time, strategy and names, started no earlier than the attempt minus
//! the clock skew allowed. There is no idempotency token in either API generation, so this is
//! the only way to avoid submitting a rollback twice.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::protocol::Task;
use crate::api::matching::same_renames;
use crate::api::rollback::RollbackSpec;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{DatabaseTables, Strategy, TableRename};
    use crate::engine::protocol::{JobHandle, TaskState};

    fn spec() -> RollbackSpec {
        RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Table,
            dbs: vec![],
            tables: vec![DatabaseTables {
                db: "orders".into(),
                table: vec![
                    TableRename {
                        tablename: "payments".into(),
                        newname: "payments_bak".into(),
                    },
                    TableRename {
                        tablename: "refunds".into(),
                        newname: "refunds_bak".into(),
                    },
                ],
            }],
        }
    }

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

    #[test]
    fn clock_skew_within_five_minutes_is_tolerated() {
        let tasks = [task("7", "2026-11-23 11:56:00", spec())];
        assert!(find(&tasks, &spec(), attempt(), beijing()).is_some());
    }
}
