//! What a benchmark needs to know of a sandbox run: when each task was accepted and when it
//! ends by the sandbox's clock, when each instance's tasks were polled (one entry per
//! GetCdbRollbackJob / DescribeRollbackTaskDetail answered), and when its objects were listed
//! (DescribeDatabases / DescribeTables: the object preflight before its submission, the
//! verification of a success after). Read with
//! [`Sandbox::timeline`](super::Sandbox::timeline); in-process only (times are `Instant`s).

use std::time::Instant;

/// One task's life on the sandbox's monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTime {
    pub instance_id: String,
    pub job_id: u64,
    pub submitted: Instant,
    /// When it ends (succeeds, fails or is killed), whether or not that is past yet.
    pub ends: Instant,
}

/// One answered status query of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    pub instance_id: String,
    pub at: Instant,
}

/// Every task and every poll so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub tasks: Vec<TaskTime>,
    pub polls: Vec<Poll>,
    /// Every answered DescribeDatabases / DescribeTables, by instance.
    pub object_polls: Vec<Poll>,
}

impl Timeline {
    /// The latest end of any task, if there is a task.
    pub fn last_end(&self) -> Option<Instant> {
        self.tasks.iter().map(|t| t.ends).max()
    }
}

/// Most polls kept: far beyond a benchmark (10,000 instances take about 20,000), and a bound
/// on the memory of a `planrun sandbox serve` left running for days (about 50 bytes a poll).
pub const MAX_POLLS: usize = 1_000_000;

/// The polls recorded so far (kept beside the tasks, behind the sandbox's lock), the first
/// [`MAX_POLLS`] of them.
#[derive(Debug, Default)]
pub struct Polls {
    polls: Vec<Poll>,
}

impl Polls {
    pub fn record(&mut self, instance_id: &str, at: Instant) {
        if self.polls.len() >= MAX_POLLS {
            return;
        }
        self.polls.push(Poll {
            instance_id: instance_id.to_owned(),
            at,
        });
    }

    pub fn all(&self) -> &[Poll] {
        &self.polls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn last_end_is_the_latest_of_all_tasks() {
        let t0 = Instant::now();
        let task = |id: &str, end: u64| TaskTime {
            instance_id: id.into(),
            job_id: 1,
            submitted: t0,
            ends: t0 + Duration::from_secs(end),
        };
        let timeline = Timeline {
            tasks: vec![task("cdb-aaaaaaaa", 5), task("cdb-bbbbbbbb", 9)],
            polls: vec![],
            object_polls: vec![],
        };
        assert_eq!(timeline.last_end(), Some(t0 + Duration::from_secs(9)));
        assert_eq!(Timeline::default().last_end(), None);
    }

    #[test]
    fn polls_stop_being_recorded_at_the_bound() {
        let mut polls = Polls::default();
        let now = Instant::now();
        for _ in 0..MAX_POLLS + 5 {
            polls.record("cdb-aaaaaaaa", now);
        }
        assert_eq!(polls.all().len(), MAX_POLLS);
    }

    #[test]
    fn polls_are_kept_in_order() {
        let t0 = Instant::now();
        let mut polls = Polls::default();
        polls.record("cdb-aaaaaaaa", t0);
        polls.record("cdb-bbbbbbbb", t0 + Duration::from_millis(3));
        let ids: Vec<&str> = polls.all().iter().map(|l| l.instance_id.as_str()).collect();
        assert_eq!(ids, ["cdb-aaaaaaaa", "cdb-bbbbbbbb"]);
    }
}
