//! Tracking: polling each task near its expected end and recording how it ends.

use super::*;
use crate::engine::journal::Want;
use crate::engine::reconcile::Tracked;

/// A first poll waits for the run's short tasks to end, but at most this many times the
/// cadence's longest gap after the acceptance.
const FIRST_POLL_CAP: u32 = 5;

impl<P: Protocol> Engine<P> {
    /// Polls that may be in flight at once: every connection slot but one while submissions
    /// remain, so that a submission never waits behind polls.
    pub(super) fn poll_slots(&self) -> usize {
        let submitting = self.submitting > 0 || !self.queue.is_empty();
        let all = self.opts.concurrency.max(1);
        if submitting { (all - 1).max(1) } else { all }
    }

    /// Sends the most valuable due polls, as many as the pacing and the slots allow.
    /// Polls per second in all: each region's budget where regions have their own.
    pub(super) fn poll_rate(&self) -> f64 {
        self.protocol.poll_rate_over(&self.regions)
    }

    pub(super) fn launch_polls(&mut self, now: Instant) {
        let slots = self.poll_slots();
        let rate = self.poll_rate();
        while self.polling < slots && self.pacer.ready_at().is_none_or(|r| r <= now) {
            let (instances, cadence) = (&self.rollbacks, self.opts.cadence);
            let cap = self.opts.cadence.max * FIRST_POLL_CAP;
            // A check taken early (a backlog) waits until this time: see `early_from`.
            let not_before = |i: usize| instances[i].tracking.history.early_from(cadence);
            let Some((idx, early)) = self.polls.pop_due(now, rate, not_before) else {
                break;
            };
            let s = &self.state.instances[idx];
            let (Some(job), false) = (s.job.clone(), s.status.is_final()) else {
                continue;
            };
            if self.rollbacks[idx].tracking.polling {
                continue;
            }
            let confirm = std::mem::take(&mut self.rollbacks[idx].tracking.confirm);
            self.surveys.confirming -= usize::from(confirm);
            let short = self.polls.first_waiting() > 0;
            if !confirm
                && let Some((at, kind)) = self.rollbacks[idx].tracking.history.replan(
                    &mut self.lifespans,
                    self.opts.cadence,
                    now,
                    short,
                )
            {
                self.polls.push(at, idx, kind);
                continue;
            }
            let history = &self.rollbacks[idx].tracking.history;
            if !early
                && !confirm
                && let Some(later) = history.first_poll(&mut self.lifespans, now, cap)
            {
                self.polls.push(later, idx, Kind::First);
                continue;
            }
            self.rollbacks[idx].tracking.polling = true;
            self.polling += 1;
            self.pacer.take(now, rate);
            let protocol = Arc::clone(&self.protocol);
            let region = self.rollbacks[idx].region.clone();
            let id = s.id.clone();
            let sent = self.tracking(idx);
            self.inflight.push(Box::pin(async move {
                let result = protocol.track(region.as_deref(), &id, &job, &sent).await;
                Done::Polled { idx, result }
            }));
        }
    }

    pub(super) fn polled(
        &mut self,
        idx: usize,
        result: Result<Tracked, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let now = Instant::now();
        self.rollbacks[idx].tracking.polling = false;
        self.polling -= 1;
        let unseen = match result {
            Ok(Tracked::One(task)) => return Ok(self.seen(idx, task, now)),
            Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
            // Only a code documented to mean "no such instance" ends it here; any other
            // answer (`ResourceNotFound` included) is an unseen task below: retried, and
            // `unknown` past the bound.
            Err(e) if e.is_instance_missing() => {
                self.finish(
                    idx,
                    TaskState::Failed,
                    Some(format!("the instance is gone: {e}")),
                );
                return Ok(None);
            }
            Ok(Tracked::Unlisted) => {
                "the API lists no task of this instance for its submission".to_owned()
            }
            Ok(Tracked::Ambiguous(why)) => why,
            Ok(Tracked::Ended(why)) => {
                self.flush()?;
                self.unproven(idx, &why);
                return Ok(None);
            }
            Err(e) => e.to_string(),
        };
        let instance = self.state.instances[idx].id.clone();
        self.emit(Event::PollFailed {
            instance,
            reason: unseen.clone(),
        });
        // Whatever could not be seen, for how long: past the bound, nothing more is learnt in
        // this run, and a timer never turns that into `failed` — the instance is `unknown`.
        let since = *self.rollbacks[idx]
            .tracking
            .missing_since
            .get_or_insert(now);
        if now - since >= self.opts.missing_after {
            self.flush()?;
            let job = self.state.instances[idx]
                .job
                .as_ref()
                .map_or_else(String::new, |j| format!(" (request {j})"));
            self.unproven(
                idx,
                &format!(
                    "its task{job} could not be seen for {}s: {unseen}",
                    (now - since).as_secs()
                ),
            );
        } else {
            self.retry_later(idx, now);
        }
        Ok(None)
    }

