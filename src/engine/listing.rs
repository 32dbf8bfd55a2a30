//! What `planrun jobs` lists ([`super::protocol::Protocol::jobs`]): an instance's rollback
//! tasks in one neutral shape, the columns each API can fill, and each task's fields as that
//! API reported them (for `--format json`). The CLI renders it the same way for every API.

use serde_json::{Value, json};

use super::protocol::TaskState;
use crate::api::v2::RollbackTask as V2Task;
use crate::api::v3::model::{RollbackInstancesInfo, RollbackTask as V3Task};

/// Which of an instance's tasks to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobsQuery {
    /// Every task, paging through all of them.
    All,
    /// One page.
    Page { offset: u32, limit: u32 },
}

/// A column of the `jobs` table; each API lists the ones its answers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Job,
    Task,
    Status,
    Progress,
    Start,
    End,
    Name,
    NewName,
    RollbackTime,
    Strategy,
    Info,
}

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Self::Job => "JOB",
            Self::Task => "TASK",
            Self::Status => "STATUS",
            Self::Progress => "PROGRESS",
            Self::Start => "START",
            Self::End => "END",
            Self::Name => "NAME",
            Self::NewName => "NEW NAME",
            Self::RollbackTime => "ROLLBACK TIME",
            Self::Strategy => "STRATEGY",
            Self::Info => "INFO",
        }
    }
}

/// API 2.0's GetCdbRollbackJob names jobs and tasks and the objects they rename.
pub const V2_COLUMNS: &[Column] = &[
    Column::Job,
    Column::Task,
    Column::Status,
    Column::Progress,
    Column::Start,
    Column::End,
    Column::Name,
    Column::NewName,
];

/// API 3.0's DescribeRollbackTaskDetail names no request, but the time and strategy asked.
pub const V3_COLUMNS: &[Column] = &[
    Column::Status,
    Column::Progress,
    Column::Start,
    Column::End,
    Column::RollbackTime,
    Column::Strategy,
    Column::Info,
];

/// One listed task. Texts are the server's, unescaped (the renderer makes them visible).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedTask {
    pub job: Option<String>,
    pub task: Option<String>,
    /// The status as the table shows it.
    pub status: String,
    pub progress: Option<u8>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub name: Option<String>,
    pub new_name: Option<String>,
    pub rollback_time: Option<String>,
    pub strategy: Option<String>,
    pub info: Option<String>,
    /// Every field the API reported, under planrun's names (`--format json`).
    pub record: Value,
}

impl ListedTask {
    /// The text of a column (`None`: the API did not say).
    pub fn text(&self, column: Column) -> Option<String> {
        match column {
            Column::Job => self.job.clone(),
            Column::Task => self.task.clone(),
            Column::Status => Some(self.status.clone()),
            Column::Progress => self.progress.map(|p| format!("{p}%")),
            Column::Start => self.start.clone(),
            Column::End => self.end.clone(),
            Column::Name => self.name.clone(),
            Column::NewName => self.new_name.clone(),
            Column::RollbackTime => self.rollback_time.clone(),
            Column::Strategy => self.strategy.clone(),
            Column::Info => self.info.clone(),
        }
    }
}

/// An instance's tasks, one page or all, and how many the API says there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub columns: &'static [Column],
    pub tasks: Vec<ListedTask>,
    pub total: u64,
}

/// A GetCdbRollbackJob task.
pub fn from_v2(t: &V2Task) -> ListedTask {
    let record = json!({
        "job_id": t.job_id,
        "task_id": t.task_id,
        "status": t.status.name(),
        "status_code": t.status.code(),
        "terminal": t.status.is_terminal(),
        "progress": t.progress,
        "start_time": t.start_time,
        "end_time": t.end_time,
        "name": t.name,
        "new_name": t.new_name,
        "message": t.message,
        "task_message": t.task_message,
        "type": t.kind,
        "rollback_time": t.rollback_time,
        "strategy": t.strategy,
        "dbs": t.dbs,
        "tables": t.tables,
    });
    ListedTask {
        job: t.job_id.as_ref().map(|j| j.as_str().to_owned()),
        task: t.task_id.clone(),
        status: t.status.to_string(),
        progress: t.progress,
        start: t.start_time.clone(),
        end: t.end_time.clone(),
        name: t.name.clone(),
        new_name: t.new_name.clone(),
        rollback_time: None,
        strategy: None,
        info: None,
        record,
    }
}

/// A DescribeRollbackTaskDetail item of `instance` (`state` maps its `Status`).
pub fn from_v3(instance: &str, t: &V3Task, state: TaskState) -> ListedTask {
    let detail = t.detail_of(instance);
    let field = |f: fn(&RollbackInstancesInfo) -> &str| {
        detail.map(f).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let record = json!({
        "status": t.status,
        "state": state.name(),
        "terminal": state.is_terminal(),
        "progress": t.percent(),
        "start_time": t.start_time,
        "end_time": t.end_time,
        "info": t.info,
        "detail": t.detail,
    });
    ListedTask {
        status: state.name().to_owned(),
        progress: t.percent(),
        start: t.start_time.clone(),
        end: t.end_time.clone(),
        rollback_time: field(|d| &d.rollback_time),
        strategy: field(|d| &d.strategy),
        info: t.info.clone(),
        record,
        ..ListedTask::default()
    }
}
