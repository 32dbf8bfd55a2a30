//! When to look at a task next, and how much that look is worth.
//!
//! From a task's progress over time the scheduler estimates when it ends. A look planned for
//! just after that estimate is [`Kind::Likely`]: it will probably see the task finished. Every
//! other look — a task not yet running, an end still far off, an error to try again after — is
//! a [`Kind::Check`]. When the rate limit cannot serve every due look at once, the engine serves
//! likely looks first ([`PollQueue`]), so the budget goes to seeing ends, not to refreshing
//! estimates.
//!
//! The rate is measured over the longest baseline available (from the first look that saw the
//! task running to the latest), so whole-percent progress becomes more precise with every
//! look. An end further away than `cadence.max` is not trusted blindly: the next check comes at
//! half the remaining time (at least `cadence.max`), so the estimate is refined a few times
//! before the likely look.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// What was seen of one task at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub at: Instant,
    pub progress: Option<u8>,
}

/// Poll timing bounds: never sooner than `min` after a look; a task without an estimate is
/// looked at least every `max`.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub min: Duration,
    pub max: Duration,
}

/// What a planned look is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Planned just after the estimated end: served first.
    Likely,
    /// Anything else: served with what budget the likely looks leave.
    Check,
}

/// Likely looks that find the task still running, in a row, before the estimate is distrusted
/// and the task goes back to checks with back-off.
const MAX_MISSES: u32 = 3;

/// A look this far after the estimated end (share of the remaining time) costs little delay
/// and avoids most looks that come a hair too early.
const MARGIN: f64 = 0.03;

/// One task's tracking history (not journaled: rebuilt by polling after a restart).
#[derive(Debug, Clone, Default)]
pub struct History {
    /// When the submission was accepted, if this run saw it: progress 0 at that moment gives
    /// a first, pessimistic, estimate from a single look.
    pub origin: Option<Instant>,
    /// The first look that saw progress above 0 (the task running).
    first_running: Option<Seen>,
    /// The gap before the look now planned.
    pub last_gap: Duration,
    /// What the look now planned is for.
    planned: Option<Kind>,
    /// Likely looks that found the task running since its progress last moved.
    misses: u32,
    last_progress: Option<u8>,
}

impl History {
    /// A task whose submission was just accepted; its first look is `first` later.
    pub fn accepted(at: Instant, first: Duration) -> Self {
        Self {
            origin: Some(at),
            last_gap: first,
            planned: Some(Kind::Check),
            ..Self::default()
        }
    }

    /// Percent per second, if the looks so far allow an estimate.
    fn rate(&self, latest: Seen) -> Option<f64> {
        let p = f64::from(latest.progress?);
        if let Some(first) = self.first_running {
            let p0 = f64::from(first.progress.unwrap_or(0));
            let secs = latest.at.saturating_duration_since(first.at).as_secs_f64();
            if p > p0 && secs > 0.0 {
                return Some((p - p0) / secs);
            }
        }
        // One look only: measured from the acceptance, the waiting before the task started
        // counts as running, so the estimate comes late rather than early.
        let secs = latest.at.saturating_duration_since(self.origin?).as_secs_f64();
        (p > 0.0 && secs > 0.0).then(|| p / secs)
    }

    /// Plans the next look after observing `latest` (a task not yet finished).
    pub fn observed(&mut self, cadence: Cadence, latest: Seen) -> (Instant, Kind) {
        if latest.progress > self.last_progress {
            self.misses = 0;
        }
        if self.planned == Some(Kind::Likely) {
            self.misses += 1;
        }
        self.last_progress = latest.progress.max(self.last_progress);
        if self.first_running.is_none() && latest.progress.is_some_and(|p| p > 0) {
            self.first_running = Some(latest);
        }
        let estimate = self.rate(latest).filter(|_| self.misses < MAX_MISSES);
        let (gap, kind) = match estimate {
            Some(rate) => {
                let left = f64::from(100u8.saturating_sub(latest.progress.unwrap_or(0)));
                let remaining = Duration::from_secs_f64((left / rate).min(1e7));
                if remaining <= cadence.max {
                    let gap = remaining.mul_f64(1.0 + MARGIN);
                    // After a look that missed, the next one waits twice as long at least,
                    // so that a task stuck at 99 % cannot take the whole budget.
                    let floor = cadence.min * 2u32.pow(self.misses);
                    (gap.max(floor).clamp(cadence.min, cadence.max), Kind::Likely)
                } else {
                    (remaining.mul_f64(0.5).max(cadence.max), Kind::Check)
                }
            }
            None => (self.backoff(cadence), Kind::Check),
        };
        self.plan(latest.at, gap, kind)
    }

