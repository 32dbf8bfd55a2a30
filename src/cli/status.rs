//! `planrun status PLAN`: the journal of the last apply, refreshed from the API.

use std::path::PathBuf;

use chrono::Utc;

use super::api_args::ApiArgs;
use super::{exit, plan as plan_cmd, session};
use crate::engine::protocol::{Protocol, TaskState};
use crate::engine::state::Status;

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
    let (_, resolved) = match plan_cmd::load_valid(&args.plan, json) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let cloud = session::journal_path(&args.plan, &resolved.name, &args.session, false);
    let demo = session::journal_path(&args.plan, &resolved.name, &args.session, true);
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
            match session::Session::offline(&args.plan, &resolved, &args.session, args.sandbox) {
                Ok(s) => s,
                Err(code) => return code,
            }
        } else {
            match session::Session::observe(&args.plan, &resolved, &args.api, &args.session).await {
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
            refresh(&mut session).await;
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

/// Asks the API about every instance that was submitted and is not final yet (the journal
/// is not changed: `apply` owns it).
async fn refresh(session: &mut session::Session) {
    let protocol = std::sync::Arc::clone(&session.protocol);
    let regions = session.regions();
    let todo: Vec<(usize, String, crate::engine::protocol::JobHandle)> = session
        .state_mut()
        .instances
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.status.is_final())
        .filter_map(|(i, s)| s.job.clone().map(|j| (i, s.id.clone(), j)))
        .collect();
    for (i, id, job) in todo {
        let task = match protocol.task(regions[i].as_deref(), &id, &job).await {
            Ok(Some(task)) => task,
            Ok(None) => continue,
            Err(e) if e.class() == crate::api::ErrorClass::StopRun => {
                // Every other look would be refused the same way: say so once and show the
                // journal as it is.
                errln!(
                    "warning: cannot refresh from the API ({e}); showing the journal as recorded"
                );
                return;
            }
            Err(e) => {
                errln!("warning: cannot refresh {id} from the API: {e}");
                continue;
            }
        };
        let s = &mut session.state_mut().instances[i];
        s.progress = task.progress.or(s.progress);
        s.status = match task.state {
            TaskState::Succeeded => Status::Succeeded,
            TaskState::Failed | TaskState::Killed | TaskState::Removed => {
                s.error = task
                    .message
                    .clone()
                    .or_else(|| Some(format!("the task ended {}", task.state.name())));
                Status::Failed
            }
            TaskState::Running => Status::Running,
            _ => s.status,
        };
        if s.status.is_final() && s.finished_at.is_none() {
            s.finished_at = Some(Utc::now());
        }
    }
}
