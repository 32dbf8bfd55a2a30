//! `planrun apply PLAN`: validate, show the diff, confirm, submit, track to the end, survive
//! crashes (the journal), and print a summary (and a report).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::api_args::ApiArgs;
use super::located::Located;
use super::{exit, plan as plan_cmd, progress, session, signals};
use crate::diff;
use crate::engine::apply::Outcome;
use crate::engine::run::Ending;
use crate::plan::text::visible;

mod checks;
mod resume;
mod retry;

use checks::{check_regions, preflight, selfhosted_preflight};
pub(super) use resume::quote;
use resume::{interrupt_watch, resume_command, say_anywhere};
use retry::retry;

/// Apply a plan: submit its rollbacks and track them to the end.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// The plan file, or a saved plan (`planrun plan PLAN --out FILE`): exactly its calls; or
    /// a saved merge (`planrun merge PLAN ... --out FILE`): exactly its rows, once.
    #[arg(value_name = "PLAN|SAVED")]
    pub plan: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only show what would be done (same as `planrun plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// One block per instance in the diff (by default, instances of one `ids:` entry with the
    /// same rollback share a block).
    #[arg(long)]
    pub expand: bool,
    /// Start the built-in emulator of the cloud API and apply against it (no account needed).
    #[arg(long)]
    pub sandbox: bool,
    #[command(flatten)]
    pub session: session::SessionArgs,
    /// Stop after this long (e.g. 90s, 30m, 2h); what is left is reported timed_out and the
    /// journal stays resumable.
    #[arg(long, value_name = "DURATION", value_parser = session::parse_duration)]
    pub timeout: Option<Duration>,
    /// Write the report to FILE at the end: the incident record for `.html` or `.md`, else the
    /// JSON report (job ids, statuses, times, errors).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The format of --report, whatever its extension.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "report")]
    pub report_format: Option<super::report::Format>,
    /// Instances per call; overrides the plan's `batch_size` (1 to 50).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub batch_size: Option<u8>,
    /// Skip the preflight before submitting: rollback windows (DescribeRollbackRangeTime) and
    /// objects (DescribeDatabases, DescribeTables: sources exist, targets do not).
    #[arg(long)]
    pub no_preflight: bool,
    /// Start over although the journal of this plan is unfinished or the plan changed (the old
    /// journal is kept beside the new one).
    #[arg(long)]
    pub restart: bool,
    /// Send again, in the same journal, only the instances that ended failed, rejected or
    /// unknown (an unknown one once its possible task is looked for and none is found);
    /// everything else stays as it is.
    #[arg(long, conflicts_with_all = ["restart", "sandbox", "dry_run"])]
    pub retry_failed: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &ApplyArgs) -> i32 {
    if super::merge_file::is_saved_merge(&args.plan) {
        if let Err(code) = super::merge_file::refuse_plan_flags(args) {
            return code;
        }
        return super::merge_file::apply(
            &args.plan,
            args.yes,
            args.session.defaults_file.as_deref(),
        );
    }
    if super::saved::is_saved(&args.plan) {
        return run_saved(args);
    }
    let (checked, resolved) = match plan_cmd::load_valid(&args.plan, false, &args.api.allow_region)
    {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    run_checked(args, &checked, &resolved, None)
}

/// `apply SAVED`: the saved plan's own plan, generation and batch size, after its checks.
fn run_saved(args: &ApplyArgs) -> i32 {
    let loaded = match super::saved::load(&args.plan) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if args
        .batch_size
        .is_some_and(|b| usize::from(b) != loaded.saved.batch_size)
    {
        errln!(
            "error: --batch-size cannot change a saved plan (it holds calls of {}); nothing was submitted.",
            loaded.saved.batch_size
        );
        return exit::USAGE;
    }
    let mut args = args.clone();
    args.plan = PathBuf::from(&loaded.saved.path);
    args.batch_size = None;
    args.api.api = loaded.saved.api;
    run_checked(
        &args,
        &loaded.checked,
        &loaded.resolved,
        Some(&loaded.saved),
    )
}

#[allow(clippy::print_stdout)]
fn run_checked(
    args: &ApplyArgs,
    checked: &crate::plan::Checked,
    resolved: &crate::plan::ResolvedPlan,
    saved: Option<&crate::engine::saved::SavedPlan>,
) -> i32 {
    let batch_size = args.batch_size.map_or(resolved.batch_size, usize::from);
    let prepared = crate::engine::prepare::prepare(resolved, args.api.api, batch_size);
    let calls = plan_cmd::calls(&prepared, false);
    if args.dry_run {
        out!(
            "{}",
            diff::human(resolved, &calls, &plan_cmd::view(args.expand))
        );
        return exit::OK;
    }
    if let Err(code) = check_regions(args, resolved) {
        return code;
    }
    let runtime = match super::runtime(2) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The journal a saved plan records is its journal wherever the saved file is; a plan's
    // is its file's (or its stdin text's).
    let state_dir = args.session.state_dir.as_deref();
    let at = match saved {
        Some(saved) => Located::of_saved(saved, state_dir, args.sandbox),
        None => Located::of_plan(
            &args.plan,
            &checked.text,
            &resolved.name,
            state_dir,
            args.sandbox,
        ),
    };
    let at = match at {
        Ok(at) => at,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let mut session = match session::Session::open(
            &args.plan,
            resolved,
            &args.api,
            &args.session,
            &at,
            prepared,
        )
        .await
        {
            Ok(s) => s,
            Err(code) => return code,
        };
        if let Err(code) = session.adopt_older(&at, args.restart) {
            session.shutdown().await;
            return code;
        }
        // A saved plan was approved over the journal as it stood then (a sandbox starts
        // fresh: its journal is its own).
        if let Some(saved) = saved
            && !args.sandbox
            && let Err(code) = super::saved::check_journal(saved, session.journal_path())
        {
            session.shutdown().await;
            return code;
        }
        let code = apply(args, checked, resolved, &calls, &mut session).await;
        session.shutdown().await;
        code
    })
}

/// Asks the person at the terminal to type `yes`, right below the totals of what they approve
/// (a long diff scrolls away; the question must not stand alone).
#[allow(clippy::print_stdout)]
fn confirm(question: &str) -> Result<(), i32> {
    if !std::io::stdin().is_terminal() {
        errln!(
            "error: refusing to apply without confirmation: stdin is not a terminal. Review the plan above and pass --yes to apply it."
        );
        return Err(exit::USAGE);
    }
    out!("\n{question}\nOnly `yes` is accepted: ");
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() || answer.trim() != "yes" {
        outln!("Apply cancelled; nothing was submitted.");
        return Err(exit::FAILED);
    }
    Ok(())
}

/// The question above the `yes`: the plan, its totals by strategy, its warnings, and what an
/// earlier run already did.
fn question(
    plan: &crate::plan::ResolvedPlan,
    checked: &crate::plan::Checked,
    calls: usize,
    done: usize,
) -> String {
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

/// Everything after the session is open: the journal's verdict first (nothing to do, or a
/// changed plan), then the diff, the preflight, the question, and the run.
#[allow(clippy::print_stdout)]
async fn apply(
    args: &ApplyArgs,
    checked: &crate::plan::Checked,
    resolved: &crate::plan::ResolvedPlan,
    calls: &[diff::Call],
    session: &mut session::Session,
) -> i32 {
    let found = match session.inspect(args.restart) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let retried = if args.retry_failed {
        match retry(session, found) {
            Ok(n) => n,
            Err(code) => return code,
        }
    } else {
        0
    };
    if found == session::Found::Complete && retried == 0 {
        outln!(
            "This plan was already applied completely (journal {}).",
            visible(&session.journal_path().display().to_string())
        );
        if args.retry_failed {
            outln!("Nothing to retry: no instance ended failed, rejected or unknown.");
        }
        outln!(
            "Nothing was submitted. Use `planrun status {}` to see it, or --restart to apply it again.",
            visible(&args.plan.display().to_string())
        );
        // A pipeline reads the report whether this run or an earlier one did the work.
        write_report(args, resolved, session);
        out!("{}", session.summary_table());
        return exit::of_outcome(&session.apply().already_applied());
    }
    out!(
        "{}",
        diff::human(resolved, calls, &plan_cmd::view(args.expand))
    );
    let done = if found == session::Found::Unfinished || retried > 0 {
        session.apply().finished()
    } else {
        0
    };
    if !args.no_preflight
        && !super::selfhosted::only(resolved)
        && let Err(code) = preflight(session, checked, resolved).await
    {
        return code;
    }
    if !args.no_preflight
        && super::selfhosted::any(resolved)
        && let Err(code) = selfhosted_preflight(args, resolved, session).await
    {
        return code;
    }
    if !args.yes
        && let Err(code) = confirm(&question(resolved, checked, calls.len(), done))
    {
        return code;
    }
    // From here on a stop signal winds the run down instead of killing it.
    let stops = match signals::Stops::install() {
        Ok(stops) => stops,
        Err(e) => {
            errln!("error: cannot listen for Ctrl-C and SIGTERM: {e}; nothing was submitted");
            return exit::USAGE;
        }
    };
    if let Err(code) = session.prepare(found) {
        return code;
    }
    let total = resolved.instances.len();
    let start = progress::Tally::of(session.state());
    let (tx, rx) = mpsc::unbounded_channel();
    let drawer = if std::io::stderr().is_terminal() {
        tokio::spawn(progress::bars(rx, total, start))
    } else {
        tokio::spawn(progress::plain(rx, total, start))
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let resume_hint = resume_command(args);
    let interrupt = tokio::spawn(interrupt_watch(stops, cancel_tx, resume_hint.clone()));
    let planned = session.planned();
    let run = session
        .apply_mut()
        .run(planned, args.timeout, cancel_rx, tx);
    let outcome = match run.await {
        Ok(outcome) => outcome,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    // The engine is gone with its event sender: the drawer ends once it drew the last one.
    let _ = drawer.await;
    write_report(args, resolved, session);
    outln!();
    out!("{}", session.summary_table());
    if let Outcome::Ran { ending, totals } = &outcome {
        match ending {
            Ending::Complete => {
                if totals.pending > 0 {
                    outln!(
                        "\nSome instances could not be submitted in this run (see above); nothing was lost. Submit them with:\n  {resume_hint}"
                    );
                }
            }
            Ending::Interrupted => {
                let mut text = format!(
                    "\nInterrupted. In-flight submissions were completed and journaled; nothing is lost.\nResume with:\n  {resume_hint}"
                );
                if args.sandbox {
                    // Its tasks lived in this process: there is nothing left to resume.
                    text.push_str(
                        "\n(--sandbox: the emulator stopped with this run, so that starts over.)",
                    );
                }
                say_anywhere(&text, false);
            }
            Ending::TimedOut => {
                outln!(
                    "\n--timeout reached: unfinished instances are reported timed_out. Resume tracking with:\n  {resume_hint}"
                );
            }
            Ending::Stopped(e) => {
                super::report_error(e);
                errln!(
                    "The run stopped: the API refused the credentials or the permission. Nothing more was submitted."
                );
            }
            Ending::Journal(e) => {
                errln!(
                    "error: cannot write the journal {}: {e}",
                    visible(&session.journal_path().display().to_string())
                );
                errln!("Stopped at once: without the journal planrun could submit twice.");
            }
        }
    }
    let code = exit::of_outcome(&outcome);
    // Only now: until the summary is out, a second Ctrl-C must still be able to quit.
    interrupt.abort();
    code
}

/// `--report FILE`, if asked for; a failure to write it is said, not fatal (the journal holds
/// everything).
fn write_report(
    args: &ApplyArgs,
    resolved: &crate::plan::ResolvedPlan,
    session: &session::Session,
) {
    if let Some(path) = &args.report
        && let Err(e) = super::report::write_for_apply(
            session,
            path,
            args.report_format,
            (&args.plan, resolved),
        )
    {
        errln!(
            "error: cannot write the report {}: {e}",
            visible(&path.display().to_string())
        );
    }
}
