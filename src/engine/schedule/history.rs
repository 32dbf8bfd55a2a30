//! One task's history of looks, and the next look it plans from them.

use std::time::Duration;

use tokio::time::Instant;

use super::{Cadence, Fleet, Kind, Seen, seconds};

/// Likely looks that find the task still running, in a row, before the estimate is distrusted
/// and the task goes back to checks with back-off.
const MAX_MISSES: u32 = 3;

/// An estimate whose possible error is within this share of the task's life is trusted:
/// the next look is planned for the end, however far, with no refinement before it.
const TOLERANCE: f64 = 0.03;

/// A task teaches the fleet its waiting share once two looks saw its progress move this much
/// (whole percent: less would be mostly rounding).
const SAMPLE_SPAN: f64 = 10.0;

/// While first looks wait for the budget, an end known within this many times the cadence's
/// shortest gap is looked at once, at the latest it may come, rather than refined first.
const CLOSE: u32 = 4;

/// A look this far after the estimated end (share of the remaining time) costs little delay
/// and avoids most looks that come a hair too early.
const MARGIN: f64 = 0.03;

/// One task's tracking history (not journaled: rebuilt by polling after a restart).
#[derive(Debug, Clone, Default)]
pub struct History {
    /// When the submission was accepted, if this run saw it: progress 0 at that moment gives
    /// a first, pessimistic, estimate from a single look.
    origin: Option<Instant>,
    /// The first look that saw progress above 0 (the task running).
    first_running: Option<Seen>,
    /// The gap before the look now planned.
    last_gap: Duration,
    /// What the look now planned is for.
    planned: Option<Kind>,
    /// Likely looks that found the task running since its progress last moved.
    misses: u32,
    last_progress: Option<u8>,
    /// Whether this task already taught the fleet its waiting share.
    sampled: bool,
    /// Whether any look saw the task yet.
    looked: bool,
    /// When the look that planned the next one happened.
    last_at: Option<Instant>,
    /// The latest look that gave an estimate.
    last_seen: Option<Seen>,
    /// Whether the look now planned came from one look read without the fleet (a check
    /// within the cadence), to plan again once the fleet knows ([`History::replan`]).
    blind: bool,
    /// When the end comes at the latest, if the check now planned refines an end already
    /// known within [`CLOSE`] poll intervals ([`History::replan`]).
    close: Option<Instant>,
}

impl History {
    /// A task whose submission was just accepted; its first look is `first` later.
    pub fn accepted(at: Instant, first: Duration) -> Self {
        Self {
            origin: Some(at),
            last_gap: first,
            planned: Some(Kind::First),
            ..Self::default()
        }
    }

    /// When the task is expected to end, from the looks so far (`None`: no idea yet).
    ///
    /// Progress is whole percent: a task reported at `p` has done between `p` and `p + 1`.
    /// Two looks that saw it running bound its rate, so the estimate comes with the earliest
    /// end the task could still reach. One look only is read with what the fleet taught: the
    /// share of a task's life spent waiting before its progress starts ([`Fleet`]); without
    /// that, measured from the acceptance (waiting counted as running), the estimate errs
    /// late and has no bound.
    fn estimate(&mut self, latest: Seen, fleet: &mut Fleet) -> Option<Estimate> {
        let p = f64::from(latest.progress?);
        let since_origin = self
            .origin
            .map(|o| latest.at.saturating_duration_since(o).as_secs_f64());
        let from_fleet = |fleet: &mut Fleet| {
            let t = since_origin.filter(|t| *t > 0.0 && p > 0.0)?;
            // A task that waits `w` of its life `d`, then progresses evenly: at `t` it shows
            // p = (t − w) / (d − w), so d = t / (w + (1 − w) p).
            let life = |share: f64, p: f64| t / (share + (1.0 - share) * p / 100.0);
            Some(match fleet.shares() {
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
                    fleet.record(waited / life, life);
                    self.sampled = true;
                }
                let two = Estimate {
                    remaining: seconds((99.5 - p) / rate),
                    earliest: Some(seconds((99.0 - p) / fastest)),
                    latest: (slowest > 0.0).then(|| seconds((100.0 - p) / slowest)),
                };
                // Both readings bound the end: where the fleet agrees, its bounds (from the
                // acceptance, a longer baseline) narrow the rate's, and the end can be planned
                // a look or two sooner.
                return Some(match from_fleet(fleet) {
                    Some(one) if one.earliest.is_some() => two.narrowed(one),
                    _ => two,
                });
            }
        }
        from_fleet(fleet)
    }

