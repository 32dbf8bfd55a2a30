//! [`AnyProtocol`]: API 2.0 or 3.0 chosen at run time (`--api`), one type for the engine;
//! with self-hosted instances in the plan, calls for their pseudo-regions go to
//! [`super::local::Local`] instead.

use super::local::{self, Local};
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
    /// The cloud's protocol for cloud instances, [`Local`] for self-hosted ones.
    WithLocal {
        cloud: Box<AnyProtocol>,
        local: Local,
    },
}

impl AnyProtocol {
    /// Adds self-hosted restores beside this protocol (replacing any added before).
    pub fn with_local(self, local: Local) -> Self {
        let cloud = match self {
            Self::WithLocal { cloud, .. } => cloud,
            other => Box::new(other),
        };
        Self::WithLocal { cloud, local }
    }

    /// The cloud's protocol (itself, unless self-hosted restores were added).
    fn cloud(&self) -> &Self {
        match self {
            Self::WithLocal { cloud, .. } => cloud,
            other => other,
        }
    }

    /// The API 3.0 adapter, for what only API 3.0 offers (preflight, stop).
    pub fn v3(&self) -> Option<&V3> {
        match self.cloud() {
            Self::V3(v3) => Some(v3),
            _ => None,
        }
    }

    /// The API generation its calls are written for.
    pub fn generation(&self) -> super::prepare::Generation {
        match self.cloud() {
            Self::V3(_) => super::prepare::Generation::V3,
            _ => super::prepare::Generation::V2,
        }
    }

    /// `"v2"` or `"v3"`, for messages and the journal.
    pub fn name(&self) -> &'static str {
        match self.cloud() {
            Self::V3(_) => "v3",
            _ => "v2",
        }
    }
}

fn nested() -> Error {
    Error::Config {
        reason: "self-hosted restores were added twice".into(),
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
            Self::WithLocal { cloud, .. } => match cloud.as_ref() {
                Self::V2(p) => p.poll_rate(),
                Self::V3(p) => p.poll_rate(),
                Self::WithLocal { .. } => f64::INFINITY,
            },
        }
    }

    async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Option<Vec<InstanceRollbackRangeTime>>, Error> {
        match self.cloud() {
            Self::V2(p) => p.preflight(region, instances).await,
            Self::V3(p) => Protocol::preflight(p, region, instances).await,
            // Self-hosted instances have a preflight of their own; the cloud's is never asked
            // about them ([`super::prepare::Prepared::by_region`]).
            Self::WithLocal { .. } => Err(nested()),
        }
    }

    async fn stop(&self, region: Option<&str>, instance: &str) -> Result<JobHandle, Error> {
        if local::is_local(region) {
            return Err(Error::Config {
                reason: "a self-hosted restore is stopped through its apply's journal (`planrun cancel` does it), not by an API".into(),
            });
        }
        match self.cloud() {
            Self::V2(p) => p.stop(region, instance).await,
            Self::V3(p) => Protocol::stop(p, region, instance).await,
            Self::WithLocal { .. } => Err(nested()),
        }
    }

    fn preview(&self, batch: &[InstanceRollback]) -> Option<Vec<(String, String)>> {
        match self.cloud() {
            Self::V2(p) => p.preview(batch),
            Self::V3(p) => p.preview(batch),
            Self::WithLocal { .. } => None,
        }
    }

    fn survey_rate(&self) -> f64 {
        match self.cloud() {
            Self::V2(p) => p.survey_rate(),
            Self::V3(p) => p.survey_rate(),
            Self::WithLocal { .. } => f64::INFINITY,
        }
    }

    fn surveys(&self) -> bool {
        match self.cloud() {
            Self::V2(p) => p.surveys(),
            Self::V3(p) => p.surveys(),
            Self::WithLocal { .. } => false,
        }
    }

    async fn survey(
        &self,
        region: Option<&str>,
        since: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        // Self-hosted instances are never surveyed (`Engine::watch`): the cloud lists its own.
        match self.cloud() {
            Self::V2(p) => p.survey(region, since).await,
            Self::V3(p) => p.survey(region, since).await,
            Self::WithLocal { .. } => Err(nested()),
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
            Self::WithLocal { local, .. } if local::is_local(region) => {
                local.submit(region, batch).await
            }
            // Never nested ([`AnyProtocol::with_local`] keeps it flat): no recursion.
            Self::WithLocal { cloud, .. } => match cloud.as_ref() {
                Self::V2(p) => p.submit(region, batch).await,
                Self::V3(p) => p.submit(region, batch).await,
                Self::WithLocal { .. } => Err(nested()),
            },
        }
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        match self {
            Self::V2(p) => p.tasks(region, instance).await,
            Self::V3(p) => p.tasks(region, instance).await,
            Self::WithLocal { local, .. } if local::is_local(region) => {
                local.tasks(region, instance).await
            }
            // Never nested ([`AnyProtocol::with_local`] keeps it flat): no recursion.
            Self::WithLocal { cloud, .. } => match cloud.as_ref() {
                Self::V2(p) => p.tasks(region, instance).await,
                Self::V3(p) => p.tasks(region, instance).await,
                Self::WithLocal { .. } => Err(nested()),
            },
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
            Self::WithLocal { local, .. } if local::is_local(region) => {
                local.find_submission(region, instance, sent).await
            }
            // Never nested ([`AnyProtocol::with_local`] keeps it flat): no recursion.
            Self::WithLocal { cloud, .. } => match cloud.as_ref() {
                Self::V2(p) => p.find_submission(region, instance, sent).await,
                Self::V3(p) => p.find_submission(region, instance, sent).await,
                Self::WithLocal { .. } => Err(nested()),
            },
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
            Self::WithLocal { local, .. } if local::is_local(region) => {
                local.task(region, instance, job).await
            }
            // Never nested ([`AnyProtocol::with_local`] keeps it flat): no recursion.
            Self::WithLocal { cloud, .. } => match cloud.as_ref() {
                Self::V2(p) => p.task(region, instance, job).await,
                Self::V3(p) => p.task(region, instance, job).await,
                Self::WithLocal { .. } => Err(nested()),
            },
        }
    }
}
