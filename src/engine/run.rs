//! The apply loop: submit batches within the bounds, reconcile what is in doubt, track every
//! task to its end, journal everything, and stop cleanly on Ctrl-C, `--timeout` or an
//! authentication failure. One task owns all state; requests run as futures it polls.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use chrono::{FixedOffset, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};

use super::journal::{Journal, Record};
use super::prepare::Work;
use super::protocol::{Error, ErrorClass, JobHandle, Protocol, Surveyed, Task, TaskState};
use super::reconcile;
use super::schedule::{Cadence, History, Kind, Lifespans, Pacer, PollQueue, Seen};
use super::state::{RunState, Status};
use crate::api::rollback::InstanceRollback;

/// How long a task's observed progress or end may wait to be journaled, so that one fsync
/// covers the answers of several polls (at 20 polls a second, about four): what `status`
/// and `cancel` read of the journal is at most this late.
pub const OBSERVATIONS_WAIT: Duration = Duration::from_millis(200);

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct Options {
    /// Submissions in flight at once.
    pub concurrency: usize,
    pub cadence: Cadence,
    /// First poll of a task after its submission was accepted.
    pub first_poll: Duration,
    /// Wait before looking for the job of a submission whose outcome is unknown, so that
    /// the API lists it if it was accepted.
    pub settle: Duration,
    /// How long to wait for a task of someone else to end (9592) before failing the instance.
    pub busy_wait: Duration,
    /// Refusals worth another try (e.g. 9006) are retried this many times.
    pub submit_retries: u32,
    /// First delay before such a retry; it doubles with each attempt (at most a minute),
    /// with jitter so that refused calls do not come back in step.
    pub retry_base: Duration,
    /// A task not listed this long after its submission is failed.
    pub missing_after: Duration,
    pub timeout: Option<Duration>,
    /// The instances' clock, to read task start times.
    pub offset: FixedOffset,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            concurrency: 4,
            cadence: Cadence {
                min: Duration::from_secs(2),
                max: Duration::from_secs(60),
            },
            first_poll: Duration::from_secs(5),
            settle: Duration::from_secs(5),
            busy_wait: Duration::from_secs(600),
            submit_retries: 5,
            retry_base: Duration::from_secs(2),
            missing_after: Duration::from_secs(600),
            timeout: None,
            offset: FixedOffset::east_opt(8 * 3600)
                .unwrap_or_else(|| unreachable!("+08:00 is valid")),
        }
    }
}

/// What the engine tells whoever draws progress.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Submitting {
        batch: u64,
        instances: Vec<String>,
    },
    Accepted {
        batch: u64,
        instances: Vec<String>,
        job: JobHandle,
    },
    Split {
        batch: u64,
        reason: String,
    },
    Unknown {
        batch: u64,
        reason: String,
    },
    Adopted {
        instance: String,
        job: JobHandle,
    },
    Resubmitting {
        instances: Vec<String>,
    },
    Busy {
        instance: String,
        retry_in: Duration,
    },
    Retrying {
        instances: Vec<String>,
        reason: String,
        retry_in: Duration,
    },
    Rejected {
        instance: String,
        reason: String,
    },
    /// Transient refusals outlasted the retries: left pending for the next apply.
    GaveUp {
        instances: Vec<String>,
        reason: String,
    },
    /// A poll of an instance's task could not see it (an error, nothing listed, a listing
    /// that cannot tell): the heartbeat shows the latest.
    PollFailed {
        instance: String,
        reason: String,
    },
    State {
        instance: String,
        state: TaskState,
        progress: Option<u8>,
        /// What a self-hosted restore is doing (its phase, and how far into it in bytes or
        /// rows); `None` for cloud tasks.
        detail: Option<String>,
    },
    Finished {
        instance: String,
        status: Status,
        message: Option<String>,
    },
}

