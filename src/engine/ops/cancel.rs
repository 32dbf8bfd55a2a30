//! `cancel`: stop the running rollbacks of a plan's last apply (StopRollback, API 3.0), then
//! confirm each stop: the StopRollback request's DescribeAsyncRequestInfo and the task's own
//! state. An instance is `stopping` (journalled) once the stop is accepted, and `cancelled`
//! only once its task is KILLED, so `status` and the report never claim more. Self-hosted
//! instances are stopped through their apply instead (`selfhosted`). What happens is said
//! as [`Event`]s; how it came out is the [`Outcome`].

mod selfhosted;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::engine::any::AnyProtocol;
use crate::engine::apply::Apply;
use crate::engine::journal::{Journal, Record};
use crate::engine::local;
use crate::engine::protocol::{JobHandle, Protocol, TaskState};
use crate::engine::reconcile::{Sent, Tracked};
use crate::engine::state::{RunState, Status};
use crate::engine::store;
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;

/// Why a cancel cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The journal records no apply of the plan.
    #[error("No apply of plan {plan} is recorded: nothing to cancel.")]
    NothingRecorded { plan: String },
    #[error("cannot read the journal {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not in plan {plan}: {}", .ids.join(", "))]
    NotInPlan { plan: String, ids: Vec<String> },
    #[error("cannot open the journal {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the journal: {0}")]
    Write(std::io::Error),
    #[error("cannot read the journal: {0}")]
    Read(std::io::Error),
    /// The plan's lock, to cancel self-hosted restores with no apply running.
    #[error("{}", super::escaped(.0))]
    Lock(store::Error),
    #[error(transparent)]
    SelfHosted(#[from] super::selfhosted::Error),
}

/// What a cancel will stop (indexes into the plan, and ids), found in the journal.
#[derive(Debug, Default)]
pub struct Targets {
    /// Cloud instances with a task not final: StopRollback.
    pub cloud: Vec<(usize, String)>,
    /// Self-hosted instances not final: stopped through their apply (or never started).
    pub local: Vec<(usize, String)>,
    /// Self-hosted instances asked for that are final already, with how they ended.
    pub done: Vec<(String, Status)>,
    /// The journal's state when it was read.
    state: RunState,
}

impl Targets {
    pub fn is_empty(&self) -> bool {
        self.cloud.is_empty() && self.local.is_empty()
    }

    /// Every instance to stop, the cloud's first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.cloud
            .iter()
            .chain(&self.local)
            .map(|(_, id)| id.as_str())
    }
}

/// What happened to one instance.
#[derive(Debug)]
pub enum Event {
    /// Stopped by an earlier cancel and not confirmed yet: confirmed, not stopped again.
    AlreadyStopping { id: String, request: JobHandle },
    /// StopRollback accepted (and journalled).
    Stopping { id: String, request: JobHandle },
    /// StopRollback refused: the instance is not cancelled.
    StopRefused {
        id: String,
        error: crate::api::Error,
    },
    /// The task is KILLED: cancelled.
    Cancelled { id: String },
    /// The task ended otherwise before the stop took effect.
    EndedFirst { id: String, state: TaskState },
    /// The StopRollback request failed; the task goes on.
    StopFailed {
        id: String,
        request: JobHandle,
        info: String,
    },
    /// Not confirmed by the deadline: it stays `stopping`.
    StillStopping {
        id: String,
        request: JobHandle,
        seen: Option<TaskState>,
    },
    /// Self-hosted instances (`selfhosted`).
    Local(selfhosted::Event),
}

