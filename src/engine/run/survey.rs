//! Surveys (API 3.0): one listing of the run's tasks, on its own budget, says which instances
//! are likely finished; each of those is then confirmed with a poll of its own.
//!
//! While an instance is surveyed it has no polls of its own: a poll before its end would be
//! spent for nothing, and the listing costs a call per hundred tasks, however many are
//! still running. An instance goes back to polls of its own when the listing cannot speak
//! for it alone (one item per submission, naming several instances, while it runs), when the
//! listing leaves it out for a few surveys in a row, or when the API refuses the listing.

use super::*;

/// Ends a survey should find per call it costs: the listing then costs roughly 1 / 3.5 = 0.29
/// calls per instance whatever the run's size (at 2.5, 0.52 was measured at N = 1,000, where
/// ends come unevenly: BENCHMARKS.md). The gap between surveys follows from it and the rate
/// at which recent surveys found ends; a longer gap is a longer detection lag.
const ENDS_PER_CALL: f64 = 3.5;

/// Items per answer of the listing (its `Limit`), to count what a survey costs.
const ITEMS_PER_CALL: usize = 100;

/// Surveys in a row that may leave a surveyed instance out before it gets polls of its own.
const MAX_UNLISTED: u8 = 3;

/// The survey's bookkeeping.
#[derive(Debug, Default)]
pub(super) struct Surveys {
    /// Instances waiting for a survey to say that their task ended.
    pub(super) watched: usize,
    /// Regions whose listing is being read now.
    in_flight: usize,
    /// When the next survey may start (`None`: no survey planned yet).
    next: Option<Instant>,
    /// When the survey in flight (or the last one) started, and the one before it: the
    /// ends a survey finds came in between.
    started: Option<Instant>,
    previous: Option<Instant>,
    /// Ends found per second by recent surveys (`None` until one found any).
    found_rate: Option<f64>,
    /// Calls the last survey cost.
    calls: usize,
    /// Confirming polls planned and not yet sent.
    pub(super) confirming: usize,
    /// The API refused the listing for good: every instance has polls of its own.
    off: bool,
    /// Tasks started from here on are listed (the run's start less the clock skew, in the
    /// instances' clock).
    since: Option<chrono::DateTime<FixedOffset>>,
    /// Instance id → index in the run.
    index: HashMap<String, usize>,
}

impl Surveys {
    pub(super) fn new<'a>(ids: impl Iterator<Item = &'a str>) -> Self {
        Self {
            index: ids.enumerate().map(|(i, id)| (id.to_owned(), i)).collect(),
            ..Self::default()
        }
    }

    /// When the engine must wake for the next survey, if one is due at all. While the
    /// confirming polls already found keep the poll budget busy, a survey waits: it would
    /// find ends that could not be confirmed sooner anyway. It starts when they are about to
    /// run out, early enough for its answer (`calls` at `rate`) to come in time.
    pub(super) fn wake(&self, now: Instant, poll_rate: f64, list_rate: f64) -> Option<Instant> {
        let next = self
            .next
            .filter(|_| self.watched > 0 && self.in_flight == 0)?;
        let drain = seconds(self.confirming as f64, poll_rate);
        let answer = seconds(self.calls.max(1) as f64, list_rate);
        Some(next.max(now + drain.saturating_sub(answer)))
    }

    /// Plans the next survey after one that found `found` ends and cost `calls` calls.
    fn plan(&mut self, found: usize, calls: usize, cadence: Cadence) {
        let Some(started) = self.started else {
            return;
        };
        self.calls = calls;
        let since = self
            .previous
            .unwrap_or_else(|| started.checked_sub(cadence.min).unwrap_or(started));
        let span = started
            .saturating_duration_since(since)
            .as_secs_f64()
            .max(1e-3);
        let sample = found as f64 / span;
        self.found_rate = match self.found_rate {
            None if found == 0 => None,
            None => Some(sample),
            Some(r) => Some(0.5 * r + 0.5 * sample),
        };
        let gap = match self.found_rate {
            // Nothing ended yet: poll out for the first ends every poll interval.
            None => cadence.min,
            Some(r) => Duration::from_secs_f64(ENDS_PER_CALL * calls.max(1) as f64 / r.max(1e-3))
                .clamp(cadence.min / 2, cadence.max),
        };
        self.next = Some(started + gap);
    }
}

/// Time for `n` requests at `rate` a second (zero at an unbounded rate).
fn seconds(n: f64, rate: f64) -> Duration {
    if rate.is_finite() && rate > 0.0 {
        Duration::from_secs_f64(n / rate)
    } else {
        Duration::ZERO
    }
}

/// Whether a refused listing may be asked again (else the API does not offer it here).
fn for_now(e: &Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Retry | ErrorClass::Resign | ErrorClass::OutcomeUnknown | ErrorClass::Busy
    )
}

