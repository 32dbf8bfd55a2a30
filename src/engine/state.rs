//! The run's state, folded from journal records: what each instance's rollback is doing.
//! Replaying the journal of a killed run gives exactly the state it had on disk.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::journal::Record;
use super::protocol::{JobHandle, Task, TaskState};

/// An instance's status as reports show it (`docs/contract.md` §6): the one vocabulary of the
/// engine, `status`, the reports and the incident record, spelt as [`Status::name`] everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet submitted.
    Pending,
    /// Submitted (or in doubt), not yet seen running.
    Submitted,
    Running,
    Succeeded,
    /// The task ended in failure (also killed or removed).
    Failed,
    /// The API refused the submission.
    Rejected,
    /// `--timeout` ran out before the task ended (the journal stays resumable).
    TimedOut,
    /// `planrun cancel` asked StopRollback; the task is not KILLED yet.
    Stopping,
    /// Stopped by `planrun cancel`: the task ended KILLED.
    Cancelled,
    /// Nothing proves what became of it: a task that may be its submission's, or one that
    /// said nothing more until planrun stopped polling. `error` holds the evidence; check by
    /// hand with `planrun jobs INSTANCE`. Never resubmitted without `apply --retry-failed`,
    /// which reconciles it first.
    Unknown,
    /// Its task reported success, but a new database or table it should have made was not
    /// seen (DescribeDatabases / DescribeTables); `error` names what is missing.
    Unverified,
    /// Submitted or running when the apply carrying it out ended before it did (killed, or
    /// stopped with Ctrl-C) and no apply of the plan is running now: nothing tracks it (a
    /// self-hosted restore: nothing runs it). Never journaled: what `status` and `report`
    /// make of the journal's `submitted` or `running` once its lock is free
    /// ([`RunState::interrupt`]); `planrun apply PLAN` resumes it.
    Interrupted,
}

/// How a report marks an instance whose task was adopted without proof that it is the
/// submission's (`engine::reconcile`).
pub const ADOPTED_UNVERIFIED: &str = "adopted (unverified)";

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 12] = [
        Self::Pending,
        Self::Submitted,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Rejected,
        Self::TimedOut,
        Self::Stopping,
        Self::Cancelled,
        Self::Unknown,
        Self::Unverified,
        Self::Interrupted,
    ];

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Succeeded
                | Self::Failed
                | Self::Rejected
                | Self::Cancelled
                | Self::Unknown
                | Self::Unverified
        )
    }

    /// Ended in a way `apply --retry-failed` submits again (after reconciling an `unknown`
    /// one): failed, refused, timed out or unknown.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Failed | Self::Rejected | Self::TimedOut | Self::Unknown
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Submitted => "submitted",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
            Self::Stopping => "stopping",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
            Self::Unverified => "unverified",
            Self::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One instance of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceState {
    pub id: String,
    pub status: Status,
    pub job: Option<JobHandle>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Option<u8>,
    /// The task's state as last seen (waiting, running, ...).
    pub task_state: Option<TaskState>,
    pub error: Option<String>,
    /// A submission whose outcome is unknown: its batch and when it was attempted.
    pub in_doubt: Option<(u64, DateTime<Utc>)>,
    /// The earliest submission attempt (a running task started before it is not ours).
    pub first_attempt: Option<DateTime<Utc>>,
    /// Its latest submission: the call's batch and when it was attempted (the intent). The
    /// rule of evidence tracks the accepted call's task by it.
    pub last_intent: Option<(u64, DateTime<Utc>)>,
    /// Why its task was adopted although nothing tied it to the submission.
    pub unverified: Option<String>,
    /// The AsyncRequestId of `planrun cancel`'s accepted StopRollback, while `stopping`.
    pub stop_request: Option<String>,
    /// What it was when the run's `--timeout` ran out: the next run's start gives it back
    /// (`timed_out` says how a run ended, not where the rollback is).
    pub before_timeout: Option<Status>,
    /// Sent again by `apply --retry-failed` after its task failed: when planrun saw that
    /// task end. Listed beside the new one for a while, it echoes the same rollback; the
    /// rule of evidence must not take it for the new submission's.
    pub failed_before: Option<DateTime<Utc>>,
    /// What its self-hosted restore was last journaled doing (`loading dump 12.3 MB of
    /// 47.0 MB`), until it ends.
    pub detail: Option<String>,
}

