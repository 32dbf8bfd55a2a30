//! Self-hosted servers (`provider: mysql`) behind the engine's [`Protocol`] seam.
//!
//! Why a protocol and not a second engine: the engine already owns what a restore needs —
//! the journal, resume after a crash, `--concurrency`, progress events, `status` and the
//! report — and it only asks a protocol to *submit* and to *poll a task*. [`Local`] answers
//! those from restores it runs in this process ([`mod@crate::mysql::restore`]), so every promise
//! holds unchanged. Routing needs no new engine state: each self-hosted instance gets its own
//! pseudo-region ([`region_of`]), so it is a batch of one, and [`super::any::AnyProtocol`]
//! sends calls for such regions here. A job a previous process started (resume after kill -9)
//! is unknown here: its restore is started again under the same name, which either finds that
//! the interrupted one had landed the targets (its ledger, [`mod@crate::mysql::restore`]) or drops
//! what it left and starts over; a restore that had finished left a marker file beside the
//! journal and is not redone. `planrun cancel` from another process reaches these restores
//! through the journal (`stops`). This is the only place the engine uses `crate::mysql`.

mod stops;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::protocol::{JobHandle, Protocol, Task, TaskState};
use crate::api::Error;
use crate::api::rollback::InstanceRollback;
use crate::contract::TIME_FORMAT;
use crate::mysql::restore::Phase;
use crate::mysql::{self, Credentials};

/// Pseudo-regions of self-hosted instances start with this (never a cloud region's form).
pub const REGION_PREFIX: &str = "selfhosted:";

/// The routing key of self-hosted instance `id`.
pub fn region_of(id: &str) -> String {
    format!("{REGION_PREFIX}{id}")
}

/// True when calls for `region` belong to [`Local`].
pub fn is_local(region: Option<&str>) -> bool {
    region.is_some_and(|r| r.starts_with(REGION_PREFIX))
}

/// True for the jobs of self-hosted restores (their handles are made here).
pub fn owns(job: &JobHandle) -> bool {
    job.0.starts_with(JOB_PREFIX)
}

const JOB_PREFIX: &str = "local-";

/// The file a finished restore of `job` leaves in the state directory `dir`.
pub fn marker(dir: &std::path::Path, job: &JobHandle) -> PathBuf {
    dir.join(format!("{}.done", job.0))
}

/// Runs the restores of self-hosted instances; cheap to clone.
#[derive(Clone)]
pub struct Local {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("servers", &self.inner.requests.len())
            .finish_non_exhaustive()
    }
}

struct Inner {
    requests: HashMap<String, mysql::Request>,
    creds: Credentials,
    /// `--concurrency` restores at once; the others wait (reported as waiting).
    slots: Semaphore,
    /// Finished restores leave `<job>.done` here (beside the journal).
    markers: PathBuf,
    /// Restart restores of jobs an earlier process started (apply), or only report them
    /// (status must never start anything).
    resume: bool,
    tasks: Mutex<HashMap<String, Task>>,
    /// Stop requests `planrun cancel` journals, per instance.
    stops: stops::Stops,
    /// A task follows the journal for them while restores run.
    watching: AtomicBool,
}

impl Local {
    pub fn new(
        requests: Vec<mysql::Request>,
        creds: Credentials,
        concurrency: usize,
        markers: PathBuf,
        journal: Option<PathBuf>,
        resume: bool,
    ) -> Self {
        let stops = stops::Stops::new(journal, requests.iter().map(|r| r.id.as_str()));
        Self {
            inner: Arc::new(Inner {
                requests: requests.into_iter().map(|r| (r.id.clone(), r)).collect(),
                creds,
                slots: Semaphore::new(concurrency.max(1)),
                markers,
                resume,
                tasks: Mutex::new(HashMap::new()),
                stops,
                watching: AtomicBool::new(false),
            }),
        }
    }

    fn marker(&self, job: &JobHandle) -> PathBuf {
        marker(&self.inner.markers, job)
    }

