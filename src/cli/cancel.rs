//! `planrun cancel PLAN [--instance ID]`: stop the plan's running rollbacks (StopRollback, API
//! 3.0), then confirm each stop: the StopRollback request's DescribeAsyncRequestInfo and the
//! task's own state. An instance is `stopping` (journalled) once the stop is accepted, and
//! `cancelled` only once its task is KILLED, so `status` and the report never claim more.
//! Self-hosted instances are stopped through their apply instead ([`super::cancel_selfhosted`]).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use std::time::{Duration, Instant};

use chrono::Utc;

use super::api_args::ApiArgs;
use super::located::Located;
use super::{exit, plan as plan_cmd, session};
use crate::engine::any::AnyProtocol;
use crate::engine::journal::{Journal, Record};
use crate::engine::protocol::{JobHandle, Protocol, TaskState};
use crate::engine::state::RunState;
use crate::plan;
use crate::plan::text::visible;

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
    /// How long to wait for the stopped tasks to end KILLED (e.g. 90s, 10m); those still
    /// being stopped then stay `stopping`, and `planrun status` follows them.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = session::parse_duration)]
    pub wait: Duration,
    #[command(flatten)]
    pub session: session::SessionArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &CancelArgs) -> i32 {
    let (checked, resolved) = match plan_cmd::load_valid(&args.plan, false, &args.api.allow_region)
    {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let dir = args.session.state_dir.as_deref();
    let journal = match Located::of_plan(&args.plan, &checked.text, &resolved.name, dir, false) {
        Ok(at) => at.readable(
            &resolved.name,
            &crate::engine::prepare::plan_hash_of(&resolved),
        ),
        Err(code) => return code,
    };
    // Self-hosted restores are stopped without any API.
    let cloud_in_scope = resolved
        .instances
        .iter()
        .filter(|i| args.instance.is_empty() || args.instance.contains(&i.id))
        .any(|i| i.selfhosted.is_none());
    if args.api.api == super::api_args::Generation::V2 && cloud_in_scope {
        // Said before anything is asked: "no running rollback" would be a lie for an
        // instance whose rollback may well be running.
        errln!(
            "error: API 2.0 cannot cancel a rollback (it has no StopRollback). Cancel with --api v3, or in the console."
        );
        return exit::USAGE;
    }
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
            journal,
        )
        .await
        {
            Ok(s) => s,
            Err(code) => return code,
        };
        match session.load_journal() {
            Ok(true) => {}
            Ok(false) => {
                errln!(
                    "No apply of plan {} is recorded: nothing to cancel.",
                    resolved.name
                );
                return exit::USAGE;
            }
            Err(e) => {
                errln!(
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
            errln!(
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
        let regions = session.regions();
        let selfhosted = |i: usize| crate::engine::local::is_local(regions[i].as_deref());
        let asked: Vec<(usize, &crate::engine::state::InstanceState)> = state
            .instances
            .iter()
            .enumerate()
            .filter(|(_, s)| args.instance.is_empty() || args.instance.contains(&s.id))
            .collect();
        let targets: Vec<(usize, String)> = asked
            .iter()
            .filter(|(i, s)| !selfhosted(*i) && s.job.is_some() && !s.status.is_final())
            .map(|(i, s)| (*i, s.id.clone()))
            .collect();
        // A self-hosted instance not started yet is cancelled too: it never starts.
        let local_targets: Vec<(usize, String)> = asked
            .iter()
            .filter(|(i, s)| selfhosted(*i) && !s.status.is_final())
            .map(|(i, s)| (*i, s.id.clone()))
            .collect();
        for (i, s) in &asked {
            if selfhosted(*i) && s.status.is_final() {
                outln!(
                    "{}: already {}; nothing to cancel",
                    plan::text::visible(&s.id),
                    s.status.name()
                );
            }
        }
        if targets.is_empty() && local_targets.is_empty() {
            outln!("No running rollback to cancel.");
            return exit::OK;
        }
        outln!(
            "Will stop the rollback of: {}",
            targets
                .iter()
                .chain(&local_targets)
                .map(|(_, id)| plan::text::visible(id))
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
                errln!(
                    "error: cannot open the journal {}: {e}",
                    session.journal_path().display()
                );
                return exit::USAGE;
            }
        };
        let local = if local_targets.is_empty() {
            super::cancel_selfhosted::Outcome::default()
        } else {
            match super::cancel_selfhosted::cancel(
                &args.plan,
                &resolved,
                &mut session,
                &mut journal,
                local_targets,
                args.session.defaults_file.as_deref(),
                args.wait,
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(code) => return code,
            }
        };
        let mut failed = local.failed;
        let mut stopping: Vec<Stopping> = Vec::new();
        for (i, id) in targets {
            // Stopped by an earlier cancel and not confirmed yet: confirm, do not stop again.
            if let Some(request) = state.instances[i].stop_request.clone() {
                let request = JobHandle(request);
                outln!("{id}: already stopping (StopRollback request {request})");
                stopping.push(Stopping {
                    region: regions[i].clone(),
                    job: state.instances[i].job.clone(),
                    id,
                    request,
                    seen: None,
                });
                continue;
            }
            match session.protocol.stop(regions[i].as_deref(), &id).await {
                Ok(request) => {
                    let record = Record::Stopping {
                        instance: id.clone(),
                        request: Some(request.0.clone()),
                        at: Utc::now(),
                    };
                    if let Err(e) = journal.append(&record) {
                        errln!("error: cannot write the journal: {e}");
                        return exit::USAGE;
                    }
                    outln!("{id}: stopping (StopRollback request {request})");
                    let job = state.instances[i].job.clone();
                    stopping.push(Stopping {
                        region: regions[i].clone(),
                        id,
                        job,
                        request,
                        seen: None,
                    });
                }
                Err(e) => {
                    failed += 1;
                    errln!("{id}:");
                    super::report_error(&e);
                }
            }
        }
        let until = Instant::now() + args.wait;
        let outcome = confirm_stops(
            &session.protocol,
            &mut journal,
            stopping,
            until,
            session.poll_interval(),
        )
        .await;
        match outcome {
            Err(e) => {
                errln!("error: cannot write the journal: {e}");
                exit::USAGE
            }
            Ok(c) if failed + c.ended > 0 => exit::FAILED,
            Ok(c) if c.still + local.still > 0 => exit::UNFINISHED,
            Ok(_) => exit::OK,
        }
    })
}

/// A stop asked for and accepted: the instance, its rollback's handle, the stop's request.
struct Stopping {
    region: Option<String>,
    id: String,
    job: Option<JobHandle>,
    request: JobHandle,
    /// What DescribeAsyncRequestInfo last said of the stop request.
    seen: Option<TaskState>,
}

/// How the confirmations came out: tasks that ended otherwise than KILLED, and stops not yet
/// confirmed by the deadline.
struct Confirmed {
    ended: usize,
    still: usize,
}

/// Follows each stop until its task is KILLED (→ `cancelled`), ends otherwise (journalled as
/// it ended), or `until` passes (it stays `stopping`).
#[allow(clippy::print_stdout)]
async fn confirm_stops(
    protocol: &AnyProtocol,
    journal: &mut Journal,
    mut pending: Vec<Stopping>,
    until: Instant,
    every: Duration,
) -> std::io::Result<Confirmed> {
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
            let task = match &s.job {
                Some(job) => protocol
                    .task(s.region.as_deref(), &s.id, job)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            match task.as_ref().map(|t| &t.state) {
                Some(TaskState::Killed) => {
                    journal.append(&Record::Cancelled {
                        instance: s.id.clone(),
                        request: Some(s.request.0.clone()),
                        at: Utc::now(),
                    })?;
                    outln!("{}: cancelled (the task is KILLED)", visible(&s.id));
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
                    outln!(
                        "{}: not cancelled: the task ended {} before the stop took effect",
                        s.id,
                        state.name()
                    );
                }
                _ if matches!(request, Some((TaskState::Failed, _))) => {
                    ended += 1;
                    let info = request.and_then(|(_, info)| info).unwrap_or_default();
                    outln!(
                        "{}: not cancelled: the StopRollback request {} failed ({info}); the task goes on",
                        s.id,
                        s.request
                    );
                }
                _ => {
                    s.seen = request.map(|(state, _)| state).or(s.seen);
                    next.push(s);
                }
            }
        }
        if next.is_empty() {
            return Ok(Confirmed { ended, still: 0 });
        }
        if Instant::now() + every > until {
            for s in &next {
                // e.g. `waiting for maintenance window` (the request's UNDEFINED).
                let seen = s.seen.as_ref().map_or("no answer", |st| st.name());
                outln!(
                    "{}: still stopping (StopRollback request {}: {seen}); `planrun status` follows it",
                    s.id,
                    s.request
                );
            }
            return Ok(Confirmed {
                ended,
                still: next.len(),
            });
        }
        tokio::time::sleep(every).await;
        pending = next;
    }
}

#[allow(clippy::print_stdout)]
fn confirm() -> Result<(), i32> {
    if !std::io::stdin().is_terminal() {
        errln!(
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
