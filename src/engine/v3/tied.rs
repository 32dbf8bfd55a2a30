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
/// carry that AsyncRequestId (a filter may be ignored) and name the instance count.
fn from_listing(items: &[TaskDetail], instance: &str, sent: &Sent, job: &JobHandle) -> Tracked {
    let ours: Vec<&TaskDetail> = items
        .iter()
        .filter(|t| t.is_rollback())
        .filter(|t| t.async_request_id.as_deref() == Some(job.0.as_str()))
        .filter(|t| t.instance_ids.iter().any(|i| i == instance))
        .collect();
    let own = ours
        .iter()
        .find(|t| t.instance_ids.len() == 1)
        .or_else(|| match ours.as_slice() {
            [one] if same_instances(&one.instance_ids, &sent.batch) => Some(one),
            _ => None,
        });
    let Some(item) = own else {
        return Tracked::Unlisted;
    };
    let status = state(item.task_status.as_deref());
    let shared = item.instance_ids.len() > 1;
    // One item for a submission of several instances ended otherwise than in success: which
    // of them it concerns, it does not say.
    if shared && status.is_terminal() && status != TaskState::Succeeded {
        return Tracked::Ambiguous(format!(
            "DescribeTasks says request {job}, of {} instances, ended {}, but not which of them",
            item.instance_ids.len(),
            item.task_status.as_deref().unwrap_or("?")
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
        let detail = self
            .client_for(region)
            .all_rollback_tasks(instance, Some(&request))
            .await
            .map(|items| {
                let tasks: Vec<Task> = items
                    .iter()
                    .filter(|t| of_instance(t, instance))
                    .map(|t| task(instance, t, Some(job.clone())))
                    .collect();
                reconcile::pick(&tasks, sent, job)
            });
        let said = match detail {
            Ok(Tracked::One(task)) => return Ok(Tracked::One(task)),
            Ok(other) => Ok(other),
            Err(e) if e.class() == crate::api::ErrorClass::StopRun => return Err(e),
            Err(e) => Err(e),
        };
        // The detail cannot tell: DescribeTasks may.
        match self.listed(region, instance, Some(job), sent).await {
            Ok(items) => match from_listing(&items, instance, sent, job) {
                Tracked::Unlisted => said,
                found => Ok(found),
            },
            Err(_) => said,
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

    /// Audit: DescribeTasks lists two items of the same AsyncRequestId, each naming only this
    /// instance, one FAILED and one SUCCEED (a list the SDK allows: nothing makes items
    /// unique). Which one is this instance's task, nothing tells; planrun takes the first
    /// (`ours.iter().find(..)`) and reports `failed` by position. It must be ambiguous.
    #[test]
    fn audit_two_items_of_the_request_naming_the_instance_are_never_taken_by_position() {
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
