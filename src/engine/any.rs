//! [`AnyProtocol`]: API 2.0 or 3.0 chosen at run time (`--api`), one type for the engine.

use super::protocol::{JobHandle, Protocol, Surveyed, Task, V2};
use super::reconcile::{Found, Sent};
use super::v3::V3;
use crate::api::Error;
use crate::api::rollback::InstanceRollback;
use crate::api::v3::model::InstanceRollbackRangeTime;

/// Either protocol, delegating every call.
#[derive(Debug, Clone)]
pub enum AnyProtocol {
    V2(V2),
    V3(V3),
}

impl AnyProtocol {
    /// The API 3.0 adapter, for what only API 3.0 offers (preflight, stop).
    pub fn v3(&self) -> Option<&V3> {
        match self {
            Self::V3(v3) => Some(v3),
            Self::V2(_) => None,
        }
    }

    /// The rollback windows of these instances (API 3.0's DescribeRollbackRangeTime);
    /// `Ok(None)` with API 2.0, which planrun does not ask for windows.
    pub async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Option<Vec<InstanceRollbackRangeTime>>, Error> {
        match self {
            Self::V3(v3) => v3.preflight(region, instances).await.map(Some),
            Self::V2(_) => Ok(None),
        }
    }

    /// StopRollback (API 3.0 only: API 2.0 has no way to cancel a rollback).
    pub async fn stop(&self, region: Option<&str>, instance: &str) -> Result<JobHandle, Error> {
        match self {
            Self::V3(v3) => v3.stop(region, instance).await,
            Self::V2(_) => Err(Error::Config {
                reason: "API 2.0 cannot cancel a rollback; use --api v3".into(),
            }),
        }
    }

    /// `"v2"` or `"v3"`, for messages and the journal.
    pub fn name(&self) -> &'static str {
        match self {
            Self::V2(_) => "v2",
            Self::V3(_) => "v3",
        }
    }
}

impl From<V2> for AnyProtocol {
    fn from(p: V2) -> Self {
        Self::V2(p)
    }
}

impl From<V3> for AnyProtocol {
    fn from(p: V3) -> Self {
        Self::V3(p)
    }
}

impl Protocol for AnyProtocol {
    fn poll_rate(&self) -> f64 {
        match self {
            Self::V2(p) => p.poll_rate(),
            Self::V3(p) => p.poll_rate(),
        }
    }

    fn survey_rate(&self) -> f64 {
        match self {
            Self::V2(p) => p.survey_rate(),
            Self::V3(p) => p.survey_rate(),
        }
    }

    fn surveys(&self) -> bool {
        match self {
            Self::V2(p) => p.surveys(),
            Self::V3(p) => p.surveys(),
        }
    }

    async fn survey(
        &self,
        region: Option<&str>,
        since: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        match self {
            Self::V2(p) => p.survey(region, since).await,
            Self::V3(p) => p.survey(region, since).await,
        }
    }

    async fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        match self {
            Self::V2(p) => p.submit(region, batch).await,
            Self::V3(p) => p.submit(region, batch).await,
        }
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        match self {
            Self::V2(p) => p.tasks(region, instance).await,
            Self::V3(p) => p.tasks(region, instance).await,
        }
    }

    async fn find_submission(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: Sent,
    ) -> Result<Found, Error> {
        match self {
            Self::V2(p) => p.find_submission(region, instance, sent).await,
            Self::V3(p) => p.find_submission(region, instance, sent).await,
        }
    }

    async fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        match self {
            Self::V2(p) => p.task(region, instance, job).await,
            Self::V3(p) => p.task(region, instance, job).await,
        }
    }
}
