//! Rollback tasks as GetCdbRollbackJob reports them: [`TaskStatus`], [`RollbackTask`] and a
//! page of them ([`JobPage`]), decoded from whatever shape the API sends.

use serde_json::Value;

use crate::api::rollback::{DatabaseRename, DatabaseTables, Strategy};
use crate::api::v2::envelope::{JobId, dbs, int, strategy, tables, text};

/// A task's state (`docs/api-facts.md` "Task states").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Waiting,
    Running,
    Success,
    Failed,
    Killed,
    Removed,
    Pausing,
    Undefined,
    /// A value outside the documented table: treated as not finished.
    Unknown(i64),
}

impl TaskStatus {
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Waiting,
            1 => Self::Running,
            2 => Self::Success,
            3 => Self::Failed,
            4 => Self::Killed,
            5 => Self::Removed,
            6 => Self::Pausing,
            -1 => Self::Undefined,
            other => Self::Unknown(other),
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Waiting => 0,
            Self::Running => 1,
            Self::Success => 2,
            Self::Failed => 3,
            Self::Killed => 4,
            Self::Removed => 5,
            Self::Pausing => 6,
            Self::Undefined => -1,
            Self::Unknown(code) => code,
        }
    }

    /// The state's name; `unknown` for values outside the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Killed => "killed",
            Self::Removed => "removed",
            Self::Pausing => "pausing",
            Self::Undefined => "undefined",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Success, failed, killed and removed end a task; anything else may still change.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failed | Self::Killed | Self::Removed
        )
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(code) => write!(f, "unknown({code})"),
            known => f.write_str(known.name()),
        }
    }
}

/// One entry of GetCdbRollbackJob's `taskList`. Absent fields are `None` / empty.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackTask {
    pub job_id: Option<JobId>,
    pub task_id: Option<String>,
    pub status: TaskStatus,
    /// 0–100 (clamped).
    pub progress: Option<u8>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub message: Option<String>,
    pub task_message: Option<String>,
    pub name: Option<String>,
    pub new_name: Option<String>,
    /// `type`: 1 database rollback, 10 batch rollback.
    pub kind: Option<i64>,
    /// From `taskContext.data`, for reconciliation with a submission.
    pub rollback_time: Option<String>,
    pub strategy: Option<Strategy>,
    pub dbs: Vec<DatabaseRename>,
    pub tables: Vec<DatabaseTables>,
}

/// One page of an instance's tasks; `task_count` is the total across all pages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobPage {
    /// `taskCount` as announced, else the tasks listed.
    pub task_count: u64,
    /// Whether the answer announced `taskCount` (a page without one says nothing of the
    /// pages after it).
    pub counted: bool,
    pub tasks: Vec<RollbackTask>,
}

impl JobPage {
    /// Decodes the `data` of a GetCdbRollbackJob answer: `{taskCount, taskList}`, an array
    /// holding that object, or an array that is the task list itself; `null` is an empty page.
    pub fn from_data(data: &Value) -> Self {
        let is_wrapper = |v: &Value| v.get("taskList").is_some() || v.get("taskCount").is_some();
        let (count, list) = match data {
            Value::Array(items) => match items.iter().find(|v| is_wrapper(v)) {
                Some(wrapper) => (&wrapper["taskCount"], &wrapper["taskList"]),
                None => (&Value::Null, data),
            },
            Value::Object(_) => (&data["taskCount"], &data["taskList"]),
            _ => (&Value::Null, &Value::Null),
        };
        let tasks: Vec<RollbackTask> = list
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|v| v.is_object())
                    .map(RollbackTask::from_value)
                    .collect()
            })
            .unwrap_or_default();
        let announced = int(count).and_then(|n| u64::try_from(n).ok());
        Self {
            task_count: announced.unwrap_or(tasks.len() as u64),
            counted: announced.is_some(),
            tasks,
        }
    }
}