/// How a run ended.
#[derive(Debug)]
pub enum Ending {
    /// Every instance reached a final state.
    Complete,
    /// Ctrl-C: in-flight submissions were finished and journaled; resumable.
    Interrupted,
    /// `--timeout` ran out; resumable.
    TimedOut,
    /// Authentication or permission failure: nothing more can be done.
    Stopped(Error),
    /// The journal could not be written: stopping is the only safe move.
    Journal(std::io::Error),
}

/// Errors worth polling again after: transport, 5xx, rate limit, internal errors, and the
/// "try later" codes of a busy back end.
fn transient(e: &Error) -> bool {
    matches!(
        e.class(),
        ErrorClass::Retry | ErrorClass::Resign | ErrorClass::OutcomeUnknown | ErrorClass::Busy
    )
}

/// `base · 2^attempt`, at most a minute, times a random factor in [0.5, 1).
fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(Duration::from_secs(60));
    full.mul_f64(rand::random_range(0.5..1.0))
}

/// A submission waiting in the queue.
#[derive(Debug, Clone)]
struct Pending {
    ids: Vec<usize>,
    region: Option<String>,
    not_before: Instant,
    attempt: u32,
    busy_since: Option<Instant>,
}

type Boxed = Pin<Box<dyn Future<Output = Done> + Send>>;

enum Done {
    Submitted {
        batch: u64,
        job: Pending,
        result: Result<JobHandle, Error>,
    },
    Reconciled {
        batch: u64,
        ids: Vec<usize>,
        /// In-doubt rounds so far (bounds resubmissions that keep ending in doubt).
        round: u32,
        /// Polls in a row that found no task.
        empty: u8,
        results: Vec<(usize, Result<reconcile::Finding, Error>)>,
    },
    BusyChecked {
        /// The submission refused busy (its instance's latest).
        batch: u64,
        job: Pending,
        /// What runs on the instance, in words, once the wait is over.
        result: Result<Option<String>, Error>,
    },
    Polled {
        idx: usize,
        result: Result<reconcile::Tracked, Error>,
    },
    Surveyed {
        region: Option<String>,
        result: Result<Vec<Surveyed>, Error>,
    },
    /// What the API said of a successful task's new objects (`tries` so far, this one
    /// included).
    Verified {
        idx: usize,
        tries: u32,
        result: Result<super::verify::Verdict, Error>,
    },
}

/// One instance of the run, at its plan position (that of `state.instances`, which the
/// journal's fold owns): what is sent for it, where, and how it is being tracked.
#[derive(Debug, Clone)]
struct Rollback {
    request: InstanceRollback,
    region: Option<String>,
    tracking: Tracking,
}

/// Per-instance tracking memory (not journaled: rebuilt by polling).
#[derive(Debug, Clone, Default)]
struct Tracking {
    history: History,
    polling: bool,
    missing_since: Option<Instant>,
    /// A survey speaks for this instance: it has no polls of its own meanwhile.
    surveyed: bool,
    /// Surveys in a row that did not list it.
    unlisted: u8,
    /// Its next poll confirms what a survey said: it goes at once, not deferred as a first
    /// poll would be.
    confirm: bool,
    /// The detail last told of a self-hosted restore (its phase and how far into it).
    detail: Option<String>,
}

