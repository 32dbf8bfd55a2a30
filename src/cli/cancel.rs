//! `planrun cancel PLAN [--instance ID]`: stop the plan's running rollbacks (StopRollback, API
//! 3.0) and record it in the journal, so `status` and the report show `cancelled`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use chrono::Utc;

use super::api_args::ApiArgs;
use super::{exit, plan as plan_cmd, session};
use crate::engine::journal::{Journal, Record};
use crate::engine::state::RunState;

/// Stop the running rollbacks of a plan's last apply.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Only this instance (repeatable) [default: every unfinished instance of the plan].
    #[arg(long, value_name = "ID")]
    pub instance: Vec<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub session: session::SessionArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &CancelArgs) -> i32 {
    if args.api.api == super::api_args::ApiVersion::V2 {
        // Said before anything is read or asked: "no running rollback" would be a lie for an
        // instance whose rollback may well be running.
        errln!(
            "error: API 2.0 cannot cancel a rollback (it has no StopRollback). Cancel with --api v3, or in the console."
        );
        return exit::USAGE;
    }
    let (_, resolved) = match plan_cmd::load_valid(&args.plan, false) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let mut session = match session::Session::observe(
            &args.plan,
            &resolved,
            &args.api,
            &args.session,
        )
        .await
        {
            Ok(s) => s,
            Err(code) => return code,
        };
        match session.load_journal() {
            Ok(true) => {}
            Ok(false) => {
                eprintln!(
                    "No apply of plan {} is recorded: nothing to cancel.",
                    resolved.name
                );
                return exit::USAGE;
            }
            Err(e) => {
                eprintln!(
                    "error: cannot read the journal {}: {e}",
                    session.journal_path().display()
                );
                return exit::USAGE;
            }
        }
        let state: RunState = session.state_mut().clone();
        let unknown: Vec<&String> = args
            .instance
            .iter()
            .filter(|id| state.get(id).is_none())
            .collect();
        if !unknown.is_empty() {
            eprintln!(
                "error: not in plan {}: {}",
                resolved.name,
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return exit::USAGE;
        }
        let targets: Vec<(usize, String)> = state
            .instances
            .iter()
            .enumerate()
            .filter(|(_, s)| args.instance.is_empty() || args.instance.contains(&s.id))
            .filter(|(_, s)| s.job.is_some() && !s.status.is_final())
            .map(|(i, s)| (i, s.id.clone()))
            .collect();
        if targets.is_empty() {
            outln!("No running rollback to cancel.");
            return exit::OK;
        }
        outln!(
            "Will stop the rollback of: {}",
            targets
                .iter()
                .map(|(_, id)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !args.yes
            && let Err(code) = confirm()
        {
            return code;
        }
        let (mut journal, _) = match Journal::open(session.journal_path()) {
            Ok(j) => j,
            Err(e) => {
                eprintln!(
                    "error: cannot open the journal {}: {e}",
                    session.journal_path().display()
                );
                return exit::USAGE;
            }
        };
        let regions = session.regions().to_vec();
        let mut failed = 0;
        for (i, id) in targets {
            match session.protocol.stop(regions[i].as_deref(), &id).await {
                Ok(request) => {
                    let record = Record::Cancelled {
                        instance: id.clone(),
                        request: Some(request.0.clone()),
                        at: Utc::now(),
                    };
                    if let Err(e) = journal.append(&record) {
                        eprintln!("error: cannot write the journal: {e}");
                        return exit::USAGE;
                    }
                    outln!("{id}: cancelled (StopRollback request {request})");
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("{id}: {:?}", miette::Report::new(e));
                }
            }
        }
        if failed > 0 { exit::FAILED } else { exit::OK }
    })
}

#[allow(clippy::print_stdout)]
fn confirm() -> Result<(), i32> {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: refusing to cancel without confirmation: stdin is not a terminal. Pass --yes."
        );
        return Err(exit::USAGE);
    }
    out!("Stop these rollbacks? Only `yes` is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes" {
        Ok(())
    } else {
        outln!("Nothing was cancelled.");
        Err(exit::FAILED)
    }
}
