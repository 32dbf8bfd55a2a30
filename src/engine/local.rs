//! Self-hosted servers (`provider: mysql`) behind the engine's [`Protocol`] seam.
//!
//! Why a protocol and not a second engine: the engine already owns what a restore needs —
//! the journal, resume after a crash, `--concurrency`, progress events, `status` and the
//! report — and it only asks a protocol to *submit* and to *look at a task*. [`Local`] answers
//! those from restores it runs in this process ([`crate::mysql::restore`]), so every promise
//! holds unchanged. Routing needs no new engine state: each self-hosted instance gets its own
//! pseudo-region ([`region_of`]), so it is a batch of one, and [`super::any::AnyProtocol`]
//! sends calls for such regions here. A job a previous process started (resume after kill -9)
//! is unknown here: its restore is started again, which first drops what the interrupted one
//! left; a restore that had finished left a marker file beside the journal and is not redone.
//! This is the only place the engine uses `crate::mysql`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::protocol::{JobHandle, Protocol, Task, TaskState};
use crate::api::Error;
use crate::api::rollback::InstanceRollback;
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
}

impl Local {
    pub fn new(
        requests: Vec<mysql::Request>,
        creds: Credentials,
        concurrency: usize,
        markers: PathBuf,
        resume: bool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                requests: requests.into_iter().map(|r| (r.id.clone(), r)).collect(),
                creds,
                slots: Semaphore::new(concurrency.max(1)),
                markers,
                resume,
                tasks: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn marker(&self, job: &JobHandle) -> PathBuf {
        self.inner.markers.join(format!("{}.done", job.0))
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

    /// Starts (or, after a crash, starts again) the restore of `instance` as `job`.
    /// `again`: the job was started by a process that is gone.
    fn start(&self, instance: &str, job: JobHandle, again: bool) -> Result<(), Error> {
        let Some(mut request) = self.inner.requests.get(instance).cloned() else {
            return Err(Error::Config {
                reason: format!("{instance} is not a self-hosted instance of this plan"),
            });
        };
        request.again = again;
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
        let this = self.clone();
        let id = instance.to_owned();
        tokio::spawn(async move {
            let Ok(_slot) = this.inner.slots.acquire().await else {
                return;
            };
            this.set(&id, |t| t.state = TaskState::Running);
            let report = |p: mysql::Progress| {
                this.set(&id, |t| {
                    t.progress = Some(percent(p.phase));
                    t.message = Some(format!("{}, {} bytes", p.phase.name(), p.bytes));
                });
            };
            let outcome = mysql::restore(&request, &this.inner.creds, &report).await;
            let marked = match &outcome {
                Ok(_) => write_marker(&this.marker(&job)),
                Err(_) => Ok(()),
            };
            let finished = Some(now(&request));
            this.set(&id, |t| {
                t.finished_at = finished;
                match (outcome, marked) {
                    (Ok(span), Ok(())) => {
                        t.state = TaskState::Succeeded;
                        t.progress = Some(100);
                        t.message = Some(format!(
                            "restored from {} and the binary log from {}:{}",
                            span.dump.path.display(),
                            span.dump.log_file,
                            span.dump.log_pos
                        ));
                    }
                    (Ok(_), Err(e)) => {
                        t.state = TaskState::Failed;
                        t.message = Some(format!(
                            "restored, but its marker could not be written: {e}"
                        ));
                    }
                    (Err(e), _) => {
                        t.state = TaskState::Failed;
                        t.message = Some(e.to_string());
                    }
                }
            });
        });
        Ok(())
    }
}

/// Phases as the percentages a progress bar draws.
fn percent(phase: Phase) -> u8 {
    match phase {
        Phase::Checking => 5,
        Phase::Loading => 40,
        Phase::Replaying => 80,
        Phase::Renaming => 95,
        Phase::Done => 100,
    }
}

/// Times in the instance's clock, as the API reports them (the engine reads them so).
fn now(request: &mysql::Request) -> String {
    chrono::Utc::now()
        .with_timezone(&request.offset)
        .format("%Y-%m-%d %H:%M:%S")
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
        let job = JobHandle(format!("local-{first}-{millis}"));
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
