//! The apply loop: submit batches within the bounds, reconcile what is in doubt, track every
//! task to its end, journal everything, and stop cleanly on Ctrl-C, `--timeout` or an
//! authentication failure. One task owns all state; requests run as futures it polls.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, watch};

use super::journal::{Journal, Record};
use super::protocol::{Error, ErrorClass, JobHandle, Protocol, Task, TaskState};
use super::reconcile;
use super::schedule::{self, Cadence, Seen};
use super::state::{RunState, Status};
use crate::api::rollback::InstanceRollback;

/// How the engine paces itself.
#[derive(Debug, Clone)]
pub struct Options {
    pub batch_size: usize,
    /// Submissions in flight at once.
    pub concurrency: usize,
    pub cadence: Cadence,
    /// First look at a task after its submission was accepted.
    pub first_poll: Duration,
    /// Wait before looking for the job of a submission whose outcome is unknown, so that
    /// the API lists it if it was accepted.
    pub settle: Duration,
    /// How long to wait for a task of someone else to end (9592) before failing the instance.
    pub busy_wait: Duration,
    /// Refusals worth another try (e.g. 9006) are retried this many times.
    pub submit_retries: u32,
    /// A task not listed this long after its submission is failed.
    pub missing_after: Duration,
    /// A task in an undocumented state this long is failed.
    pub unknown_after: Duration,
    pub timeout: Option<Duration>,
    /// The instances' clock, to read task start times.
    pub offset: FixedOffset,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch_size: 10,
            concurrency: 4,
            cadence: Cadence {
                min: Duration::from_secs(2),
                max: Duration::from_secs(60),
            },
            first_poll: Duration::from_secs(5),
            settle: Duration::from_secs(5),
            busy_wait: Duration::from_secs(600),
            submit_retries: 5,
            missing_after: Duration::from_secs(600),
            unknown_after: Duration::from_secs(1800),
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
    State {
        instance: String,
        state: String,
        progress: Option<u8>,
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

/// One instance to look for: plan index, id, region, request, when it was attempted.
type Lookup = (
    usize,
    String,
    Option<String>,
    InstanceRollback,
    chrono::DateTime<Utc>,
);

enum Done {
    Submitted {
        batch: u64,
        job: Pending,
        result: Result<JobHandle, Error>,
    },
    Reconciled {
        batch: u64,
        ids: Vec<usize>,
        results: Vec<(usize, Result<Option<JobHandle>, Error>)>,
    },
    BusyChecked {
        job: Pending,
        result: Result<Option<JobHandle>, Error>,
    },
    Polled {
        idx: usize,
        result: Result<Option<Task>, Error>,
    },
}

/// Per-instance tracking memory (not journaled: rebuilt by polling).
#[derive(Debug, Clone, Default)]
struct Tracking {
    previous: Option<Seen>,
    last_gap: Duration,
    polling: bool,
    missing_since: Option<Instant>,
    unknown_since: Option<Instant>,
}

pub struct Engine<P: Protocol> {
    protocol: Arc<P>,
    requests: Vec<InstanceRollback>,
    regions: Vec<Option<String>>,
    opts: Options,
    journal: Journal,
    state: RunState,
    events: mpsc::UnboundedSender<Event>,
    queue: VecDeque<Pending>,
    inflight: FuturesUnordered<Boxed>,
    submitting: usize,
    polls: BinaryHeap<Reverse<(Instant, usize)>>,
    tracking: Vec<Tracking>,
    buffered: Vec<Record>,
}

impl<P: Protocol> Engine<P> {
    /// `requests[i]` and `regions[i]` describe `state.instances[i]` (plan order).
    pub fn new(
        protocol: Arc<P>,
        requests: Vec<InstanceRollback>,
        regions: Vec<Option<String>>,
        opts: Options,
        journal: Journal,
        state: RunState,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        let n = requests.len();
        Self {
            protocol,
            requests,
            regions,
            opts,
            journal,
            state,
            events,
            queue: VecDeque::new(),
            inflight: FuturesUnordered::new(),
            submitting: 0,
            polls: BinaryHeap::new(),
            tracking: vec![Tracking::default(); n],
            buffered: Vec::new(),
        }
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn into_state(self) -> RunState {
        self.state
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

    /// Queues a record written with the next flush (progress of many tasks, one fsync).
    fn buffer(&mut self, record: Record) {
        self.state.apply(&record);
        self.buffered.push(record);
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let records = std::mem::take(&mut self.buffered);
        self.journal.append_all(&records)
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
        loop {
            let now = Instant::now();
            if !cancelled {
                self.launch_submissions(now)?;
            }
            self.launch_polls(now);
            self.flush()?;
            if cancelled && self.submitting == 0 {
                return Ok(Ending::Interrupted);
            }
            if self.queue.is_empty() && self.inflight.is_empty() && self.polls.is_empty() {
                if self.state.all_final() {
                    self.write(Record::Complete { at: Utc::now() })?;
                }
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
                () = tokio::time::sleep_until(wake.into()) => {}
                changed = cancel.changed(), if !cancelled => {
                    // A dropped sender means nobody can interrupt any more: not a cancel.
                    cancelled = changed.is_ok() && *cancel.borrow();
                }
                () = tokio::time::sleep_until(timeout_at.into()), if deadline.is_some() => {
                    self.flush()?;
                    for s in &mut self.state.instances {
                        if !s.status.is_final() {
                            s.status = Status::TimedOut;
                        }
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
            } else if s.job.is_some() {
                self.polls.push(Reverse((now, i)));
            } else {
                pending.push(i);
            }
        }
        let mut batches: Vec<_> = doubt.into_iter().collect();
        batches.sort_by_key(|(b, _)| *b);
        for (batch, (at, ids)) in batches {
            let elapsed = (Utc::now() - at).to_std().unwrap_or_default();
            self.reconcile(batch, ids, self.opts.settle.saturating_sub(elapsed));
        }
        self.enqueue(&pending, now, 0, true);
    }

    /// Queues instances as calls of at most `batch_size`, grouped by region in plan order.
    fn enqueue(&mut self, idx: &[usize], not_before: Instant, attempt: u32, back: bool) {
        let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        for &i in idx {
            let region = self.regions[i].clone();
            match groups.iter_mut().find(|(r, _)| *r == region) {
                Some((_, list)) => list.push(i),
                None => groups.push((region, vec![i])),
            }
        }
        let size = self.opts.batch_size.max(1);
        let mut jobs: Vec<Pending> = groups
            .into_iter()
            .flat_map(|(region, list)| {
                list.chunks(size)
                    .map(|c| Pending {
                        ids: c.to_vec(),
                        region: region.clone(),
                        not_before,
                        attempt,
                        busy_since: None,
                    })
                    .collect::<Vec<_>>()
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
        let poll = self.polls.peek().map(|Reverse((t, _))| *t);
        let submit = if self.submitting < self.opts.concurrency {
            self.queue.iter().map(|j| j.not_before).min()
        } else {
            None
        };
        [poll, submit]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(fallback)
    }

    fn launch_submissions(&mut self, now: Instant) -> std::io::Result<()> {
        while self.submitting < self.opts.concurrency {
            let Some(pos) = self.queue.iter().position(|j| j.not_before <= now) else {
                break;
            };
            let Some(job) = self.queue.remove(pos) else {
                break;
            };
            let batch = self.state.next_batch;
            let instances = self.ids(&job.ids);
            // Write-ahead: the intent is on disk before the request can leave.
            self.write(Record::Intent {
                batch,
                instances: instances.clone(),
                at: Utc::now(),
            })?;
            self.emit(Event::Submitting { batch, instances });
            let protocol = Arc::clone(&self.protocol);
            let requests: Vec<InstanceRollback> =
                job.ids.iter().map(|&i| self.requests[i].clone()).collect();
            self.submitting += 1;
            self.inflight.push(Box::pin(async move {
                let result = protocol.submit(job.region.as_deref(), &requests).await;
                Done::Submitted { batch, job, result }
            }));
        }
        Ok(())
    }

    fn launch_polls(&mut self, now: Instant) {
        while let Some(Reverse((at, idx))) = self.polls.peek().copied() {
            if at > now {
                break;
            }
            self.polls.pop();
            let s = &self.state.instances[idx];
            let (Some(job), false) = (s.job.clone(), s.status.is_final()) else {
                continue;
            };
            if self.tracking[idx].polling {
                continue;
            }
            self.tracking[idx].polling = true;
            let protocol = Arc::clone(&self.protocol);
            let region = self.regions[idx].clone();
            let id = s.id.clone();
            self.inflight.push(Box::pin(async move {
                let result = protocol.task(region.as_deref(), &id, &job).await;
                Done::Polled { idx, result }
            }));
        }
    }

    /// Looks for the tasks of an in-doubt submission after `settle`.
    fn reconcile(&mut self, batch: u64, ids: Vec<usize>, settle: Duration) {
        let protocol = Arc::clone(&self.protocol);
        let offset = self.opts.offset;
        let work: Vec<Lookup> = ids
            .iter()
            .map(|&i| {
                let s = &self.state.instances[i];
                let at = s.in_doubt.map_or_else(Utc::now, |(_, at)| at);
                (
                    i,
                    s.id.clone(),
                    self.regions[i].clone(),
                    self.requests[i].clone(),
                    at,
                )
            })
            .collect();
        self.inflight.push(Box::pin(async move {
            tokio::time::sleep(settle).await;
            let mut results = Vec::with_capacity(work.len());
            for (i, id, region, request, at) in work {
                let found = protocol.tasks(region.as_deref(), &id).await.map(|tasks| {
                    reconcile::find(&tasks, &request.spec, at, offset).and_then(|t| t.job.clone())
                });
                results.push((i, found));
            }
            Done::Reconciled {
                batch,
                ids,
                results,
            }
        }));
    }

    /// 9592 on a single instance: is the running task ours (a lost submission of this plan)?
    fn check_busy(&mut self, job: Pending) {
        let protocol = Arc::clone(&self.protocol);
        let idx = job.ids[0];
        let s = &self.state.instances[idx];
        let since = s.first_attempt.unwrap_or_else(Utc::now);
        let (id, region, request, offset) = (
            s.id.clone(),
            self.regions[idx].clone(),
            self.requests[idx].clone(),
            self.opts.offset,
        );
        self.inflight.push(Box::pin(async move {
            let result = protocol.tasks(region.as_deref(), &id).await.map(|tasks| {
                reconcile::find(&tasks, &request.spec, since, offset).and_then(|t| t.job.clone())
            });
            Done::BusyChecked { job, result }
        }));
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
                results,
            } => self.reconciled(batch, ids, results),
            Done::BusyChecked { job, result } => self.busy_checked(job, result),
            Done::Polled { idx, result } => self.polled(idx, result),
        }
    }

    fn submitted(
        &mut self,
        batch: u64,
        job: Pending,
        result: Result<JobHandle, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let now = Instant::now();
        let err = match result {
            Ok(handle) => {
                self.write(Record::Accepted {
                    batch,
                    job: handle.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Accepted {
                    batch,
                    instances: self.ids(&job.ids),
                    job: handle,
                });
                for &i in &job.ids {
                    self.tracking[i].last_gap = self.opts.first_poll;
                    self.polls.push(Reverse((now + self.opts.first_poll, i)));
                }
                return Ok(None);
            }
            Err(err) => err,
        };
        let reason = err.to_string();
        match err.class() {
            ErrorClass::OutcomeUnknown => {
                self.write(Record::Unknown {
                    batch,
                    error: reason.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Unknown { batch, reason });
                self.reconcile(batch, job.ids, self.opts.settle);
            }
            ErrorClass::StopRun => {
                self.write(Record::Abandoned {
                    batch,
                    reason,
                    at: Utc::now(),
                })?;
                return Ok(Some(Ending::Stopped(err)));
            }
            ErrorClass::InstancesOnly | ErrorClass::Busy if job.ids.len() > 1 => {
                // Which instance is refused? Split the call in halves until it is alone.
                self.write(Record::Abandoned {
                    batch,
                    reason: reason.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Split { batch, reason });
                let (a, b) = job.ids.split_at(job.ids.len() / 2);
                let halves = [b.to_vec(), a.to_vec()];
                for ids in halves {
                    self.queue.push_front(Pending { ids, ..job.clone() });
                }
            }
            ErrorClass::Busy => {
                self.write(Record::Abandoned {
                    batch,
                    reason,
                    at: Utc::now(),
                })?;
                self.check_busy(job);
            }
            ErrorClass::Retry | ErrorClass::Resign if job.attempt < self.opts.submit_retries => {
                self.write(Record::Abandoned {
                    batch,
                    reason: reason.clone(),
                    at: Utc::now(),
                })?;
                let delay = Duration::from_secs(2u64.saturating_pow(job.attempt + 1).min(60));
                self.emit(Event::Retrying {
                    instances: self.ids(&job.ids),
                    reason,
                    retry_in: delay,
                });
                self.queue.push_back(Pending {
                    not_before: now + delay,
                    attempt: job.attempt + 1,
                    ..job
                });
            }
            _ => self.reject(batch, &job.ids, &err)?,
        }
        Ok(None)
    }

    fn reject(&mut self, batch: u64, ids: &[usize], err: &Error) -> std::io::Result<()> {
        let code = err.code_text();
        let message = err
            .api_message()
            .map_or_else(|| err.to_string(), str::to_owned);
        let instances = self.ids(ids);
        self.write(Record::Rejected {
            batch,
            instances: instances.clone(),
            code: code.clone(),
            message: message.clone(),
            at: Utc::now(),
        })?;
        for instance in instances {
            let reason = code
                .as_ref()
                .map_or_else(|| message.clone(), |c| format!("{c}: {message}"));
            self.emit(Event::Rejected { instance, reason });
        }
        Ok(())
    }

    fn reconciled(
        &mut self,
        batch: u64,
        ids: Vec<usize>,
        results: Vec<(usize, Result<Option<JobHandle>, Error>)>,
    ) -> std::io::Result<Option<Ending>> {
        let mut unresolved = false;
        for (i, result) in results {
            match result {
                Ok(Some(job)) => {
                    let instance = self.state.instances[i].id.clone();
                    self.write(Record::Adopted {
                        instance: instance.clone(),
                        batch,
                        job: job.clone(),
                        at: Utc::now(),
                    })?;
                    self.emit(Event::Adopted { instance, job });
                    self.polls.push(Reverse((Instant::now(), i)));
                }
                Ok(None) => {}
                Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
                // Could not look: never resubmit blind. Look again later.
                Err(_) => unresolved = true,
            }
        }
        let still: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&i| {
                self.state.instances[i]
                    .in_doubt
                    .is_some_and(|(b, _)| b == batch)
            })
            .collect();
        if unresolved {
            self.reconcile(batch, still, self.opts.settle);
            return Ok(None);
        }
        if !still.is_empty() {
            self.write(Record::Abandoned {
                batch,
                reason: "no task found for the submission".into(),
                at: Utc::now(),
            })?;
            self.emit(Event::Resubmitting {
                instances: self.ids(&still),
            });
            self.enqueue(&still, Instant::now(), 0, false);
        }
        Ok(None)
    }

    fn busy_checked(
        &mut self,
        job: Pending,
        result: Result<Option<JobHandle>, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let idx = job.ids[0];
        let instance = self.state.instances[idx].id.clone();
        let now = Instant::now();
        match result {
            Ok(Some(handle)) => {
                let batch = self.state.instances[idx].in_doubt.map_or(0, |(b, _)| b);
                self.write(Record::Adopted {
                    instance: instance.clone(),
                    batch,
                    job: handle.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Adopted {
                    instance,
                    job: handle,
                });
                self.polls.push(Reverse((now, idx)));
            }
            Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
            _ => {
                let since = job.busy_since.unwrap_or(now);
                let waited = now - since;
                if waited >= self.opts.busy_wait {
                    let batch = self.state.next_batch.saturating_sub(1);
                    let message = format!(
                        "another rollback task is running on the instance (9592); waited {}s",
                        waited.as_secs()
                    );
                    self.write(Record::Rejected {
                        batch,
                        instances: vec![instance.clone()],
                        code: Some("9592".into()),
                        message: message.clone(),
                        at: Utc::now(),
                    })?;
                    self.emit(Event::Rejected {
                        instance,
                        reason: message,
                    });
                } else {
                    let delay = (waited / 2).clamp(self.opts.cadence.min, self.opts.cadence.max);
                    self.emit(Event::Busy {
                        instance,
                        retry_in: delay,
                    });
                    self.queue.push_back(Pending {
                        not_before: now + delay,
                        busy_since: Some(since),
                        ..job
                    });
                }
            }
        }
        Ok(None)
    }

    fn polled(
        &mut self,
        idx: usize,
        result: Result<Option<Task>, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let now = Instant::now();
        self.tracking[idx].polling = false;
        let instance = self.state.instances[idx].id.clone();
        let task = match result {
            Ok(Some(task)) => task,
            Ok(None) => {
                let since = *self.tracking[idx].missing_since.get_or_insert(now);
                if now - since >= self.opts.missing_after {
                    self.finish(
                        idx,
                        "failed",
                        Some("the task of the submission is not listed by the API".into()),
                    );
                } else {
                    self.reschedule(idx, now, None);
                }
                return Ok(None);
            }
            Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
            Err(_) => {
                // Transient errors were retried by the client already: look again later.
                self.reschedule(idx, now, None);
                return Ok(None);
            }
        };
        self.tracking[idx].missing_since = None;
        let s = &self.state.instances[idx];
        let changed = s.task_state.as_deref() != Some(task.state.name())
            || (task.progress.is_some() && s.progress != task.progress);
        if task.state.is_terminal() {
            let status = if task.state == TaskState::Succeeded {
                "succeeded"
            } else {
                task.state.name()
            };
            let message = (task.state != TaskState::Succeeded).then(|| {
                task.message
                    .clone()
                    .unwrap_or_else(|| format!("the task ended {}", task.state.name()))
            });
            self.finish(idx, status, message);
            return Ok(None);
        }
        if let TaskState::Unknown(name) = &task.state {
            let since = *self.tracking[idx].unknown_since.get_or_insert(now);
            if now - since >= self.opts.unknown_after {
                self.finish(
                    idx,
                    "failed",
                    Some(format!("the task stayed in the undocumented state {name}")),
                );
                return Ok(None);
            }
        } else {
            self.tracking[idx].unknown_since = None;
        }
        if changed {
            self.buffer(Record::Progress {
                instance: instance.clone(),
                state: task.state.name().to_owned(),
                progress: task.progress,
                at: Utc::now(),
            });
            self.emit(Event::State {
                instance,
                state: task.state.name().to_owned(),
                progress: task.progress,
            });
        }
        self.reschedule(idx, now, task.progress);
        Ok(None)
    }

    fn finish(&mut self, idx: usize, status: &str, message: Option<String>) {
        let instance = self.state.instances[idx].id.clone();
        self.buffer(Record::Finished {
            instance: instance.clone(),
            status: status.to_owned(),
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

    fn reschedule(&mut self, idx: usize, now: Instant, progress: Option<u8>) {
        let t = &mut self.tracking[idx];
        let latest = Seen { at: now, progress };
        let next = schedule::next_poll(self.opts.cadence, t.previous, latest, t.last_gap);
        t.last_gap = next - now;
        if progress.is_some() || t.previous.is_none() {
            t.previous = Some(latest);
        }
        self.polls.push(Reverse((next, idx)));
    }
}
