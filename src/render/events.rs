//! The engine's events as people read them: a line per event worth one, and the counts of a
//! run so far (what the progress bars and the heartbeat of `apply` show).

use std::collections::HashMap;

use crate::engine::protocol::TaskState;
use crate::engine::run::Event;
use crate::engine::state::{RunState, Status};

/// Each instance's status as the events (and, for a resumed run, the journal) tell it.
#[derive(Debug, Default)]
pub struct Tally {
    status: HashMap<String, Status>,
    /// The latest poll that could not see an instance's task, and each instance's latest
    /// such reason (a line is printed when it changes, the heartbeat repeats the latest).
    last_error: Option<String>,
    unseen: HashMap<String, String>,
}

impl Tally {
    /// What an earlier run already did: a resumed run counts its finished instances as
    /// finished from the first line on.
    pub fn of(state: &RunState) -> Self {
        Self {
            status: state
                .instances
                .iter()
                .filter(|s| s.status != Status::Pending)
                .map(|s| (s.id.clone(), s.status))
                .collect(),
            ..Self::default()
        }
    }
    fn set(&mut self, instance: &str, status: Status) {
        self.status.insert(instance.to_owned(), status);
    }
    pub fn count(&self, status: Status) -> usize {
        self.status.values().filter(|s| **s == status).count()
    }
    pub fn finished(&self) -> usize {
        self.status.values().filter(|s| s.is_final()).count()
    }
    /// The overall bar's counts: succeeded, failed (or rejected), running.
    pub fn marks(&self) -> String {
        format!(
            "✓ {}  ✗ {}  ▶ {}",
            self.count(Status::Succeeded),
            self.count(Status::Failed) + self.count(Status::Rejected),
            self.count(Status::Running)
        )
    }

    /// The heartbeat's counts, each in its status's one word ([`Status::name`]).
    pub fn line(&self, total: usize) -> String {
        let mut counts: Vec<String> = [
            Status::Succeeded,
            Status::Failed,
            Status::Rejected,
            Status::Running,
            Status::Submitted,
        ]
        .iter()
        .map(|s| format!("{} {}", self.count(*s), s.name()))
        .collect();
        let pending = total.saturating_sub(self.status.len()) + self.count(Status::Pending);
        counts.push(format!("{pending} {}", Status::Pending.name()));
        let mut line = counts.join(", ");
        for status in [
            Status::Stopping,
            Status::Cancelled,
            Status::Unknown,
            Status::Unverified,
        ] {
            let n = self.count(status);
            if n > 0 {
                line.push_str(&format!(", {n} {}", status.name()));
            }
        }
        if let Some(error) = &self.last_error {
            line.push_str(&format!("; last error: {error}"));
        }
        line
    }
}

