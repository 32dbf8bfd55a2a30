//! What the sandbox saw: requests per action, rejections per code, accepted submissions per
//! instance, injected faults. Tests assert on these ("never submitted twice").

use std::collections::BTreeMap;

use serde::Serialize;

/// A copy of the counters at one moment; also served as JSON at `/_sandbox/counters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    /// Every API request, by `Action` / `X-TC-Action` (`""` when it had none).
    pub requests_per_action: BTreeMap<String, u64>,
    /// Every API 2.0 answer with a non-zero `code`, by code (injected 9006 included).
    pub rejections_per_code: BTreeMap<i64, u64>,
    /// Every API 3.0 error answer, by `Error.Code` (injected `InternalError` included).
    pub rejections_per_error: BTreeMap<String, u64>,
    /// Tasks stopped by StopRollback.
    pub stopped_tasks: u64,
    /// Instances of accepted submissions (`RollbackCdbDatabaseTables` or `StartBatchRollback`):
    /// how often each was submitted.
    pub accepted_submissions: BTreeMap<String, u64>,
    /// Accepted submissions of either API (one jobId / AsyncRequestId each).
    pub accepted_jobs: u64,
    /// Injected faults by kind (`lost`, `http502`, `internal`, `slow`).
    pub faults: BTreeMap<String, u64>,
    /// Answers dropped on purpose (the `lost` fault), whether or not the call was accepted.
    pub lost_responses: u64,
    /// Lost answers of accepted submissions: the job exists, the client never heard of it.
    pub lost_accepted_jobs: u64,
    /// Submissions carried out and then answered `InternalError` (the `accepted-internal`
    /// fault): the tasks exist, the client was told the back end failed.
    pub accepted_then_failed: u64,
    /// API requests being handled right now.
    pub in_flight: u64,
    /// The most API requests ever handled at once (checks a client's concurrency bound).
    pub max_in_flight: u64,
}

/// The live counters, behind the sandbox's lock.
#[derive(Debug, Default)]
pub struct Counters {
    snapshot: CountersSnapshot,
}

impl Counters {
    pub fn request(&mut self, action: &str) {
        *self
            .snapshot
            .requests_per_action
            .entry(action.to_owned())
            .or_default() += 1;
    }

    pub fn rejection(&mut self, code: i64) {
        *self.snapshot.rejections_per_code.entry(code).or_default() += 1;
    }

    pub fn rejection_v3(&mut self, code: &str) {
        *self
            .snapshot
            .rejections_per_error
            .entry(code.to_owned())
            .or_default() += 1;
    }

    pub fn stopped(&mut self, tasks: usize) {
        self.snapshot.stopped_tasks += u64::try_from(tasks).unwrap_or(u64::MAX);
    }

    pub fn accepted(&mut self, instances: &[String]) {
        self.snapshot.accepted_jobs += 1;
        for id in instances {
            *self
                .snapshot
                .accepted_submissions
                .entry(id.clone())
                .or_default() += 1;
        }
    }

    pub fn fault(&mut self, kind: &str) {
        *self.snapshot.faults.entry(kind.to_owned()).or_default() += 1;
    }

    pub fn lost(&mut self, accepted_job: bool) {
        self.snapshot.lost_responses += 1;
        if accepted_job {
            self.snapshot.lost_accepted_jobs += 1;
        }
    }

    pub fn accepted_then_failed(&mut self) {
        self.snapshot.accepted_then_failed += 1;
    }

    /// A request starts being handled.
    pub fn enter(&mut self) {
        self.snapshot.in_flight += 1;
        self.snapshot.max_in_flight = self.snapshot.max_in_flight.max(self.snapshot.in_flight);
    }

    /// A request is done (answered, dropped, or abandoned by its client).
    pub fn leave(&mut self) {
        self.snapshot.in_flight = self.snapshot.in_flight.saturating_sub(1);
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        self.snapshot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_counts_each_event() {
        let mut c = Counters::default();
        c.request("GetCdbRollbackJob");
        c.request("GetCdbRollbackJob");
        c.rejection(4100);
        c.rejection_v3("AuthFailure.SignatureFailure");
        c.stopped(2);
        c.accepted(&["cdb-aaaaaaaa".into(), "cdb-bbbbbbbb".into()]);
        c.accepted(&["cdb-aaaaaaaa".into()]);
        c.lost(true);
        c.enter();
        c.enter();
        c.leave();
        let s = c.snapshot();
        assert_eq!((s.in_flight, s.max_in_flight), (1, 2));
        assert_eq!(s.requests_per_action["GetCdbRollbackJob"], 2);
        assert_eq!(s.rejections_per_code[&4100], 1);
        assert_eq!(s.rejections_per_error["AuthFailure.SignatureFailure"], 1);
        assert_eq!(s.stopped_tasks, 2);
        assert_eq!(s.accepted_submissions["cdb-aaaaaaaa"], 2);
        assert_eq!(s.accepted_jobs, 2);
        assert_eq!((s.lost_responses, s.lost_accepted_jobs), (1, 1));
    }

    #[test]
    fn snapshot_serializes_codes_as_json_keys() {
        let mut c = Counters::default();
        c.rejection(9003);
        let json = serde_json::to_value(c.snapshot()).unwrap_or_default();
        assert_eq!(json["rejections_per_code"]["9003"], 1);
    }
}
