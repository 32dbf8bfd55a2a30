//! `cancel` of self-hosted instances. Their restores run inside the `apply` that started
//! them, so there is no API to ask: cancel journals a `stopping` record, the way it does
//! after a cloud StopRollback, and that apply (which follows its journal for them:
//! [`crate::engine::local`]) stops the restore — child processes killed, scratch dropped, no
//! target made — and journals it ended `killed`, which is `cancelled`. An instance not
//! started yet never starts. With no apply running (its lock is free), cancel does the
//! clean-up itself and journals the instance cancelled, so that no later apply restores it.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{Error, Outcome};
use crate::engine::apply::Apply;
use crate::engine::journal::{Journal, Record};
use crate::engine::ops::selfhosted;
use crate::engine::state::Status;
use crate::engine::{local, store};
use crate::plan::ResolvedPlan;
use crate::plan::text::visible;

/// What happened to one self-hosted instance.
#[derive(Debug)]
pub enum Event {
    /// Its apply was asked by an earlier cancel.
    AlreadyStopping { id: String },
    /// Its apply is asked to stop it (journalled).
    Stopping { id: String },
    /// Its apply stopped it.
    Cancelled { id: String },
    /// It finished before the stop took effect.
    FinishedFirst { id: String },
    /// It ended otherwise first.
    EndedFirst {
        id: String,
        status: Status,
        message: Option<String>,
    },
    /// Its apply has not confirmed the stop by the deadline.
    StillStopping { id: String },
    /// No apply runs, and its restore had finished: that apply records it.
    Finished { id: String },
    /// No apply runs, and its interrupted restore had made the targets.
    MadeTargets { id: String },
    /// Not a self-hosted instance of this plan.
    NotOurs { id: String },
    /// No apply runs, and its restore's leftovers could not be dropped.
    AbandonFailed { id: String, error: String },
    /// No apply runs: journalled cancelled (`said`: what became of its restore).
    Abandoned { id: String, said: &'static str },
}

impl Event {
    /// Said on stderr.
    pub fn is_error(&self) -> bool {
        matches!(self, Self::NotOurs { .. } | Self::AbandonFailed { .. })
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyStopping { id } => write!(f, "{}: already stopping", visible(id)),
            Self::Stopping { id } => write!(
                f,
                "{}: stopping (its apply stops the restore and drops what it made)",
                visible(id)
            ),
            Self::Cancelled { id } => write!(
                f,
                "{}: cancelled (its restore was stopped, its scratch server removed and what it had copied to production dropped; no target was made)",
                visible(id)
            ),
            Self::FinishedFirst { id } => write!(
                f,
                "{}: not cancelled: its restore finished before the stop took effect",
                visible(id)
            ),
            Self::EndedFirst {
                id,
                status,
                message,
            } => write!(
                f,
                "{}: not cancelled: it ended {} first ({})",
                visible(id),
                status.name(),
                visible(message.as_deref().unwrap_or("no message"))
            ),
            Self::StillStopping { id } => write!(
                f,
                "{}: still stopping (its apply has not confirmed it); `planrun status` follows it",
                visible(id)
            ),
            Self::Finished { id } => write!(
                f,
                "{}: not cancelled: its restore had finished; `planrun apply` records it",
                visible(id)
            ),
            Self::MadeTargets { id } => write!(
                f,
                "{}: not cancelled: its interrupted restore had made the targets; `planrun apply` records it done",
                visible(id)
            ),
            Self::NotOurs { id } => {
                write!(
                    f,
                    "{}: not a self-hosted instance of this plan",
                    visible(id)
                )
            }
            Self::AbandonFailed { id, error } => {
                write!(f, "{}: not cancelled: {}", visible(id), visible(error))
            }
            Self::Abandoned { id, said } => write!(f, "{}: cancelled ({said})", visible(id)),
        }
    }
}

