//! DescribeTasks (an instance's asynchronous tasks, each with the AsyncRequestId and the
//! instances of the submission that made it) and DescribeAsyncRequestInfo (one request's
//! status), as the official SDK models them.

use serde::{Deserialize, Serialize};

use super::lenient::{int_ish, nullable, text_ish};

/// `TaskTypes` of DescribeTasks: 1 rollback, 10 batch rollback.
pub const ROLLBACK_TASK_TYPES: [i64; 2] = [1, 10];
/// DescribeTasks returns at most this many items per call.
pub const MAX_TASKS_PAGE: u32 = 100;

/// DescribeTasks' body (`StartTimeBegin` / `StartTimeEnd` are `YYYY-MM-DD HH:MM:SS`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTasksRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_request_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub task_types: Vec<i64>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub task_status: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_begin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_end: Option<String>,
    #[serde(
        default,
        deserialize_with = "int_ish",
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<i64>,
    #[serde(
        default,
        deserialize_with = "int_ish",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<i64>,
}

/// `TaskAttachInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskAttachInfo {
    #[serde(default, deserialize_with = "text_ish")]
    pub attach_key: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub attach_value: Option<String>,
}

/// `TaskDetail`: one item of DescribeTasks. `TaskStatus` is a string here (`SUCCEED`, not
/// `SUCCESS`; also `UNDEFINED` and `WAITING`); `TaskType` `ROLLBACK` / `BATCH ROLLBACK`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDetail {
    #[serde(default, deserialize_with = "int_ish")]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "text_ish")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "int_ish")]
    pub job_id: Option<i64>,
    #[serde(default, deserialize_with = "int_ish")]
    pub progress: Option<i64>,
    #[serde(default, deserialize_with = "text_ish")]
    pub task_status: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub task_type: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub end_time: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub instance_ids: Vec<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub async_request_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub task_attach_info: Vec<TaskAttachInfo>,
}

impl TaskDetail {
    /// A rollback or batch rollback (by `TaskType`; an item without one is taken as asked).
    pub fn is_rollback(&self) -> bool {
        self.task_type.as_deref().is_none_or(|t| {
            let t = t.trim().to_ascii_uppercase();
            t == "ROLLBACK" || t == "BATCH ROLLBACK"
        })
    }
}

/// The answer of DescribeTasks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskPage {
    #[serde(default, deserialize_with = "int_ish")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<TaskDetail>,
}

/// DescribeAsyncRequestInfo's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeAsyncRequestInfoRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub async_request_id: String,
}

/// The answer of DescribeAsyncRequestInfo: `Status` INITIAL, RUNNING, SUCCESS, FAILED,
/// KILLED, REMOVED, PAUSED (being stopped) or UNDEFINED (waiting for the maintenance window).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsyncRequestInfo {
    #[serde(default, deserialize_with = "text_ish")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub info: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_describe_tasks_answer_decodes_with_nulls_and_strings() {
        let page: TaskPage = serde_json::from_value(json!({
            "TotalCount": "1",
            "Items": [{"Code": 0, "Message": null, "JobId": "1000", "Progress": 40,
                "TaskStatus": "SUCCEED", "TaskType": "BATCH ROLLBACK",
                "StartTime": "2026-11-23 12:00:00", "EndTime": "0000-00-00 00:00:00",
                "InstanceIds": ["cdb-a", "cdb-b"], "AsyncRequestId": "x-1",
                "TaskAttachInfo": null}]
        }))
        .unwrap();
        let t = &page.items[0];
        assert_eq!(t.job_id, Some(1000));
        assert_eq!(t.instance_ids, ["cdb-a", "cdb-b"]);
        assert!(t.is_rollback());
        assert!(t.task_attach_info.is_empty());
        let other = TaskDetail {
            task_type: Some("REBOOT".into()),
            ..TaskDetail::default()
        };
        assert!(!other.is_rollback());
    }

    #[test]
    fn the_request_leaves_out_what_is_not_asked() {
        let body = DescribeTasksRequest {
            instance_id: Some("cdb-a".into()),
            task_types: ROLLBACK_TASK_TYPES.to_vec(),
            start_time_begin: Some("2026-11-23 11:55:00".into()),
            ..DescribeTasksRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"InstanceId": "cdb-a", "TaskTypes": [1, 10],
                   "StartTimeBegin": "2026-11-23 11:55:00"})
        );
    }
}
