//! Reconciliation with DescribeTasks: its items carry the AsyncRequestId and the instances of
//! the submission that made them, so an in-doubt submission's task is found without relying
//! on the `Detail` echo (which may be empty). Where DescribeTasks is unavailable, the echo.

use super::{TIME_FORMAT, V3};
use crate::api::Error;
use crate::api::ErrorClass;
use crate::api::v3::tasks::{DescribeTasksRequest, ROLLBACK_TASK_TYPES, TaskDetail};
use crate::engine::protocol::{JobHandle, Protocol};
use crate::engine::reconcile::{self, CLOCK_SKEW, Found, Sent};

/// Whether DescribeTasks failed for now (ask again later) rather than for good (then it is
/// unavailable to this account: missing permission, unknown action, ...).
fn for_now(e: &Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Retry | ErrorClass::Resign | ErrorClass::OutcomeUnknown | ErrorClass::Busy
    )
}

/// The task of `sent` among DescribeTasks' items: a rollback naming this instance, whose
/// instances were all in the call, started after the attempt (minus the skew); the earliest.
fn tied<'t>(items: &'t [TaskDetail], instance: &str, sent: &Sent) -> Option<&'t str> {
    let since = (sent.attempt - CLOCK_SKEW)
        .with_timezone(&sent.offset)
        .naive_local();
    items
        .iter()
        .filter(|t| t.is_rollback())
        .filter(|t| t.instance_ids.iter().any(|i| i == instance))
        .filter(|t| t.instance_ids.iter().all(|i| sent.batch.contains(i)))
        .filter(|t| {
            t.start_time
                .as_deref()
                .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, TIME_FORMAT).ok())
                .is_none_or(|start| start >= since)
        })
        .filter_map(|t| Some((t.async_request_id.as_deref()?, t.start_time.as_deref())))
        .min_by_key(|(_, start)| start.map(str::to_owned))
        .map(|(id, _)| id)
}

impl V3 {
    /// DescribeTasks first; the echo of DescribeRollbackTaskDetail after it (verified only,
    /// since DescribeTasks would have shown a task of this submission), or instead of it when
    /// DescribeTasks is unavailable (then an unverified adoption is possible).
    pub(super) async fn find_tied(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: Sent,
    ) -> Result<Found, Error> {
        let begin = (sent.attempt - CLOCK_SKEW)
            .with_timezone(&sent.offset)
            .format(TIME_FORMAT)
            .to_string();
        let filter = DescribeTasksRequest {
            instance_id: Some(instance.to_owned()),
            task_types: ROLLBACK_TASK_TYPES.to_vec(),
            start_time_begin: Some(begin),
            ..DescribeTasksRequest::default()
        };
        let unverified = match self.client_for(region).all_tasks(&filter).await {
            Ok(items) => {
                if let Some(id) = tied(&items, instance, &sent) {
                    return Ok(Found::Verified(JobHandle(id.to_owned())));
                }
                false
            }
            Err(e) if for_now(&e) => return Err(e),
            Err(_) => true,
        };
        let tasks = self.tasks(region, instance).await?;
        Ok(reconcile::decide(&tasks, &sent, unverified))
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
            // 2026-11-23 12:00:00 +08:00
            attempt: DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        }
    }

    fn item(id: &str, instances: &[&str], start: &str, kind: &str) -> TaskDetail {
        TaskDetail {
            async_request_id: Some(id.into()),
            instance_ids: instances.iter().map(|s| (*s).to_owned()).collect(),
            start_time: Some(start.into()),
            task_type: Some(kind.into()),
            ..TaskDetail::default()
        }
    }

    #[test]
    fn a_task_of_the_same_instances_started_after_the_attempt_is_tied_to_it() {
        let s = sent(&["cdb-a", "cdb-b"]);
        let items = [
            item(
                "old",
                &["cdb-a", "cdb-b"],
                "2026-11-23 10:00:00",
                "BATCH ROLLBACK",
            ),
            item(
                "other",
                &["cdb-a", "cdb-z"],
                "2026-11-23 12:00:01",
                "BATCH ROLLBACK",
            ),
            item("reboot", &["cdb-a"], "2026-11-23 12:00:01", "REBOOT"),
            item(
                "ours",
                &["cdb-a", "cdb-b"],
                "2026-11-23 12:00:02",
                "BATCH ROLLBACK",
            ),
        ];
        assert_eq!(tied(&items, "cdb-a", &s), Some("ours"));
        assert_eq!(tied(&items[..3], "cdb-a", &s), None);
        assert_eq!(tied(&items, "cdb-c", &s), None);
        let skewed = [item("ours", &["cdb-a"], "2026-11-23 11:56:00", "ROLLBACK")];
        assert_eq!(tied(&skewed, "cdb-a", &s), Some("ours"));
    }
}
