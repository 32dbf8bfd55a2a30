//! The engine's view of a cloud API: submit a batch → a job handle; list an instance's tasks →
//! neutral task states. API 2.0 ([`super::v2`]) and 3.0 ([`super::v3`]) are adapters behind
//! [`Protocol`].

use std::future::Future;

use super::listing::{JobsQuery, Listing};
use super::objects::Holdings;
use super::reconcile::{self, Finding, Sent, Tracked};
use super::window::Answer;
use crate::api::rollback::{InstanceRollback, RollbackSpec};

pub use crate::api::{Error, ErrorClass};

/// What identifies a submission: API 2.0's jobId, API 3.0's AsyncRequestId.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct JobHandle(pub String);

impl std::fmt::Display for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A task's state, whatever the protocol calls it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Waiting,
    /// Created, not started: waiting for the instance's maintenance window
    /// (DescribeAsyncRequestInfo's `UNDEFINED`).
    MaintenanceWindow,
    Running,
    /// StopRollback was asked and the task is winding down (`PAUSED`, API 2.0's 6).
    Stopping,
    Succeeded,
    Failed,
    Killed,
    Removed,
    /// A value outside the documented tables, shown raw: not finished, and never failed by a
    /// timer (only the run's `--timeout` bounds it).
    Unknown(String),
}

impl TaskState {
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Killed | Self::Removed
        )
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Waiting => "waiting",
            Self::MaintenanceWindow => "waiting for maintenance window",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Killed => "killed",
            Self::Removed => "removed",
            Self::Unknown(s) => s,
        }
    }

    /// The state [`name`](Self::name) names; any other text is an undocumented state, kept
    /// raw. (The adapters never keep a documented name as unknown, so names round-trip.)
    pub fn from_name(name: &str) -> Self {
        const NAMED: [TaskState; 8] = [
            TaskState::Waiting,
            TaskState::MaintenanceWindow,
            TaskState::Running,
            TaskState::Stopping,
            TaskState::Succeeded,
            TaskState::Failed,
            TaskState::Killed,
            TaskState::Removed,
        ];
        NAMED
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| Self::Unknown(name.to_owned()))
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The journal spells a state by its name, as it always has.
impl serde::Serialize for TaskState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for TaskState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Self::from_name(&name))
    }
}

/// One rollback task of an instance, as the engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub job: Option<JobHandle>,
    pub state: TaskState,
    pub progress: Option<u8>,
    /// `YYYY-MM-DD HH:MM:SS` as the API reports it (the server's clock).
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub message: Option<String>,
    /// What the task rolls back, when the API says (for reconciliation).
    pub spec: Option<RollbackSpec>,
}

/// One item of a [survey](Protocol::survey): a task (or a submission's tasks together) and the
/// instances it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Surveyed {
    /// The submission the item belongs to.
    pub job: Option<JobHandle>,
    /// One instance when the API lists each instance's task; every instance of the
    /// submission when it lists one item per submission.
    pub instances: Vec<String>,
    pub state: TaskState,
    pub progress: Option<u8>,
}

