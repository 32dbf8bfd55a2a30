//! `planrun status PLAN`: the journal of the last apply, refreshed from the API (and what
//! the API said recorded in it).

use crate::engine::journal::Record;
use crate::engine::protocol::TaskState;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::api_args::ApiArgs;
use super::located::Located;
use super::{exit, plan as plan_cmd, session};
use crate::engine::protocol::Protocol;
use crate::engine::state::RunState;
use crate::engine::store;
use crate::plan::text::visible;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    /// The report of `apply --report`.
    Json,
}

/// Show the state of the plan's last apply.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Show the journal as it is, without asking the API (no credentials needed).
    #[arg(long)]
    pub offline: bool,
    /// Show the journal of `apply --sandbox` (offline: that emulator is gone).
    #[arg(long)]
    pub sandbox: bool,
    #[command(flatten)]
    pub session: session::SessionArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &StatusArgs) -> i32 {
    let json = args.format == Format::Json;
    let (checked, resolved) = match plan_cmd::load_valid(&args.plan, json, &args.api.allow_region) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (cloud, demo) = match journals(args, &checked, &resolved) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let journal = if args.sandbox {
        demo.clone()
    } else {
        cloud.clone()
    };
    if !args.sandbox && !cloud.exists() && demo.exists() {
        errln!(
            "No apply of plan {} is recorded (journal {}), but an `apply --sandbox` is: see it with\n  planrun status {} --sandbox",
            resolved.name,
            cloud.display(),
            args.plan.display()
        );
        return exit::UNFINISHED;
    }
    runtime.block_on(async {
        let offline = args.offline || args.sandbox;
        let mut session = if offline {
            match session::Session::offline(&resolved, &args.session, journal) {
                Ok(s) => s,
                Err(code) => return code,
            }
        } else {
            match session::Session::observe(
                &args.plan,
                &resolved,
                &args.api,
                &args.session,
                journal,
            )
            .await
            {
                Ok(s) => s,
                Err(code) => return code,
            }
        };
        match session.load_journal() {
            Ok(true) => {}
            Ok(false) => {
                errln!(
                    "No apply of plan {} is recorded (journal {}).",
                    resolved.name,
                    session.journal_path().display()
                );
                return exit::UNFINISHED;
            }
            Err(e) => {
                errln!(
                    "error: cannot read the journal {}: {e}",
                    session.journal_path().display()
                );
                return exit::USAGE;
            }
        }
        if !offline {
            refresh(&mut session, &resolved.name).await;
        }
        if json {
            match serde_json::to_string_pretty(&session.report()) {
                Ok(text) => outln!("{text}"),
                Err(e) => {
                    errln!("error: {e}");
                    return exit::USAGE;
                }
            }
        } else {
            out!("{}", session.summary_table());
        }
        exit::of_totals(&session.report().totals, exit::Precedence::UnfinishedFirst)
    })
}

/// The plan's journal and its `apply --sandbox` journal, as `apply` names them (or an older
/// planrun's of this plan, read in place).
pub(super) fn journals(
    args: &StatusArgs,
    checked: &crate::plan::Checked,
    resolved: &crate::plan::ResolvedPlan,
) -> Result<(PathBuf, PathBuf), i32> {
    let hash = crate::engine::prepare::plan_hash_of(resolved);
    let dir = args.session.state_dir.as_deref();
    let at = Located::of_plan(&args.plan, &checked.text, &resolved.name, dir, false)?;
    let readable = |sandboxed| at.sandboxed(sandboxed).readable(&resolved.name, &hash);
    Ok((readable(false), readable(true)))
}

/// Asks the API about every instance that was submitted and is not final yet, and records
/// what it learned in the journal ([`learn`]): what `status` shows is always the journal's fold.
async fn refresh(session: &mut session::Session, plan: &str) {
    let protocol = std::sync::Arc::clone(&session.protocol);
    let regions = session.regions();
    let requests = session.prepared().requests();
    let path = session.journal_path().to_owned();
    learn(
        protocol.as_ref(),
        &path,
        plan,
        (&regions, &requests),
        session.state_mut(),
    )
    .await;
}