impl Event {
    /// Said on stderr (a failure to stop), not stdout.
    pub fn is_error(&self) -> bool {
        match self {
            Self::StopRefused { .. } => true,
            Self::Local(e) => e.is_error(),
            _ => false,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyStopping { id, request } => {
                write!(f, "{id}: already stopping (StopRollback request {request})")
            }
            Self::Stopping { id, request } => {
                write!(f, "{id}: stopping (StopRollback request {request})")
            }
            Self::StopRefused { id, .. } => write!(f, "{id}:"),
            Self::Cancelled { id } => {
                write!(f, "{}: cancelled (the task is KILLED)", visible(id))
            }
            Self::EndedFirst { id, state } => write!(
                f,
                "{id}: not cancelled: the task ended {} before the stop took effect",
                state.name()
            ),
            Self::StopFailed { id, request, info } => write!(
                f,
                "{id}: not cancelled: the StopRollback request {request} failed ({info}); the task goes on"
            ),
            Self::StillStopping { id, request, seen } => {
                // e.g. `waiting for maintenance window` (the request's UNDEFINED).
                let seen = seen.as_ref().map_or("no answer", |st| st.name());
                write!(
                    f,
                    "{id}: still stopping (StopRollback request {request}: {seen}); `planrun status` follows it"
                )
            }
            Self::Local(e) => e.fmt(f),
        }
    }
}

/// How a cancel came out: instances not cancelled (a stop refused or failed, a task that
/// ended otherwise), and stops not confirmed by the deadline (still `stopping`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub failed: usize,
    pub still: usize,
}

/// Reads the apply's journal and finds what to stop among `only` (every instance when empty).
pub fn targets(apply: &mut Apply, only: &[String]) -> Result<Targets, Error> {
    let plan = apply.plan_name().to_owned();
    match apply.load() {
        Ok(true) => {}
        Ok(false) => return Err(Error::NothingRecorded { plan }),
        Err(source) => {
            return Err(Error::Unreadable {
                path: apply.journal_path().to_path_buf(),
                source,
            });
        }
    }
    let state = apply.state().clone();
    let unknown: Vec<String> = only
        .iter()
        .filter(|id| state.get(id).is_none())
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::NotInPlan { plan, ids: unknown });
    }
    let regions = apply.regions();
    let selfhosted = |i: usize| local::is_local(regions[i].as_deref());
    let mut targets = Targets::default();
    let asked = state
        .instances
        .iter()
        .enumerate()
        .filter(|(_, s)| only.is_empty() || only.contains(&s.id));
    for (i, s) in asked {
        match (selfhosted(i), s.status.is_final()) {
            (true, true) => targets.done.push((s.id.clone(), s.status)),
            // A self-hosted instance not started yet is cancelled too: it never starts.
            (true, false) => targets.local.push((i, s.id.clone())),
            (false, false) if s.job.is_some() => targets.cloud.push((i, s.id.clone())),
            (false, _) => {}
        }
    }
    targets.state = state;
    Ok(targets)
}

/// Stops `targets` (from [`targets`]), then follows each stop for up to `wait`. `plan_path`,
/// `plan` and `defaults_file`: for self-hosted instances whose apply is gone.
pub async fn cancel(
    apply: &mut Apply,
    targets: Targets,
    (plan_path, plan, defaults_file): (&Path, &ResolvedPlan, Option<&Path>),
    wait: Duration,
    say: &mut dyn FnMut(Event),
) -> Result<Outcome, Error> {
    let path = apply.journal_path().to_path_buf();
    let (mut journal, _) = Journal::open(&path).map_err(|source| Error::Open {
        path: path.clone(),
        source,
    })?;
    let local = if targets.local.is_empty() {
        Outcome::default()
    } else {
        let mut local_say = |e| say(Event::Local(e));
        selfhosted::cancel(
            (plan_path, plan, defaults_file),
            apply,
            &mut journal,
            targets.local,
            wait,
            &mut local_say,
        )
        .await?
    };
    let regions = apply.regions();
    let requests = apply.prepared().requests();
    let offset = apply.offset();
    let state = targets.state;
    let protocol = apply.protocol.clone();
    let mut failed = local.failed;
    let mut stopping: Vec<Stopping> = Vec::new();
    for (i, id) in targets.cloud {
        let region = regions[i].clone();
        // What proves a listed task this instance's (the rule of evidence): its call, its
        // time, what the plan asks of it. Without it, no task is taken for its own.
        let job = state.instances[i].job.clone().and_then(|job| {
            let spec = requests.get(i)?.spec.clone();
            Some((job, Sent::accepted(&state, i, spec, offset)?))
        });
        // Stopped by an earlier cancel and not confirmed yet: confirm, do not stop again.
        if let Some(request) = state.instances[i].stop_request.clone() {
            let request = JobHandle(request);
            say(Event::AlreadyStopping {
                id: id.clone(),
                request: request.clone(),
            });
            stopping.push(Stopping::new(region, id, job, request));
            continue;
        }
        match protocol.stop(region.as_deref(), &id).await {
            Ok(request) => {
                let record = Record::Stopping {
                    instance: id.clone(),
                    request: Some(request.0.clone()),
                    at: Utc::now(),
                };
                journal.append(&record).map_err(Error::Write)?;
                say(Event::Stopping {
                    id: id.clone(),
                    request: request.clone(),
                });
                stopping.push(Stopping::new(region, id, job, request));
            }
            Err(error) => {
                failed += 1;
                say(Event::StopRefused { id, error });
            }
        }
    }
    let until = Instant::now() + wait;
    let every = apply.poll_interval();
    let confirmed = confirm_stops(&protocol, &mut journal, stopping, until, every, say)
        .await
        .map_err(Error::Write)?;
    Ok(Outcome {
        failed: failed + confirmed.failed,
        still: confirmed.still + local.still,
    })
}