impl RollbackTask {
    /// Reads one task object; never fails (missing fields stay empty).
    pub fn from_value(v: &Value) -> Self {
        let context = context_data(&v["taskContext"]);
        let status = int(&v["status"])
            .or_else(|| int(&v["taskStatus"]))
            .map_or(TaskStatus::Undefined, TaskStatus::from_code);
        let progress = int(&v["progress"])
            .or_else(|| int(&v["taskProgress"]))
            .map(|p| p.clamp(0, 100) as u8);
        Self {
            job_id: non_empty(&v["jobId"]).map(JobId),
            task_id: non_empty(&v["taskId"]),
            status,
            progress,
            start_time: time(&v["startTime"]),
            end_time: time(&v["endTime"]),
            message: non_empty(&v["message"]),
            task_message: non_empty(&v["taskMessage"]),
            name: non_empty(&v["name"]),
            new_name: non_empty(&v["newName"]),
            kind: int(&v["type"]),
            rollback_time: non_empty(&context["rollbacktime"]),
            strategy: strategy(&context["strategy"]),
            dbs: dbs(&context["dbs"]),
            tables: tables(&context["tables"]),
        }
    }
}

fn non_empty(v: &Value) -> Option<String> {
    text(v).filter(|s| !s.trim().is_empty())
}

/// MySQL's zero date means "not yet".
fn time(v: &Value) -> Option<String> {
    non_empty(v).filter(|s| !s.starts_with("0000-00-00"))
}