impl InstanceState {
    fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            status: Status::Pending,
            job: None,
            submitted_at: None,
            finished_at: None,
            progress: None,
            task_state: None,
            error: None,
            in_doubt: None,
            first_attempt: None,
            last_intent: None,
            unverified: None,
            stop_request: None,
            before_timeout: None,
            failed_before: None,
            detail: None,
        }
    }

    /// What `apply --retry-failed` makes of it ([`Record::Retry`]): a failed or refused
    /// instance is pending again (its failed task remembered); an unknown one is back where
    /// its rollback was, to be looked for before anything is sent: its accepted task tracked
    /// again, or its last submission reconciled. Anything else is left as it is.
    fn retry(&mut self, at: DateTime<Utc>) {
        match self.status {
            Status::Failed | Status::Rejected => {
                let failed_before = if self.status == Status::Failed {
                    self.finished_at.or(Some(at))
                } else {
                    self.failed_before
                };
                *self = Self {
                    first_attempt: self.first_attempt,
                    failed_before,
                    ..Self::new(&self.id)
                };
            }
            Status::Unknown => {
                self.finished_at = None;
                self.error = None;
                if self.job.is_some() {
                    self.status = Status::Submitted;
                } else if let Some(intent) = self.last_intent {
                    self.status = Status::Submitted;
                    self.in_doubt = Some(intent);
                } else {
                    // Never sent: nothing to look for.
                    self.status = Status::Pending;
                }
            }
            _ => {}
        }
    }
}

/// What is journaled of how `task` ended: why it did not succeed, or, for a self-hosted
/// restore, what its success verified (its checksums); a cloud success says nothing more.
pub fn ended_message(task: &Task) -> Option<String> {
    let says = task.job.as_ref().is_some_and(crate::engine::local::owns);
    (task.state != TaskState::Succeeded || says).then(|| {
        task.message
            .clone()
            .unwrap_or_else(|| format!("the task ended {}", task.state))
    })
}

impl InstanceState {
    /// The record that tells what a poll of its task saw, when the poll changes anything:
    /// how the task ended, or its new state or progress (as `apply` journals them). A task
    /// that reports success is only that (a [`Record::Progress`]): the instance is
    /// `succeeded` once its new objects are seen ([`crate::engine::verify`]).
    pub fn observed(&self, task: &Task, at: DateTime<Utc>) -> Option<Record> {
        if task.state == TaskState::Succeeded {
            return self.progress_record(&task.state, Some(100), at);
        }
        if task.state.is_terminal() {
            let message = ended_message(task);
            return Some(Record::Finished {
                instance: self.id.clone(),
                status: task.state.clone(),
                message,
                at,
            });
        }
        self.progress_record(&task.state, task.progress, at)
    }

    /// The record of an unfinished task's `state` and `progress`, when either is news (the
    /// one rule for `status` and the engine's polls).
    pub fn progress_record(
        &self,
        state: &TaskState,
        progress: Option<u8>,
        at: DateTime<Utc>,
    ) -> Option<Record> {
        let changed = self.task_state.as_ref() != Some(state)
            || (progress.is_some() && self.progress != progress);
        changed.then(|| Record::Progress {
            instance: self.id.clone(),
            state: state.clone(),
            progress,
            detail: None,
            at,
        })
    }
}

/// Every instance's state, in plan order, plus what the journal says of the run itself.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    pub instances: Vec<InstanceState>,
    index: HashMap<String, usize>,
    batches: HashMap<u64, Vec<String>>,
    pub next_batch: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub plan_hash: Option<String>,
    pub complete: Option<DateTime<Utc>>,
}