impl<P: Protocol> Engine<P> {
    /// Starts tracking accepted instances: by survey where the API offers one, else with a
    /// first poll of their own.
    pub(super) fn watch(&mut self, ids: &[usize], now: Instant) {
        // A self-hosted restore is no cloud task: no listing speaks for it.
        let (local, ids): (Vec<usize>, Vec<usize>) = ids
            .iter()
            .partition(|&&i| crate::engine::local::is_local(self.rollbacks[i].region.as_deref()));
        for i in local {
            self.polls.push(now + self.opts.first_poll, i, Kind::First);
        }
        if !self.protocol.surveys() || self.surveys.off {
            for i in ids {
                self.polls.push(now + self.opts.first_poll, i, Kind::First);
            }
            return;
        }
        let offset = self.opts.offset;
        self.surveys
            .since
            .get_or_insert_with(|| (Utc::now() - reconcile::CLOCK_SKEW).with_timezone(&offset));
        self.surveys.next.get_or_insert(now + self.opts.first_poll);
        for i in ids {
            if !self.rollbacks[i].tracking.surveyed {
                self.rollbacks[i].tracking.surveyed = true;
                self.rollbacks[i].tracking.unlisted = 0;
                self.surveys.watched += 1;
            }
        }
    }

    /// Starts the survey when it is due: one listing per region with surveyed instances.
    pub(super) fn launch_surveys(&mut self, now: Instant) {
        let due = self.survey_wake(now).is_some_and(|at| at <= now);
        let Some(since) = self.surveys.since.filter(|_| due) else {
            return;
        };
        let mut regions: Vec<Option<String>> = Vec::new();
        for rollback in &self.rollbacks {
            if rollback.tracking.surveyed && !regions.contains(&rollback.region) {
                regions.push(rollback.region.clone());
            }
        }
        self.surveys.previous = self.surveys.started.replace(now);
        for region in regions {
            self.surveys.in_flight += 1;
            let protocol = Arc::clone(&self.protocol);
            self.inflight.push(Box::pin(async move {
                let result = protocol.survey(region.as_deref(), since).await;
                Done::Surveyed { region, result }
            }));
        }
    }

    /// When the next survey is due (see [`Surveys::wake`]).
    pub(super) fn survey_wake(&self, now: Instant) -> Option<Instant> {
        let list_rate = self.protocol.survey_rate();
        self.surveys.wake(now, self.poll_rate(), list_rate)
    }

    /// Reads a region's listing: finished tasks get their confirming poll at once.
    pub(super) fn surveyed(
        &mut self,
        region: Option<String>,
        result: Result<Vec<Surveyed>, Error>,
    ) -> Option<Ending> {
        let now = Instant::now();
        self.surveys.in_flight -= 1;
        let items = match result {
            Ok(items) => items,
            Err(e) if e.class() == ErrorClass::StopRun => return Some(Ending::Stopped(e)),
            // Refused for now: it listed nothing, so those it watches count one survey that
            // left them out (a listing that keeps failing hands them back to polls).
            Err(e) if for_now(&e) => Vec::new(),
            Err(_) => {
                self.surveys.off = true;
                for i in 0..self.rollbacks.len() {
                    if self.rollbacks[i].tracking.surveyed {
                        self.release(i, Kind::Check, now);
                    }
                }
                return None;
            }
        };
        let mut listed = vec![false; self.rollbacks.len()];
        let confirming = self.surveys.confirming;
        for item in &items {
            for id in &item.instances {
                let Some(&i) = self.surveys.index.get(id) else {
                    continue;
                };
                let ours = self.rollbacks[i].tracking.surveyed
                    && self.rollbacks[i].region == region
                    && item.job.is_some()
                    && self.state.instances[i].job == item.job;
                if !ours {
                    continue;
                }
                listed[i] = true;
                if item.state.is_terminal() {
                    self.release(i, Kind::Likely, now);
                } else if item.instances.len() > 1 {
                    // One item for the whole submission: it cannot say when this one ends.
                    self.release(i, Kind::Check, now);
                } else {
                    self.rollbacks[i].tracking.unlisted = 0;
                    self.note_state(i, &item.state, item.progress, None);
                }
            }
        }
        for (i, seen) in listed.into_iter().enumerate() {
            let rollback = &mut self.rollbacks[i];
            let t = &mut rollback.tracking;
            if seen || !t.surveyed || rollback.region != region {
                continue;
            }
            t.unlisted += 1;
            if t.unlisted >= MAX_UNLISTED {
                self.release(i, Kind::Check, now);
            }
        }
        let found = self.surveys.confirming - confirming;
        let calls = items.len().div_ceil(ITEMS_PER_CALL);
        self.surveys.plan(found, calls, self.opts.cadence);
        None
    }

    /// Hands a surveyed instance back to polls of its own: a confirming poll at once
    /// (`Likely`), or a check planned as for any task.
    fn release(&mut self, idx: usize, kind: Kind, now: Instant) {
        let t = &mut self.rollbacks[idx].tracking;
        t.surveyed = false;
        t.confirm = kind == Kind::Likely;
        self.surveys.watched -= 1;
        self.surveys.confirming += usize::from(t.confirm);
        self.polls.push(now, idx, kind);
    }
}
