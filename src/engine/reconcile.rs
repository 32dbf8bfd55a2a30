//! The one rule of evidence: when is a task the API lists this submission's? There is no
//! idempotency token in either API generation, so this rule is all that stands between an
//! answer that was lost and a rollback submitted twice — or a `succeeded` that is not true.
//!
//! A task is this submission's only
//! 1. when its AsyncRequestId (API 2.0: jobId) is the one the submission returned, and the
//!    listing leaves exactly one task of this instance for it ([`pick`]; where it does not,
//!    API 3.0's DescribeTasks may tie that AsyncRequestId to exactly this call's instances:
//!    [`crate::engine::v3`]); or,
//! 2. for a submission in doubt (no answer, or an answer that proves nothing), when it
//!    started after the attempt, less [`CLOCK_SKEW`], *and* the API echoes what it rolls
//!    back — the time, the strategy and every name — equal to what was sent ([`decide`]).
//!
//! Never by position in a list, never because "a task is running" (that answer makes the
//! instance wait for the other task to end), never on the time of a task alone. Where the
//! evidence cannot tell, the answer is [`Finding::Ambiguous`] / [`Tracked::Ambiguous`]: the
//! instance ends `unknown`, with the evidence and how to check by hand — never `succeeded`,
//! never `failed`, never sent again blind.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::protocol::{JobHandle, Task, TaskState};
use super::state::RunState;
use crate::api::rollback::RollbackSpec;
use crate::contract::TIME_FORMAT;

/// How far this machine's clock and the API's task times may disagree. The bound is the
/// cloud's own: it refuses a signature whose timestamp is more than 300 s off its clock
/// (`AuthFailure.SignatureExpire`, API 2.0's 4500), so whenever a submission was taken, this
/// clock was within five minutes of the API's.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Same point in time, strategy, databases and tables (order does not matter).
pub fn same_spec(a: &RollbackSpec, b: &RollbackSpec) -> bool {
    a.rollbacktime == b.rollbacktime && a.strategy == b.strategy && a.same_renames(b)
}

/// A `YYYY-MM-DD HH:MM:SS` of the API, read in the instances' clock, as UTC.
fn utc(text: Option<&str>, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text?, TIME_FORMAT).ok()?;
    naive
        .and_local_timezone(offset)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The task's start as UTC, reading its `YYYY-MM-DD HH:MM:SS` in the instances' clock.
pub fn started_utc(task: &Task, offset: FixedOffset) -> Option<DateTime<Utc>> {
    utc(task.started_at.as_deref(), offset)
}

/// A submission, as the rule needs it: the call's instances, what it asked of this instance,
/// and when it was attempted (the intent's time, journaled before the request left).
#[derive(Debug, Clone)]
pub struct Sent {
    /// Every instance of the call, in the order sent.
    pub batch: Vec<String>,
    pub spec: RollbackSpec,
    pub attempt: DateTime<Utc>,
    /// The instances' clock.
    pub offset: FixedOffset,
    /// When planrun saw an earlier task of this very rollback end in failure (the instance
    /// is sent again by `apply --retry-failed`): that task may still be listed within this
    /// submission's window, echoing the same rollback (`Sent::maybe_earlier`).
    pub failed_before: Option<DateTime<Utc>>,
}

impl Sent {
    /// What the rule needs to track instance `i`'s accepted submission, from the journal's
    /// fold alone (`status` and `cancel`, which run no engine): the call of its latest
    /// intent (or of its submission in doubt) and when it was attempted; `spec` is what
    /// the plan asks of the instance, `offset` the instances' clock.
    pub fn accepted(
        state: &RunState,
        i: usize,
        spec: RollbackSpec,
        offset: FixedOffset,
    ) -> Option<Self> {
        let s = state.instances.get(i)?;
        let (batch, at) = s.last_intent.or(s.in_doubt).map_or_else(
            || (Vec::new(), s.submitted_at.unwrap_or_else(Utc::now)),
            |(b, at)| (state.batch(b).to_vec(), at),
        );
        Some(Self {
            batch: if batch.is_empty() {
                vec![s.id.clone()]
            } else {
                batch
            },
            spec,
            attempt: at,
            offset,
            failed_before: s.failed_before,
        })
    }

    /// The earliest start a task of this submission can show.
    pub fn since(&self) -> DateTime<Utc> {
        self.attempt - CLOCK_SKEW
    }