impl RunState {
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let instances: Vec<InstanceState> = ids.into_iter().map(InstanceState::new).collect();
        let index = instances
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Self {
            instances,
            index,
            next_batch: 1,
            ..Self::default()
        }
    }

    /// The state after replaying `records` over a fresh run of these instances.
    pub fn replay<'a>(ids: impl IntoIterator<Item = &'a str>, records: &[Record]) -> Self {
        let mut state = Self::new(ids);
        for r in records {
            state.apply(r);
        }
        state
    }

    pub fn get(&self, id: &str) -> Option<&InstanceState> {
        self.index.get(id).map(|&i| &self.instances[i])
    }

    /// The instances of call `batch`, in the order sent (empty for a call it never saw).
    pub fn batch(&self, batch: u64) -> &[String] {
        self.batches.get(&batch).map_or(&[], Vec::as_slice)
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    fn each<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a String>,
        mut f: impl FnMut(&mut InstanceState),
    ) {
        for id in ids {
            if let Some(&i) = self.index.get(id) {
                f(&mut self.instances[i]);
            }
        }
    }

    /// Folds one record into the state.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Start { plan_hash, at, .. } => {
                self.started_at.get_or_insert(*at);
                self.plan_hash = Some(plan_hash.clone());
                self.complete = None;
                self.resume();
            }
            Record::Intent {
                batch,
                instances,
                at,
            } => {
                self.next_batch = self.next_batch.max(batch + 1);
                self.batches.insert(*batch, instances.clone());
                self.each(instances, |s| {
                    s.status = Status::Submitted;
                    s.in_doubt = Some((*batch, *at));
                    s.last_intent = Some((*batch, *at));
                    s.first_attempt.get_or_insert(*at);
                    s.error = None;
                });
            }
            Record::Accepted { batch, job, at } => {
                let ids = self.batches.get(batch).cloned().unwrap_or_default();
                self.each(&ids, |s| {
                    if s.in_doubt.is_some_and(|(b, _)| b == *batch) {
                        s.job = Some(job.clone());
                        s.submitted_at = Some(*at);
                        s.in_doubt = None;
                    }
                });
            }
            Record::Rejected {
                instances,
                code,
                message,
                at,
                ..
            } => {
                self.each(instances, |s| {
                    s.status = Status::Rejected;
                    s.in_doubt = None;
                    s.finished_at = Some(*at);
                    s.error = Some(match code {
                        Some(code) => format!("{code}: {message}"),
                        None => message.clone(),
                    });
                });
            }
            Record::Unknown { .. } | Record::Planned { .. } => {}
            Record::Abandoned { batch, .. } => {
                let ids = self.batches.get(batch).cloned().unwrap_or_default();
                self.each(&ids, |s| {
                    // An instance already decided (failed while in doubt) stays decided.
                    if s.in_doubt.is_some_and(|(b, _)| b == *batch) && !s.status.is_final() {
                        s.in_doubt = None;
                        s.status = Status::Pending;
                    }
                });
            }
            Record::Adopted {
                instance,
                job,
                unverified,
                at,
                ..
            } => {
                self.each(std::iter::once(instance), |s| {
                    s.unverified.clone_from(unverified);
                    s.job = Some(job.clone());
                    // Submitted when planrun sent it (the attempt whose answer was in doubt),
                    // not when the task was found.
                    let sent = s.in_doubt.map_or(*at, |(_, attempt)| attempt);
                    s.submitted_at.get_or_insert(sent);
                    s.in_doubt = None;
                    s.status = Status::Submitted;
                });
            }
            Record::Progress {
                instance,
                state,
                progress,
                detail,
                ..
            } => {
                self.each(std::iter::once(instance), |s| {
                    s.task_state = Some(state.clone());
                    s.progress = progress.or(s.progress);
                    s.detail.clone_from(detail);
                    // A stop asked by `planrun cancel` stays asked while the task still runs.
                    if *state == TaskState::Running && s.status != Status::Stopping {
                        s.status = Status::Running;
                    }
                });
            }
            Record::Finished {
                instance,
                status,
                message,
                at,
            } => {
                self.each(std::iter::once(instance), |s| {
                    s.task_state = Some(status.clone());
                    s.detail = None;
                    let succeeded = *status == TaskState::Succeeded;
                    // A task stopped by `planrun cancel` ends killed: it is cancelled.
                    if matches!(s.status, Status::Cancelled | Status::Stopping) && !succeeded {
                        if s.status == Status::Stopping && *status == TaskState::Killed {
                            s.status = Status::Cancelled;
                            s.finished_at = Some(*at);
                            s.in_doubt = None;
                            s.error = Some("cancelled with `planrun cancel`".into());
                            return;
                        }
                        if s.status == Status::Cancelled {
                            return;
                        }
                    }
                    s.status = if succeeded {
                        Status::Succeeded
                    } else {
                        Status::Failed
                    };
                    s.finished_at = Some(*at);
                    // Decided: nothing left to reconcile (an in-doubt instance fails when
                    // its tasks cannot be listed at all).
                    s.in_doubt = None;
                    if s.status == Status::Succeeded {
                        s.progress = Some(100);
                    } else {
                        s.error = Some(
                            message
                                .clone()
                                .unwrap_or_else(|| format!("the task ended {status}")),
                        );
                    }
                });
            }
            Record::Unproven {
                instance,
                evidence,
                at,
            } => {
                self.each(std::iter::once(instance), |s| {
                    s.status = Status::Unknown;
                    s.finished_at = Some(*at);
                    s.in_doubt = None;
                    s.error = Some(evidence.clone());
                });
            }
            Record::Unverified {
                instance,
                missing,
                at,
            } => {
                self.each(std::iter::once(instance), |s| {
                    s.status = Status::Unverified;
                    s.finished_at = Some(*at);
                    s.in_doubt = None;
                    s.progress = Some(100);
                    s.error = Some(format!(
                        "the task reported success, but these new objects were not seen: {}",
                        missing.join(", ")
                    ));
                });
            }
            Record::Complete { at } => self.complete = Some(*at),
            Record::TimedOut { instances, .. } => {
                self.each(instances, |s| {
                    if !s.status.is_final() && s.status != Status::TimedOut {
                        s.before_timeout = Some(s.status);
                        s.status = Status::TimedOut;
                    }
                });
            }
            Record::Retry { instances, at } => self.each(instances, |s| s.retry(*at)),
            Record::Stopping {
                instance, request, ..
            } => {
                self.each(std::iter::once(instance), |s| {
                    if !s.status.is_final() {
                        s.status = Status::Stopping;
                        s.stop_request.clone_from(request);
                    }
                });
            }
            Record::Cancelled { instance, at, .. } => {
                self.each(std::iter::once(instance), |s| {
                    s.status = Status::Cancelled;
                    s.finished_at = Some(*at);
                    s.in_doubt = None;
                    s.error = Some("cancelled with `planrun cancel`".into());
                });
            }
        }
    }

    /// What the journal's `submitted` and `running` instances are once no apply of the plan
    /// runs (its lock is free): [`Status::Interrupted`]. Only a view of the journal, for
    /// `status` and `report`; how many there are.
    pub fn interrupt(&mut self) -> usize {
        let mut n = 0;
        for s in &mut self.instances {
            if matches!(s.status, Status::Submitted | Status::Running) {
                s.status = Status::Interrupted;
                n += 1;
            }
        }
        n
    }

    /// Makes this the state a new run of the plan starts from, as its [`Record::Start`]
    /// does: an instance that timed out is back where its rollback was (`apply` decides
    /// what to check and send from that).
    pub fn resume(&mut self) {
        for s in &mut self.instances {
            if let Some(before) = s.before_timeout.take()
                && s.status == Status::TimedOut
            {
                s.status = before;
            }
        }
    }

    /// The instances `apply --retry-failed` sends again ([`Status::is_retryable`]; a timed-out
    /// one is not among them: a new run picks it up where its rollback was).
    pub fn retryable(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter(|s| s.status.is_retryable() && s.status != Status::TimedOut)
            .map(|s| s.id.clone())
            .collect()
    }

    /// Counts by status.
    pub fn count(&self, status: Status) -> usize {
        self.instances.iter().filter(|s| s.status == status).count()
    }

    pub fn all_final(&self) -> bool {
        self.instances.iter().all(|s| s.status.is_final())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::script::Script;

    fn t(s: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + i64::from(s), 0).unwrap()
    }

    fn ids() -> [&'static str; 3] {
        ["cdb-aaaaaaaa", "cdb-bbbbbbbb", "cdb-cccccccc"]
    }

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_status_is_written_and_read_as_its_name() {
        for status in Status::ALL {
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(text, format!("\"{}\"", status.name()));
            assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), status);
        }
        assert_eq!(Status::TimedOut.to_string(), "timed_out");
    }

    #[test]
    fn what_nobody_carries_on_is_interrupted_and_nothing_else_changes() {
        let [a, b, c] = ids();
        let records = Script::new(t(0))
            .intent(1, &[a, b])
            .accepted(1, "j1")
            .progress(a, TaskState::Running, Some(40))
            .records();
        let mut s = RunState::replay([a, b, c, "cdb-dddddddd"], &records);
        s.instances[3].status = Status::Stopping;
        let before: Vec<Status> = s.instances.iter().map(|i| i.status).collect();
        assert_eq!(
            before,
            [
                Status::Running,
                Status::Submitted,
                Status::Pending,
                Status::Stopping
            ]
        );
        assert_eq!(s.interrupt(), 2);
        let after: Vec<Status> = s.instances.iter().map(|i| i.status).collect();
        // Never sent: still pending; a stop asked by `cancel`: still stopping.
        assert_eq!(
            after,
            [
                Status::Interrupted,
                Status::Interrupted,
                Status::Pending,
                Status::Stopping
            ]
        );
        assert_eq!(Status::Interrupted.name(), "interrupted");
        assert!(!Status::Interrupted.is_final());
    }

    #[test]
    fn an_intent_without_outcome_leaves_its_instances_in_doubt() {
        let records = Script::new(t(0)).intent(1, &ids()[..2]).records();
        let s = RunState::replay(ids(), &records);
        assert_eq!(s.get("cdb-aaaaaaaa").unwrap().in_doubt, Some((1, t(0))));
        assert_eq!(s.get("cdb-cccccccc").unwrap().status, Status::Pending);
        assert_eq!(s.next_batch, 2);
    }

    #[test]
    fn accepted_adopted_abandoned_and_finished_fold_in_order() {
        let records = Script::new(t(0))
            .intent(1, &ids()[..2])
            .at(t(1))
            .unknown(1, "reset")
            .at(t(5))
            .adopted(ids()[0], 1, "9")
            .abandoned(1, "not found")
            .at(t(6))
            .intent(2, &ids()[1..])
            .at(t(7))
            .accepted(2, "10")
            .at(t(9))
            .finished(ids()[0], TaskState::Succeeded, None)
            .finished(ids()[2], TaskState::Failed, Some("boom"))
            .records();
        let s = RunState::replay(ids(), &records);
        let a = s.get(ids()[0]).unwrap();
        assert_eq!(
            (a.status, a.job.clone()),
            (Status::Succeeded, Some(JobHandle("9".into())))
        );
        // An adopted task was submitted when planrun sent it, not when it was found.
        assert_eq!(a.submitted_at, Some(t(0)));
        let b = s.get(ids()[1]).unwrap();
        assert_eq!(
            (b.status, b.job.clone(), b.in_doubt),
            (Status::Submitted, Some(JobHandle("10".into())), None)
        );
        assert_eq!(b.first_attempt, Some(t(0)));
        let c = s.get(ids()[2]).unwrap();
        assert_eq!(
            (c.status, c.error.as_deref()),
            (Status::Failed, Some("boom"))
        );
    }

    #[test]
    fn a_cancelled_task_that_ends_killed_stays_cancelled() {
        let records = Script::new(t(0))
            .intent(1, &ids()[..1])
            .at(t(1))
            .accepted(1, "5")
            .at(t(2))
            .cancelled(ids()[0], Some("stop-1"))
            .at(t(3))
            .finished(ids()[0], TaskState::Killed, None)
            .records();
        let s = RunState::replay(ids(), &records);
        assert_eq!(s.get(ids()[0]).unwrap().status, Status::Cancelled);
        assert!(s.get(ids()[0]).unwrap().status.is_final());
    }

    #[test]
    fn a_stopping_instance_is_cancelled_only_when_its_task_ends_killed() {
        let stopping = Script::new(t(0))
            .intent(1, &ids())
            .at(t(1))
            .accepted(1, "5")
            .at(t(2))
            .stopping(ids()[0], Some("stop-1"))
            .stopping(ids()[1], Some("stop-1"))
            .stopping(ids()[2], Some("stop-1"));
        let s = RunState::replay(ids(), &stopping.clone().records());
        let a = s.get(ids()[0]).unwrap();
        assert_eq!(a.status, Status::Stopping);
        assert!(!a.status.is_final());
        assert_eq!(a.stop_request.as_deref(), Some("stop-1"));
        assert_eq!(Status::Stopping.name(), "stopping");
        let all = stopping
            .at(t(3))
            .finished(ids()[0], TaskState::Killed, None)
            .finished(ids()[1], TaskState::Succeeded, None)
            .finished(ids()[2], TaskState::Failed, None)
            .records();
        let s = RunState::replay(ids(), &all);
        let statuses: Vec<Status> = s.instances.iter().map(|i| i.status).collect();
        assert_eq!(
            statuses,
            [Status::Cancelled, Status::Succeeded, Status::Failed],
            "killed → cancelled; a task that ended otherwise is what it ended as"
        );
    }

    #[test]
    fn an_unverified_adoption_keeps_why() {
        let records = Script::new(t(0))
            .intent(1, &ids()[..1])
            // An adoption of a journal before issue 23, without proof.
            .push(Record::Adopted {
                instance: ids()[0].into(),
                batch: 1,
                job: JobHandle("detail:x|".into()),
                unverified: Some("no echo".into()),
                proof: None,
                at: t(1),
            })
            .records();
        let s = RunState::replay(ids(), &records);
        assert_eq!(
            s.get(ids()[0]).unwrap().unverified.as_deref(),
            Some("no echo")
        );
        // Journals written before the field existed still read.
        let old: Record = serde_json::from_str(
            r#"{"record":"adopted","instance":"cdb-aaaaaaaa","batch":1,"job":"9","at":"2026-11-23T04:00:00Z"}"#,
        )
        .unwrap();
        assert!(matches!(
            old,
            Record::Adopted {
                unverified: None,
                ..
            }
        ));
    }

    #[test]
    fn an_instance_failed_while_in_doubt_is_not_made_pending_by_abandoning_its_batch() {
        let records = Script::new(t(0))
            .intent(1, &ids()[..2])
            .at(t(1))
            .unknown(1, "reset")
            .at(t(2))
            .finished(ids()[0], TaskState::Failed, Some("cannot tell"))
            .abandoned(1, "not found")
            .records();
        let s = RunState::replay(ids(), &records);
        let a = s.get(ids()[0]).unwrap();
        assert_eq!((a.status, a.in_doubt), (Status::Failed, None));
        assert_eq!(s.get(ids()[1]).unwrap().status, Status::Pending);
    }

    #[test]
    fn timed_out_lasts_until_the_next_run_starts() {
        let run = Script::new(t(0))
            .start("p", "h")
            .intent(1, &ids()[..2])
            .at(t(1))
            .accepted(1, "5")
            .at(t(2))
            .progress(ids()[0], TaskState::Running, Some(10))
            .at(t(3))
            .finished(ids()[1], TaskState::Succeeded, None)
            .at(t(4))
            .timed_out(&ids());
        let records = run.clone().records();
        let statuses = |s: &RunState| s.instances.iter().map(|i| i.status).collect::<Vec<_>>();
        let s = RunState::replay(ids(), &records);
        assert_eq!(
            statuses(&s),
            [Status::TimedOut, Status::Succeeded, Status::TimedOut]
        );
        assert!(s.complete.is_none());
        let resumed = run.at(t(0)).start("p", "h").records();
        let s = RunState::replay(ids(), &resumed);
        assert_eq!(
            statuses(&s),
            [Status::Running, Status::Succeeded, Status::Pending],
            "a resumed run starts from where the rollbacks were"
        );
        // Journals name the record as its variant.
        let line = serde_json::to_string(&records[5]).unwrap();
        assert!(line.starts_with(r#"{"record":"timed_out","#), "{line}");
    }

    #[test]
    fn a_retry_sends_again_what_failed_and_polls_first_for_what_is_unknown() {
        let ids = [
            "cdb-aaaaaaaa",
            "cdb-bbbbbbbb",
            "cdb-cccccccc",
            "cdb-dddddddd",
        ];
        let run = Script::new(t(0))
            .intent(1, &ids[..3])
            .at(t(1))
            .accepted(1, "5")
            .at(t(5))
            .finished(ids[0], TaskState::Failed, Some("boom"))
            .finished(ids[1], TaskState::Succeeded, None)
            .at(t(6))
            .unproven(ids[2], "unseen")
            .at(t(7))
            .intent(2, &ids[3..])
            .at(t(8))
            .unknown(2, "reset")
            .at(t(9))
            .unproven(ids[3], "two echoes");
        let before = RunState::replay(ids, &run.clone().records());
        assert_eq!(before.retryable(), v(&[ids[0], ids[2], ids[3]]));
        let retryable = before.retryable();
        let retried: Vec<&str> = retryable.iter().map(String::as_str).collect();
        let all = run.at(t(10)).retry(&retried).records();
        let s = RunState::replay(ids, &all);
        let failed = s.get(ids[0]).unwrap();
        assert_eq!(
            (failed.status, failed.job.clone(), failed.error.clone()),
            (Status::Pending, None, None),
            "sent again"
        );
        assert_eq!(
            failed.failed_before,
            Some(t(5)),
            "its failed task remembered"
        );
        assert_eq!(s.get(ids[1]).unwrap().status, Status::Succeeded);
        // Unknown with a task: tracked again. Unknown in doubt: reconciled again.
        let tracked = s.get(ids[2]).unwrap();
        assert_eq!(
            (tracked.status, tracked.job.clone(), tracked.in_doubt),
            (Status::Submitted, Some(JobHandle("5".into())), None)
        );
        let doubt = s.get(ids[3]).unwrap();
        assert_eq!(
            (doubt.status, doubt.in_doubt),
            (Status::Submitted, Some((2, t(7))))
        );
        assert!(s.retryable().is_empty());
    }

    #[test]
    fn rejection_is_final_with_its_code() {
        let records = Script::new(t(0))
            .intent(1, &ids()[..1])
            .at(t(1))
            .rejected(1, &ids()[..1], Some("9003"), "bad")
            .records();
        let s = RunState::replay(ids(), &records);
        assert_eq!(s.get(ids()[0]).unwrap().status, Status::Rejected);
        assert_eq!(s.get(ids()[0]).unwrap().error.as_deref(), Some("9003: bad"));
    }
}