/// The operations the engine needs from an API generation.
pub trait Protocol: Send + Sync + 'static {
    /// Submits one call for these instances (all in `region`).
    fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> impl Future<Output = Result<JobHandle, Error>> + Send;

    /// Every rollback task of the instance (all pages).
    fn tasks(
        &self,
        region: Option<&str>,
        instance: &str,
    ) -> impl Future<Output = Result<Vec<Task>, Error>> + Send;

    /// The instance's task of `job`, if the API lists it. For API 3.0 this is the lone item
    /// listed for the request, which may be another rollback's (a filter ignored): no proof.
    /// What journals an outcome (`apply`, `status`, `cancel`) asks [`Protocol::track`].
    fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> impl Future<Output = Result<Option<Task>, Error>> + Send;

    /// The instance's task of the accepted submission `job` (sent as `sent` says), by the
    /// rule of evidence ([`reconcile`]). By default [`Protocol::task`], whose handle names
    /// one task (API 2.0's jobId, a self-hosted restore's job); API 3.0 does more.
    fn track(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
        _sent: &Sent,
    ) -> impl Future<Output = Result<Tracked, Error>> + Send {
        async move {
            Ok(match self.task(region, instance, job).await? {
                Some(task) => Tracked::One(task),
                None => Tracked::Unlisted,
            })
        }
    }

    /// Looks for the instance's task of an in-doubt submission, by the rule of evidence
    /// ([`reconcile::decide`]) over the instance's listed tasks.
    fn find_submission(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: Sent,
    ) -> impl Future<Output = Result<Finding, Error>> + Send {
        async move {
            let tasks = self.tasks(region, instance).await?;
            Ok(reconcile::decide(&tasks, &sent))
        }
    }

    /// What is running on the instance, in words, for the message of an instance that waited
    /// its bound for another task to end: the newest unfinished task of its listing.
    fn running(
        &self,
        region: Option<&str>,
        instance: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send {
        async move {
            let tasks = self.tasks(region, instance).await?;
            Ok(tasks.iter().find(|t| !t.state.is_terminal()).map(|t| {
                let job = t
                    .job
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), |j| j.0.clone());
                let started = t.started_at.as_deref().unwrap_or("?");
                format!("task {job}, started {started}, {}", t.state)
            }))
        }
    }

    /// The instances' rollback windows (API 3.0's DescribeRollbackRangeTime), for the
    /// preflight; `Ok(None)` from an API that has no such query (API 2.0 here).
    fn preflight(
        &self,
        _region: Option<&str>,
        _instances: &[String],
    ) -> impl Future<Output = Result<Option<Vec<Answer>>, Error>> + Send {
        async { Ok(None) }
    }

    /// What the instance holds that `request` names (API 3.0's DescribeTables and, where
    /// needed, DescribeDatabases), for the object preflight; `Ok(None)` from an API that has no such
    /// query (API 2.0 here).
    fn holdings(
        &self,
        _region: Option<&str>,
        _request: &InstanceRollback,
    ) -> impl Future<Output = Result<Option<Holdings>, Error>> + Send {
        async { Ok(None) }
    }

    /// How many calls the protocol's client keeps in flight at once (the object preflight
    /// queues twice as many).
    fn concurrency(&self) -> usize {
        1
    }

    /// Stops the instance's running rollback (API 3.0's StopRollback); an API without a way
    /// to cancel says so.
    fn stop(
        &self,
        _region: Option<&str>,
        _instance: &str,
    ) -> impl Future<Output = Result<JobHandle, Error>> + Send {
        async {
            Err(Error::Config {
                reason: "API 2.0 cannot cancel a rollback; use --api v3".into(),
            })
        }
    }

    /// The state of an asynchronous request such as a stop (API 3.0's
    /// DescribeAsyncRequestInfo) and its message; `Ok(None)` from an API without the query.
    fn request_state(
        &self,
        _region: Option<&str>,
        _request: &JobHandle,
    ) -> impl Future<Output = Result<Option<(TaskState, Option<String>)>, Error>> + Send {
        async { Ok(None) }
    }

    /// The instance's rollback tasks as `planrun jobs` lists them (API 2.0: GetCdbRollbackJob;
    /// API 3.0: DescribeRollbackTaskDetail, every request's).
    fn jobs(
        &self,
        _region: Option<&str>,
        _instance: &str,
        _query: JobsQuery,
    ) -> impl Future<Output = Result<Listing, Error>> + Send {
        async {
            Err(Error::Config {
                reason: "self-hosted restores are not listed by `jobs`; see `planrun status`"
                    .into(),
            })
        }
    }

    /// The exact (unsigned) action parameters a submission of `batch` sends, as `plan
    /// --show-requests` shows them; `None` from a protocol that cannot say.
    fn preview(&self, _batch: &[InstanceRollback]) -> Option<Vec<(String, String)>> {
        None
    }

    /// Polls ([`Protocol::task`]) per second the API allows now; the engine paces its polls
    /// to it so they never queue in the client. Infinite: no pacing.
    fn poll_rate(&self) -> f64 {
        f64::INFINITY
    }

    /// [`Protocol::poll_rate`] for polls of tasks in `regions`, in all: the sum of each
    /// budget's rate where regions have budgets of their own (API 3.0), else the one rate.
    fn poll_rate_over(&self, _regions: &[Option<String>]) -> f64 {
        self.poll_rate()
    }

    /// Listing calls ([`Protocol::survey`]) per second the API allows now.
    fn survey_rate(&self) -> f64 {
        f64::INFINITY
    }

    /// Whether [`Protocol::survey`] answers: one listing that tells how many instances' tasks
    /// stand. Without it (API 2.0) each instance is polled on its own.
    fn surveys(&self) -> bool {
        false
    }

    /// Every rollback task started in `region` since `since` (all pages, on the listing's own
    /// budget), newest first as the API lists them. What it says is a hint: each instance's
    /// outcome is still confirmed with [`Protocol::task`].
    fn survey(
        &self,
        _region: Option<&str>,
        _since: chrono::DateTime<chrono::FixedOffset>,
    ) -> impl Future<Output = Result<Vec<Surveyed>, Error>> + Send {
        async { Ok(Vec::new()) }
    }
}
