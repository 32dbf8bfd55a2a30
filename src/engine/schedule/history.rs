//! One task's history of polls, and the next poll it plans from them.

use std::time::Duration;

use tokio::time::Instant;

use super::{Cadence, Kind, Lifespans, Seen, seconds};

/// Likely polls that find the task still running, in a row, before the estimate is distrusted
/// and the task goes back to checks with back-off.
const MAX_MISSES: u32 = 3;

/// An estimate whose possible error is within this share of the task's life is trusted:
/// the next poll is planned for the end, however far, with no refinement before it.
const TOLERANCE: f64 = 0.03;

/// A task teaches the run its waiting share once two polls saw its progress move this much
/// (whole percent: less would be mostly rounding).
const SAMPLE_SPAN: f64 = 10.0;

/// While first polls wait for the budget, an end known within this many times the cadence's
/// shortest gap is polled once, at the latest it may come, rather than refined first.
const CLOSE: u32 = 4;

/// A poll this far after the estimated end (share of the remaining time) costs little delay
/// and avoids most polls that come a hair too early.
const MARGIN: f64 = 0.03;

/// One task's tracking history (not journaled: rebuilt by polling after a restart).
#[derive(Debug, Clone, Default)]
pub struct History {
    /// When the submission was accepted, if this run saw it: progress 0 at that moment gives
    /// a first, pessimistic, estimate from a single poll.
    origin: Option<Instant>,
    /// The first poll that saw progress above 0 (the task running).
    first_running: Option<Seen>,
    /// The gap before the poll now planned.
    last_gap: Duration,
    /// What the poll now planned is for.
    planned: Option<Kind>,
    /// Likely polls that found the task running since its progress last moved.
    misses: u32,
    last_progress: Option<u8>,
    /// Whether this task already taught the run its waiting share.
    sampled: bool,
    /// Whether any poll saw the task yet.
    polled: bool,
    /// When the poll that planned the next one happened.
    last_at: Option<Instant>,
    /// The latest poll that gave an estimate.
    last_seen: Option<Seen>,
    /// Whether the poll now planned came from one poll read without what the run learned (a check
    /// within the cadence), to plan again once the run knows ([`History::replan`]).
    blind: bool,
    /// When the end comes at the latest, if the check now planned refines an end already
    /// known within `CLOSE` poll intervals ([`History::replan`]).
    close: Option<Instant>,
}

impl History {
    /// A task whose submission was just accepted; its first poll is `first` later.
    pub fn accepted(at: Instant, first: Duration) -> Self {
        Self {
            origin: Some(at),
            last_gap: first,
            planned: Some(Kind::First),
            ..Self::default()
        }
    }

    /// When the task is expected to end, from the polls so far (`None`: no idea yet).
    ///
    /// Progress is whole percent: a task reported at `p` has done between `p` and `p + 1`.
    /// Two polls that saw it running bound its rate, so the estimate comes with the earliest
    /// end the task could still reach. One poll only is read with what the run's tasks taught: the
    /// share of a task's life spent waiting before its progress starts ([`Lifespans`]); without
    /// that, measured from the acceptance (waiting counted as running), the estimate errs
    /// late and has no bound.
    fn estimate(&mut self, latest: Seen, lifespans: &mut Lifespans) -> Option<Estimate> {
        let p = f64::from(latest.progress?);
        let since_origin = self
            .origin
            .map(|o| latest.at.saturating_duration_since(o).as_secs_f64());
        let from_lifespans = |lifespans: &mut Lifespans| {
            let t = since_origin.filter(|t| *t > 0.0 && p > 0.0)?;
            // A task that waits `w` of its life `d`, then progresses evenly: at `t` it shows
            // p = (t − w) / (d − w), so d = t / (w + (1 − w) p).
            let life = |share: f64, p: f64| t / (share + (1.0 - share) * p / 100.0);
            Some(match lifespans.shares() {
                Some(q) => Estimate {
                    remaining: seconds(life(q.mid, p + 0.5) - t),
                    earliest: Some(seconds(life(q.high, p + 1.0) - t)),
                    latest: Some(seconds(life(q.low, p) - t)),
                },
                None => Estimate {
                    remaining: seconds(life(0.0, p + 0.5) - t),
                    earliest: None,
                    latest: None,
                },
            })
        };
        if let Some(first) = self.first_running {
            let p0 = f64::from(first.progress.unwrap_or(0));
            let secs = latest.at.saturating_duration_since(first.at).as_secs_f64();
            if p > p0 && secs > 0.0 {
                let rate = (p - p0) / secs;
                let fastest = (p + 1.0 - p0) / secs;
                let slowest = (p - 1.0 - p0) / secs;
                if let (false, Some(origin)) = (self.sampled, self.origin)
                    && p - p0 >= SAMPLE_SPAN
                {
                    // Back to where progress was 0, and the life it implies.
                    let first_secs = first.at.saturating_duration_since(origin).as_secs_f64();
                    let waited = first_secs - (p0 + 0.5) / rate;
                    let life = waited + 100.0 / rate;
                    lifespans.record(waited / life, life);
                    self.sampled = true;
                }
                let two = Estimate {
                    remaining: seconds((99.5 - p) / rate),
                    earliest: Some(seconds((99.0 - p) / fastest)),
                    latest: (slowest > 0.0).then(|| seconds((100.0 - p) / slowest)),
                };
                // Both readings bound the end: where what the run learned agrees, its bounds (from the
                // acceptance, a longer baseline) narrow the rate's, and the end can be planned
                // a poll or two sooner.
                return Some(match from_lifespans(lifespans) {
                    Some(one) if one.earliest.is_some() => two.narrowed(one),
                    _ => two,
                });
            }
        }
        from_lifespans(lifespans)
    }