/// Text of an event for a log line (`tally` counts it); `None` for events not worth a
/// line.
pub fn describe(event: &Event, tally: &mut Tally) -> Option<String> {
    Some(match event {
        Event::Submitting { batch, instances } => {
            for i in instances {
                tally.set(i, Status::Submitted);
            }
            format!("submitting call #{batch}: {}", instances.join(", "))
        }
        Event::Accepted {
            batch,
            instances,
            job,
        } => format!(
            "call #{batch} accepted: job {job} ({} instances)",
            instances.len()
        ),
        Event::Split { batch, reason } => format!(
            "call #{batch} refused ({reason}); splitting it to find the instances concerned"
        ),
        Event::Unknown { batch, reason } => format!(
            "call #{batch}: outcome unknown ({reason}); looking for its job before anything is resent"
        ),
        Event::Adopted { instance, job } => {
            tally.set(instance, Status::Submitted);
            format!("{instance}: found its job {job} (adopted, not resubmitted)")
        }
        Event::Resubmitting { instances } => {
            for i in instances {
                tally.set(i, Status::Pending);
            }
            format!(
                "no job found for {}: submitting again",
                instances.join(", ")
            )
        }
        Event::Busy { instance, retry_in } => format!(
            "{instance}: another task is running; retrying in {:.1}s",
            retry_in.as_secs_f64()
        ),
        Event::Retrying {
            instances,
            reason,
            retry_in,
        } => {
            format!(
                "{}: {reason}; retrying in {:.1}s",
                instances.join(", "),
                retry_in.as_secs_f64()
            )
        }
        Event::GaveUp { instances, reason } => {
            for i in instances {
                tally.set(i, Status::Pending);
            }
            format!(
                "{}: {reason}; gave up for this run (still pending: apply again to submit)",
                instances.join(", ")
            )
        }
        Event::PollFailed { instance, reason } => {
            tally.last_error = Some(format!("{instance}: {reason}"));
            let previous = tally.unseen.insert(instance.clone(), reason.clone());
            if previous.as_ref() == Some(reason) {
                return None;
            }
            format!("{instance}: cannot see its task: {reason}")
        }
        Event::Rejected { instance, reason } => {
            tally.set(instance, Status::Rejected);
            format!("{instance}: {}: {reason}", Status::Rejected.name())
        }
        Event::State {
            instance,
            state,
            progress,
            detail,
        } => {
            if *state == TaskState::Running {
                tally.set(instance, Status::Running);
            }
            let detail = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            match progress {
                Some(p) => format!("{instance}: {state} {p}%{detail}"),
                None => format!("{instance}: {state}{detail}"),
            }
        }
        Event::Finished {
            instance,
            status,
            message,
        } => {
            tally.set(instance, *status);
            match message {
                Some(m) => format!("{instance}: {} ({m})", status.name()),
                None => format!("{instance}: {}", status.name()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::Record;

    #[test]
    fn a_resumed_run_counts_what_earlier_runs_finished() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let ids = ["cdb-aaaaaaaa", "cdb-bbbbbbbb", "cdb-cccccccc"];
        let finished = |i: &str| Record::Finished {
            instance: i.into(),
            status: TaskState::Succeeded,
            message: None,
            at,
        };
        let state = RunState::replay(ids, &[finished(ids[0]), finished(ids[1])]);
        let tally = Tally::of(&state);
        assert_eq!(tally.finished(), 2);
        assert_eq!(
            tally.line(3),
            "2 succeeded, 0 failed, 0 rejected, 0 running, 0 submitted, 1 pending"
        );
    }

    #[test]
    fn a_task_that_cannot_be_seen_is_a_line_once_and_the_heartbeat_repeats_its_error() {
        let mut tally = Tally::default();
        let failed = |reason: &str| Event::PollFailed {
            instance: "cdb-aaaaaaaa".into(),
            reason: reason.into(),
        };
        let first = describe(&failed("InternalError.DatabaseAccessError"), &mut tally);
        assert_eq!(
            first.as_deref(),
            Some("cdb-aaaaaaaa: cannot see its task: InternalError.DatabaseAccessError")
        );
        // The same reason again: no new line, but the heartbeat says it.
        assert_eq!(
            describe(&failed("InternalError.DatabaseAccessError"), &mut tally),
            None
        );
        assert!(
            tally
                .line(1)
                .ends_with("; last error: cdb-aaaaaaaa: InternalError.DatabaseAccessError"),
            "{}",
            tally.line(1)
        );
    }

    #[test]
    fn a_self_hosted_restore_shows_its_phase_and_bytes() {
        let mut tally = Tally::default();
        let line = describe(
            &Event::State {
                instance: "shop-1".into(),
                state: TaskState::Running,
                progress: Some(80),
                detail: Some("replaying binlog, 2048 bytes".into()),
            },
            &mut tally,
        );
        assert_eq!(
            line.as_deref(),
            Some("shop-1: running 80% (replaying binlog, 2048 bytes)")
        );
    }

    #[test]
    fn a_rejection_is_a_line_and_a_count() {
        let mut tally = Tally::default();
        let line = describe(
            &Event::Rejected {
                instance: "cdb-aaaaaaaa".into(),
                reason: "InvalidParameter: \u{1b}[2Jfine".into(),
            },
            &mut tally,
        )
        .unwrap_or_default();
        assert!(line.starts_with("cdb-aaaaaaaa: rejected: "), "{line}");
        assert_eq!(tally.count(Status::Rejected), 1);
    }
}
