//! Journal records for tests (and tools that write journals of their own), one call a record,
//! in the order a run writes them: a test reads as the story its journal tells (`Script::new(t(0)).intent(1, &[a]).at(t(1)).accepted(1,
//! "5")`). The clock is the test's: every record is written at the time last set with
//! [`Script::at`]. Optional fields a run fills only sometimes (a RequestId, who ran it) are
//! left out; [`Script::push`] takes a record as it is.

use chrono::{DateTime, Utc};

use super::Record;
use crate::engine::protocol::{JobHandle, TaskState};

/// A journal being written by a test.
#[derive(Debug, Clone)]
pub struct Script {
    records: Vec<Record>,
    at: DateTime<Utc>,
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Script {
    /// An empty journal whose first records happen at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            records: Vec::new(),
            at,
        }
    }

    /// The records that follow happen at `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.at = at;
        self
    }

    /// Any record, as it is.
    pub fn push(mut self, record: Record) -> Self {
        self.records.push(record);
        self
    }

    pub fn start(self, plan: &str, plan_hash: &str) -> Self {
        let at = self.at;
        self.push(Record::Start {
            plan: plan.into(),
            plan_hash: plan_hash.into(),
            at,
            by: None,
        })
    }

    pub fn intent(self, batch: u64, instances: &[&str]) -> Self {
        let at = self.at;
        self.push(Record::Intent {
            batch,
            instances: owned(instances),
            at,
        })
    }

    pub fn accepted(self, batch: u64, job: &str) -> Self {
        let at = self.at;
        self.push(Record::Accepted {
            batch,
            job: JobHandle(job.into()),
            at,
        })
    }

    pub fn rejected(
        self,
        batch: u64,
        instances: &[&str],
        code: Option<&str>,
        message: &str,
    ) -> Self {
        let at = self.at;
        self.push(Record::Rejected {
            batch,
            instances: owned(instances),
            code: code.map(str::to_owned),
            message: message.into(),
            request_id: None,
            at,
        })
    }

    pub fn unknown(self, batch: u64, error: &str) -> Self {
        let at = self.at;
        self.push(Record::Unknown {
            batch,
            error: error.into(),
            at,
        })
    }

    pub fn abandoned(self, batch: u64, reason: &str) -> Self {
        let at = self.at;
        self.push(Record::Abandoned {
            batch,
            reason: reason.into(),
            at,
        })
    }

    /// An adoption as planrun writes it now: with neither a proof nor the older journals'
    /// `unverified` (see [`Script::push`] for those).
    pub fn adopted(self, instance: &str, batch: u64, job: &str) -> Self {
        let at = self.at;
        self.push(Record::Adopted {
            instance: instance.into(),
            batch,
            job: JobHandle(job.into()),
            unverified: None,
            proof: None,
            at,
        })
    }

    pub fn progress(self, instance: &str, state: TaskState, progress: Option<u8>) -> Self {
        let at = self.at;
        self.push(Record::Progress {
            instance: instance.into(),
            state,
            progress,
            detail: None,
            at,
        })
    }

    pub fn finished(self, instance: &str, status: TaskState, message: Option<&str>) -> Self {
        let at = self.at;
        self.push(Record::Finished {
            instance: instance.into(),
            status,
            message: message.map(str::to_owned),
            at,
        })
    }

    pub fn unproven(self, instance: &str, evidence: &str) -> Self {
        let at = self.at;
        self.push(Record::Unproven {
            instance: instance.into(),
            evidence: evidence.into(),
            at,
        })
    }

    pub fn timed_out(self, instances: &[&str]) -> Self {
        let at = self.at;
        self.push(Record::TimedOut {
            instances: owned(instances),
            at,
        })
    }

    pub fn retry(self, instances: &[&str]) -> Self {
        let at = self.at;
        self.push(Record::Retry {
            instances: owned(instances),
            at,
        })
    }

    pub fn stopping(self, instance: &str, request: Option<&str>) -> Self {
        let at = self.at;
        self.push(Record::Stopping {
            instance: instance.into(),
            request: request.map(str::to_owned),
            at,
        })
    }

    pub fn cancelled(self, instance: &str, request: Option<&str>) -> Self {
        let at = self.at;
        self.push(Record::Cancelled {
            instance: instance.into(),
            request: request.map(str::to_owned),
            at,
        })
    }

    pub fn complete(self) -> Self {
        let at = self.at;
        self.push(Record::Complete { at })
    }

    /// The records written so far.
    pub fn records(self) -> Vec<Record> {
        self.records
    }
}