    /// A poll saw the instance's task.
    fn seen(&mut self, idx: usize, task: Task, now: Instant) -> Option<Ending> {
        self.rollbacks[idx].tracking.missing_since = None;
        let local = crate::engine::local::is_local(self.rollbacks[idx].region.as_deref());
        if task.state == TaskState::Succeeded && !local {
            self.rollbacks[idx]
                .tracking
                .history
                .finished(&mut self.lifespans, now);
            self.check_objects(idx, now);
            return None;
        }
        if task.state.is_terminal() {
            self.rollbacks[idx]
                .tracking
                .history
                .finished(&mut self.lifespans, now);
            let message = crate::engine::state::ended_message(&task);
            self.finish(idx, task.state, message);
            return None;
        }
        // An undocumented state stays unfinished, shown raw, until the task leaves it or the
        // run's `--timeout`: a timer never turns "unknown" into "failed".
        let detail = crate::engine::local::is_local(self.rollbacks[idx].region.as_deref())
            .then(|| task.message.clone())
            .flatten();
        self.note_state(idx, &task.state, task.progress, detail);
        self.reschedule(idx, now, task.progress);
        None
    }

    /// Journals and tells a running task's state and progress when either changed
    /// ([`InstanceState::progress_record`]); `detail` is a self-hosted restore's phase and
    /// how far into it, told whenever it changed and journaled with the record.
    ///
    /// [`InstanceState::progress_record`]: crate::engine::state::InstanceState::progress_record
    pub(super) fn note_state(
        &mut self,
        idx: usize,
        state: &TaskState,
        progress: Option<u8>,
        detail: Option<String>,
    ) {
        let s = &self.state.instances[idx];
        let record = s.progress_record(state, progress, Utc::now());
        let told = &mut self.rollbacks[idx].tracking.detail;
        let new_detail = detail.is_some() && *told != detail;
        if record.is_none() && !new_detail {
            return;
        }
        told.clone_from(&detail);
        let instance = s.id.clone();
        if let Some(mut record) = record {
            if let Record::Progress { detail: d, .. } = &mut record {
                d.clone_from(&detail);
            }
            self.buffer(record);
        }
        self.emit(Event::State {
            instance,
            state: state.clone(),
            progress,
            detail,
        });
    }

    /// Journals and tells how a task ended: `status` is its last state (`Failed` when
    /// planrun gives up on it).
    pub(super) fn finish(&mut self, idx: usize, status: TaskState, message: Option<String>) {
        if std::mem::take(&mut self.rollbacks[idx].tracking.confirm) {
            self.surveys.confirming -= 1;
        }
        if status == TaskState::Killed {
            self.learn_stop(idx);
        }
        let instance = self.state.instances[idx].id.clone();
        self.buffer(Record::Finished {
            instance: instance.clone(),
            status,
            message: message.clone(),
            at: Utc::now(),
        });
        let status = self.state.instances[idx].status;
        self.emit(Event::Finished {
            instance,
            status,
            message,
        });
    }

    /// `planrun cancel` is another process: it journals its stop while this run tracks the
    /// task. A task it stopped ends killed, which is `cancelled`, not `failed`; folding its
    /// record in first makes the line say what the summary and the report say (issue 27).
    fn learn_stop(&mut self, idx: usize) {
        let id = &self.state.instances[idx].id;
        if let Some(record) = self.stops.latest(self.journal.path(), id) {
            self.state.apply(&record);
        }
    }

    /// Plans the next poll from what this one saw.
    pub(super) fn reschedule(&mut self, idx: usize, now: Instant, progress: Option<u8>) {
        let latest = Seen { at: now, progress };
        let (at, kind) = self.rollbacks[idx].tracking.history.observed(
            &mut self.lifespans,
            self.opts.cadence,
            latest,
        );
        self.polls.push(at, idx, kind);
    }

    /// Plans another poll after one that could not see the task.
    pub(super) fn retry_later(&mut self, idx: usize, now: Instant) {
        let (at, kind) = self.rollbacks[idx]
            .tracking
            .history
            .retry(self.opts.cadence, now);
        self.polls.push(at, idx, kind);
    }
}

/// The stops `planrun cancel` journaled, read as the journal grows: each read starts where
/// the last one ended, so a mass cancel's thousands of killed tasks read the journal once in
/// all, not once each.
#[derive(Debug, Default)]
pub(in crate::engine) struct Stops {
    read_to: u64,
    latest: HashMap<String, Record>,
}

impl Stops {
    /// The latest stop journaled for `instance`, after reading what was appended since the
    /// last call. Unreadable: what was read before (the line says what this run knows; the
    /// summary folds the journal in).
    pub(in crate::engine) fn latest(
        &mut self,
        journal: &std::path::Path,
        instance: &str,
    ) -> Option<Record> {
        let latest = &mut self.latest;
        if let Ok(end) = Journal::read_each_from(journal, self.read_to, Want::State, |r| {
            if let Record::Stopping { instance, .. } | Record::Cancelled { instance, .. } = &r {
                latest.insert(instance.clone(), r);
            }
        }) {
            self.read_to = end;
        }
        self.latest.get(instance).cloned()
    }
}
