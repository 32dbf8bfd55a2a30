//! The API 2.0 adapter: RollbackCdbDatabaseTables and GetCdbRollbackJob behind [`Protocol`].

use serde_json::json;

use super::listing::{Column, JobsQuery, ListedTask, Listing};
use super::protocol::{Error, JobHandle, Protocol, Task, TaskState};
use crate::api;
use crate::api::rollback::{InstanceRollback, RollbackSpec};
use crate::api::v2::{Client, TaskStatus};

/// API 2.0: RollbackCdbDatabaseTables and GetCdbRollbackJob.
#[derive(Debug, Clone)]
pub struct V2 {
    client: Client,
}

impl V2 {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An adapter that is never called: its client points at the discard port of this
    /// machine (see [`super::any::AnyProtocol::offline`]).
    pub fn offline() -> Result<Self, Error> {
        let config = api::ClientConfig::new(
            "http://127.0.0.1:9/v2/index.php",
            "",
            api::Credentials::new("offline", "offline"),
        );
        Client::new(config).map(Self::new)
    }

    fn client(&self, region: Option<&str>) -> Client {
        match region {
            Some(r) if r != self.client.region() => self.client.with_region(r),
            _ => self.client.clone(),
        }
    }
}

fn state(status: TaskStatus) -> TaskState {
    match status {
        TaskStatus::Waiting => TaskState::Waiting,
        TaskStatus::Pausing => TaskState::Stopping,
        TaskStatus::Running => TaskState::Running,
        TaskStatus::Success => TaskState::Succeeded,
        TaskStatus::Failed => TaskState::Failed,
        TaskStatus::Killed => TaskState::Killed,
        TaskStatus::Removed => TaskState::Removed,
        TaskStatus::Undefined | TaskStatus::Unknown(_) => TaskState::Unknown(status.to_string()),
    }
}

/// GetCdbRollbackJob names jobs and tasks and the objects they rename: the columns of `jobs`.
pub const COLUMNS: &[Column] = &[
    Column::Job,
    Column::Task,
    Column::Status,
    Column::Progress,
    Column::Start,
    Column::End,
    Column::Name,
    Column::NewName,
];

/// A GetCdbRollbackJob task as `jobs` lists it: its state in the engine's words, and in JSON
/// also the API's own (`status`, `status_code`).
pub fn listed_task(t: &api::v2::RollbackTask) -> ListedTask {
    let state = state(t.status);
    let record = json!({
        "job_id": t.job_id,
        "task_id": t.task_id,
        "status": t.status.name(),
        "status_code": t.status.code(),
        "state": state.name(),
        "terminal": state.is_terminal(),
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
        status: state.name().to_owned(),
        progress: t.progress,
        start: t.start_time.clone(),
        end: t.end_time.clone(),
        name: t.name.clone(),
        new_name: t.new_name.clone(),
        record,
        ..ListedTask::default()
    }
}

fn task(t: api::v2::RollbackTask) -> Task {
    let spec = match (&t.rollback_time, t.strategy) {
        (Some(time), Some(strategy)) => Some(RollbackSpec {
            rollbacktime: time.clone(),
            strategy,
            dbs: t.dbs.clone(),
            tables: t.tables.clone(),
        }),
        _ => None,
    };
    Task {
        job: t.job_id.map(|j| JobHandle(j.0)),
        state: state(t.status),
        progress: t.progress,
        started_at: t.start_time,
        finished_at: t.end_time,
        message: t.task_message.or(t.message),
        spec,
    }
}

/// The public endpoint of API 2.0.
pub const DEFAULT_ENDPOINT: &str = api::v2::client::DEFAULT_ENDPOINT;

/// The action a submission calls.
pub const SUBMIT_ACTION: &str = api::v2::client::ROLLBACK;

/// RollbackCdbDatabaseTables' exact parameters for `batch`, unsigned: `instances.N.*`, as the
/// client sends them.
pub fn params(batch: &[InstanceRollback]) -> Vec<(String, String)> {
    api::v2::model::rollback_params(batch)
}

impl Protocol for V2 {
    fn poll_rate(&self) -> f64 {
        self.client.current_rate(api::v2::client::ROLLBACK_JOBS)
    }

    fn preview(&self, batch: &[InstanceRollback]) -> Option<Vec<(String, String)>> {
        Some(params(batch))
    }

    async fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        self.client(region)
            .rollback(batch)
            .await
            .map(|j| JobHandle(j.0))
    }

    async fn jobs(
        &self,
        region: Option<&str>,
        instance: &str,
        query: JobsQuery,
    ) -> Result<Listing, Error> {
        let client = self.client(region);
        let page = match query {
            JobsQuery::All => client.all_rollback_jobs(instance).await?,
            JobsQuery::Page { offset, limit } => {
                client.rollback_jobs(instance, offset, limit).await?
            }
        };
        Ok(Listing {
            columns: COLUMNS,
            tasks: page.tasks.iter().map(listed_task).collect(),
            total: page.task_count,
        })
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        let page = self.client(region).all_rollback_jobs(instance).await?;
        Ok(page.tasks.into_iter().map(task).collect())
    }

    /// Pages newest-first lists only until the job shows up: the common case is one call.
    async fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        const PAGE: u32 = 100;
        const MAX_PAGES: u32 = 1000;
        let client = self.client(region);
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            let page = client.rollback_jobs(instance, offset, PAGE).await?;
            let got = u32::try_from(page.tasks.len()).unwrap_or(u32::MAX);
            let total = page
                .counted
                .then(|| i64::try_from(page.task_count).unwrap_or(i64::MAX));
            if let Some(found) = page
                .tasks
                .into_iter()
                .find(|t| t.job_id.as_ref().is_some_and(|j| j.0 == job.0))
            {
                return Ok(Some(task(found)));
            }
            offset = offset.saturating_add(got);
            // Without a count, a full page says nothing of the pages after it.
            if !crate::api::pages::more(u64::from(offset), u64::from(got), u64::from(PAGE), total) {
                return Ok(None);
            }
        }
        // Not every page was read: not finding the job proves nothing.
        Err(Error::Incomplete {
            action: crate::api::v2::ROLLBACK_JOBS.to_owned(),
            pages: MAX_PAGES,
            items: offset as usize,
        })
    }
}