    /// Whether `task` could be this submission's by its times: it did not start, nor end,
    /// before the attempt (less the skew). A time the API does not give proves nothing
    /// either way.
    fn in_time(&self, task: &Task) -> bool {
        let since = self.since();
        started_utc(task, self.offset).is_none_or(|s| s >= since)
            && utc(task.finished_at.as_deref(), self.offset).is_none_or(|e| e >= since)
    }

    /// Whether `task` may be the earlier, failed task of this rollback rather than this
    /// submission's: it ended otherwise than in success, and the earlier task ended late
    /// enough to show in this submission's window (its start, on the API's clock, is at most
    /// its end as seen here plus the skew).
    fn maybe_earlier(&self, task: &Task) -> bool {
        self.failed_before.is_some_and(|seen| {
            seen + CLOCK_SKEW >= self.since()
                && task.state.is_terminal()
                && task.state != TaskState::Succeeded
        })
    }

    fn when(&self) -> String {
        self.attempt
            .with_timezone(&self.offset)
            .format(TIME_FORMAT)
            .to_string()
    }
}

/// How to check an instance by hand: what every `unknown` ends with.
pub fn check_hint(instance: &str) -> String {
    format!("check with `planrun jobs {instance}`")
}

/// What reconciliation found for one instance of an in-doubt submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Its task, with the proof (journaled with the adoption).
    Ours { job: JobHandle, proof: String },
    /// No task that could be it: the submission never took effect and may be sent again.
    Nothing,
    /// Tasks that could be it, and nothing to tell: the instance is `unknown`.
    Ambiguous { evidence: String },
}

/// Decides, for a submission in doubt, from every rollback task the API lists for the
/// instance (each with what it echoes, if anything): rule 2 of the module.
pub fn decide(tasks: &[Task], sent: &Sent) -> Finding {
    let in_time: Vec<&Task> = tasks.iter().filter(|t| sent.in_time(t)).collect();
    let echoed: Vec<&Task> = in_time
        .iter()
        .copied()
        .filter(|t| t.spec.as_ref().is_some_and(|s| same_spec(s, &sent.spec)))
        .collect();
    let started = |t: &Task| t.started_at.clone().unwrap_or_else(|| "?".into());
    // The earlier failed task of a rollback sent again may be listed too: beside one other
    // task, that other is this submission's; alone, it cannot tell.
    let (earlier, fresh): (Vec<&Task>, Vec<&Task>) =
        echoed.iter().partition(|t| sent.maybe_earlier(t));
    let echoed = match (fresh.as_slice(), earlier.as_slice()) {
        ([], [one]) => {
            return Finding::Ambiguous {
                evidence: format!(
                    "the one task that echoes this very rollback (started {}) ended {}: it may be this submission's, attempted at {}, or the earlier one's that failed before `--retry-failed`; nothing tells which",
                    started(one),
                    one.state,
                    sent.when()
                ),
            };
        }
        ([_], [] | [_]) => fresh,
        _ => echoed,
    };
    match echoed.as_slice() {
        [one] if started_utc(one, sent.offset).is_some() && one.job.is_some() => {
            return Finding::Ours {
                job: one.job.clone().unwrap_or_else(|| unreachable!()),
                proof: format!(
                    "its task started at {}, after the attempt at {} (less the {}-minute clock-skew bound), and echoes this very rollback (time, strategy and every name)",
                    started(one),
                    sent.when(),
                    CLOCK_SKEW.num_minutes()
                ),
            };
        }
        [] => {}
        many => {
            let starts: Vec<String> = many.iter().map(|t| started(t)).collect();
            return Finding::Ambiguous {
                evidence: format!(
                    "{} tasks that echo this very rollback could be the submission attempted at {} (started {}); nothing tells which",
                    many.len(),
                    sent.when(),
                    starts.join(", ")
                ),
            };
        }
    }
    // No echo equal to ours. A task that says nothing of what it rolls back (or of when it
    // started) may be ours: that is ambiguous. One that echoes another rollback is not ours.
    let silent: Vec<&Task> = in_time
        .iter()
        .copied()
        .filter(|t| t.spec.is_none() || started_utc(t, sent.offset).is_none())
        .collect();
    if silent.is_empty() {
        return Finding::Nothing;
    }
    let starts: Vec<String> = silent.iter().map(|t| started(t)).collect();
    Finding::Ambiguous {
        evidence: format!(
            "{} rollback task(s) on the instance started at {} — after the submission attempted at {} whose answer proved nothing — but the API says neither what they roll back nor which request made them",
            silent.len(),
            starts.join(", "),
            sent.when()
        ),
    }
}

