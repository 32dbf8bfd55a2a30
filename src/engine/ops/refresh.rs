//! What `status` learns: every instance submitted and not final is asked of the API, and
//! what it says is recorded in the journal, so that what `status` shows (and `report`, and a
//! resumed `apply`) is always the journal's fold. A success counts once its new objects are
//! seen. What could not be done is said as a [`Note`]; the journal is then shown as recorded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{FixedOffset, Utc};

use super::{escaped, shown};
use crate::api::rollback::InstanceRollback;
use crate::engine::apply::Apply;
use crate::engine::journal::Record;
use crate::engine::protocol::{Protocol, TaskState};
use crate::engine::reconcile::{Sent, Tracked};
use crate::engine::state::RunState;
use crate::engine::store;
use crate::plan::text::visible;

/// What a refresh could not do (a warning), or why it wrote nothing (a note).
#[derive(Debug)]
pub enum Note {
    /// The API refused to answer (credentials, permission): nothing more is asked.
    Refused(String),
    /// One instance's task could not be polled.
    Unseen { instance: String, error: String },
    /// What the API lists proves no task to be this instance's submission's (the rule of
    /// evidence, [`crate::engine::reconcile`]): nothing is recorded of it.
    Unproven { instance: String, why: String },
    /// A task succeeded, and its new objects could not be looked for.
    Unverifiable { instance: String, error: String },
    /// An apply holds the plan's lock: it journals what its tasks do.
    ApplyRunning { plan: String },
    /// The plan's lock could not be taken.
    Unlocked(String),
    /// Another run wrote to the journal while the refresh polled.
    Moved,
    Unrecorded {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Note {
    /// A warning (something failed), not a note (something else was under way).
    pub fn is_warning(&self) -> bool {
        !matches!(self, Self::ApplyRunning { .. } | Self::Moved)
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => write!(
                f,
                "cannot refresh from the API ({}); showing the journal as recorded",
                escaped(e)
            ),
            Self::Unseen { instance, error } => write!(
                f,
                "cannot refresh {} from the API: {}",
                visible(instance),
                escaped(error)
            ),
            Self::Unproven { instance, why } => write!(
                f,
                "cannot tell the task of {} from the API: {}; {}",
                visible(instance),
                escaped(why),
                crate::engine::reconcile::check_hint(&visible(instance))
            ),
            Self::Unverifiable { instance, error } => write!(
                f,
                "cannot look for the new objects of {}: {}",
                visible(instance),
                escaped(error)
            ),
            Self::ApplyRunning { plan } => write!(
                f,
                "an apply of plan {} is running and journals what its tasks do: showing its journal as recorded",
                visible(plan)
            ),
            Self::Unlocked(e) => write!(
                f,
                "cannot record what the API said ({}); showing the journal as recorded",
                escaped(e)
            ),
            Self::Moved => f.write_str(
                "another run wrote to the journal while status polled; showing the journal as it was read",
            ),
            Self::Unrecorded { path, error } => write!(
                f,
                "cannot record what the API said in the journal {} ({error}); showing the journal as recorded",
                shown(path)
            ),
        }
    }
}

/// [`refresh`] of `apply`'s journal, as [`Apply::load`] read it.
pub async fn apply(apply: &mut Apply, say: &mut dyn FnMut(Note)) {
    let protocol = Arc::clone(&apply.protocol);
    let regions = apply.regions();
    let requests = apply.prepared().requests();
    let offset = apply.offset();
    let path = apply.journal_path().to_owned();
    let plan = apply.plan_name().to_owned();
    let state = apply.state_mut();
    refresh(
        protocol.as_ref(),
        &path,
        &plan,
        (&regions, &requests, offset),
        state,
        say,
    )
    .await;
}

/// Asks the API about every instance of `state` (the fold of the journal at `path`;
/// `regions[i]` is the region of `state.instances[i]`, `requests[i]` what the plan asks of it,
/// `offset` the instances' clock) that was submitted and is not final yet, and records what
/// it learned in the journal. A task is the instance's only by the rule of evidence
/// ([`Protocol::track`]), as `apply` tracks it: never another rollback's task listed alone
/// where the filter was ignored. Records go under the plan's lock, and only if nobody
/// wrote to the journal meanwhile (while an apply runs, it journals what its tasks do itself,
/// so the journal is shown as it records it). What could not be done is said to `say`.
pub async fn refresh<P: Protocol>(
    protocol: &P,
    path: &Path,
    plan: &str,
    (regions, requests, offset): (&[Option<String>], &[InstanceRollback], FixedOffset),
    state: &mut RunState,
    say: &mut dyn FnMut(Note),
) {
    // The polls take as long as the API's rate makes them; the lock is taken only to write
    // what they learned, so that an apply (or a cancel) started meanwhile is not refused.
    let Ok(seen) = store::journal_len(path) else {
        return;
    };
    let mut records = Vec::new();
    for (i, s) in state.instances.iter().enumerate() {
        let Some(job) = s.job.as_ref().filter(|_| !s.status.is_final()) else {
            continue;
        };
        let region = regions.get(i).and_then(Option::as_deref);
        let Some(sent) = requests
            .get(i)
            .and_then(|r| Sent::accepted(state, i, r.spec.clone(), offset))
        else {
            continue;
        };
        let task = match protocol.track(region, &s.id, job, &sent).await {
            Ok(Tracked::One(task)) => task,
            Ok(Tracked::Unlisted) => continue,
            Ok(Tracked::Ambiguous(why) | Tracked::Ended(why)) => {
                say(Note::Unproven {
                    instance: s.id.clone(),
                    why,
                });
                continue;
            }
            Err(e) if e.class() == crate::api::ErrorClass::StopRun => {
                // Every other poll would be refused the same way: say so once and record
                // what was learned so far.
                say(Note::Refused(e.to_string()));
                break;
            }
            Err(e) => {
                say(Note::Unseen {
                    instance: s.id.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        records.extend(s.observed(&task, Utc::now()));
        let local = crate::engine::local::is_local(region);
        if let (TaskState::Succeeded, false, Some(request)) = (&task.state, local, requests.get(i))
        {
            records.extend(verified(protocol, region, request, &s.id, say).await);
        }
    }
    if records.is_empty() {
        return;
    }
    let lock = match store::lock(path, plan) {
        Ok(lock) => lock,
        Err(store::Error::Locked { .. }) => {
            say(Note::ApplyRunning {
                plan: plan.to_owned(),
            });
            return;
        }
        Err(e) => {
            say(Note::Unlocked(e.to_string()));
            return;
        }
    };
    match store::record(&lock, path, seen, state, &records) {
        Ok(true) => {}
        Ok(false) => say(Note::Moved),
        Err(e) => say(Note::Unrecorded {
            path: path.to_path_buf(),
            error: e,
        }),
    }
}

/// The record of a successful task once its new objects were looked for: `succeeded` when
/// every one is seen (or the API cannot list them: API 2.0), `unverified` naming what is
/// missing; nothing when the API could not answer (the next poll tries again).
async fn verified<P: Protocol>(
    protocol: &P,
    region: Option<&str>,
    request: &InstanceRollback,
    instance: &str,
    say: &mut dyn FnMut(Note),
) -> Option<Record> {
    use crate::engine::verify::{Verdict, verify};
    let at = Utc::now();
    match verify(protocol, region, request).await {
        Ok(Verdict::Seen | Verdict::Unavailable) => Some(Record::Finished {
            instance: instance.to_owned(),
            status: TaskState::Succeeded,
            message: None,
            at,
        }),
        Ok(Verdict::Missing(missing)) => Some(Record::Unverified {
            instance: instance.to_owned(),
            missing,
            at,
        }),
        Err(e) => {
            say(Note::Unverifiable {
                instance: instance.to_owned(),
                error: e.to_string(),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;
    use crate::api::rollback::{InstanceRollback, RollbackSpec, Strategy};
    use crate::api::v2::Client;
    use crate::api::{ClientConfig, Credentials};
    use crate::engine::journal::Journal;
    use crate::engine::protocol::TaskState;
    use crate::engine::state::Status;
    use crate::engine::v2::V2;
    use crate::sandbox::{self, DEMO_SECRET_ID, DEMO_SECRET_KEY};

    const ID: &str = "cdb-stat0001";

    /// A journal of plan `p` whose one call, of instance [`ID`], was accepted as `job` now.
    fn accepted(path: &Path, job: crate::engine::protocol::JobHandle) {
        let (mut journal, _) = Journal::open(path).unwrap_or_else(|e| panic!("{e}"));
        let at = Utc::now();
        journal
            .append_all(&[
                Record::Start {
                    plan: "p".into(),
                    plan_hash: "h".into(),
                    at,
                    by: None,
                },
                Record::Intent {
                    batch: 1,
                    instances: vec![ID.into()],
                    at,
                },
                Record::Accepted { batch: 1, job, at },
            ])
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn replayed(path: &Path) -> RunState {
        RunState::replay([ID], &Journal::read(path).unwrap_or_else(|e| panic!("{e}")))
    }

    /// One `status` refresh of plan `p`'s journal at `path` (its one instance, [`request`]).
    async fn refresh_once<P: Protocol>(protocol: &P, path: &Path, state: &mut RunState) {
        refresh(
            protocol,
            path,
            "p",
            (&[None], &[request()], clock()),
            state,
            &mut |_| {},
        )
        .await;
    }

    /// The sandbox's instances' clock.
    fn clock() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!())
    }

    /// The rollback of [`ID`] these tests submit.
    fn request() -> InstanceRollback {
        InstanceRollback {
            instance_id: ID.into(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Db,
                dbs: vec![crate::api::rollback::DatabaseRename {
                    dbname: "orders".into(),
                    newname: "orders_bak".into(),
                }],
                tables: vec![],
            },
        }
    }

    /// A sandbox with one submitted rollback of [`ID`], and a journal that says so.
    async fn submitted(dir: &Path) -> (sandbox::Sandbox, V2, PathBuf) {
        let config = sandbox::Config {
            task_seconds: (0.2, 0.4),
            rollback_time_check: None,
            any_instance: true,
            ..sandbox::Config::demo()
        };
        let sb = sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let client = Client::new(ClientConfig::new(
            sb.endpoint_v2(),
            "ap-guangzhou",
            Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let protocol = V2::new(client);
        let job = protocol
            .submit(None, &[request()])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("p.journal");
        accepted(&path, job);
        (sb, protocol, path)
    }

    #[tokio::test]
    async fn what_status_learns_is_journaled_so_the_replay_is_what_it_shows() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (sb, protocol, path) = submitted(dir.path()).await;
        let mut state = replayed(&path);
        assert_eq!(state.instances[0].status, Status::Submitted);
        let job = state.instances[0]
            .job
            .clone()
            .unwrap_or_else(|| panic!("no job"));
        // Whatever the task is doing now (waiting, running or ended), it is news.
        refresh_once(&protocol, &path, &mut state).await;
        assert_ne!(state.instances[0].task_state, None);
        assert_eq!(replayed(&path).instances, state.instances);
        // Wait for the task to end, then learn that.
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let task = protocol.task(None, ID, &job).await;
                if task.is_ok_and(|t| t.is_some_and(|t| t.state.is_terminal())) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the sandbox's task never ended"));
        refresh_once(&protocol, &path, &mut state).await;
        assert_eq!(state.instances[0].status, Status::Succeeded);
        assert_eq!(replayed(&path).instances, state.instances);
        let records = Journal::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(
                records.last(),
                Some(Record::Finished {
                    status: TaskState::Succeeded,
                    ..
                })
            ),
            "{records:?}"
        );
        // Nothing new: nothing written.
        refresh_once(&protocol, &path, &mut state).await;
        let again = Journal::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.len(), records.len());
        sb.shutdown().await;
    }

    #[tokio::test]
    async fn while_an_apply_holds_the_lock_status_changes_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (sb, protocol, path) = submitted(dir.path()).await;
        let before = Journal::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut state = replayed(&path);
        let apply = store::lock(&path, "p").unwrap_or_else(|e| panic!("{e}"));
        refresh_once(&protocol, &path, &mut state).await;
        drop(apply);
        assert_eq!(state.instances, replayed(&path).instances);
        assert_eq!(state.instances[0].task_state, None, "nothing learned");
        assert_eq!(
            Journal::read(&path).unwrap_or_else(|e| panic!("{e}")),
            before
        );
        sb.shutdown().await;
    }

    /// Audit: `status` (this refresh) reads an API 3.0 request's task with
    /// The filter by AsyncRequestId ignored (a quirk the engine itself guards against), the
    /// only item listed is another rollback's task (another time, another target name) that
    /// was stopped; this request's own task is not listed yet. `status` took it through
    /// `Protocol::task` (the one item, no rule of evidence) and journaled that KILLED as this
    /// instance's end (`failed`; found by the audit of 2026-12-05). It now goes through
    /// `Protocol::track`: nothing is journaled until this request's own task is listed.
    #[tokio::test]
    async fn status_never_takes_another_rollbacks_task_for_this_request() {
        let (sb, protocol) = crate::engine::ops::testing::filter_ignored().await;
        // Another plan's rollback of the instance: another time, another target; stopped.
        let mut other = request();
        other.spec.rollbacktime = "2026-11-20 01:00:00".into();
        other.spec.dbs[0].newname = "orders_other".into();
        protocol
            .submit(None, &[other])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        crate::engine::ops::testing::until_listed(&protocol, ID, 1).await;
        protocol
            .stop(None, ID)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // This plan's own rollback, accepted and journaled.
        let job = protocol
            .submit(None, &[request()])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("p.journal");
        accepted(&path, job);
        let mut state = replayed(&path);
        refresh_once(&protocol, &path, &mut state).await;
        let s = &state.instances[0];
        assert!(
            !s.status.is_final() && s.task_state != Some(TaskState::Killed),
            "another rollback's task was taken for this request's: {:?} {:?} {:?}",
            s.status,
            s.task_state,
            s.error
        );
        // Once this request's own task is listed beside it, that one (its echo equal to
        // what was sent) is what status learns.
        crate::engine::ops::testing::until_listed(&protocol, ID, 2).await;
        refresh_once(&protocol, &path, &mut state).await;
        let s = &state.instances[0];
        assert!(
            matches!(s.task_state, Some(TaskState::Running | TaskState::Waiting))
                && !s.status.is_final(),
            "{:?} {:?} {:?}",
            s.status,
            s.task_state,
            s.error
        );
        assert_eq!(replayed(&path).instances, state.instances);
        sb.shutdown().await;
    }
}