/// Cancels `targets` (indexes into the plan and ids; none final): through the apply that
/// runs them, or, with none running, here.
pub(super) async fn cancel(
    (plan_path, plan, defaults_file): (&Path, &ResolvedPlan, Option<&Path>),
    apply: &mut Apply,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    wait: Duration,
    say: &mut dyn FnMut(Event),
) -> Result<Outcome, Error> {
    let dir = apply
        .journal_path()
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match store::lock(apply.journal_path(), &plan.name) {
        // No apply runs: nobody else will touch these restores while cancel holds the lock.
        Ok(_lock) => {
            let creds = selfhosted::credentials(defaults_file)?;
            let here = (plan_path, plan, &creds, dir.as_path());
            abandon(here, apply, journal, targets, say).await
        }
        Err(store::Error::Locked { .. }) => ask_apply(apply, journal, targets, wait, say).await,
        Err(e) => Err(Error::Lock(e)),
    }
}

/// Journals stop requests for the running apply, then waits for it to journal each end.
async fn ask_apply(
    apply: &mut Apply,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    wait: Duration,
    say: &mut dyn FnMut(Event),
) -> Result<Outcome, Error> {
    for (i, id) in &targets {
        if apply.state().instances[*i].status == Status::Stopping {
            say(Event::AlreadyStopping { id: id.clone() });
            continue;
        }
        let record = Record::Stopping {
            instance: id.clone(),
            request: None,
            at: Utc::now(),
        };
        journal.append(&record).map_err(Error::Write)?;
        say(Event::Stopping { id: id.clone() });
    }
    let until = Instant::now() + wait;
    let mut pending = targets;
    let mut out = Outcome::default();
    loop {
        apply.load().map_err(Error::Read)?;
        let state = apply.state().clone();
        pending.retain(|(i, id)| {
            let s = &state.instances[*i];
            let id = id.clone();
            match s.status {
                Status::Cancelled => say(Event::Cancelled { id }),
                Status::Succeeded => {
                    out.failed += 1;
                    say(Event::FinishedFirst { id });
                }
                status if status.is_final() => {
                    out.failed += 1;
                    say(Event::EndedFirst {
                        id,
                        status,
                        message: s.error.clone(),
                    });
                }
                _ => return true,
            }
            false
        });
        if pending.is_empty() {
            return Ok(out);
        }
        if Instant::now() + apply.poll_interval() > until {
            out.still = pending.len();
            for (_, id) in pending {
                say(Event::StillStopping { id });
            }
            return Ok(out);
        }
        tokio::time::sleep(apply.poll_interval()).await;
    }
}

/// No apply runs: an interrupted restore's leftovers are dropped here, and the instance is
/// journalled cancelled (a later apply leaves it alone).
async fn abandon(
    (plan_path, plan, creds, dir): (&Path, &ResolvedPlan, &crate::mysql::Credentials, &Path),
    apply: &Apply,
    journal: &mut Journal,
    targets: Vec<(usize, String)>,
    say: &mut dyn FnMut(Event),
) -> Result<Outcome, Error> {
    let mut out = Outcome::default();
    for (i, id) in targets {
        let job = apply.state().instances[i].job.clone();
        let said = match &job {
            None => "it had not started, and never will",
            Some(job) if local::marker(dir, job).exists() => {
                out.failed += 1;
                say(Event::Finished { id });
                continue;
            }
            Some(job) => {
                let Some(mut req) = plan
                    .instances
                    .get(i)
                    .and_then(|inst| selfhosted::request(plan_path, plan, inst, dir))
                else {
                    out.failed += 1;
                    say(Event::NotOurs { id });
                    continue;
                };
                req.run = job.0.clone();
                match crate::mysql::restore::abandon(&req, creds).await {
                    Ok(false) => {
                        "no apply was running it: what its interrupted restore left was dropped; no target was made"
                    }
                    Ok(true) => {
                        out.failed += 1;
                        say(Event::MadeTargets { id });
                        continue;
                    }
                    Err(e) => {
                        out.failed += 1;
                        say(Event::AbandonFailed {
                            id,
                            error: e.to_string(),
                        });
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
        journal.append_all(&records).map_err(Error::Write)?;
        say(Event::Abandoned { id, said });
    }
    Ok(out)
}
