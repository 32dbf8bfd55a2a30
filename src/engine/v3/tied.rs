//! API 3.0 under the rule of evidence ([`crate::engine::reconcile`]):
//! - tracking an accepted submission: DescribeRollbackTaskDetail filtered by its
//!   AsyncRequestId, one task picked only with proof ([`reconcile::pick`]); where that
//!   listing cannot tell (several items without an echo, nothing listed, an error), the
//!   DescribeTasks item that carries that very AsyncRequestId and names this instance speaks
//!   for it — for the whole submission only as far as one item can (a success, or a task
//!   still running; which of several instances failed, it cannot say);
//! - reconciling a submission in doubt: the echo of DescribeRollbackTaskDetail decides
//!   ([`reconcile::decide`]); DescribeTasks then gives the proven task its AsyncRequestId
//!   when exactly one item of exactly this call's instances started at that time.

use super::{TIME_FORMAT, V3, state, task};
use crate::api::Error;
use crate::api::v3::AsyncRequestId;
use crate::api::v3::model::RollbackTask;
use crate::api::v3::tasks::{DescribeTasksRequest, ROLLBACK_TASK_TYPES, TaskDetail};
use crate::engine::protocol::{JobHandle, Protocol, Task, TaskState};
use crate::engine::reconcile::{self, Finding, Sent, Tracked};

/// Whether a DescribeRollbackTaskDetail item may be this instance's: its `Detail` names the
/// instance, or names none at all (an empty `Detail` says nothing either way).
pub(super) fn of_instance(t: &RollbackTask, instance: &str) -> bool {
    t.detail.is_empty() || t.detail_of(instance).is_some()
}

/// Why one DescribeRollbackTaskDetail task proves nothing of this instance's end, if it does
/// not: its `Detail` names other instances too, and it ended otherwise than in success. The
/// rule is DescribeTasks' ([`from_listing`]): a task of several instances that failed (or
/// was stopped, or removed) does not say whose part did. Its success counts for each
/// instance it names (whose new objects are then looked for, as any success's).
fn unproven_share(t: &RollbackTask, instance: &str, job: &JobHandle) -> Option<String> {
    let mut named: Vec<&str> = t
        .detail
        .iter()
        .map(|d| d.instance_id.as_str())
        .filter(|i| !i.is_empty())
        .collect();
    named.sort_unstable();
    named.dedup();
    let others = named.iter().any(|i| *i != instance);
    let ended = state(t.status.as_deref());
    if !others || !ended.is_terminal() || ended == TaskState::Succeeded {
        return None;
    }
    let info = t
        .info
        .as_deref()
        .filter(|i| !i.trim().is_empty())
        .map_or_else(String::new, |i| format!(" ({i})"));
    Some(format!(
        "DescribeRollbackTaskDetail lists one task of request {job} for the batch: it ended {}{info} and names {} instances ({}), so it does not say whose part {}",
        t.status.as_deref().unwrap_or("?"),
        named.len(),
        named.join(", "),
        whose(&ended),
    ))
}

/// What a shared task's end does not say of each instance it names.
fn whose(ended: &TaskState) -> &'static str {
    match ended {
        TaskState::Failed => "failed",
        TaskState::Killed => "was stopped",
        TaskState::Removed => "was removed",
        _ => "ended so",
    }
}

/// The same instances, in any order.
fn same_instances(listed: &[String], batch: &[String]) -> bool {
    let mut a: Vec<&str> = listed.iter().map(String::as_str).collect();
    let mut b: Vec<&str> = batch.iter().map(String::as_str).collect();
    a.sort_unstable();
    b.sort_unstable();
    a.dedup();
    b.dedup();
    a == b
}

