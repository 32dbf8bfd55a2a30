//! [`AnyProtocol`]: API 2.0 or 3.0 chosen at run time (`--api`), one type for the engine;
//! with self-hosted instances in the plan, calls for their pseudo-regions go to
//! [`super::local::Local`] instead.

use super::listing::{JobsQuery, Listing};
use super::local::{self, Local};
use super::objects::Holdings;
use super::protocol::{JobHandle, Protocol, Surveyed, Task, TaskState};
use super::reconcile::{Finding, Sent, Tracked};
use super::v2::V2;
use super::v3::V3;
use super::window::Answer;
use crate::api::Error;
use crate::api::rollback::InstanceRollback;

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

    /// A protocol that is never called (the journal is all there is, or no instance is in
    /// the cloud): its client points at the discard port of this machine.
    pub fn offline() -> Result<Self, Error> {
        V2::offline().map(Self::V2)
    }

    /// The cloud's protocol (itself, unless self-hosted restores were added).
    fn cloud(&self) -> &Self {
        match self {
            Self::WithLocal { cloud, .. } => cloud,
            other => other,
        }
    }

    /// The cloud's adapter, for calls only the cloud answers.
    fn to_cloud(&self) -> Target<'_> {
        match self.cloud() {
            Self::V2(p) => Target::V2(p),
            Self::V3(p) => Target::V3(p),
            // Never nested ([`AnyProtocol::with_local`] keeps it flat): no recursion.
            Self::WithLocal { .. } => Target::Nested,
        }
    }

    /// The adapter that answers for `region`: [`Local`] for a self-hosted pseudo-region.
    fn to(&self, region: Option<&str>) -> Target<'_> {
        match self {
            Self::WithLocal { local, .. } if local::is_local(region) => Target::Local(local),
            _ => self.to_cloud(),
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
        self.generation().name()
    }
}

/// Where a call goes.
enum Target<'a> {
    V2(&'a V2),
    V3(&'a V3),
    Local(&'a Local),
    Nested,
}

/// Makes `$call` on the adapter `$target` names (`$p` bound to it); `$nested` if none.
macro_rules! delegate {
    ($target:expr, $p:ident => $call:expr, else $nested:expr) => {
        match $target {
            Target::V2($p) => $call,
            Target::V3($p) => $call,
            Target::Local($p) => $call,
            Target::Nested => $nested,
        }
    };
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

/// Calls about cloud instances (preflight, preview, pacing, survey, jobs) go to the cloud's
/// adapter: self-hosted instances have a preflight of their own and are never surveyed
/// ([`super::prepare::Prepared::by_region`], `Engine::watch`). Calls about one instance's
/// rollback go where its region says.
impl Protocol for AnyProtocol {
    fn poll_rate(&self) -> f64 {
        delegate!(self.to_cloud(), p => p.poll_rate(), else f64::INFINITY)
    }

    /// The cloud's regions only: self-hosted restores are not polled through its budgets.
    fn poll_rate_over(&self, regions: &[Option<String>]) -> f64 {
        let cloud: Vec<Option<String>> = regions
            .iter()
            .filter(|r| !local::is_local(r.as_deref()))
            .cloned()
            .collect();
        delegate!(self.to_cloud(), p => p.poll_rate_over(&cloud), else f64::INFINITY)
    }

    fn survey_rate(&self) -> f64 {
        delegate!(self.to_cloud(), p => p.survey_rate(), else f64::INFINITY)
    }

    fn surveys(&self) -> bool {
        delegate!(self.to_cloud(), p => p.surveys(), else false)
    }

    fn preview(&self, batch: &[InstanceRollback]) -> Option<Vec<(String, String)>> {
        delegate!(self.to_cloud(), p => p.preview(batch), else None)
    }

    async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Option<Vec<Answer>>, Error> {
        delegate!(self.to_cloud(), p => Protocol::preflight(p, region, instances).await, else Err(nested()))
    }

    async fn holdings(
        &self,
        region: Option<&str>,
        request: &InstanceRollback,
    ) -> Result<Option<Holdings>, Error> {
        delegate!(self.to_cloud(), p => p.holdings(region, request).await, else Err(nested()))
    }

    fn concurrency(&self) -> usize {
        delegate!(self.to_cloud(), p => p.concurrency(), else 1)
    }

    async fn request_state(
        &self,
        region: Option<&str>,
        request: &JobHandle,
    ) -> Result<Option<(TaskState, Option<String>)>, Error> {
        delegate!(self.to_cloud(), p => Protocol::request_state(p, region, request).await, else Err(nested()))
    }

    async fn survey(
        &self,
        region: Option<&str>,
        since: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        delegate!(self.to_cloud(), p => p.survey(region, since).await, else Err(nested()))
    }

    async fn jobs(
        &self,
        region: Option<&str>,
        instance: &str,
        query: JobsQuery,
    ) -> Result<Listing, Error> {
        delegate!(self.to_cloud(), p => p.jobs(region, instance, query).await, else Err(nested()))
    }

    async fn stop(&self, region: Option<&str>, instance: &str) -> Result<JobHandle, Error> {
        if local::is_local(region) {
            return Err(Error::Config {
                reason: "a self-hosted restore is stopped through its apply's journal (`planrun cancel` does it), not by an API".into(),
            });
        }
        delegate!(self.to_cloud(), p => Protocol::stop(p, region, instance).await, else Err(nested()))
    }

    async fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        delegate!(self.to(region), p => p.submit(region, batch).await, else Err(nested()))
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        delegate!(self.to(region), p => p.tasks(region, instance).await, else Err(nested()))
    }

    async fn find_submission(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: Sent,
    ) -> Result<Finding, Error> {
        delegate!(self.to(region), p => p.find_submission(region, instance, sent).await, else Err(nested()))
    }

    async fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        delegate!(self.to(region), p => p.task(region, instance, job).await, else Err(nested()))
    }

    async fn track(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
        sent: &Sent,
    ) -> Result<Tracked, Error> {
        delegate!(self.to(region), p => p.track(region, instance, job, sent).await, else Err(nested()))
    }

    async fn running(&self, region: Option<&str>, instance: &str) -> Result<Option<String>, Error> {
        delegate!(self.to(region), p => p.running(region, instance).await, else Err(nested()))
    }
}