pub struct Engine<P: Protocol> {
    protocol: Arc<P>,
    /// `rollbacks[i]` is `state.instances[i]`'s.
    rollbacks: Vec<Rollback>,
    /// `submission_of[i]`: which prepared submission `rollbacks[i]` belongs to (an index into
    /// the order they were prepared in); what is left of one is sent together.
    submission_of: Vec<usize>,
    opts: Options,
    journal: Journal,
    state: RunState,
    events: mpsc::UnboundedSender<Event>,
    queue: VecDeque<Pending>,
    inflight: FuturesUnordered<Boxed>,
    submitting: usize,
    polls: PollQueue,
    /// The engine's pacing of polls, at the status action's rate.
    pacer: Pacer,
    /// Polls in flight.
    polling: usize,
    /// Verifications in flight: counted apart from the polls, so that a verification waiting
    /// for its action's budget (DescribeTables, which the preflight spends too) never holds a
    /// poll's place; the client's per-action budgets keep the two apart on the wire.
    verifying_now: usize,
    /// What this run's tasks taught about how tasks progress.
    lifespans: Lifespans,
    /// Listings that speak for many instances at once (API 3.0).
    surveys: survey::Surveys,
    /// Observations not journaled yet ([`Engine::buffer`]), and since when the oldest waits.
    buffered: Vec<Record>,
    buffered_since: Option<Instant>,
    /// The code of the latest "a task is running" answer (9592, API 3.0's conflict code).
    busy_code: Option<String>,
    /// Instances whose task reported success, waiting for their new objects to be looked
    /// for: when, which, and how many polls so far.
    verifying: VecDeque<(Instant, usize, u32)>,
    /// The preflight's verdicts when it overlaps the run ([`super::gate`]); `None` when it
    /// ran before (or not at all).
    gate: Option<super::gate::Gate>,
    /// What `planrun cancel` journaled, read as the journal grows.
    stops: track::Stops,
    /// The regions of the run's instances, once each: polls go at their budgets' rates.
    regions: Vec<Option<String>>,
}

impl<P: Protocol> Engine<P> {
    /// `work.rollbacks[i]` describes `state.instances[i]` (plan order); they are taken apart
    /// into one `Rollback` per instance here, once. `work.submissions` are the calls as prepared.
    pub fn new(
        protocol: Arc<P>,
        work: Work,
        opts: Options,
        journal: Journal,
        state: RunState,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        assert_eq!(
            work.rollbacks.len(),
            state.instances.len(),
            "one request (with its region) per instance of the run"
        );
        let mut submission_of = vec![usize::MAX; work.rollbacks.len()];
        for (n, ids) in work.submissions.iter().enumerate() {
            for &i in ids {
                submission_of[i] = n;
            }
        }
        assert!(
            !submission_of.contains(&usize::MAX),
            "every instance of the run is in a prepared submission"
        );
        let mut regions: Vec<Option<String>> = Vec::new();
        for (_, region) in &work.rollbacks {
            if !regions.contains(region) {
                regions.push(region.clone());
            }
        }
        let rollbacks = work
            .rollbacks
            .into_iter()
            .map(|(request, region)| Rollback {
                request,
                region,
                tracking: Tracking::default(),
            })
            .collect();
        let surveys = survey::Surveys::new(state.instances.iter().map(|s| s.id.as_str()));
        Self {
            protocol,
            rollbacks,
            submission_of,
            opts,
            journal,
            state,
            events,
            queue: VecDeque::new(),
            inflight: FuturesUnordered::new(),
            submitting: 0,
            polls: PollQueue::default(),
            pacer: Pacer::default(),
            polling: 0,
            verifying_now: 0,
            lifespans: Lifespans::default(),
            surveys,
            buffered: Vec::new(),
            buffered_since: None,
            busy_code: None,
            verifying: VecDeque::new(),
            gate: None,
            stops: track::Stops::default(),
            regions,
        }
    }