    /// Plans the next poll after observing `latest` (a task not yet finished).
    pub fn observed(
        &mut self,
        lifespans: &mut Lifespans,
        cadence: Cadence,
        latest: Seen,
    ) -> (Instant, Kind) {
        self.polled = true;
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
        let estimate = self
            .estimate(latest, lifespans)
            .filter(|_| self.misses < MAX_MISSES);
        let Some(e) = estimate else {
            let gap = self.waiting_gap(lifespans, cadence, latest);
            return self.plan(latest.at, gap, self.unplanned());
        };
        let (gap, kind) = self.gap_for(e, cadence, latest);
        self.blind = kind == Kind::Check && e.earliest.is_none();
        self.last_seen = Some(latest);
        self.close = Self::close(e, cadence, latest).filter(|_| kind == Kind::Check);
        self.plan(latest.at, gap, kind)
    }

    /// The check now planned, again, if a better plan is later than `now` (`None`: poll as
    /// planned).
    ///
    /// - A check from one poll read before the run knew how long tasks wait: the first
    ///   polls of a large run come before any task was seen twice, so each can only plan a
    ///   check within the cadence, and those checks would take the budget the remaining first
    ///   polls need. Once the run knows, the same poll plans the end, without polling again.
    /// - A refinement of an end already known within `CLOSE` poll intervals, while first
    ///   polls wait for the budget (`short`): one poll at the latest the end may come sees it
    ///   ended, and the refinement's poll goes to a first poll instead.
    pub fn replan(
        &mut self,
        lifespans: &mut Lifespans,
        cadence: Cadence,
        now: Instant,
        short: bool,
    ) -> Option<(Instant, Kind)> {
        let latest = self.last_seen?;
        if self.blind && lifespans.shares().is_some() {
            self.blind = false;
            let e = self.estimate(latest, lifespans)?;
            let (gap, kind) = self.gap_for(e, cadence, latest);
            self.close = Self::close(e, cadence, latest).filter(|_| kind == Kind::Check);
            if latest.at + gap > now {
                return Some(self.plan(latest.at, gap, kind));
            }
        }
        let at = self.close.filter(|at| short && *at > now)?;
        self.close = None;
        Some(self.plan(latest.at, at - latest.at, Kind::Likely))
    }

    /// When an end known within `CLOSE` poll intervals comes at the latest.
    fn close(e: Estimate, cadence: Cadence, latest: Seen) -> Option<Instant> {
        let (lo, hi) = e.earliest.zip(e.latest)?;
        (hi.saturating_sub(lo) <= cadence.min * CLOSE).then(|| latest.at + hi)
    }

    /// The gap to the next poll, and what it is for, from the estimate made at `latest`.
    fn gap_for(&self, e: Estimate, cadence: Cadence, latest: Seen) -> (Duration, Kind) {
        let elapsed = self
            .origin
            .map_or(Duration::ZERO, |o| latest.at.saturating_duration_since(o));
        let tolerance = (elapsed + e.remaining).mul_f64(TOLERANCE).max(cadence.min);
        let precise = match (e.earliest, e.latest) {
            (Some(lo), Some(hi)) => hi.saturating_sub(lo) <= tolerance,
            _ => false,
        };
        if precise || e.remaining <= cadence.max {
            // After a poll that missed, the next one waits twice as long at least, so that a
            // task stuck at 99 % cannot take the whole budget.
            let floor = cadence.min * 2u32.pow(self.misses);
            let gap = e.remaining.mul_f64(1.0 + MARGIN);
            // A precise end is polled when it comes at the latest: a poll a moment too
            // early costs a poll more and the back-off after it.
            let gap = match (precise, e.latest) {
                (true, Some(latest)) => gap.max(latest),
                _ => gap,
            };
            let gap = gap.max(floor).max(cadence.min);
            let gap = if precise { gap } else { gap.min(cadence.max) };
            (gap, Kind::Likely)
        } else if let Some(earliest) = e.earliest {
            // Far off and imprecise: refine just before the earliest possible end (or halfway,
            // if that is later): the later the refinement, the more precise, and the likelier
            // the budget has room for it by then.
            let gap = e.remaining.mul_f64(0.5).min(earliest);
            let gap = gap.max(earliest.saturating_sub(cadence.min * 2));
            (gap.max(cadence.min), Kind::Check)
        } else {
            // Far off by one poll, with nothing to bound it: a check within the cadence.
            (cadence.max, Kind::Check)
        }
    }