    /// Plans the next look after observing `latest` (a task not yet finished).
    pub fn observed(
        &mut self,
        fleet: &mut Fleet,
        cadence: Cadence,
        latest: Seen,
    ) -> (Instant, Kind) {
        self.looked = true;
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
            .estimate(latest, fleet)
            .filter(|_| self.misses < MAX_MISSES);
        let Some(e) = estimate else {
            let gap = self.waiting_gap(fleet, cadence, latest);
            return self.plan(latest.at, gap, self.unplanned());
        };
        let (gap, kind) = self.gap_for(e, cadence, latest);
        self.blind = kind == Kind::Check && e.earliest.is_none();
        self.last_seen = Some(latest);
        self.close = Self::close(e, cadence, latest).filter(|_| kind == Kind::Check);
        self.plan(latest.at, gap, kind)
    }

    /// The check now planned, again, if a better plan is later than `now` (`None`: look as
    /// planned).
    ///
    /// - A check from one look read before the fleet knew how long tasks wait: the first
    ///   looks of a large fleet come before any task was seen twice, so each can only plan a
    ///   check within the cadence, and those checks would take the budget the remaining first
    ///   looks need. Once the fleet knows, the same look plans the end, without looking again.
    /// - A refinement of an end already known within [`CLOSE`] poll intervals, while first
    ///   looks wait for the budget (`short`): one look at the latest the end may come sees it
    ///   ended, and the refinement's look goes to a first look instead.
    pub fn replan(
        &mut self,
        fleet: &mut Fleet,
        cadence: Cadence,
        now: Instant,
        short: bool,
    ) -> Option<(Instant, Kind)> {
        let latest = self.last_seen?;
        if self.blind && fleet.shares().is_some() {
            self.blind = false;
            let e = self.estimate(latest, fleet)?;
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

    /// When an end known within [`CLOSE`] poll intervals comes at the latest.
    fn close(e: Estimate, cadence: Cadence, latest: Seen) -> Option<Instant> {
        let (lo, hi) = e.earliest.zip(e.latest)?;
        (hi.saturating_sub(lo) <= cadence.min * CLOSE).then(|| latest.at + hi)
    }

    /// The gap to the next look, and what it is for, from the estimate made at `latest`.
    fn gap_for(&self, e: Estimate, cadence: Cadence, latest: Seen) -> (Duration, Kind) {
        let elapsed = self
            .origin
            .map_or(Duration::ZERO, |o| latest.at.saturating_duration_since(o));
        let tolerance = (elapsed + e.remaining).mul_f64(TOLERANCE).max(cadence.min);
        let spread = match (e.earliest, e.latest) {
            (Some(lo), Some(hi)) => Some((hi.saturating_sub(lo), hi)),
            _ => None,
        };
        let precise = spread.is_some_and(|(s, _)| s <= tolerance);
        if precise || e.remaining <= cadence.max {
            // After a look that missed, the next one waits twice as long at least, so that a
            // task stuck at 99 % cannot take the whole budget.
            let floor = cadence.min * 2u32.pow(self.misses);
            let gap = e.remaining.mul_f64(1.0 + MARGIN);
            // A precise end is looked at when it comes at the latest: a look a moment too
            // early costs a look more and the back-off after it.
            let gap = match (precise, e.latest) {
                (true, Some(latest)) => gap.max(latest),
                _ => gap,
            };
            let gap = gap.max(floor).max(cadence.min);
            let gap = if precise { gap } else { gap.min(cadence.max) };
            (gap, Kind::Likely)
        } else if let Some(earliest) = e.earliest {
            // Far off and imprecise: refine just before the earliest possible end (and at
            // least halfway): the later the refinement, the more precise, and the likelier
            // the budget has room for it by then.
            let gap = e.remaining.mul_f64(0.5).min(earliest);
            let gap = gap.max(earliest.saturating_sub(cadence.min * 2));
            (gap.max(cadence.min), Kind::Check)
        } else {
            // Far off by one look, with nothing to bound it: a check within the cadence.
            (cadence.max, Kind::Check)
        }
    }

    /// The task was seen finished at `now`: the fleet learns how long it lived at most.
    pub fn finished(&self, fleet: &mut Fleet, now: Instant) {
        if let Some(origin) = self.origin {
            fleet.record_finished(now.saturating_duration_since(origin));
        }
    }

    /// Whether any look saw the task yet.
    pub fn looked(&self) -> bool {
        self.looked
    }

    /// When the first look at a task just accepted is worth making, if later than `now`.
    ///
    /// Not before the fleet's short tasks (its 10th percentile) would have ended, and at most
    /// `cap` after the acceptance: looking sooner mostly learns that the task is waiting or
    /// barely started, too little to plan its end. Until the fleet knows, now: holding the
    /// look back then would leave the budget idle while the first tasks may be ending (with
    /// 200 tasks of 2.5 to 7.5 s, a look held 12 s left 4 s of the budget unused while 70 of
    /// them ended).
    pub fn first_look(&self, fleet: &mut Fleet, now: Instant, cap: Duration) -> Option<Instant> {
        if self.looked {
            return None;
        }
        let origin = self.origin?;
        let life = fleet.short_life()?;
        Some(origin + life.min(cap)).filter(|at| *at > now)
    }

    /// Plans a look after a failed one (an error, a task not listed yet): back off.
    pub fn retry(&mut self, cadence: Cadence, now: Instant) -> (Instant, Kind) {
        let gap = self.backoff(cadence);
        self.plan(now, gap, self.unplanned())
    }

    /// What a look planned without an estimate is: a first look while the task was never
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

    /// The gap after a look that could not estimate the end. A task still waiting at `t`
    /// after its acceptance, in a fleet whose tasks wait at most a share `w` of their life,
    /// lives at least `t / w`: looking again before then (at most `cadence.max` later) cannot
    /// see it end, and sooner than that would most likely find it waiting again. Without a
    /// fleet yet, `w` is taken as one half. Otherwise (no acceptance seen, a task that moved):
    /// back off.
    fn waiting_gap(&self, fleet: &mut Fleet, cadence: Cadence, latest: Seen) -> Duration {
        let backoff = self.backoff(cadence);
        let waiting = latest.progress.is_none_or(|p| p == 0) && self.first_running.is_none();
        let (Some(origin), true) = (self.origin, waiting) else {
            return backoff;
        };
        let t = latest.at.saturating_duration_since(origin).as_secs_f64();
        // Before the fleet knows: a task that waited `t` is taken to wait as long again.
        let share = fleet.shares().map_or(0.5, |q| q.high).max(0.01);
        let alive = seconds(t / share - t);
        alive.min(cadence.max).max(backoff)
    }

    /// The soonest the task may be looked at again.
    pub fn not_before(&self, cadence: Cadence) -> Option<Instant> {
        self.last_at.map(|at| at + cadence.min)
    }

    /// The soonest a check of this task may go out before its time, when a backlog starts
    /// checks early (`None`: now). A task already seen running has an estimate, and looking
    /// sooner than it planned would most likely find it running again: a look before an end
    /// is the one a short budget cannot afford. So only first looks go early.
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

/// What the looks so far say about a task's end, from the latest look.
#[derive(Debug, Clone, Copy)]
struct Estimate {
    remaining: Duration,
    /// The soonest the task can end, when the looks bound its rate.
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
        assert!(
            got >= secs(lo) && got <= secs(hi),
            "{got:?} not in {lo}..{hi}"
        );
    }

    #[test]
    fn progress_predicts_the_end_and_the_look_just_after_is_likely() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        // Running since 20 s: 20 % at 30 s, 40 % at 40 s → 2 %/s, 60 % left → 30 s.
        let (_, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 30.0, 20));
        assert_eq!(kind, Kind::Check, "one look says little");
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 40.0, 40));
        assert_eq!(kind, Kind::Likely);
        within(at - (t0 + secs(40.0)), 30.0, 31.0);
    }

    #[test]
    fn a_far_end_is_refined_by_a_check_just_before_the_earliest_it_may_come() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        h.observed(&mut Fleet::default(), CADENCE, seen(t0, 10.0, 1));
        // 1 % → 5 % in 20 s: 0.2 %/s, 94.5 % left → 472.5 s, but at 0.25 %/s (5 % is
        // anything below 6 %) the task may end in 376 s: the check comes two of the cadence's
        // shortest gaps before that (half the remaining time, 236 s, would be a look more
        // before the end, when little has changed).
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 30.0, 5));
        assert_eq!(kind, Kind::Check);
        within(at - (t0 + secs(30.0)), 375.5, 375.7);
    }

    #[test]
    fn a_coarse_estimate_never_checks_after_the_earliest_possible_end() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        h.observed(&mut Fleet::default(), CADENCE, seen(t0, 10.0, 1));
        // 1 % → 2 % in 10 s: anywhere from 0.1 to 0.2 %/s, so the task may end in 485 s
        // (97 % at 0.2 %/s) although half the estimate is 487 s.
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 20.0, 2));
        assert_eq!(kind, Kind::Check);
        within(at - (t0 + secs(20.0)), 484.9, 485.1);
    }

    #[test]
    fn one_early_look_at_little_progress_plans_a_check_within_the_cadence() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(3.0));
        // 1 % three seconds after the acceptance: the task may have started just now and be
        // fast, or long ago and slow. Nothing is bounded: look again within the cadence.
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 3.0, 1));
        assert_eq!((at - (t0 + secs(3.0)), kind), (CADENCE.max, Kind::Check));
    }

    #[test]
    fn a_single_look_measures_from_the_acceptance_and_errs_late() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(10.0));
        // 50 % at 40 s since acceptance → 1.26 %/s → 39.2 s more (the truth, if the task
        // waited 10 s first, is 30 s): planned as a likely look, late rather than early.
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 40.0, 50));
        assert_eq!(kind, Kind::Likely);
        within(at - (t0 + secs(40.0)), 39.0, 41.0);
    }

    /// What a task of `life` seconds that waits `wait` of it shows at `t` (as the sandbox).
    fn progress_at(life: f64, wait: f64, t: f64) -> u8 {
        (((t - wait * life) / (life - wait * life)).clamp(0.0, 0.99) * 100.0) as u8
    }

    /// Teaches `fleet` with tasks of various lives that each wait `wait` of it.
    fn teach(fleet: &mut Fleet, wait: impl Fn(usize) -> f64) {
        let t0 = Instant::now();
        for i in 0..20 {
            let life = 100.0 + 10.0 * i as f64;
            let w = wait(i);
            let mut h = History::accepted(t0, secs(1.0));
            for t in [0.5 * life, 0.9 * life] {
                h.observed(fleet, CADENCE, seen(t0, t, progress_at(life, w, t)));
            }
        }
    }

    #[test]
    fn the_fleet_learns_the_waiting_share_from_two_looks_per_task() {
        let mut fleet = Fleet::default();
        assert_eq!(fleet.shares(), None);
        teach(&mut fleet, |_| 0.1);
        let q = fleet.shares().unwrap();
        assert!(
            (q.low - 0.1).abs() < 0.01 && (q.high - 0.1).abs() < 0.01,
            "{q:?}"
        );
    }

    #[test]
    fn a_fleet_that_agrees_makes_one_look_enough_to_plan_the_end() {
        let mut fleet = Fleet::default();
        teach(&mut fleet, |_| 0.1);
        // A 300 s task looked at once, at 120 s: far off (> cadence.max), but the fleet
        // says how long it waited, so the look is planned at its end (300 s), not before.
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(1.0));
        let (at, kind) = h.observed(
            &mut fleet,
            CADENCE,
            seen(t0, 120.0, progress_at(300.0, 0.1, 120.0)),
        );
        assert_eq!(kind, Kind::Likely);
        within(at - t0, 300.0, 310.0);
        // Without the fleet the same look only plans a check within the cadence.
        let mut h = History::accepted(t0, secs(1.0));
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 120.0, 40));
        assert_eq!((at - t0, kind), (secs(120.0) + CADENCE.max, Kind::Check));
    }

    #[test]
    fn first_looks_wait_for_the_short_lives_once_the_fleet_knows_them() {
        let t0 = Instant::now();
        let cap = secs(600.0);
        let h = History::accepted(t0, secs(1.0));
        let mut fleet = Fleet::default();
        let now = t0 + secs(1.0);
        assert_eq!(
            h.first_look(&mut fleet, now, cap),
            None,
            "a fleet that knows nothing looks now"
        );
        teach(&mut fleet, |_| 0.1); // lives of 100 s to 290 s: 10th percentile 120 s
        let at = h.first_look(&mut fleet, now, cap).unwrap();
        within(at - t0, 115.0, 125.0);
        assert_eq!(h.first_look(&mut fleet, at, cap), None, "due now");
        let capped = h.first_look(&mut fleet, t0, secs(60.0)).unwrap();
        assert_eq!(capped - t0, secs(60.0));
        // Tasks seen finished teach the fleet too (short ones may never show two looks).
        let mut quick = Fleet::default();
        for i in 0..8 {
            History::accepted(t0, secs(1.0)).finished(&mut quick, t0 + secs(10.0 + f64::from(i)));
        }
        let at = h.first_look(&mut quick, now, cap).unwrap();
        within(at - t0, 10.0, 11.0);
        // A task already looked at follows its own estimates.
        let mut seen_once = History::accepted(t0, secs(1.0));
        seen_once.observed(&mut fleet, CADENCE, seen(t0, 1.0, 0));
        assert_eq!(seen_once.first_look(&mut fleet, now, cap), None);
    }

    #[test]
    fn a_fleet_that_disagrees_gets_refined_before_the_end() {
        let mut fleet = Fleet::default();
        teach(&mut fleet, |i| if i % 2 == 0 { 0.05 } else { 0.4 });
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(1.0));
        let (at, kind) = h.observed(&mut fleet, CADENCE, seen(t0, 120.0, 40));
        assert_eq!(kind, Kind::Check, "too uncertain to plan the end");
        // Never after the earliest end the fleet allows (a task that waited 40 %).
        let p = 41.0 / 100.0;
        let earliest = 120.0 / (0.4 + 0.6 * p);
        assert!(at - t0 <= secs(earliest), "{:?} > {earliest}", at - t0);
    }

    #[test]
    fn without_progress_it_backs_off_within_bounds() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(2.0));
        let waiting = |s| Seen {
            at: t0 + secs(s),
            progress: None,
        };
        let (at, kind) = h.observed(&mut Fleet::default(), CADENCE, waiting(2.0));
        assert_eq!(
            (at - (t0 + secs(2.0)), kind),
            (secs(3.0), Kind::First),
            "not yet seen running: a first look again"
        );
        let mut h = History {
            last_gap: secs(59.0),
            ..History::default()
        };
        assert_eq!(
            h.observed(&mut Fleet::default(), CADENCE, waiting(0.0)).0 - t0,
            secs(60.0)
        );
        let mut h = History::default();
        assert_eq!(h.retry(CADENCE, t0).0 - t0, secs(0.2), "never below min");
    }

    #[test]
    fn a_task_still_waiting_is_looked_at_again_when_the_fleet_says_it_can_run() {
        let mut fleet = Fleet::default();
        teach(&mut fleet, |_| 0.1);
        let t0 = Instant::now();
        let waiting = |s| Seen {
            at: t0 + secs(s),
            progress: Some(0),
        };
        // Waiting 2 s after its acceptance, in a fleet that waits a tenth of its life: it lives
        // about 20 s at least, so the next look is about 18 s later, not the back-off's 3 s...
        let mut h = History::accepted(t0, secs(2.0));
        let (at, kind) = h.observed(&mut fleet, CADENCE, waiting(2.0));
        assert_eq!(kind, Kind::First);
        within(at - t0, 19.0, 22.0);
        // ...but never more than the cadence's longest gap.
        let mut h = History::accepted(t0, secs(2.0));
        let (at, _) = h.observed(&mut fleet, CADENCE, waiting(30.0));
        assert_eq!(at - t0, secs(30.0) + CADENCE.max);
        // Without a fleet, a task that waited 8 s is taken to wait 8 s more.
        let mut h = History::accepted(t0, secs(2.0));
        let (at, _) = h.observed(&mut Fleet::default(), CADENCE, waiting(8.0));
        assert_eq!(at - t0, secs(16.0));
        // Once seen running, the task is tracked by its estimates, in checks.
        let mut h = History::accepted(t0, secs(2.0));
        h.observed(&mut fleet, CADENCE, seen(t0, 20.0, 5));
        let (_, kind) = h.observed(&mut Fleet::default(), CADENCE, waiting(21.0));
        assert_eq!(kind, Kind::Check);
    }

    #[test]
    fn likely_looks_that_keep_missing_back_off_then_become_checks() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(1.0));
        h.observed(&mut Fleet::default(), CADENCE, seen(t0, 10.0, 50));
        let (mut at, kind) = h.observed(&mut Fleet::default(), CADENCE, seen(t0, 20.0, 98));
        assert_eq!(kind, Kind::Likely);
        let mut gaps = Vec::new();
        let mut kinds = Vec::new();
        for _ in 0..4 {
            // Stuck at 99 %.
            let now = at;
            let (next, kind) = h.observed(
                &mut Fleet::default(),
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
        assert_eq!(
            kinds[2],
            Kind::Check,
            "distrusted after {MAX_MISSES} misses"
        );
    }

    /// The benchmark's cadence at a 1 s poll interval.
    const BENCH: Cadence = Cadence {
        min: Duration::from_secs(1),
        max: Duration::from_secs(12),
    };

    #[test]
    fn a_check_planned_before_the_fleet_knew_is_planned_again_once_it_knows() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(2.0));
        // A 100 s task that waits 10 s, seen once at 30 s: without the fleet, a check 12 s on.
        let look = seen(t0, 30.0, progress_at(100.0, 0.1, 30.0));
        let (at, kind) = h.observed(&mut Fleet::default(), BENCH, look);
        assert_eq!((at - t0, kind), (secs(42.0), Kind::Check));
        // Nothing new while the fleet still knows nothing: look as planned.
        assert_eq!(h.replan(&mut Fleet::default(), BENCH, at, true), None);
        // Once it knows, the same look plans far past that check, near the end (100 s).
        let mut fleet = Fleet::default();
        teach(&mut fleet, |_| 0.1);
        let (again, _) = h
            .replan(&mut fleet, BENCH, at, false)
            .expect("planned again");
        within(again - t0, 90.0, 102.0);
        assert_eq!(h.replan(&mut fleet, BENCH, at, false), None, "once");
    }

    #[test]
    fn a_refinement_of_an_end_known_closely_is_skipped_while_first_looks_wait() {
        let mut fleet = Fleet::default();
        teach(&mut fleet, |_| 0.1);
        let t0 = Instant::now();
        // A 50 s task seen at 10 s: its end is known within about 2 s, more than 3 % of its
        // life, so a refinement is planned before the earliest end, about 36 s later.
        let look = seen(t0, 10.0, progress_at(50.0, 0.1, 10.0));
        let mut h = History::accepted(t0, secs(2.0));
        let (check, kind) = h.observed(&mut fleet, BENCH, look);
        assert_eq!(kind, Kind::Check);
        within(check - t0, 40.0, 48.0);
        let planned = h.clone();
        // With the budget free, the refinement goes as planned...
        assert_eq!(h.replan(&mut fleet, BENCH, check, false), None);
        // ...but while first looks wait for it, one look at the latest the end may come.
        let mut h = planned;
        let (at, kind) = h
            .replan(&mut fleet, BENCH, check, true)
            .expect("the end is looked at instead");
        assert_eq!(kind, Kind::Likely);
        within(at - t0, 50.0, 52.5);
    }

    #[test]
    fn a_precise_end_is_looked_at_when_it_comes_at_the_latest() {
        let t0 = Instant::now();
        let mut h = History::accepted(t0, secs(1.0));
        // 20 % at 30 s, 60 % at 70 s: 1 %/s, anywhere from 40/41 to 40/39 %/s: the end is
        // 39.5 s away by the rate, 41 s at the latest: the look goes at the latest.
        h.observed(&mut Fleet::default(), BENCH, seen(t0, 30.0, 20));
        let (at, kind) = h.observed(&mut Fleet::default(), BENCH, seen(t0, 70.0, 60));
        assert_eq!(kind, Kind::Likely);
        within(at - (t0 + secs(70.0)), 41.0, 41.1);
    }
}
