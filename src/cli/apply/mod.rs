//! `planrun apply PLAN`: validate, show the diff, confirm, submit, track to the end, survive
//! crashes (the journal), and print a summary (and a report).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::api_args::ApiArgs;
use super::{Error, exit, plan as plan_cmd, progress, session, signals};
use crate::diff;
use crate::engine::apply::{Apply, Outcome};
use crate::engine::ops::located::Located;
use crate::engine::ops::{saved, selfhosted};
use crate::engine::run::Ending;
use crate::engine::store::Found;
use crate::plan::text::visible;
use crate::plan::{Checked, ResolvedPlan};
use crate::render::apply::{self as said, After};

mod checks;
mod overlap;
mod resume;

use checks::{check_regions, overlaps, preflight, selfhosted_preflight};
pub(crate) use resume::reaching;
use resume::{interrupt_watch, resume_command, say_anywhere};

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
    pub report_format: Option<crate::record::Format>,
    /// Instances per call; overrides the plan's `batch_size` (1 to 50).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub batch_size: Option<u8>,
    /// Skip the preflight before submitting: rollback windows (DescribeRollbackRangeTime) and
    /// objects (DescribeDatabases, DescribeTables: sources exist, targets do not).
    #[arg(long)]
    pub no_preflight: bool,
    /// Check every instance before the question and submit nothing until all are checked
    /// (the default checks while the work goes on: an instance is submitted once its checks
    /// passed, one with a problem is held back, never submitted).
    #[arg(long, conflicts_with = "no_preflight")]
    pub preflight_first: bool,
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

pub fn run(args: &ApplyArgs) -> Result<i32, Error> {
    if crate::engine::ops::merge_file::is_saved_merge(&args.plan) {
        super::merge_file::refuse_plan_flags(args)?;
        return super::merge_file::apply(
            &args.plan,
            args.yes,
            args.session.defaults_file.as_deref(),
        );
    }
    if saved::is_saved(&args.plan) {
        return run_saved(args);
    }
    let (checked, resolved) = plan_cmd::load_valid(&args.plan, false, &args.api.allow_region)?;
    run_checked(args, &checked, &resolved, None)
}