    /// The task was seen finished at `now`: the run learns how long it lived at most.
    pub fn finished(&self, lifespans: &mut Lifespans, now: Instant) {
        if let Some(origin) = self.origin {
            lifespans.record_finished(now.saturating_duration_since(origin));
        }
    }

    /// Whether any poll saw the task yet.
    pub fn polled(&self) -> bool {
        self.polled
    }

    /// When the first poll of a task just accepted is worth making, if later than `now`.
    ///
    /// Not before the run's short tasks (its 10th percentile) would have ended, and at most
    /// `cap` after the acceptance: polling sooner mostly learns that the task is waiting or
    /// barely started, too little to plan its end. Until the run knows, now: holding the
    /// poll back then would leave the budget idle while the first tasks may be ending (with
    /// 200 tasks of 2.5 to 7.5 s, polls held 12 s left the budget unused from 2 s to 6 s, while
    /// 140 of them ended).
    pub fn first_poll(
        &self,
        lifespans: &mut Lifespans,
        now: Instant,
        cap: Duration,
    ) -> Option<Instant> {
        if self.polled {
            return None;
        }
        let origin = self.origin?;
        let life = lifespans.short_life()?;
        Some(origin + life.min(cap)).filter(|at| *at > now)
    }

    /// Plans a poll after a failed one (an error, a task not listed yet): back off.
    pub fn retry(&mut self, cadence: Cadence, now: Instant) -> (Instant, Kind) {
        let gap = self.backoff(cadence);
        self.plan(now, gap, self.unplanned())
    }

    /// What a poll planned without an estimate is: a first poll while the task was never
    /// seen running (it joins the others not yet seen), else a check.
    fn unplanned(&self) -> Kind {
        if self.first_running.is_none() {
            Kind::First
        } else {
            Kind::Check
        }
    }

    fn backoff(&self, cadence: Cadence) -> Duration {
        self.last_gap.mul_f64(1.5).clamp(cadence.min, cadence.max)
    }

    /// The gap after a poll that could not estimate the end. A task still waiting at `t`
    /// after its acceptance, in a run whose tasks wait at most a share `w` of their life,
    /// lives at least `t / w`: polling again before then (at most `cadence.max` later) cannot
    /// see it end, and sooner than that would most likely find it waiting again. Before the run
    /// knows, `w` is taken as one half. Otherwise (no acceptance seen, a task that moved):
    /// back off.
    fn waiting_gap(&self, lifespans: &mut Lifespans, cadence: Cadence, latest: Seen) -> Duration {
        let backoff = self.backoff(cadence);
        let waiting = latest.progress.is_none_or(|p| p == 0) && self.first_running.is_none();
        let (Some(origin), true) = (self.origin, waiting) else {
            return backoff;
        };
        let t = latest.at.saturating_duration_since(origin).as_secs_f64();
        // Before the run knows: a task that waited `t` is taken to wait as long again.
        let share = lifespans.shares().map_or(0.5, |q| q.high).max(0.01);
        let alive = seconds(t / share - t);
        alive.min(cadence.max).max(backoff)
    }

    /// The soonest the task may be polled again.
    pub fn not_before(&self, cadence: Cadence) -> Option<Instant> {
        self.last_at.map(|at| at + cadence.min)
    }

    /// The soonest a check of this task may go out before its time, when a backlog starts
    /// checks early (`None`: now). A task already seen running has an estimate, and polling
    /// sooner than it planned would most likely find it running again: a poll before an end
    /// is the one a short budget cannot afford. So only first polls go early.
    pub fn early_from(&self, cadence: Cadence) -> Option<Instant> {
        let planned = self.last_at.map(|at| at + self.last_gap);
        self.not_before(cadence).max(planned)
    }

    fn plan(&mut self, now: Instant, gap: Duration, kind: Kind) -> (Instant, Kind) {
        self.last_at = Some(now);
        self.last_gap = gap;
        self.planned = Some(kind);
        (now + gap, kind)
    }
}

/// What the polls so far say about a task's end, from the latest poll.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    remaining: Duration,
    /// The soonest the task can end, when the polls bound its rate.
    earliest: Option<Duration>,
    /// The latest it can end, likewise.
    latest: Option<Duration>,
}

impl Estimate {
    /// This estimate within the bounds of `other` too, where they overlap (where they do not,
    /// one of the two models is wrong for this task, and this one is kept).
    fn narrowed(self, other: Estimate) -> Estimate {
        let earliest = self.earliest.max(other.earliest);
        let latest = match (self.latest, other.latest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (earliest, latest) {
            (Some(lo), Some(hi)) if lo > hi => self,
            _ => Estimate {
                remaining: self
                    .remaining
                    .max(earliest.unwrap_or_default())
                    .min(latest.unwrap_or(Duration::MAX)),
                earliest,
                latest,
            },
        }
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