    /// Submits the instances `gate` holds only as the preflight passes them ([`super::gate`]).
    #[must_use]
    pub fn gated(mut self, gate: super::gate::Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn into_state(self) -> RunState {
        self.state
    }

    /// The journal it writes (tests count its fsyncs).
    #[cfg(test)]
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    fn emit(&self, event: Event) {
        // Nobody listening (tests, a closed terminal) is fine.
        let _ = self.events.send(event);
    }

    /// Journals a record at once (fsync) and folds it into the state.
    fn write(&mut self, record: Record) -> std::io::Result<()> {
        self.flush()?;
        self.journal.append(&record)?;
        self.state.apply(&record);
        Ok(())
    }

    /// Queues an observation (a task's progress or end), written with the next flush: at the
    /// latest [`OBSERVATIONS_WAIT`] later, and before any intent or submission outcome. One
    /// fsync then covers the answers of many polls. A crash loses at most that much of what
    /// was seen, never what was sent: the next run polls again.
    fn buffer(&mut self, record: Record) {
        self.state.apply(&record);
        self.buffered.push(record);
        self.buffered_since.get_or_insert_with(Instant::now);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let records = std::mem::take(&mut self.buffered);
        self.buffered_since = None;
        self.journal.append_all(&records)
    }

    /// When the buffered observations must be written.
    fn flush_due(&self) -> Option<Instant> {
        self.buffered_since.map(|since| since + OBSERVATIONS_WAIT)
    }

    fn ids(&self, idx: &[usize]) -> Vec<String> {
        idx.iter()
            .map(|&i| self.state.instances[i].id.clone())
            .collect()
    }

    /// Runs until every instance is final, or Ctrl-C (`cancel` turns true), the timeout, or a
    /// failure that stops everything.
    pub async fn run(&mut self, mut cancel: watch::Receiver<bool>) -> Ending {
        match self.run_inner(&mut cancel).await {
            Ok(ending) => ending,
            Err(e) => Ending::Journal(e),
        }
    }

    async fn run_inner(&mut self, cancel: &mut watch::Receiver<bool>) -> std::io::Result<Ending> {
        let started = Instant::now();
        let deadline = self.opts.timeout.map(|t| started + t);
        self.resume(started);
        let mut cancelled = *cancel.borrow();
        // A dropped sender means nobody can interrupt any more: not a cancel, and not a
        // branch to wake on again (`changed()` would answer at once, forever: a busy loop).
        let mut listening = !cancelled;
        loop {
            let now = Instant::now();
            if !cancelled {
                self.launch_submissions(now)?;
            }
            self.launch_polls(now);
            self.launch_verifications(now);
            self.launch_surveys(now);
            if self.flush_due().is_some_and(|due| due <= now) {
                self.flush()?;
            }
            if cancelled && self.submitting == 0 {
                self.flush()?;
                return Ok(Ending::Interrupted);
            }
            let idle = self.polls.is_empty()
                && self.surveys.watched == 0
                && self.verifying.is_empty()
                && !self.awaits_verdicts();
            if self.queue.is_empty() && self.inflight.is_empty() && idle {
                if self.state.all_final() {
                    self.write(Record::Complete { at: Utc::now() })?;
                }
                self.flush()?;
                return Ok(Ending::Complete);
            }
            let wake = self.next_wake(now + Duration::from_secs(3600));
            let timeout_at = deadline.unwrap_or(now + Duration::from_secs(86_400 * 365));
            tokio::select! {
                Some(done) = self.inflight.next() => {
                    if let Some(ending) = self.handle(done)? {
                        self.flush()?;
                        return Ok(ending);
                    }
                }
                () = tokio::time::sleep_until(wake) => {}
                verdict = Self::verdict(self.gate.as_mut()), if self.awaits_verdicts() => {
                    self.judged(verdict)?;
                }
                changed = cancel.changed(), if listening => {
                    match changed {
                        Ok(()) => cancelled = *cancel.borrow(),
                        Err(_) => listening = false,
                    }
                    listening &= !cancelled;
                }
                () = tokio::time::sleep_until(timeout_at), if deadline.is_some() => {
                    let instances: Vec<String> = self
                        .state
                        .instances
                        .iter()
                        .filter(|s| !s.status.is_final())
                        .map(|s| s.id.clone())
                        .collect();
                    if instances.is_empty() {
                        self.flush()?;
                    } else {
                        self.write(Record::TimedOut { instances, at: Utc::now() })?;
                    }
                    return Ok(Ending::TimedOut);
                }
            }
        }
    }

    /// Sets up work from the replayed state: reconcile what is in doubt, poll what was
    /// submitted, queue what never left.
    fn resume(&mut self, now: Instant) {
        let mut doubt: HashMap<u64, (chrono::DateTime<Utc>, Vec<usize>)> = HashMap::new();
        let mut pending = Vec::new();
        for (i, s) in self.state.instances.iter().enumerate() {
            if let Some((batch, at)) = s.in_doubt {
                doubt.entry(batch).or_insert((at, Vec::new())).1.push(i);
            } else if s.status.is_final() {
            } else if s.job.is_some() && s.task_state == Some(TaskState::Succeeded) {
                // Its task said success before the last run could see its new objects.
                self.verifying.push_back((now, i, 0));
            } else if s.job.is_some() {
                self.polls.push(now, i, Kind::First);
            } else if !self
                .gate
                .as_mut()
                .is_some_and(|g| g.holds(&self.state.instances[i].id, i, self.submission_of[i]))
            {
                pending.push(i);
            }
        }
        let mut batches: Vec<_> = doubt.into_iter().collect();
        batches.sort_by_key(|(b, _)| *b);
        for (batch, (at, ids)) in batches {
            let elapsed = (Utc::now() - at).to_std().unwrap_or_default();
            self.reconcile(batch, ids, self.opts.settle.saturating_sub(elapsed), 0);
        }
        self.enqueue(&pending, now, 0, true);
    }

    /// Queues instances as what is left of their prepared submissions, in the order they
    /// were prepared: a call is never recomputed ([`super::prepare`]).
    fn enqueue(&mut self, idx: &[usize], not_before: Instant, attempt: u32, back: bool) {
        let mut left: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for &i in idx {
            left.entry(self.submission_of[i]).or_default().push(i);
        }
        let mut jobs: Vec<Pending> = left
            .into_values()
            .map(|ids| Pending {
                region: self.rollbacks[ids[0]].region.clone(),
                ids,
                not_before,
                attempt,
                busy_since: None,
            })
            .collect();
        if back {
            self.queue.extend(jobs);
        } else {
            while let Some(job) = jobs.pop() {
                self.queue.push_front(job);
            }
        }
    }

    fn next_wake(&self, fallback: Instant) -> Instant {
        let poll = if self.polling < self.poll_slots() {
            self.polls
                .next_due(self.poll_rate())
                .map(|due| self.pacer.ready_at().map_or(due, |r| r.max(due)))
        } else {
            None
        };
        let submit = if self.submitting < self.opts.concurrency {
            self.queue.iter().map(|j| j.not_before).min()
        } else {
            None
        };
        let verify = (self.verifying_now < self.opts.concurrency.max(1))
            .then(|| self.verifying.iter().map(|(at, ..)| *at).min())
            .flatten();
        [
            poll,
            submit,
            verify,
            self.survey_wake(Instant::now()),
            self.flush_due(),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(fallback)
    }

    fn handle(&mut self, done: Done) -> std::io::Result<Option<Ending>> {
        match done {
            Done::Submitted { batch, job, result } => {
                self.submitting -= 1;
                self.submitted(batch, job, result)
            }
            Done::Reconciled {
                batch,
                ids,
                round,
                empty,
                results,
            } => self.reconciled(batch, ids, (round, empty), results),
            Done::BusyChecked { batch, job, result } => self.busy_checked(batch, job, result),
            Done::Polled { idx, result } => self.polled(idx, result),
            Done::Surveyed { region, result } => Ok(self.surveyed(region, result)),
            Done::Verified { idx, tries, result } => self.verified(idx, tries, result),
        }
    }
}

mod check;
mod doubt;
mod gated;
mod submit;
mod survey;
mod track;

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "run_fake.rs"]
mod fake;

#[cfg(test)]
#[path = "run_pacing_tests.rs"]
mod pacing_tests;

#[cfg(test)]
#[path = "run_survey_tests.rs"]
mod survey_tests;

#[cfg(test)]
#[path = "run_gate_tests.rs"]
mod gate_tests;