/// `apply SAVED`: the saved plan's own plan, generation and batch size, after its checks.
fn run_saved(args: &ApplyArgs) -> Result<i32, Error> {
    let loaded = plan_cmd::load_saved(&args.plan)?;
    if args
        .batch_size
        .is_some_and(|b| usize::from(b) != loaded.saved.batch_size)
    {
        return Err(Error::Usage(format!(
            "--batch-size cannot change a saved plan (it holds calls of {}); nothing was submitted.",
            loaded.saved.batch_size
        )));
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

fn run_checked(
    args: &ApplyArgs,
    checked: &Checked,
    resolved: &ResolvedPlan,
    saved: Option<&crate::engine::saved::SavedPlan>,
) -> Result<i32, Error> {
    let batch_size = args.batch_size.map_or(resolved.batch_size, usize::from);
    let prepared = crate::engine::prepare::prepare(resolved, args.api.api, batch_size);
    let calls = plan_cmd::calls(&prepared, false);
    if args.dry_run {
        out!(
            "{}",
            diff::human(resolved, &calls, &plan_cmd::view(args.expand))
        );
        return Ok(exit::OK);
    }
    check_regions(args, resolved)?;
    let runtime = super::runtime(2)?;
    // The journal a saved plan records is its journal wherever the saved file is; a plan's
    // is its file's (or its stdin text's).
    let state_dir = args.session.state_dir.as_deref();
    let at = match saved {
        Some(saved) => Located::of_saved(saved, state_dir, args.sandbox)?,
        None => Located::of_plan(
            &args.plan,
            &checked.text,
            &resolved.name,
            state_dir,
            args.sandbox,
        )?,
    };
    runtime.block_on(async {
        let (mut apply, sandbox) = session::open(
            &args.plan,
            resolved,
            (&args.api, &args.session),
            (at.journal(), at.sandboxed),
            prepared,
        )
        .await?;
        let ran = open_and_run(args, (checked, resolved), &calls, &at, saved, &mut apply).await;
        if let Some(sb) = sandbox {
            sb.shutdown().await;
        }
        ran
    })
}

/// An older planrun's journal of this plan adopted, a saved plan's journal checked, then
/// [`apply`].
async fn open_and_run(
    args: &ApplyArgs,
    plan: (&Checked, &ResolvedPlan),
    calls: &[diff::Call],
    at: &Located,
    saved: Option<&crate::engine::saved::SavedPlan>,
    apply: &mut Apply,
) -> Result<i32, Error> {
    if let Some(lock) = apply.lock() {
        let (name, hash) = (apply.plan_name(), &apply.prepared().hash);
        if let Some(note) = at.adopt_older(lock, name, hash, args.restart)? {
            errln!("note: {note}");
        }
    }
    // A saved plan was approved over the journal as it stood then (a sandbox starts
    // fresh: its journal is its own).
    if let Some(saved) = saved
        && !args.sandbox
    {
        saved::check_journal(saved, apply.journal_path())?;
    }
    self::apply(args, plan, calls, apply).await
}

/// Everything after the apply is open: the journal's verdict first (nothing to do, or a
/// changed plan), then the diff, the preflight, the question, and the run.
async fn apply(
    args: &ApplyArgs,
    (checked, resolved): (&Checked, &ResolvedPlan),
    calls: &[diff::Call],
    apply: &mut Apply,
) -> Result<i32, Error> {
    let found = apply.inspect(args.restart)?;
    // `--retry-failed`: which instances are sent again (or looked for first) is said before
    // anything else; refused when there is no apply of this very plan to retry.
    let retried = if args.retry_failed {
        let retried = apply.retry(found)?.to_vec();
        if let Some(text) = said::retry(&retried, apply.state()) {
            errln!("{text}");
        }
        retried.len()
    } else {
        0
    };
    if found == Found::Complete && retried == 0 {
        let journal = apply.journal_path();
        out!(
            "{}",
            said::done(journal, &args.plan, args.retry_failed, args.sandbox)
        );
        // A pipeline reads the report whether this run or an earlier one did the work.
        write_report(args, resolved, apply);
        out!("{}", summary(apply));
        return Ok(exit::of_outcome(&apply.already_applied()));
    }
    out!(
        "{}",
        diff::human(resolved, calls, &plan_cmd::view(args.expand))
    );
    let done = if found == Found::Unfinished || retried > 0 {
        apply.finished()
    } else {
        0
    };
    // The cloud's preflight overlaps the run unless asked first (or the API has no such
    // queries: API 2.0 says so here).
    let overlapped = !args.no_preflight && !selfhosted::only(resolved) && overlaps(args, apply);
    if !args.no_preflight && !selfhosted::only(resolved) && !overlapped {
        preflight(apply, checked, resolved).await?;
    }
    if !args.no_preflight && selfhosted::any(resolved) {
        selfhosted_preflight(args, resolved, apply).await?;
    }
    if !args.yes {
        // Right below the totals of what is approved: a long diff scrolls away.
        super::ask(
            &format!(
                "\n{}\nOnly `yes` is accepted: ",
                said::question(resolved, checked, calls.len(), done)
            ),
            "refusing to apply without confirmation: stdin is not a terminal. Review the plan above and pass --yes to apply it.",
            "Apply cancelled; nothing was submitted.",
        )?;
    }
    // From here on a stop signal winds the run down instead of killing it.
    let stops = signals::Stops::install().map_err(Error::Signals)?;
    if let Some(set_aside) = apply.open(found)? {
        errln!(
            "note: the journal of this plan's earlier apply is kept as {}",
            visible(&set_aside.display().to_string())
        );
    }
    let total = resolved.instances.len();
    let start = crate::render::events::Tally::of(apply.state());
    let (tx, rx) = mpsc::unbounded_channel();
    let drawer = if std::io::stderr().is_terminal() {
        tokio::spawn(progress::bars(rx, total, start))
    } else {
        tokio::spawn(progress::plain(rx, total, start))
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let resume_hint = resume_command(args);
    let interrupt = tokio::spawn(interrupt_watch(stops, cancel_tx, resume_hint.clone()));
    let (outcome, found) = if overlapped {
        overlap::run(apply, checked, resolved, args.timeout, (cancel_rx, tx)).await?
    } else {
        (apply.run(args.timeout, cancel_rx, tx).await?, None)
    };
    // The engine is gone with its event sender: the drawer ends once it drew the last one.
    let _ = drawer.await;
    write_report(args, resolved, apply);
    outln!();
    out!("{}", summary(apply));
    let complete = matches!(
        outcome,
        Outcome::Ran {
            ending: Ending::Complete,
            ..
        }
    );
    let unasked = found.and_then(|found| overlap::said(checked, found, complete));
    if let Outcome::Ran { ending, totals } = &outcome {
        if let Ending::Stopped(e) = ending {
            super::error::diagnostic(e);
        }
        let journal = apply.journal_path();
        let sandbox = args.sandbox;
        for said in said::after(ending, totals.pending, &resume_hint, sandbox, journal) {
            match said {
                After::Out(text) => outln!("{text}"),
                After::Anywhere(text) => say_anywhere(&text, false),
                After::Err(text) => errln!("{text}"),
            }
        }
    }
    let code = match unasked {
        // As with `--preflight-first`: the API could not be asked (credentials, permission).
        Some(e) => exit::of_error(&e),
        None => exit::of_outcome(&outcome),
    };
    // Only now: until the summary is out, a second Ctrl-C must still be able to quit.
    interrupt.abort();
    Ok(code)
}

/// The table printed at the end.
fn summary(apply: &Apply) -> String {
    crate::render::summary::table(apply.state(), &apply.report().totals)
}

/// `--report FILE`, if asked for; a failure to write it is said, not fatal (the journal holds
/// everything).
fn write_report(args: &ApplyArgs, resolved: &ResolvedPlan, apply: &Apply) {
    if let Some(path) = &args.report
        && let Err(e) = super::report::write_for_apply(apply, path, args.report_format, resolved)
    {
        errln!(
            "error: cannot write the report {}: {e}",
            visible(&path.display().to_string())
        );
    }
}