    /// Plans a look after a failed one (an error, a task not listed yet): back off.
    pub fn retry(&mut self, cadence: Cadence, now: Instant) -> (Instant, Kind) {
        let gap = self.backoff(cadence);
        self.plan(now, gap, Kind::Check)
    }

    fn backoff(&self, cadence: Cadence) -> Duration {
        self.last_gap.mul_f64(1.5).clamp(cadence.min, cadence.max)
    }

    fn plan(&mut self, now: Instant, gap: Duration, kind: Kind) -> (Instant, Kind) {
        self.last_gap = gap;
        self.planned = Some(kind);
        (now + gap, kind)
    }
}

/// The looks waiting to go out: likely ones first (earliest due first), then checks (earliest
/// due first). Only what is due can be taken; each entry is one planned look.
#[derive(Debug, Default)]
pub struct PollQueue {
    likely: BinaryHeap<Reverse<(Instant, usize)>>,
    checks: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl PollQueue {
    pub fn push(&mut self, at: Instant, idx: usize, kind: Kind) {
        match kind {
            Kind::Likely => self.likely.push(Reverse((at, idx))),
            Kind::Check => self.checks.push(Reverse((at, idx))),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.likely.is_empty() && self.checks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.likely.len() + self.checks.len()
    }

    /// When the earliest look falls due.
    pub fn next_due(&self) -> Option<Instant> {
        let top = |h: &BinaryHeap<Reverse<(Instant, usize)>>| h.peek().map(|r| r.0.0);
        top(&self.likely).into_iter().chain(top(&self.checks)).min()
    }

    /// The most valuable look due at `now`: the likely look due longest, else the check due
    /// longest.
    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
        for heap in [&mut self.likely, &mut self.checks] {
            if heap.peek().is_some_and(|r| r.0.0 <= now) {
                return heap.pop().map(|r| r.0.1);
            }
        }
        None
    }
}

/// The engine's own share of the status action's rate: looks leave at most `rate` a second,
/// evenly spaced, so they never queue inside the client (where they would hold a connection
/// slot a submission needs, and go out in arrival order rather than by value).
#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    next: Option<Instant>,
}

impl Pacer {
    pub fn new() -> Self {
        Self { next: None }
    }

    /// When the next look may leave (`None`: now).
    pub fn ready_at(&self) -> Option<Instant> {
        self.next
    }

    /// Takes the slot at `now` for a look, at `rate` per second (infinite: no pacing). A late
    /// wake-up may use the slot it missed, never more, so no burst builds up.
    pub fn take(&mut self, now: Instant, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) {
            self.next = None;
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / rate);
        let slot = match self.next {
            Some(next) => next.max(now.checked_sub(gap).unwrap_or(now)),
            None => now,
        };
        self.next = Some(slot + gap);
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CADENCE: Cadence = Cadence {
        min: Duration::from_millis(200),
        max: Duration::from_secs(60),
    };

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn seen(t0: Instant, s: f64, p: u8) -> Seen {
        Seen {
            at: t0 + secs(s),
            progress: Some(p),
        }
    }

    fn within(got: Duration, lo: f64, hi: f64) {
        assert!(got >= secs(lo) && got <= secs(hi), "{got:?} not in {lo}..{hi}");
    }