/// A stop asked for and accepted: the instance, its rollback's handle (with what the rule of
/// evidence needs to take a listed task for its own), the stop's request.
struct Stopping {
    region: Option<String>,
    id: String,
    job: Option<(JobHandle, Sent)>,
    request: JobHandle,
    /// What DescribeAsyncRequestInfo last said of the stop request.
    seen: Option<TaskState>,
}

impl Stopping {
    fn new(
        region: Option<String>,
        id: String,
        job: Option<(JobHandle, Sent)>,
        request: JobHandle,
    ) -> Self {
        Self {
            region,
            id,
            job,
            request,
            seen: None,
        }
    }
}

/// Follows each stop until its task is KILLED (→ `cancelled`), ends otherwise (journalled as
/// it ended), or `until` passes (it stays `stopping`). `failed`: tasks that ended otherwise
/// than KILLED; `still`: stops not yet confirmed by the deadline.
async fn confirm_stops(
    protocol: &AnyProtocol,
    journal: &mut Journal,
    mut pending: Vec<Stopping>,
    until: Instant,
    every: Duration,
    say: &mut dyn FnMut(Event),
) -> std::io::Result<Outcome> {
    let mut ended = 0;
    loop {
        let mut next = Vec::new();
        for mut s in pending {
            // The stop request's own status: its FAILED is worth saying; the task decides.
            let request = protocol
                .request_state(s.region.as_deref(), &s.request)
                .await
                .ok()
                .flatten();
            // Only a task proven this instance's (never another plan's or tool's KILLED task,
            // listed alone where the filter was ignored, nor a shared task's end) decides.
            let task = match &s.job {
                Some((job, sent)) => {
                    match protocol.track(s.region.as_deref(), &s.id, job, sent).await {
                        Ok(Tracked::One(task)) => Some(task),
                        _ => None,
                    }
                }
                None => None,
            };
            match task.as_ref().map(|t| &t.state) {
                Some(TaskState::Killed) => {
                    journal.append(&Record::Cancelled {
                        instance: s.id.clone(),
                        request: Some(s.request.0.clone()),
                        at: Utc::now(),
                    })?;
                    say(Event::Cancelled { id: s.id });
                }
                Some(state) if state.is_terminal() => {
                    ended += 1;
                    journal.append(&Record::Finished {
                        instance: s.id.clone(),
                        status: state.clone(),
                        message: Some(format!(
                            "the task ended {} before the stop took effect",
                            state.name()
                        )),
                        at: Utc::now(),
                    })?;
                    say(Event::EndedFirst {
                        id: s.id,
                        state: state.clone(),
                    });
                }
                _ if matches!(request, Some((TaskState::Failed, _))) => {
                    ended += 1;
                    let info = request.and_then(|(_, info)| info).unwrap_or_default();
                    say(Event::StopFailed {
                        id: s.id,
                        request: s.request,
                        info,
                    });
                }
                _ => {
                    s.seen = request.map(|(state, _)| state).or(s.seen);
                    next.push(s);
                }
            }
        }
        if next.is_empty() {
            return Ok(Outcome {
                failed: ended,
                still: 0,
            });
        }
        if Instant::now() + every > until {
            let still = next.len();
            for s in next {
                say(Event::StillStopping {
                    id: s.id,
                    request: s.request,
                    seen: s.seen,
                });
            }
            return Ok(Outcome {
                failed: ended,
                still,
            });
        }
        tokio::time::sleep(every).await;
        pending = next;
    }
}