    fn tracked(&self, instance: &str) -> Option<Task> {
        self.inner
            .tasks
            .lock()
            .ok()
            .and_then(|t| t.get(instance).cloned())
    }

    fn set(&self, instance: &str, update: impl FnOnce(&mut Task)) {
        if let Ok(mut tasks) = self.inner.tasks.lock()
            && let Some(task) = tasks.get_mut(instance)
        {
            update(task);
        }
    }

    /// True while a restore waits for its slot or runs.
    fn active(&self) -> bool {
        self.inner.tasks.lock().is_ok_and(|tasks| {
            tasks.values().any(|t| {
                matches!(
                    t.state,
                    TaskState::Waiting | TaskState::Running | TaskState::Stopping
                )
            })
        })
    }

    /// Takes in the stop requests journalled since the last poll.
    fn scan(&self) {
        for id in self.inner.stops.scan() {
            self.set(&id, |t| {
                if !t.state.is_terminal() {
                    t.state = TaskState::Stopping;
                }
            });
        }
    }

    /// Follows the journal for stop requests while any restore is unfinished.
    fn watch_stops(&self) {
        if self.inner.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(stops::SCAN_EVERY).await;
                this.scan();
                if this.active() {
                    continue;
                }
                this.inner.watching.store(false, Ordering::SeqCst);
                // A restore started meanwhile found the flag still set: watch for it.
                if !this.active() || this.inner.watching.swap(true, Ordering::SeqCst) {
                    return;
                }
            }
        });
    }

    /// Starts (or, after a crash, starts again: `again`) the restore of `instance` as `job`;
    /// the job names the restore, so that a second start finds what the first made.
    fn start(&self, instance: &str, job: JobHandle, again: bool) -> Result<(), Error> {
        let Some(mut request) = self.inner.requests.get(instance).cloned() else {
            return Err(Error::Config {
                reason: format!("{instance} is not a self-hosted instance of this plan"),
            });
        };
        request.run = job.0.clone();
        if let Ok(mut tasks) = self.inner.tasks.lock() {
            tasks.insert(
                instance.to_owned(),
                Task {
                    job: Some(job.clone()),
                    state: TaskState::Waiting,
                    progress: Some(0),
                    started_at: Some(now(&request)),
                    finished_at: None,
                    message: None,
                    spec: None,
                },
            );
        }
        // A stop journalled before this start means it never starts.
        self.scan();
        self.watch_stops();
        let this = self.clone();
        let id = instance.to_owned();
        tokio::spawn(async move {
            let stop = this.inner.stops.of(&id);
            let slot = tokio::select! {
                biased;
                () = stop.wait() => None,
                slot = this.inner.slots.acquire() => match slot {
                    Ok(slot) => Some(slot),
                    Err(_) => return,
                },
            };
            if slot.is_none() && again {
                // Stopped before it could start again: what the interrupted run left is still
                // to drop (or, had it made the targets, it is done). The restore does either,
                // and makes nothing new once stopped.
                let outcome = mysql::restore(&request, &this.inner.creds, &|_| {}, &stop).await;
                let (state, message) = match outcome {
                    Ok(restored) => this.record_done(&request, &job, &restored).await,
                    Err(mysql::Error::Cancelled) => (
                        TaskState::Killed,
                        "cancelled with `planrun cancel`: what its interrupted run left was dropped; no target was made".into(),
                    ),
                    Err(e) => (TaskState::Failed, e.to_string()),
                };
                this.end(&id, &request, state, message);
                return;
            }
            let Some(_slot) = slot else {
                this.end(
                    &id,
                    &request,
                    TaskState::Killed,
                    "cancelled with `planrun cancel` before it started: nothing was made".into(),
                );
                return;
            };
            this.set(&id, |t| {
                if t.state == TaskState::Waiting {
                    t.state = TaskState::Running;
                }
            });
            let phase = Mutex::new(Phase::Checking);
            let report = |p: mysql::Progress| {
                if let Ok(mut at) = phase.lock() {
                    *at = p.phase;
                }
                this.set(&id, |t| {
                    t.progress = Some(percent(p.phase, p.part()));
                    t.message = Some(p.line());
                });
            };
            let outcome = mysql::restore(&request, &this.inner.creds, &report, &stop).await;
            let (state, message) = match outcome {
                Ok(restored) => this.record_done(&request, &job, &restored).await,
                Err(mysql::Error::Cancelled) => {
                    let at = phase.lock().map_or(Phase::Checking, |p| *p);
                    (
                        TaskState::Killed,
                        format!(
                            "cancelled with `planrun cancel` while {}: its child processes and scratch server were stopped, what it had copied to production dropped; no target was made",
                            at.name()
                        ),
                    )
                }
                Err(e) => (TaskState::Failed, e.to_string()),
            };
            this.end(&id, &request, state, message);
        });
        Ok(())
    }

    /// A restore that made its targets: the marker says so to later runs, then its ledger
    /// can go.
    async fn record_done(
        &self,
        request: &mysql::Request,
        job: &JobHandle,
        restored: &mysql::Restored,
    ) -> (TaskState, String) {
        if let Err(e) = write_marker(&self.marker(job)) {
            return (
                TaskState::Failed,
                format!("restored, but its marker could not be written: {e}"),
            );
        }
        let mut message = mysql::restore::Summary::say(request, restored);
        if let Err(e) = mysql::restore::forget(request) {
            message.push_str(&format!("; its ledger could not be removed: {e}"));
        }
        (TaskState::Succeeded, message)
    }

    fn end(&self, instance: &str, request: &mysql::Request, state: TaskState, message: String) {
        let finished = Some(now(request));
        self.set(instance, |t| {
            if state == TaskState::Succeeded {
                t.progress = Some(100);
            }
            t.state = state;
            t.message = Some(message);
            t.finished_at = finished;
        });
    }
}