/// What a poll of an accepted submission's task found (rule 1 of the module).
#[derive(Debug, Clone, PartialEq)]
pub enum Tracked {
    /// This instance's task of the submission.
    One(Task),
    /// The API lists no task of this instance for the submission (yet).
    Unlisted,
    /// It lists tasks that could be it, and nothing tells which.
    Ambiguous(String),
    /// Its submission's task ended, and no answer says how this instance's part of it did
    /// (a batch's one task that failed): asking again cannot tell more, so the instance is
    /// `unknown` at once, with this evidence.
    Ended(String),
}

/// Picks this instance's task among what a listing filtered by the submission's
/// AsyncRequestId (or jobId) returned. `tasks` are this instance's items (those whose echo
/// names another instance are left out by the caller), each with its echo if the API gave
/// one. The filter may have been ignored, so a task that started before the attempt or
/// echoes another rollback is never it; among the rest, one task is it when it echoes this
/// rollback or is the only item listed at all. Never the first of several.
pub fn pick(tasks: &[Task], sent: &Sent, request: &JobHandle) -> Tracked {
    // An earlier failed task of this rollback is never taken for this one's (the filter may
    // have been ignored); DescribeTasks, by the AsyncRequestId, can still speak for it.
    let candidates: Vec<&Task> = tasks
        .iter()
        .filter(|t| sent.in_time(t) && !sent.maybe_earlier(t))
        .filter(|t| t.spec.as_ref().is_none_or(|s| same_spec(s, &sent.spec)))
        .collect();
    let echoed: Vec<&Task> = candidates
        .iter()
        .copied()
        .filter(|t| t.spec.is_some())
        .collect();
    match (candidates.as_slice(), echoed.as_slice()) {
        ([], _) => Tracked::Unlisted,
        (_, [one]) => Tracked::One((*one).clone()),
        ([one], []) if tasks.len() == 1 => Tracked::One((*one).clone()),
        (all, _) => Tracked::Ambiguous(format!(
            "DescribeRollbackTaskDetail lists {} item(s) for request {request} that could be this instance's task ({} listed in all), and none names the instance with this rollback",
            all.len(),
            tasks.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::tests::orders as spec;
    use crate::engine::protocol::{JobHandle, TaskState};

    fn task(job: &str, started: &str, spec: Option<RollbackSpec>) -> Task {
        Task {
            job: Some(JobHandle(job.into())),
            state: TaskState::Running,
            progress: Some(10),
            started_at: Some(started.into()),
            finished_at: None,
            message: None,
            spec,
        }
    }

    fn sent() -> Sent {
        Sent {
            batch: vec!["cdb-aaaaaaaa".into()],
            spec: spec(),
            // 2026-11-23 12:00:00 +08:00
            attempt: DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            offset: FixedOffset::east_opt(8 * 3600).unwrap(),
            failed_before: None,
        }
    }

    fn other_spec() -> RollbackSpec {
        let mut other = spec();
        other.tables[0].table[0].newname = "payments_x".into();
        other
    }

    #[test]
    fn a_task_started_after_the_attempt_echoing_this_rollback_is_ours() {
        let mut reordered = spec();
        reordered.tables[0].table.reverse();
        let tasks = [
            task("old", "2026-11-22 09:00:00", Some(spec())),
            task("41", "2026-11-23 12:00:02", Some(reordered)),
        ];
        assert!(matches!(
            decide(&tasks, &sent()),
            Finding::Ours { job, proof } if job.0 == "41" && proof.contains("12:00:02")
        ));
        // Within the clock-skew bound before the attempt, still ours.
        let skewed = [task("7", "2026-11-23 11:56:00", Some(spec()))];
        assert!(matches!(decide(&skewed, &sent()), Finding::Ours { .. }));
    }

    #[test]
    fn another_rollback_an_older_task_or_one_ended_before_the_attempt_is_not_ours() {
        let mut other_time = spec();
        other_time.rollbacktime = "2026-11-20 03:10:00".into();
        let mut ended = task("e", "2026-11-23 11:55:30", Some(spec()));
        ended.finished_at = Some("2026-11-23 11:54:00".into());
        let tasks = [
            task("1", "2026-11-22 09:00:00", Some(spec())),
            task("2", "2026-11-23 12:00:05", Some(other_spec())),
            task("3", "2026-11-23 12:00:05", Some(other_time)),
            task("4", "2026-11-23 11:50:00", None),
            ended,
        ];
        assert_eq!(decide(&tasks, &sent()), Finding::Nothing);
    }

    #[test]
    fn a_task_that_says_nothing_or_two_equal_echoes_are_ambiguous_never_adopted() {
        let silent = [task("d1", "2026-11-23 12:00:03", None)];
        assert!(matches!(
            decide(&silent, &sent()),
            Finding::Ambiguous { evidence } if evidence.contains("12:00:03")
        ));
        let twice = [
            task("a", "2026-11-23 12:00:03", Some(spec())),
            task("b", "2026-11-23 12:00:09", Some(spec())),
        ];
        assert!(matches!(
            decide(&twice, &sent()),
            Finding::Ambiguous { evidence } if evidence.starts_with("2 tasks")
        ));
        // A task with an equal echo but no start time proves nothing about when.
        let mut timeless = task("t", "x", Some(spec()));
        timeless.started_at = None;
        assert!(matches!(
            decide(&[timeless], &sent()),
            Finding::Ambiguous { .. }
        ));
    }

    #[test]
    fn a_tracked_task_is_never_taken_by_its_position() {
        let request = JobHandle("req".into());
        let mine = task("m", "2026-11-23 12:00:02", Some(spec()));
        // The filter ignored, oldest first: yesterday's task of the same rollback is skipped.
        let yesterday = task("y", "2026-11-22 12:00:02", Some(spec()));
        assert_eq!(
            pick(&[yesterday.clone(), mine.clone()], &sent(), &request),
            Tracked::One(mine.clone())
        );
        // Several items without an echo: ambiguous, whichever comes first.
        let a = task("a", "2026-11-23 12:00:02", None);
        let b = task("b", "2026-11-23 12:00:02", None);
        assert!(matches!(
            pick(&[a.clone(), b], &sent(), &request),
            Tracked::Ambiguous(why) if why.contains("req")
        ));
        // The only item, started after the attempt: it.
        assert_eq!(
            pick(std::slice::from_ref(&a), &sent(), &request),
            Tracked::One(a)
        );
        // Only an older one, or another rollback: not listed.
        assert_eq!(pick(&[yesterday], &sent(), &request), Tracked::Unlisted);
        let other = task("o", "2026-11-23 12:00:02", Some(other_spec()));
        assert_eq!(pick(&[other], &sent(), &request), Tracked::Unlisted);
        assert_eq!(pick(&[], &sent(), &request), Tracked::Unlisted);
    }

    #[test]
    fn the_earlier_failed_task_of_a_retried_rollback_is_never_taken_for_the_new_one() {
        // The earlier task was seen failed two minutes before the retry's attempt: it is in
        // the window and echoes the same rollback.
        let retry = Sent {
            failed_before: Some(sent().attempt - chrono::Duration::minutes(2)),
            ..sent()
        };
        let mut failed = task("f", "2026-11-23 11:57:00", Some(spec()));
        failed.state = TaskState::Failed;
        assert!(matches!(
            decide(std::slice::from_ref(&failed), &retry),
            Finding::Ambiguous { evidence } if evidence.contains("--retry-failed")
        ));
        let request = JobHandle("req".into());
        assert_eq!(
            pick(std::slice::from_ref(&failed), &retry, &request),
            Tracked::Unlisted
        );
        // A running task is not the earlier one, which ended: it is the new submission's.
        let running = task("r", "2026-11-23 12:00:02", Some(spec()));
        assert!(matches!(
            decide(&[failed.clone(), running.clone()], &retry),
            Finding::Ours { job, .. } if job.0 == "r"
        ));
        assert_eq!(
            pick(&[failed.clone(), running.clone()], &retry, &request),
            Tracked::One(running)
        );
        // Seen failed long before the window: a failed task in it is this one's.
        let long_ago = Sent {
            failed_before: Some(sent().attempt - chrono::Duration::hours(1)),
            ..sent()
        };
        assert!(matches!(
            decide(std::slice::from_ref(&failed), &long_ago),
            Finding::Ours { .. }
        ));
    }
}