#[cfg(test)]
mod tests {

    use chrono::FixedOffset;

    use super::*;
    use crate::api::rollback::{DatabaseRename, InstanceRollback, RollbackSpec, Strategy};

    const ID: &str = "cdb-cncl0001";

    fn request(time: &str, newname: &str) -> InstanceRollback {
        InstanceRollback {
            instance_id: ID.into(),
            spec: RollbackSpec {
                rollbacktime: time.into(),
                strategy: Strategy::Db,
                dbs: vec![DatabaseRename {
                    dbname: "orders".into(),
                    newname: newname.into(),
                }],
                tables: vec![],
            },
        }
    }

    fn cancelled(journal: &Path) -> bool {
        Journal::read(journal)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .any(|r| matches!(r, Record::Cancelled { .. }))
    }

    /// `cancel` confirms a stop by the task's KILLED only when the rule of evidence takes
    /// that task for the instance's own: another tool's rollback of the instance, stopped
    /// and listed alone (the AsyncRequestId filter ignored), is not this plan's, so the
    /// instance stays `stopping`; this plan's own task, once KILLED, is `cancelled`.
    #[tokio::test]
    async fn cancel_never_takes_another_tools_killed_task_for_its_own() {
        let (sb, v3) = crate::engine::ops::testing::filter_ignored().await;
        // Another tool's rollback of the instance: another time, another target; stopped.
        v3.submit(None, &[request("2026-11-20 01:00:00", "orders_other")])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        crate::engine::ops::testing::until_listed(&v3, ID, 1).await;
        v3.stop(None, ID).await.unwrap_or_else(|e| panic!("{e}"));
        // This plan's rollback, accepted; its stop asked for.
        let ours = request("2026-11-20 03:15:00", "orders_bak");
        let attempt = Utc::now();
        let job = v3
            .submit(None, std::slice::from_ref(&ours))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let sent = Sent {
            batch: vec![ID.into()],
            spec: ours.spec.clone(),
            attempt,
            offset: FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!()),
            failed_before: None,
        };
        let protocol = AnyProtocol::from(v3.clone());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("p.journal");
        let (mut journal, _) = Journal::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let stopping = || {
            vec![Stopping::new(
                None,
                ID.into(),
                Some((job.clone(), sent.clone())),
                JobHandle("stop-request".into()),
            )]
        };
        // One confirmation of the stop, given `within` to see it end: its outcome and what
        // it said.
        let mut confirm = async |within: Duration| {
            let mut events = Vec::new();
            let outcome = confirm_stops(
                &protocol,
                &mut journal,
                stopping(),
                Instant::now() + within,
                Duration::from_millis(100),
                &mut |e| events.push(e.to_string()),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            (outcome, events)
        };
        let still = Outcome {
            failed: 0,
            still: 1,
        };
        let (outcome, events) = confirm(Duration::from_millis(300)).await;
        assert_eq!(outcome, still, "{events:?}");
        assert!(!cancelled(&path), "{events:?}");
        // This plan's own task listed, still running: still stopping.
        crate::engine::ops::testing::until_listed(&v3, ID, 2).await;
        let (outcome, events) = confirm(Duration::from_millis(300)).await;
        assert_eq!(outcome, still, "{events:?}");
        assert!(!cancelled(&path), "{events:?}");
        // Its own task KILLED: cancelled.
        v3.stop(None, ID).await.unwrap_or_else(|e| panic!("{e}"));
        let (outcome, events) = confirm(Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::default(), "{events:?}");
        assert!(cancelled(&path), "{events:?}");
        sb.shutdown().await;
    }
}