    #[test]
    fn progress_predicts_the_end_and_the_look_just_after_is_likely() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        // Running since 20 s: 20 % at 30 s, 40 % at 40 s → 2 %/s, 60 % left → 30 s.
        let (_, kind) = h.observed(CADENCE, seen(t0, 30.0, 20));
        assert_eq!(kind, Kind::Check, "one look says little");
        let (at, kind) = h.observed(CADENCE, seen(t0, 40.0, 40));
        assert_eq!(kind, Kind::Likely);
        within(at - (t0 + secs(40.0)), 30.0, 31.0);
    }

    #[test]
    fn a_far_end_is_refined_by_a_check_at_half_the_remaining_time() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        h.observed(CADENCE, seen(t0, 10.0, 1));
        // 1 % → 5 % in 20 s: 0.2 %/s, 95 % left → 475 s: check in about 237 s.
        let (at, kind) = h.observed(CADENCE, seen(t0, 30.0, 5));
        assert_eq!(kind, Kind::Check);
        within(at - (t0 + secs(30.0)), 237.0, 238.0);
    }

    #[test]
    fn a_single_look_measures_from_the_acceptance_and_errs_late() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        // 50 % at 40 s since acceptance → 1.25 %/s → 40 s more (the truth, if the task waited
        // 10 s first, is 30 s): planned as a likely look, late rather than early.
        let (at, kind) = h.observed(CADENCE, seen(t0, 40.0, 50));
        assert_eq!(kind, Kind::Likely);
        within(at - (t0 + secs(40.0)), 40.0, 42.0);
    }

    #[test]
    fn without_progress_it_backs_off_within_bounds() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(2.0));
        let waiting = |s| Seen {
            at: t0 + secs(s),
            progress: None,
        };
        let (at, kind) = h.observed(CADENCE, waiting(2.0));
        assert_eq!((at - (t0 + secs(2.0)), kind), (secs(3.0), Kind::Check));
        let mut h = History {
            last_gap: secs(59.0),
            ..History::default()
        };
        assert_eq!(h.observed(CADENCE, waiting(0.0)).0 - t0, secs(60.0));
        let mut h = History::default();
        assert_eq!(h.retry(CADENCE, t0).0 - t0, secs(0.2), "never below min");
    }

    #[test]
    fn likely_looks_that_keep_missing_back_off_then_become_checks() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(1.0));
        h.observed(CADENCE, seen(t0, 10.0, 50));
        let (mut at, kind) = h.observed(CADENCE, seen(t0, 20.0, 98));
        assert_eq!(kind, Kind::Likely);
        let mut gaps = Vec::new();
        let mut kinds = Vec::new();
        for _ in 0..4 {
            // Stuck at 99 %.
            let now = at;
            let (next, kind) = h.observed(
                CADENCE,
                Seen {
                    at: now,
                    progress: Some(99),
                },
            );
            gaps.push(next - now);
            kinds.push(kind);
            at = next;
        }
        assert!(gaps.windows(2).all(|w| w[1] > w[0]), "growing: {gaps:?}");
        assert_eq!(kinds[..2], [Kind::Likely, Kind::Likely]);
        assert_eq!(kinds[2], Kind::Check, "distrusted after {MAX_MISSES} misses");
    }

    #[test]
    fn the_queue_serves_due_likely_looks_before_due_checks() {
        let t0 = Instant::now();
        let mut q = PollQueue::default();
        q.push(t0, 1, Kind::Check);
        q.push(t0 + secs(1.0), 2, Kind::Likely);
        q.push(t0 + secs(2.0), 3, Kind::Likely);
        q.push(t0 + secs(5.0), 4, Kind::Check);
        assert_eq!(q.next_due(), Some(t0));
        assert_eq!(q.pop_due(t0 + secs(0.5)), Some(1), "only the check is due");
        let later = t0 + secs(10.0);
        assert_eq!(q.pop_due(later), Some(2));
        assert_eq!(q.pop_due(later), Some(3));
        assert_eq!(q.pop_due(later), Some(4));
        assert_eq!(q.pop_due(later), None);
        assert!(q.is_empty());
    }

    #[test]
    fn the_pacer_spaces_looks_at_the_rate_without_bursts() {
        let t0 = Instant::now();
        let mut p = Pacer::new();
        assert_eq!(p.ready_at(), None);
        p.take(t0, 10.0);
        assert_eq!(p.ready_at(), Some(t0 + secs(0.1)));
        p.take(t0 + secs(0.1), 10.0);
        assert_eq!(p.ready_at(), Some(t0 + secs(0.2)));
        // Idle for a while: one slot back at most, not a burst of ten.
        let late = t0 + secs(1.2);
        p.take(late, 10.0);
        assert_eq!(p.ready_at(), Some(late));
        p.take(late, 10.0);
        assert_eq!(p.ready_at(), Some(late + secs(0.1)));
        p.take(late, f64::INFINITY);
        assert_eq!(p.ready_at(), None, "no rate: no pacing");
    }
}