/// Phases (and how far into one) as the percentages a progress bar draws.
fn percent(phase: Phase, part: f64) -> u8 {
    let (from, to) = match phase {
        Phase::Checking => (5, 5),
        Phase::Starting => (10, 10),
        // The counted phases are told as they go: the dump file read, the decoded span
        // fed, the rows copied.
        Phase::Loading => (30, 54),
        Phase::Reading => (55, 55),
        Phase::Replaying => (60, 79),
        Phase::Copying => (80, 94),
        Phase::Renaming => (95, 95),
        Phase::Done => (100, 100),
    };
    let span = f64::from(to - from) * part.clamp(0.0, 1.0);
    from + span.round() as u8
}

/// Times in the instance's clock, as the API reports them (the engine reads them so).
fn now(request: &mysql::Request) -> String {
    chrono::Utc::now()
        .with_timezone(&request.offset)
        .format(TIME_FORMAT)
        .to_string()
}

fn write_marker(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::File::create(path)?;
    file.sync_all()
}

impl Protocol for Local {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        // A batch of one: each self-hosted instance is its own pseudo-region.
        let millis = chrono::Utc::now().timestamp_millis();
        let first = batch
            .first()
            .map(|b| b.instance_id.as_str())
            .unwrap_or_default();
        let job = JobHandle(format!("{JOB_PREFIX}{first}-{millis}"));
        for one in batch {
            self.start(&one.instance_id, job.clone(), false)?;
        }
        Ok(job)
    }

    async fn tasks(&self, _region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        Ok(self.tracked(instance).into_iter().collect())
    }

    async fn task(
        &self,
        _region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        if let Some(task) = self
            .tracked(instance)
            .filter(|t| t.job.as_ref() == Some(job))
        {
            return Ok(Some(task));
        }
        if self.marker(job).exists() {
            return Ok(Some(Task {
                job: Some(job.clone()),
                state: TaskState::Succeeded,
                progress: Some(100),
                started_at: None,
                finished_at: None,
                message: Some("restored by an earlier run".into()),
                spec: None,
            }));
        }
        if !self.inner.resume {
            return Ok(None);
        }
        // Started by a process that is gone: clean up and do it again, under the same job.
        self.start(instance, job.clone(), true)?;
        Ok(self.tracked(instance))
    }
}
