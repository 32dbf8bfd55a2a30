//! The queue of planned polls: likely ones first, then checks, then first polls, which start
//! early under a backlog.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use tokio::time::Instant;

use super::Kind;

/// The polls waiting to go out: likely ones first, then checks, then first polls (each
/// earliest due first). Only what is due can be taken, except first polls, which start early
/// when more wait than the rate can serve by their time. Each entry is one planned poll.
///
/// A check refines the estimate of a task already seen running, before its earliest possible
/// end; a first poll finds out where a task stands. Under a backlog of first polls (a large
/// run just submitted, all due at once) the checks go first: served late, a check may come
/// after its task's end, whereas the first polls are all alike and one more waiting changes
/// nothing for the others.
#[derive(Debug, Default)]
pub struct PollQueue {
    likely: Heap,
    checks: Heap,
    first: Heap,
    /// First polls taken early but too soon after their task's last poll, waiting for that.
    held: Heap,
}

type Heap = BinaryHeap<Reverse<(Instant, usize)>>;

fn top(heap: &Heap) -> Option<Instant> {
    heap.peek().map(|r| r.0.0)
}

impl PollQueue {
    pub fn push(&mut self, at: Instant, idx: usize, kind: Kind) {
        let heap = match kind {
            Kind::Likely => &mut self.likely,
            Kind::Check => &mut self.checks,
            Kind::First => &mut self.first,
        };
        heap.push(Reverse((at, idx)));
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn len(&self) -> usize {
        self.likely.len() + self.checks.len() + self.first.len() + self.held.len()
    }

    /// First polls waiting, due or not.
    pub fn first_waiting(&self) -> usize {
        self.first.len() + self.held.len()
    }

    /// When the next poll may be taken, at `rate` polls per second.
    pub fn next_due(&self, rate: f64) -> Option<Instant> {
        [
            top(&self.likely),
            top(&self.checks),
            top(&self.held),
            self.first_due(rate),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When the earliest first poll may be taken: when it falls due, or sooner when the first
    /// polls waiting are more than `rate` can serve by then. A budget left idle now is lost,
    /// and those polls would otherwise go out late, all together.
    fn first_due(&self, rate: f64) -> Option<Instant> {
        let due = top(&self.first)?;
        let backlog = Duration::from_secs_f64(if rate.is_finite() && rate > 0.0 {
            (self.first.len() as f64 / rate).min(1e7)
        } else {
            0.0
        });
        Some(due.checked_sub(backlog).unwrap_or(due))
    }

    /// The most valuable poll that may be taken at `now`: the likely poll due longest, else
    /// the check due longest, else the earliest first poll. `early` says the first poll was
    /// taken before its time, to keep the budget busy; `not_before(idx)` is the soonest a task
    /// may be polled again (its last poll plus the cadence's minimum), which an early poll
    /// waits for.
    pub fn pop_due(
        &mut self,
        now: Instant,
        rate: f64,
        not_before: impl Fn(usize) -> Option<Instant>,
    ) -> Option<(usize, bool)> {
        for heap in [&mut self.likely, &mut self.checks] {
            if top(heap).is_some_and(|at| at <= now) {
                return heap.pop().map(|r| (r.0.1, false));
            }
        }
        loop {
            let first = top(&self.first).filter(|at| *at <= now);
            let held = top(&self.held).filter(|at| *at <= now);
            match (first, held) {
                (Some(c), Some(h)) if h < c => return self.held.pop().map(|r| (r.0.1, false)),
                (Some(_), _) => return self.first.pop().map(|r| (r.0.1, false)),
                (None, Some(_)) => return self.held.pop().map(|r| (r.0.1, false)),
                (None, None) => {}
            }
            if self.first_due(rate).is_none_or(|at| at > now) {
                return None;
            }
            let Reverse((_, idx)) = self.first.pop()?;
            match not_before(idx) {
                Some(at) if at > now => self.held.push(Reverse((at, idx))),
                _ => return Some((idx, true)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_queue_serves_due_likely_polls_before_due_checks() {
        let t0 = Instant::now();
        let mut q = PollQueue::default();
        q.push(t0, 1, Kind::Check);
        q.push(t0 + secs(1.0), 2, Kind::Likely);
        q.push(t0 + secs(2.0), 3, Kind::Likely);
        q.push(t0 + secs(5.0), 4, Kind::Check);
        let unpaced = f64::INFINITY;
        let free = |_| None;
        assert_eq!(q.next_due(unpaced), Some(t0));
        assert_eq!(
            q.pop_due(t0 + secs(0.5), unpaced, free),
            Some((1, false)),
            "only the check is due"
        );
        let later = t0 + secs(10.0);
        assert_eq!(q.pop_due(later, unpaced, free), Some((2, false)));
        assert_eq!(q.pop_due(later, unpaced, free), Some((3, false)));
        assert_eq!(q.pop_due(later, unpaced, free), Some((4, false)));
        assert_eq!(q.pop_due(later, unpaced, free), None);
        assert!(q.is_empty());
    }

    #[test]
    fn first_polls_start_early_when_more_wait_than_the_rate_serves_by_their_time() {
        let t0 = Instant::now();
        let mut q = PollQueue::default();
        for i in 0..20 {
            q.push(t0 + secs(10.0), i, Kind::First);
        }
        let free = |_| None;
        // 20 checks at 4 a second take 5 s: they start 5 s before they fall due.
        assert_eq!(q.next_due(4.0), Some(t0 + secs(5.0)));
        assert_eq!(q.pop_due(t0 + secs(4.9), 4.0, free), None);
        assert!(matches!(
            q.pop_due(t0 + secs(5.0), 4.0, free),
            Some((_, true))
        ));
        // A rate that serves them all at once: nothing early.
        assert_eq!(q.next_due(1000.0).map(|t| t > t0 + secs(9.9)), Some(true));
        // Likely polls and checks are never taken early.
        let mut q = PollQueue::default();
        q.push(t0 + secs(10.0), 1, Kind::Likely);
        for i in 2..20 {
            q.push(t0 + secs(10.0), i, Kind::Check);
        }
        assert_eq!(q.pop_due(t0 + secs(9.0), 0.001, free), None);
        assert_eq!(q.next_due(0.001), Some(t0 + secs(10.0)));
    }

    #[test]
    fn a_due_check_goes_before_a_backlog_of_first_polls_due_longer() {
        let t0 = Instant::now();
        let mut q = PollQueue::default();
        for i in 0..100 {
            q.push(t0, i, Kind::First);
        }
        q.push(t0 + secs(5.0), 100, Kind::Check);
        q.push(t0 + secs(6.0), 101, Kind::Likely);
        let free = |_| None;
        let now = t0 + secs(7.0);
        assert_eq!(q.pop_due(now, 20.0, free), Some((101, false)));
        assert_eq!(q.pop_due(now, 20.0, free), Some((100, false)));
        assert_eq!(q.pop_due(now, 20.0, free).map(|(i, _)| i < 100), Some(true));
    }

    #[test]
    fn an_early_first_poll_waits_for_the_minimum_gap_after_its_last_poll() {
        let t0 = Instant::now();
        let mut q = PollQueue::default();
        q.push(t0 + secs(10.0), 1, Kind::First);
        q.push(t0 + secs(11.0), 2, Kind::First);
        // Instance 1 was polled a moment ago: not before t0 + 2 s.
        let not_before = |i| (i == 1).then_some(t0 + secs(2.0));
        let rate = 0.01; // a backlog: both may start early
        assert_eq!(
            q.pop_due(t0, rate, not_before),
            Some((2, true)),
            "1 is held"
        );
        assert_eq!(q.pop_due(t0 + secs(1.0), rate, not_before), None);
        assert_eq!(q.next_due(rate), Some(t0 + secs(2.0)));
        assert_eq!(
            q.pop_due(t0 + secs(2.0), rate, not_before),
            Some((1, false))
        );
        assert!(q.is_empty());
    }
}