/// What DescribeTasks' items say of this instance's task of request `job`: only items that
/// carry that AsyncRequestId (a filter may be ignored) and name the instance count. The one
/// item of this instance alone speaks for it; failing that, the one item of exactly this
/// call's instances. Several such items (the same item listed twice aside) are answers that
/// may contradict each other: never the first of them.
fn from_listing(items: &[TaskDetail], instance: &str, sent: &Sent, job: &JobHandle) -> Tracked {
    let mut ours: Vec<&TaskDetail> = items
        .iter()
        .filter(|t| t.is_rollback())
        .filter(|t| t.async_request_id.as_deref() == Some(job.0.as_str()))
        .filter(|t| t.instance_ids.iter().any(|i| i == instance))
        .collect();
    // A page boundary that moved may list the very same item twice: that is one answer.
    let mut seen: Vec<&TaskDetail> = Vec::new();
    ours.retain(|t| {
        let again = seen.contains(t);
        seen.push(t);
        !again
    });
    let alone: Vec<&TaskDetail> = ours
        .iter()
        .copied()
        .filter(|t| t.instance_ids.len() == 1)
        .collect();
    let whole: Vec<&TaskDetail> = ours
        .iter()
        .copied()
        .filter(|t| t.instance_ids.len() > 1 && same_instances(&t.instance_ids, &sent.batch))
        .collect();
    let item = match (alone.as_slice(), whole.as_slice()) {
        ([one], _) | ([], [one]) => *one,
        ([], []) => return Tracked::Unlisted,
        ([], many) | (many, _) => {
            let states: Vec<&str> = many
                .iter()
                .map(|t| t.task_status.as_deref().unwrap_or("?"))
                .collect();
            return Tracked::Ambiguous(format!(
                "DescribeTasks lists {} items of request {job} naming {instance} ({}); nothing tells which is its task",
                many.len(),
                states.join(", ")
            ));
        }
    };
    let status = state(item.task_status.as_deref());
    let shared = item.instance_ids.len() > 1;
    // One item for a submission of several instances ended otherwise than in success: which
    // of them it concerns, it does not say.
    if shared && status.is_terminal() && status != TaskState::Succeeded {
        return Tracked::Ambiguous(format!(
            "DescribeTasks says request {job}, of {} instances ({}), ended {}, but not whose part {}",
            item.instance_ids.len(),
            item.instance_ids.join(", "),
            item.task_status.as_deref().unwrap_or("?"),
            whose(&status)
        ));
    }
    Tracked::One(Task {
        job: Some(job.clone()),
        state: status,
        progress: item
            .progress
            .and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
        started_at: item.start_time.clone(),
        finished_at: item
            .end_time
            .clone()
            .filter(|t| !t.trim().is_empty() && !t.starts_with("0000-00-00")),
        message: item.message.clone().filter(|m| !m.is_empty()),
        spec: None,
    })
}

impl V3 {
    /// DescribeTasks for the instance since the submission's attempt (less the skew).
    async fn listed(
        &self,
        region: Option<&str>,
        instance: &str,
        request: Option<&JobHandle>,
        sent: &Sent,
    ) -> Result<Vec<TaskDetail>, Error> {
        let filter = DescribeTasksRequest {
            instance_id: Some(instance.to_owned()),
            async_request_id: request.map(|r| r.0.clone()),
            task_types: ROLLBACK_TASK_TYPES.to_vec(),
            start_time_begin: Some(
                sent.since()
                    .with_timezone(&sent.offset)
                    .format(TIME_FORMAT)
                    .to_string(),
            ),
            ..DescribeTasksRequest::default()
        };
        self.client_for(region).all_tasks(&filter).await
    }

    /// Rule 1: this instance's task of the accepted submission `job`.
    pub(super) async fn tracked(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
        sent: &Sent,
    ) -> Result<Tracked, Error> {
        let request = AsyncRequestId(job.0.clone());
        // The detail's task ended, shared: final, unless DescribeTasks has the instance's own.
        let mut ended = false;
        let detail = self
            .client_for(region)
            .all_rollback_tasks(instance, Some(&request))
            .await
            .map(|items| {
                let mine: Vec<&RollbackTask> =
                    items.iter().filter(|t| of_instance(t, instance)).collect();
                let tasks: Vec<Task> = mine
                    .iter()
                    .map(|t| task(instance, t, Some(job.clone())))
                    .collect();
                match reconcile::pick(&tasks, sent, job) {
                    Tracked::One(picked) => {
                        // `pick` never takes one of two equal tasks, so equality finds the
                        // very item it took.
                        let item = tasks.iter().position(|t| *t == picked).map(|i| mine[i]);
                        match item.and_then(|t| unproven_share(t, instance, job)) {
                            Some(why) => {
                                ended = true;
                                Tracked::Ambiguous(why)
                            }
                            None => Tracked::One(picked),
                        }
                    }
                    other => other,
                }
            });
        let said = match detail {
            Ok(Tracked::One(task)) => return Ok(Tracked::One(task)),
            Ok(other) => Ok(other),
            Err(e) if e.class() == crate::api::ErrorClass::StopRun => return Err(e),
            Err(e) => Err(e),
        };
        // The detail cannot tell: DescribeTasks may.
        let answer = match self.listed(region, instance, Some(job), sent).await {
            Ok(items) => match (from_listing(&items, instance, sent, job), said) {
                (Tracked::Unlisted, said) => said,
                // Two listings that cannot tell: both say why.
                (Tracked::Ambiguous(listed), Ok(Tracked::Ambiguous(detail))) => {
                    Ok(Tracked::Ambiguous(format!("{detail}; {listed}")))
                }
                (found, _) => Ok(found),
            },
            Err(_) => said,
        };
        match answer {
            Ok(Tracked::Ambiguous(why)) if ended => Ok(Tracked::Ended(why)),
            other => other,
        }
    }

