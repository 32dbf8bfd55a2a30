//! The incident record of an apply, for the postmortem and the ticket: what was restored as
//! what, when each instance was sent, ran and ended, what the API answered, and the calls as
//! sent. Built from the journal (the plan only fills in what older journals lack) and rendered
//! as one self-contained HTML page or as GitHub-flavoured Markdown. Pure: the CLI writes the
//! strings. Reads the engine's journal and state types; prints nothing.

mod build;
mod differences;
#[cfg(test)]
mod fixture;
mod format;
mod html;
mod markdown;
mod selfhosted;
mod text;
mod timeline;

pub use crate::engine::planned::PlanInfo;
pub use format::Format;
pub use html::html;
pub use markdown::markdown;
pub use selfhosted::SelfHosted;

use chrono::{DateTime, FixedOffset, Utc};

use crate::api::rollback::RollbackSpec;
use crate::engine::journal::RunContext;
use crate::engine::state::Status;

/// Everything the record shows, in plan order.
#[derive(Debug, Clone)]
pub struct Incident {
    pub plan: String,
    pub description: Option<String>,
    /// The hash of the plan as applied (the journal's).
    pub plan_hash: Option<String>,
    /// Where what was restored as what comes from, and whether it is what was applied.
    pub mapping: Mapping,
    /// The plan's clock; the record shows times in it and in UTC.
    pub offset: FixedOffset,
    /// Every start of the run (a resumed apply starts again), oldest first.
    pub starts: Vec<Start>,
    pub started_at: Option<DateTime<Utc>>,
    /// When the run ended with every instance final; `None` while it goes on.
    pub finished_at: Option<DateTime<Utc>>,
    /// The time of the journal's last record: a record of a run in progress is a snapshot as
    /// of then.
    pub as_of: Option<DateTime<Utc>>,
    pub instances: Vec<InstanceRecord>,
    /// The API calls (self-hosted restores make none: [`Incident::with_selfhosted`]).
    pub batches: Vec<Batch>,
    /// The self-hosted instances' restores, in plan order.
    pub selfhosted: Vec<SelfHosted>,
    /// What `planrun compare` found after the apply, when it was run.
    pub differences: Option<crate::compare::Comparison>,
}

/// Where the restored-as mapping of the record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// The journal's own copy of the plan: exactly what was applied.
    Journal,
    /// The journal's copy, and the plan file given now differs from it.
    JournalPlanChanged,
    /// The plan file given now, which is the one applied (same hash).
    Plan,
    /// The plan file given now, which differs from the one applied.
    ChangedPlan,
    /// Neither: only the journal's ids are known.
    Unknown,
}

/// One start of `apply` on this journal.
#[derive(Debug, Clone)]
pub struct Start {
    pub at: DateTime<Utc>,
    /// Who, where, with what; `None` in journals older than the record.
    pub by: Option<RunContext>,
}

/// One instance: what it restores, how its rollback went.
#[derive(Debug, Clone)]
pub struct InstanceRecord {
    pub id: String,
    pub region: Option<String>,
    pub spec: Option<RollbackSpec>,
    pub status: Status,
    pub job: Option<String>,
    /// The call that carried it (the last one it was part of).
    pub batch: Option<u64>,
    /// The first time a call carrying it was about to leave.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the API accepted it (or its task was found after a lost answer).
    pub accepted_at: Option<DateTime<Utc>>,
    /// When its task was first seen running.
    pub running_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub progress: Option<u8>,
    /// What an unfinished self-hosted restore was last journaled doing (its phase, and how
    /// far into it).
    pub detail: Option<String>,
    pub problem: Option<Problem>,
}

impl InstanceRecord {
    /// Ended without being restored (failed, refused, cancelled, ...), or stopped short with
    /// an error: what the "not restored" list shows.
    pub fn is_problem(&self) -> bool {
        self.status != Status::Succeeded && (self.status.is_final() || self.problem.is_some())
    }
}

/// What the API (or planrun) said about an instance that was not restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

/// One call as sent: the instances it carried and what became of it.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub region: Option<String>,
    pub instances: Vec<String>,
    /// What the journal says happened to it, in order; empty while the call is in flight.
    pub outcome: Vec<BatchEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchEvent {
    Accepted {
        job: String,
    },
    Rejected {
        instances: usize,
        problem: Problem,
    },
    /// The answer was lost: planrun looked for the tasks before sending anything again.
    Unknown {
        error: String,
    },
    Adopted {
        instance: String,
        job: String,
    },
    /// The call created no task (split to find a refused instance, retried, given up).
    NotAccepted {
        reason: String,
    },
}

impl Incident {
    /// The counts by status, most telling first (finals, then unfinished), each status once.
    pub fn totals(&self) -> Vec<(Status, usize)> {
        let mut totals: Vec<(Status, usize)> = Vec::new();
        for i in &self.instances {
            match totals.iter_mut().find(|(s, _)| *s == i.status) {
                Some((_, n)) => *n += 1,
                None => totals.push((i.status, 1)),
            }
        }
        totals.sort_by_key(|(s, _)| (text::status_rank(*s), s.name()));
        totals
    }

    /// The instances that were not restored, in plan order.
    pub fn problems(&self) -> impl Iterator<Item = &InstanceRecord> {
        self.instances.iter().filter(|i| i.is_problem())
    }

    /// The context of the run's first start that recorded one.
    pub fn by(&self) -> Option<&RunContext> {
        self.starts.iter().find_map(|s| s.by.as_ref())
    }

    /// The submitting action, as recorded.
    pub fn action(&self) -> Option<&str> {
        self.by().map(|c| c.action.as_str())
    }
}
