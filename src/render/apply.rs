//! What `apply` says around its run: the question above the `yes`, what it says when an
//! earlier run already did everything, and how a run ended (and how to resume it).

use std::path::Path;

use crate::diff;
use crate::engine::run::Ending;
use crate::engine::state::{RunState, Status};
use crate::plan::text::visible;
use crate::plan::{Checked, ResolvedPlan};

/// The question above the `yes`: the plan, its totals by strategy, its warnings, and what an
/// earlier run already did.
pub fn question(plan: &ResolvedPlan, checked: &Checked, calls: usize, done: usize) -> String {
    let s = diff::summary(plan);
    let warnings = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::plan::Severity::Warning)
        .count();
    let mut text = format!(
        "Apply plan {}: {} instance{} (table: {}, db: {}, full: {}) in {} call{}, {} warning{}",
        visible(&plan.name),
        s.instances,
        if s.instances == 1 { "" } else { "s" },
        s.table,
        s.db,
        s.full,
        calls,
        if calls == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" },
    );
    if done > 0 {
        text.push_str(&format!(
            "; resuming: {done} already finished in an earlier run"
        ));
    }
    text.push('?');
    text
}

/// The plan was applied completely before (the journal at `journal` says so): nothing is
/// submitted; `plan` is the plan as given, `retry`: `--retry-failed` found nothing to retry,
/// `sandbox`: the journal is `apply --sandbox`'s (its commands say `--sandbox` too).
pub fn done(journal: &Path, plan: &Path, retry: bool, sandbox: bool) -> String {
    let mut text = format!(
        "This plan was already applied completely (journal {}).\n",
        visible(&journal.display().to_string())
    );
    if retry {
        text.push_str("Nothing to retry: no instance ended failed, rejected or unknown.\n");
    }
    let plan = plan.display().to_string();
    let (plan, flag) = (visible(&plan), if sandbox { " --sandbox" } else { "" });
    text.push_str(&format!(
        "Nothing was submitted. Use `planrun status {plan}{flag}` to see it, or `planrun apply {plan}{flag} --restart` to apply it again.\n",
    ));
    text
}

/// What `status` says of a journal no apply carries on (its submitted and running instances
/// are `interrupted`): how to resume it (`sandbox`: an `apply --sandbox`, whose emulator is
/// gone with it, so the same command starts it afresh).
pub fn interrupted(plan: &str, resume: &str, sandbox: bool) -> String {
    let how = if sandbox {
        "Its emulator is gone with it: run it afresh with"
    } else {
        "Resume it with"
    };
    format!(
        "Interrupted: no apply of plan {} is running, and it ended before its rollbacks did. {how}:\n  {resume}",
        visible(plan)
    )
}

/// What `apply` says after its summary of how the run ended, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// On stdout.
    Out(String),
    /// On stdout, else on stderr: the way back must reach somebody.
    Anywhere(String),
    /// On stderr (after the API's own diagnostic, when it stopped the run).
    Err(String),
}

/// How the run `ending` (with `pending` instances never submitted) is said; `resume` is the
/// command that resumes it, `journal` the apply's journal.
pub fn after(
    ending: &Ending,
    pending: usize,
    resume: &str,
    sandbox: bool,
    journal: &Path,
) -> Vec<After> {
    match ending {
        Ending::Complete if pending > 0 => vec![After::Out(format!(
            "\nSome instances could not be submitted in this run (see above); nothing was lost. Submit them with:\n  {resume}"
        ))],
        Ending::Complete => vec![],
        Ending::Interrupted => {
            let mut text = format!(
                "\nInterrupted. In-flight submissions were completed and journaled; nothing is lost.\nResume with:\n  {resume}"
            );
            if sandbox {
                // Its tasks lived in this process: there is nothing left to resume.
                text.push_str(
                    "\n(--sandbox: the emulator stopped with this run, so that starts over.)",
                );
            }
            vec![After::Anywhere(text)]
        }
        Ending::TimedOut => vec![After::Out(format!(
            "\n--timeout reached: unfinished instances are reported timed_out. Resume tracking with:\n  {resume}"
        ))],
        Ending::Stopped(_) => vec![After::Err(
            "The run stopped: the API refused the credentials or the permission. Nothing more was submitted.".to_owned(),
        )],
        Ending::Journal(e) => vec![
            After::Err(format!(
                "error: cannot write the journal {}: {e}",
                visible(&journal.display().to_string())
            )),
            After::Err(
                "Stopped at once: without the journal planrun could submit twice.".to_owned(),
            ),
        ],
    }
}

/// What `apply --retry-failed` says before anything else of the instances it sends again
/// (`retried`, as `state` has them): those that ended failed or rejected, and the unknown
/// ones, which are looked for first. Nothing when there are none.
pub fn retry(retried: &[String], state: &RunState) -> Option<String> {
    if retried.is_empty() {
        return None;
    }
    let unknown = |id: &String| state.get(id).is_some_and(|s| s.status != Status::Pending);
    let (polled, sent): (Vec<&String>, Vec<&String>) = retried.iter().partition(|i| unknown(i));
    Some(format!(
        "--retry-failed: {} instance(s) that ended failed or rejected are sent again{}; {} unknown instance(s) are looked for first, and sent again only if no task of theirs is found{}",
        sent.len(),
        listed(&sent),
        polled.len(),
        listed(&polled),
    ))
}

/// `: a, b, c` (at most ten, then how many more), or nothing.
fn listed(ids: &[&String]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = ids
        .iter()
        .take(10)
        .map(|i| visible(i).into_owned())
        .collect();
    let more = ids.len().saturating_sub(10);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(" ({}{tail})", shown.join(", "))
}
