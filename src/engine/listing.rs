//! What `planrun jobs` lists ([`super::protocol::Protocol::jobs`]): an instance's rollback
//! tasks in one neutral shape, the columns an API can fill, and each task's fields as that
//! API reported them (for `--format json`). Each adapter fills it (its columns, its tasks,
//! their status in the engine's words: [`super::protocol::TaskState`]); the CLI renders it
//! the same way for every API.

use serde_json::Value;

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

/// One listed task. Texts are the server's, unescaped (the renderer makes them visible).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListedTask {
    pub job: Option<String>,
    pub task: Option<String>,
    /// The task's state in the engine's words ([`super::protocol::TaskState::name`]), the same
    /// for every API.
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
