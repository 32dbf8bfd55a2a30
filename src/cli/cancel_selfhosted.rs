//! `planrun cancel` of self-hosted instances. Their restores run inside the `apply` that
//! started them, so there is no API to ask: cancel journals a `stopping` record, the way it
//! does after a cloud StopRollback, and that apply (which follows its journal for them:
//! [`crate::engine::local`]) stops the restore — child processes killed, scratch dropped,
//! no target made — and journals it ended `killed`, which is `cancelled`. An instance not
//! started yet never starts. With no apply running (its lock is free), cancel does the
//! clean-up itself and journals the instance cancelled, so that no later apply restores it.

#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{exit, selfhosted, session};
use crate::engine::journal::{Journal, Record};
use crate::engine::state::Status;
use crate::engine::{local, store};
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;

/// How the self-hosted stops came out: instances not cancelled (they ended otherwise, or
/// the clean-up failed), and stops the running apply has not confirmed by the deadline.
#[derive(Debug, Default)]
pub struct Outcome {
    pub failed: usize,
    pub still: usize,
}

/// Cancels `targets` (indexes into the plan and ids; none final). `Err`: the exit code.
pub async fn cancel(
    plan_path: &Path,
    plan: &ResolvedPlan,
    session: &mut session::Session,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    defaults_file: Option<&Path>,
    wait: Duration,
) -> Result<Outcome, i32> {
    let dir = session
        .journal_path()
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match store::lock(session.journal_path(), &plan.name) {
        // No apply runs: nobody else will touch these restores while cancel holds the lock.
        Ok(_lock) => {
            let creds = selfhosted::credentials(defaults_file)?;
            abandon(plan_path, plan, session, journal, targets, &creds, &dir).await
        }
        Err(store::Error::Locked { .. }) => ask_apply(session, journal, targets, wait).await,
        Err(e) => {
            errln!("error: {}", visible(&e.to_string()));
            Err(exit::USAGE)
        }
    }
}

fn journal_error(e: &std::io::Error) -> i32 {
    errln!("error: cannot write the journal: {e}");
    exit::USAGE
}

/// Journals stop requests for the running apply, then waits for it to journal each end.
async fn ask_apply(
    session: &mut session::Session,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    wait: Duration,
) -> Result<Outcome, i32> {
    for (i, id) in &targets {
        if session.state_mut().instances[*i].status == Status::Stopping {
            outln!("{}: already stopping", visible(id));
            continue;
        }
        let record = Record::Stopping {
            instance: id.clone(),
            request: None,
            at: Utc::now(),
        };
        journal.append(&record).map_err(|e| journal_error(&e))?;
        outln!(
            "{}: stopping (its apply stops the restore and drops what it made)",
            visible(id)
        );
    }
    let until = Instant::now() + wait;
    let mut pending = targets;
    let mut out = Outcome::default();
    loop {
        if let Err(e) = session.load_journal() {
            errln!("error: cannot read the journal: {e}");
            return Err(exit::USAGE);
        }
        let state = session.state_mut().clone();
        pending.retain(|(i, id)| {
            let s = &state.instances[*i];
            match s.status {
                Status::Cancelled => {
                    outln!(
                        "{}: cancelled (its restore was stopped, its scratch server removed and what it had copied to production dropped; no target was made)",
                        visible(id)
                    );
                    false
                }
                Status::Succeeded => {
                    out.failed += 1;
                    outln!(
                        "{}: not cancelled: its restore finished before the stop took effect",
                        visible(id)
                    );
                    false
                }
                status if status.is_final() => {
                    out.failed += 1;
                    outln!(
                        "{}: not cancelled: it ended {} first ({})",
                        visible(id),
                        status.name(),
                        visible(s.error.as_deref().unwrap_or("no message"))
                    );
                    false
                }
                _ => true,
            }
        });
        if pending.is_empty() {
            return Ok(out);
        }
        if Instant::now() + session.poll_interval() > until {
            for (_, id) in &pending {
                outln!(
                    "{}: still stopping (its apply has not confirmed it); `planrun status` follows it",
                    visible(id)
                );
            }
            out.still = pending.len();
            return Ok(out);
        }
        tokio::time::sleep(session.poll_interval()).await;
    }
}

/// No apply runs: an interrupted restore's leftovers are dropped here, and the instance is
/// journalled cancelled (a later apply leaves it alone).
async fn abandon(
    plan_path: &Path,
    plan: &ResolvedPlan,
    session: &mut session::Session,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    creds: &crate::mysql::Credentials,
    dir: &Path,
) -> Result<Outcome, i32> {
    let mut out = Outcome::default();
    for (i, id) in targets {
        let job = session.state_mut().instances[i].job.clone();
        let said = match &job {
            None => "it had not started, and never will".to_owned(),
            Some(job) if local::marker(dir, job).exists() => {
                out.failed += 1;
                outln!(
                    "{}: not cancelled: its restore had finished; `planrun apply` records it",
                    visible(&id)
                );
                continue;
            }
            Some(job) => {
                let Some(mut req) = plan
                    .instances
                    .get(i)
                    .and_then(|inst| selfhosted::request(plan_path, plan, inst, dir))
                else {
                    out.failed += 1;
                    errln!("{}: not a self-hosted instance of this plan", visible(&id));
                    continue;
                };
                req.run = job.0.clone();
                match crate::mysql::restore::abandon(&req, creds).await {
                    Ok(false) => {
                        "no apply was running it: what its interrupted restore left was dropped; no target was made".to_owned()
                    }
                    Ok(true) => {
                        out.failed += 1;
                        outln!(
                            "{}: not cancelled: its interrupted restore had made the targets; `planrun apply` records it done",
                            visible(&id)
                        );
                        continue;
                    }
                    Err(e) => {
                        out.failed += 1;
                        errln!(
                            "{}: not cancelled: {}",
                            visible(&id),
                            visible(&e.to_string())
                        );
                        continue;
                    }
                }
            }
        };
        let now = Utc::now();
        let records = [
            Record::Stopping {
                instance: id.clone(),
                request: None,
                at: now,
            },
            Record::Cancelled {
                instance: id.clone(),
                request: None,
                at: now,
            },
        ];
        journal
            .append_all(&records)
            .map_err(|e| journal_error(&e))?;
        outln!("{}: cancelled ({said})", visible(&id));
    }
    Ok(out)
}