/// `taskContext` is documented as an array of `{data: [...]}` and shown as `{data: {...}}`;
/// it may also arrive as a JSON string. Returns the object holding `rollbacktime` & co.
fn context_data(ctx: &Value) -> Value {
    let parsed;
    let mut cur = match ctx {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        other => other,
    };
    // At most a few levels: array → first object, `data` → its content.
    for _ in 0..4 {
        if let Value::Array(items) = cur {
            match items.iter().find(|v| v.is_object()) {
                Some(first) => cur = first,
                None => return Value::Null,
            }
        }
        if cur.get("rollbacktime").is_some() || cur.get("strategy").is_some() {
            return cur.clone();
        }
        match cur.get("data") {
            Some(inner) => cur = inner,
            None => return Value::Null,
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The seed's example answer, verbatim.
    const SEED: &str = r#"{"code":"0","message":"","data":{"taskCount":"1","taskList":[{
        "appId":"123456","endTime":"2016-01-25 17:35:02","errorCode":"0","jobId":"1343",
        "message":"0","name":"test, test_bak","newName":"test_bakee, test_bak_bak",
        "progress":"100","startTime":"2016-01-25 17:32:59","status":"2","taskId":"429",
        "taskMessage":"回档成功","taskProgress":"100","taskStatus":"2","type":"10","uin":"231323",
        "taskContext":{"data":{"operator":"231323","rollbacktime":"2016-01-25 17:32:39",
        "strategy":"full","type":"nopriv","dbs":[{"dbname":"test","newname":"test_bakee"},
        {"dbname":"test_bak","newname":"test_bak_bak"}]}}}]}}"#;

    fn page(body: &str) -> JobPage {
        let env = crate::api::v2::envelope::decode_envelope("GetCdbRollbackJob", body).unwrap();
        JobPage::from_data(&env.data)
    }

    #[test]
    fn seed_example_decodes_fully() {
        let p = page(SEED);
        assert_eq!(p.task_count, 1);
        let t = &p.tasks[0];
        assert_eq!(t.job_id, Some(JobId("1343".into())));
        assert_eq!(t.task_id.as_deref(), Some("429"));
        assert_eq!(t.status, TaskStatus::Success);
        assert_eq!(t.progress, Some(100));
        assert_eq!(t.start_time.as_deref(), Some("2016-01-25 17:32:59"));
        assert_eq!(t.end_time.as_deref(), Some("2016-01-25 17:35:02"));
        assert_eq!(t.task_message.as_deref(), Some("回档成功"));
        assert_eq!(t.name.as_deref(), Some("test, test_bak"));
        assert_eq!(t.new_name.as_deref(), Some("test_bakee, test_bak_bak"));
        assert_eq!(t.kind, Some(10));
        assert_eq!(t.rollback_time.as_deref(), Some("2016-01-25 17:32:39"));
        assert_eq!(t.strategy, Some(Strategy::Full));
        assert_eq!(t.dbs.len(), 2);
        assert_eq!(t.dbs[1].newname, "test_bak_bak");
    }

    #[test]
    fn numbers_may_be_numbers() {
        let p = page(
            r#"{"code":0,"data":{"taskCount":3,"taskList":[
            {"jobId":1343,"taskId":429,"status":1,"progress":42.0}]}}"#,
        );
        assert_eq!(p.task_count, 3);
        let t = &p.tasks[0];
        assert_eq!(t.job_id, Some(JobId("1343".into())));
        assert_eq!(t.task_id.as_deref(), Some("429"));
        assert_eq!(t.status, TaskStatus::Running);
        assert_eq!(t.progress, Some(42));
    }

    #[test]
    fn data_may_be_an_array_holding_the_page() {
        let p = page(
            r#"{"code":"0","data":[{"taskCount":"2","taskList":[{"jobId":"1","status":"0"},{"jobId":"2","status":"3"}]}]}"#,
        );
        assert_eq!(p.task_count, 2);
        assert_eq!(p.tasks[1].status, TaskStatus::Failed);
    }

    #[test]
    fn data_may_be_the_task_list_itself() {
        let p = page(r#"{"code":0,"data":[{"jobId":"7","status":"4"},{"jobId":"8"}]}"#);
        assert_eq!(p.task_count, 2);
        assert_eq!(p.tasks[0].status, TaskStatus::Killed);
        assert_eq!(p.tasks[1].status, TaskStatus::Undefined);
    }

    #[test]
    fn missing_data_or_list_is_an_empty_page() {
        assert_eq!(page(r#"{"code":0}"#), JobPage::default());
        assert_eq!(page(r#"{"code":0,"data":[]}"#), JobPage::default());
        let p = page(r#"{"code":0,"data":{"taskCount":"0"}}"#);
        assert!(p.tasks.is_empty());
    }

    #[test]
    fn unknown_fields_and_odd_values_are_tolerated() {
        let t = RollbackTask::from_value(&json!({
            "jobId": "", "status": "17", "progress": "250", "startTime": "0000-00-00 00:00:00",
            "brandNew": {"x": [1, 2]}, "taskContext": "not json", "name": null
        }));
        assert_eq!(t.job_id, None);
        assert_eq!(t.status, TaskStatus::Unknown(17));
        assert!(!t.status.is_terminal());
        assert_eq!(t.progress, Some(100));
        assert_eq!(t.start_time, None);
        assert_eq!(t.name, None);
        assert_eq!(t.rollback_time, None);
    }

    #[test]
    fn task_status_falls_back_to_task_status_field() {
        let t = RollbackTask::from_value(&json!({"taskStatus": "5", "taskProgress": 7}));
        assert_eq!(t.status, TaskStatus::Removed);
        assert_eq!(t.progress, Some(7));
    }

    #[test]
    fn task_context_in_documented_array_form_and_as_string() {
        let ctx = json!([{"data": [{"rollbacktime": "2026-11-20 03:15:00", "strategy": "table",
            "tables": [{"db": "orders", "table": [{"tablename": "payments", "newname": "payments_bak"}]}]}]}]);
        let t = RollbackTask::from_value(&json!({"taskContext": ctx}));
        assert_eq!(t.rollback_time.as_deref(), Some("2026-11-20 03:15:00"));
        assert_eq!(t.strategy, Some(Strategy::Table));
        assert_eq!(t.tables[0].db, "orders");
        assert_eq!(t.tables[0].table[0].newname, "payments_bak");

        let as_string = json!({"taskContext": ctx.to_string()});
        let t = RollbackTask::from_value(&as_string);
        assert_eq!(t.strategy, Some(Strategy::Table));
    }

    #[test]
    fn status_table_names_and_terminality() {
        let expected = [
            (0, "waiting", false),
            (1, "running", false),
            (2, "success", true),
            (3, "failed", true),
            (4, "killed", true),
            (5, "removed", true),
            (6, "pausing", false),
            (-1, "undefined", false),
            (9, "unknown", false),
        ];
        for (code, name, terminal) in expected {
            let s = TaskStatus::from_code(code);
            assert_eq!(s.name(), name);
            assert_eq!(s.is_terminal(), terminal, "{code}");
            assert_eq!(s.code(), code);
        }
        assert_eq!(TaskStatus::Unknown(9).to_string(), "unknown(9)");
    }
}
