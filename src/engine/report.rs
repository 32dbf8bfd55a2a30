//! The run report (`docs/contract.md` §6), written by `apply --report` and printed by
//! `status --format json`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::state::{RunState, Status};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plan: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub totals: Totals,
    pub instances: Vec<InstanceReport>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub succeeded: usize,
    pub failed: usize,
    pub rejected: usize,
    pub timed_out: usize,
    pub pending: usize,
    pub submitted: usize,
    pub running: usize,
    pub stopping: usize,
    pub cancelled: usize,
    /// No proof of what became of them (see [`Status::Unknown`]).
    pub unknown: usize,
    /// The task said success; its new objects were not all seen.
    pub unverified: usize,
    /// Submitted or running, and no apply runs to carry them on (see
    /// [`Status::Interrupted`]).
    pub interrupted: usize,
}

impl Totals {
    /// How many instances are `status`.
    pub fn of(&self, status: Status) -> usize {
        match status {
            Status::Succeeded => self.succeeded,
            Status::Failed => self.failed,
            Status::Rejected => self.rejected,
            Status::TimedOut => self.timed_out,
            Status::Pending => self.pending,
            Status::Submitted => self.submitted,
            Status::Running => self.running,
            Status::Stopping => self.stopping,
            Status::Cancelled => self.cancelled,
            Status::Unknown => self.unknown,
            Status::Unverified => self.unverified,
            Status::Interrupted => self.interrupted,
        }
    }

    /// Not ended yet: pending, submitted, running, stopping or interrupted (resumable).
    pub fn unfinished(&self) -> usize {
        self.pending + self.submitted + self.running + self.stopping + self.interrupted
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceReport {
    pub id: String,
    pub job_id: Option<String>,
    pub status: Status,
    pub submitted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Option<u8>,
    pub error: Option<String>,
    /// `adopted (unverified): <why>` when the task was adopted without proof that it is the
    /// submission's; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted: Option<String>,
    /// What an unfinished self-hosted restore was last doing (`loading dump 12.3 MB of
    /// 47.0 MB`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Report {
    pub fn new(plan: &str, state: &RunState) -> Self {
        let mut totals = Totals::default();
        for s in &state.instances {
            *match s.status {
                Status::Succeeded => &mut totals.succeeded,
                Status::Failed => &mut totals.failed,
                Status::Rejected => &mut totals.rejected,
                Status::TimedOut => &mut totals.timed_out,
                Status::Pending => &mut totals.pending,
                Status::Submitted => &mut totals.submitted,
                Status::Running => &mut totals.running,
                Status::Stopping => &mut totals.stopping,
                Status::Cancelled => &mut totals.cancelled,
                Status::Unknown => &mut totals.unknown,
                Status::Unverified => &mut totals.unverified,
                Status::Interrupted => &mut totals.interrupted,
            } += 1;
        }
        Self {
            plan: plan.to_owned(),
            started_at: state.started_at,
            finished_at: state.complete,
            totals,
            instances: state
                .instances
                .iter()
                .map(|s| InstanceReport {
                    id: s.id.clone(),
                    job_id: s.job.as_ref().map(|j| j.0.clone()),
                    status: s.status,
                    submitted_at: s.submitted_at,
                    finished_at: s.finished_at,
                    progress: s.progress,
                    error: s.error.clone(),
                    adopted: s
                        .unverified
                        .as_ref()
                        .map(|why| format!("{}: {why}", super::state::ADOPTED_UNVERIFIED)),
                    detail: s.detail.clone(),
                })
                .collect(),
        }
    }
}
