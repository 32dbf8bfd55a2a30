//! `apply` with the preflight overlapping the run (the default): the checks and the run go
//! on together, and what the preflight held back is said after the summary, with the
//! diagnostics `plan --preflight` gives.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::cli::Error;
use crate::engine::apply::{Apply, Outcome};
use crate::engine::gate;
use crate::engine::ops::preflight::overlap as preflight;
use crate::engine::run::{Ending, Event};
use crate::plan::{Checked, ResolvedPlan};

/// What the preflight found: its diagnostics, and the API error that ended it if one did.
pub(super) type Found = preflight::Findings;

/// Runs the apply with the preflight of the instances still to submit beside it. The
/// preflight is dropped when the run ends first (interrupted, stopped): nothing it would
/// pass could be sent any more.
pub(super) async fn run(
    apply: &mut Apply,
    checked: &Checked,
    plan: &ResolvedPlan,
    timeout: Option<Duration>,
    (cancel, events): (watch::Receiver<bool>, mpsc::UnboundedSender<Event>),
) -> Result<(Outcome, Option<Found>), Error> {
    let requests = apply.cloud_to_check(plan);
    if requests.is_empty() {
        errln!("preflight: nothing to check (the journal records every instance as submitted)");
        return Ok((apply.run(timeout, cancel, events).await?, None));
    }
    errln!(
        "preflight: checking {} instances while the work goes on; each call is submitted once its instances passed",
        requests.len()
    );
    let calls = apply.calls_to_check(&requests);
    let (verdicts, gate) = gate::channel(requests.into_iter().map(|r| r.instance_id));
    apply.overlap(gate);
    let protocol = Arc::clone(&apply.protocol);
    let checks = preflight::run(&protocol, checked, plan, calls, verdicts);
    let running = apply.run(timeout, cancel, events);
    tokio::pin!(checks, running);
    let mut found = None;
    let outcome = loop {
        tokio::select! {
            f = &mut checks, if found.is_none() => found = Some(f),
            o = &mut running => break o?,
        }
    };
    // A run that completed had every verdict: the checks are over, or end at once.
    if found.is_none()
        && matches!(
            outcome,
            Outcome::Ran {
                ending: Ending::Complete,
                ..
            }
        )
    {
        found = Some(checks.await);
    }
    Ok((outcome, found))
}

/// Says what the preflight found, after the summary: the diagnostics of what it held back
/// (`complete`: the run read every verdict, so each is `rejected` in the summary; else some
/// may still show `pending`), then why it could not ask further if it could not (the error
/// the exit code is of).
pub(super) fn said(checked: &Checked, found: Found, complete: bool) -> Option<Error> {
    let Found { problems, error } = found;
    let n = problems.len();
    if n > 0 {
        let report = Checked {
            diagnostics: problems,
            ..checked.clone()
        };
        err!("{}", crate::cli::error::human(&report));
        if complete {
            errln!(
                "preflight found {n} problem(s) with the plan; the instances concerned were held back (rejected, never submitted)."
            );
        } else {
            errln!(
                "preflight found {n} problem(s) with the plan; the instances concerned were not submitted."
            );
        }
    }
    match error {
        Some(e) => {
            crate::cli::error::diagnostic(&e);
            errln!(
                "preflight could not check every instance; those it had not passed were not submitted (apply again to check them)."
            );
            Some(Error::PreflightUnasked(e))
        }
        None => {
            if n == 0 {
                errln!(
                    "preflight: every instance could roll back to its time; {}",
                    crate::engine::ops::preflight::objects::ALL_GOOD
                );
            }
            None
        }
    }
}