/// The record of a successful task once its new objects were looked for: `succeeded` when
/// every one is seen (or the API cannot list them: API 2.0), `unverified` naming what is
/// missing; nothing when the API could not answer (the next look tries again).
async fn verified<P: Protocol>(
    protocol: &P,
    region: Option<&str>,
    request: &crate::api::rollback::InstanceRollback,
    instance: &str,
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
            errln!(
                "warning: cannot look for the new objects of {}: {}",
                visible(instance),
                visible(&e.to_string())
            );
            None
        }
    }
}

/// [`refresh`] over `state`, the fold of the journal at `path` (`regions[i]` is the region
/// of `state.instances[i]`). What it learned is written under the plan's lock, and only if
/// nobody wrote to the journal meanwhile: while an apply runs, it journals what its tasks do
/// itself, so the journal is shown as it records it.
async fn learn<P: Protocol>(
    protocol: &P,
    path: &Path,
    plan: &str,
    (regions, requests): (&[Option<String>], &[crate::api::rollback::InstanceRollback]),
    state: &mut RunState,
) {
    // The looks take as long as the API's rate makes them; the lock is taken only to write
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
        let task = match protocol.task(region, &s.id, job).await {
            Ok(Some(task)) => task,
            Ok(None) => continue,
            Err(e) if e.class() == crate::api::ErrorClass::StopRun => {
                // Every other look would be refused the same way: say so once and record
                // what was learned so far.
                errln!(
                    "warning: cannot refresh from the API ({}); showing the journal as recorded",
                    visible(&e.to_string())
                );
                break;
            }
            Err(e) => {
                errln!(
                    "warning: cannot refresh {} from the API: {}",
                    visible(&s.id),
                    visible(&e.to_string())
                );
                continue;
            }
        };
        records.extend(s.observed(&task, Utc::now()));
        let local = crate::engine::local::is_local(region);
        if let (TaskState::Succeeded, false, Some(request)) = (&task.state, local, requests.get(i))
        {
            records.extend(verified(protocol, region, request, &s.id).await);
        }
    }
    if records.is_empty() {
        return;
    }
    let lock = match store::lock(path, plan) {
        Ok(lock) => lock,
        Err(store::Error::Locked { .. }) => {
            errln!(
                "note: an apply of plan {} is running and journals what its tasks do: showing its journal as recorded",
                visible(plan)
            );
            return;
        }
        Err(e) => {
            errln!(
                "warning: cannot record what the API said ({}); showing the journal as recorded",
                visible(&e.to_string())
            );
            return;
        }
    };
    match store::record(&lock, path, seen, state, &records) {
        Ok(true) => {}
        Ok(false) => errln!(
            "note: another run wrote to the journal while status looked; showing the journal as it was read"
        ),
        Err(e) => errln!(
            "warning: cannot record what the API said in the journal {} ({e}); showing the journal as recorded",
            visible(&path.display().to_string())
        ),
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
    use crate::engine::journal::{Journal, Record};
    use crate::engine::protocol::TaskState;
    use crate::engine::state::Status;
    use crate::engine::v2::V2;
    use crate::sandbox::{self, DEMO_SECRET_ID, DEMO_SECRET_KEY};

    const ID: &str = "cdb-stat0001";

    fn replayed(path: &Path) -> RunState {
        RunState::replay([ID], &Journal::read(path).unwrap_or_else(|e| panic!("{e}")))
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
        let (mut journal, _) = Journal::open(&path).unwrap_or_else(|e| panic!("{e}"));
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
        learn(&protocol, &path, "p", (&[None], &[request()]), &mut state).await;
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
        learn(&protocol, &path, "p", (&[None], &[request()]), &mut state).await;
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
        learn(&protocol, &path, "p", (&[None], &[request()]), &mut state).await;
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
        learn(&protocol, &path, "p", (&[None], &[request()]), &mut state).await;
        drop(apply);
        assert_eq!(state.instances, replayed(&path).instances);
        assert_eq!(state.instances[0].task_state, None, "nothing learned");
        assert_eq!(
            Journal::read(&path).unwrap_or_else(|e| panic!("{e}")),
            before
        );
        sb.shutdown().await;
    }
}