    /// Rule 2: the instance's task of a submission in doubt.
    pub(super) async fn find_tied(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: Sent,
    ) -> Result<Finding, Error> {
        let tasks = self.tasks(region, instance).await?;
        let found = reconcile::decide(&tasks, &sent);
        let Finding::Ours { job, proof } = found else {
            return Ok(found);
        };
        // Its handle is derived from its start and echo; DescribeTasks may name its
        // AsyncRequestId, which tracking (and the survey) use directly.
        let started = tasks
            .iter()
            .find(|t| t.job.as_ref() == Some(&job))
            .and_then(|t| t.started_at.clone());
        let named = match self.listed(region, instance, None, &sent).await {
            Ok(items) => {
                let same: Vec<&str> = items
                    .iter()
                    .filter(|t| t.is_rollback())
                    .filter(|t| started.is_some() && t.start_time == started)
                    .filter(|t| same_instances(&t.instance_ids, &sent.batch))
                    .filter_map(|t| t.async_request_id.as_deref())
                    .collect();
                match same.as_slice() {
                    [one] => Some(JobHandle((*one).to_owned())),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        Ok(Finding::Ours {
            job: named.unwrap_or(job),
            proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{RollbackSpec, Strategy};
    use chrono::{DateTime, FixedOffset, Utc};

    fn sent(batch: &[&str]) -> Sent {
        Sent {
            batch: batch.iter().map(|s| (*s).to_owned()).collect(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Full,
                dbs: vec![],
                tables: vec![],
            },
            attempt: DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            offset: FixedOffset::east_opt(8 * 3600).unwrap(),
            failed_before: None,
        }
    }

    fn item(id: &str, instances: &[&str], status: &str) -> TaskDetail {
        TaskDetail {
            async_request_id: Some(id.into()),
            instance_ids: instances.iter().map(|s| (*s).to_owned()).collect(),
            start_time: Some("2026-11-23 12:00:02".into()),
            task_type: Some("BATCH ROLLBACK".into()),
            task_status: Some(status.into()),
            ..TaskDetail::default()
        }
    }

    #[test]
    fn describe_tasks_speaks_only_for_items_of_that_request_naming_the_instance() {
        let s = sent(&["cdb-a", "cdb-b"]);
        let job = JobHandle("req".into());
        // An ignored filter: another request's item is never taken.
        let other = [item("other", &["cdb-a", "cdb-b"], "SUCCEED")];
        assert_eq!(from_listing(&other, "cdb-a", &s, &job), Tracked::Unlisted);
        // One item per instance: its own state.
        let per = [
            item("req", &["cdb-b"], "FAILED"),
            item("req", &["cdb-a"], "SUCCEED"),
        ];
        assert!(matches!(
            from_listing(&per, "cdb-a", &s, &job),
            Tracked::One(t) if t.state == TaskState::Succeeded
        ));
        // One item for the submission: a success or a running task speaks for both...
        let whole = [item("req", &["cdb-b", "cdb-a"], "SUCCEED")];
        assert!(matches!(
            from_listing(&whole, "cdb-a", &s, &job),
            Tracked::One(t) if t.state == TaskState::Succeeded
        ));
        // ...a failure does not say whose.
        let failed = [item("req", &["cdb-a", "cdb-b"], "FAILED")];
        assert!(matches!(
            from_listing(&failed, "cdb-a", &s, &job),
            Tracked::Ambiguous(_)
        ));
        // An item that names other instances than the call's is not this call's.
        let wider = [item("req", &["cdb-a", "cdb-z"], "SUCCEED")];
        assert_eq!(from_listing(&wider, "cdb-a", &s, &job), Tracked::Unlisted);
    }

    #[test]
    fn several_items_of_the_request_naming_the_instance_are_ambiguous_unless_one_is_its_own() {
        let job = JobHandle("req".into());
        // The same item listed twice (a page boundary moved) is one answer.
        let s = sent(&["cdb-a"]);
        let twice = [
            item("req", &["cdb-a"], "SUCCEED"),
            item("req", &["cdb-a"], "SUCCEED"),
        ];
        assert!(matches!(
            from_listing(&twice, "cdb-a", &s, &job),
            Tracked::One(t) if t.state == TaskState::Succeeded
        ));
        // Two items of exactly the call's instances that disagree: never the first.
        let s = sent(&["cdb-a", "cdb-b"]);
        let whole = [
            item("req", &["cdb-a", "cdb-b"], "SUCCEED"),
            item("req", &["cdb-b", "cdb-a"], "RUNNING"),
        ];
        assert!(matches!(
            from_listing(&whole, "cdb-a", &s, &job),
            Tracked::Ambiguous(why) if why.contains("SUCCEED, RUNNING") && why.contains("req")
        ));
        // The instance's own item speaks for it beside the call's shared one.
        let both = [
            item("req", &["cdb-a", "cdb-b"], "FAILED"),
            item("req", &["cdb-a"], "SUCCEED"),
        ];
        assert!(matches!(
            from_listing(&both, "cdb-a", &s, &job),
            Tracked::One(t) if t.state == TaskState::Succeeded
        ));
    }

    fn rollback_task(status: &str, instances: &[&str]) -> RollbackTask {
        let detail: Vec<serde_json::Value> = instances
            .iter()
            .map(|i| serde_json::json!({"InstanceId": i}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "Status": status, "Info": "rollback failed", "Detail": detail
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A DescribeRollbackTaskDetail task naming several instances that ended otherwise than
    /// in success does not say whose part did: no instance's `failed` (nor `cancelled`).
    #[test]
    fn a_shared_task_that_did_not_succeed_proves_no_instances_end() {
        let job = JobHandle("req".into());
        let failed = rollback_task("FAILED", &["cdb-b", "cdb-a"]);
        let why = unproven_share(&failed, "cdb-a", &job).unwrap_or_default();
        assert!(why.contains("ended FAILED (rollback failed)"), "{why}");
        assert!(why.contains("2 instances (cdb-a, cdb-b)"), "{why}");
        assert!(
            why.contains("whose part failed") && why.contains("req"),
            "{why}"
        );
        let killed = rollback_task("KILLED", &["cdb-a", "cdb-b"]);
        assert!(unproven_share(&killed, "cdb-b", &job).is_some_and(|w| w.contains("was stopped")));
        // A success counts for each instance it names; a running task is still running; a
        // task of this instance alone says its own end.
        assert_eq!(
            unproven_share(
                &rollback_task("SUCCESS", &["cdb-a", "cdb-b"]),
                "cdb-a",
                &job
            ),
            None
        );
        assert_eq!(
            unproven_share(
                &rollback_task("RUNNING", &["cdb-a", "cdb-b"]),
                "cdb-a",
                &job
            ),
            None
        );
        assert_eq!(
            unproven_share(&rollback_task("FAILED", &["cdb-a"]), "cdb-a", &job),
            None
        );
        assert_eq!(
            unproven_share(&rollback_task("FAILED", &["", "cdb-a"]), "cdb-a", &job),
            None
        );
    }

    /// DescribeTasks lists two items of the same AsyncRequestId, each naming only this
    /// instance, one FAILED and one SUCCEED (a list the SDK allows: nothing makes items
    /// unique). Which one is this instance's task, nothing tells: ambiguous. (planrun took
    /// the first and reported `failed` by position; found by the audit of 2026-12-05.)
    #[test]
    fn two_items_of_the_request_naming_the_instance_are_never_taken_by_position() {
        let s = sent(&["cdb-a"]);
        let job = JobHandle("req".into());
        let twice = [
            item("req", &["cdb-a"], "FAILED"),
            item("req", &["cdb-a"], "SUCCEED"),
        ];
        let got = from_listing(&twice, "cdb-a", &s, &job);
        assert!(matches!(got, Tracked::Ambiguous(_)), "{got:?}");
    }
}
