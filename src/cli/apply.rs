//! `planrun apply PLAN`: validate, show the diff, confirm, submit, track to the end, survive
//! crashes (the journal), and print a summary (and a report).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::api_args::ApiArgs;
use super::{exit, plan as plan_cmd, progress, session, signals, term};
use crate::diff;
use crate::engine::run::{Ending, Engine};
use crate::plan::text::visible;

/// Apply a plan: submit its rollbacks and track them to the end.
#[derive(Debug, Clone, clap::Args)]
pub struct ApplyArgs {
    /// The plan file, or a saved plan (`planrun plan PLAN --out FILE`): exactly its calls.
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
    #[command(flatten)]
    pub api: ApiArgs,
}

#[allow(clippy::print_stdout)]
pub fn run(args: &ApplyArgs) -> i32 {
    if super::saved::is_saved(&args.plan) {
        return run_saved(args);
    }
    let (checked, resolved) = match plan_cmd::load_valid(&args.plan, false) {
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
    args.api.api = match loaded.saved.api {
        crate::engine::prepare::Generation::V2 => super::api_args::ApiVersion::V2,
        crate::engine::prepare::Generation::V3 => super::api_args::ApiVersion::V3,
    };
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
    let prepared = crate::engine::prepare::prepare(resolved, args.api.api.generation(), batch_size);
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
    runtime.block_on(async {
        let mut session = match session::Session::open(
            &args.plan,
            resolved,
            &args.api,
            &args.session,
            args.sandbox,
            batch_size,
        )
        .await
        {
            Ok(s) => s,
            Err(code) => return code,
        };
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

/// The API refuses calls without a Region (4000): say so before asking or sending anything.
/// The sandbox does not need one.
fn check_regions(args: &ApplyArgs, plan: &crate::plan::ResolvedPlan) -> Result<(), i32> {
    let default = args
        .api
        .region
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if args.sandbox || default {
        return Ok(());
    }
    let without: Vec<&str> = plan
        .instances
        .iter()
        .filter(|i| i.selfhosted.is_none())
        .filter(|i| i.region.as_deref().is_none_or(|r| r.trim().is_empty()))
        .map(|i| i.id.as_str())
        .collect();
    if without.is_empty() {
        return Ok(());
    }
    errln!(
        "{:?}",
        miette::miette!(
            code = "planrun::missing_region",
            help = "set `region:` in the plan (or on the entry), or pass --region / set TENCENTCLOUD_REGION",
            "no region for {}: the API refuses calls without one",
            without.join(", ")
        )
    );
    Err(exit::USAGE)
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
    if found == session::Found::Complete {
        outln!(
            "This plan was already applied completely (journal {}).",
            visible(&session.journal_path().display().to_string())
        );
        outln!(
            "Nothing was submitted. Use `planrun status {}` to see it, or --restart to apply it again.",
            visible(&args.plan.display().to_string())
        );
        // A pipeline reads the report whether this run or an earlier one did the work.
        write_report(args, resolved, session);
        out!("{}", session.summary_table());
        return session.summary_exit_code();
    }
    out!(
        "{}",
        diff::human(resolved, calls, &plan_cmd::view(args.expand))
    );
    let done = if found == session::Found::Unfinished {
        session
            .state()
            .instances
            .iter()
            .filter(|s| s.status.is_final())
            .count()
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
    let mut options = session.engine_options();
    options.timeout = args.timeout;
    let (journal, state, requests, regions) = match session.take_run() {
        Ok(parts) => parts,
        Err(code) => return code,
    };
    let mut engine = Engine::new(
        Arc::clone(&session.protocol),
        requests,
        regions,
        options,
        journal,
        state,
        tx,
    );
    let ending = engine.run(cancel_rx).await;
    let state = engine.into_state();
    // The engine is gone with its event sender: the drawer ends once it drew the last one.
    let _ = drawer.await;
    session.finish(state);
    write_report(args, resolved, session);
    outln!();
    out!("{}", session.summary_table());
    match &ending {
        Ending::Complete => {
            if session.report().totals.pending > 0 {
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
    let code = exit::of_ending(&ending, &session.report().totals);
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

/// Writes `text` on stdout (on stderr when `errors_first`), or on the other one when the
/// first is gone (`| head`, a dead `tee`): the resume command must reach somebody.
fn say_anywhere(text: &str, errors_first: bool) {
    fn say(mut to: impl Write, text: &str) -> bool {
        writeln!(to, "{text}").and_then(|()| to.flush()).is_ok()
    }
    let out = || say(std::io::stdout().lock(), text);
    let err = || say(std::io::stderr().lock(), text);
    // When neither stream takes it, nothing is left to tell; the exit code still says 3.
    let order: [&dyn Fn() -> bool; 2] = if errors_first {
        [&err, &out]
    } else {
        [&out, &err]
    };
    let _ = order.iter().any(|say| say());
}

/// Checks the self-hosted instances still to do (a resumed run has made some targets itself).
async fn selfhosted_preflight(
    args: &ApplyArgs,
    resolved: &crate::plan::ResolvedPlan,
    session: &session::Session,
) -> Result<(), i32> {
    let creds = super::selfhosted::credentials(args.session.defaults_file.as_deref())?;
    let pending: Vec<&str> = session
        .state()
        .instances
        .iter()
        .filter(|s| s.status == crate::engine::state::Status::Pending)
        .map(|s| s.id.as_str())
        .collect();
    super::selfhosted::preflight(&args.plan, resolved, &creds, &pending).await
}

/// Runs the preflight (rollback windows, then the objects); any problem stops the apply before
/// anything is sent (the plan is reviewed and applied as a whole). A resumed apply checks only
/// what its journal has not submitted yet: its own rollbacks may have created the targets.
async fn preflight(
    session: &session::Session,
    checked: &crate::plan::Checked,
    plan: &crate::plan::ResolvedPlan,
) -> Result<(), i32> {
    let submitted: std::collections::HashSet<&str> = session
        .state()
        .instances
        .iter()
        .filter(|i| i.status != crate::engine::state::Status::Pending)
        .map(|i| i.id.as_str())
        .collect();
    // Self-hosted instances have a preflight of their own.
    let cloud: std::collections::HashSet<&str> = plan
        .instances
        .iter()
        .filter(|i| i.selfhosted.is_none())
        .map(|i| i.id.as_str())
        .collect();
    let requests: Vec<_> = session
        .prepared()
        .requests()
        .into_iter()
        .filter(|r| cloud.contains(r.instance_id.as_str()))
        .filter(|r| !submitted.contains(r.instance_id.as_str()))
        .collect();
    if requests.is_empty() {
        errln!("preflight: nothing to check (the journal records every instance as submitted)");
        return Ok(());
    }
    match super::preflight::check(
        &session.protocol,
        checked,
        plan,
        session.prepared(),
        &requests,
    )
    .await
    {
        Ok(None) => {
            errln!(
                "preflight: skipped (API 2.0 has no rollback-window or object queries here; --api v3 checks them)"
            );
            Ok(())
        }
        Ok(Some(problems)) if problems.is_empty() => {
            errln!(
                "preflight: all {} instances can roll back to their times; {}",
                requests.len(),
                super::preflight_objects::ALL_GOOD
            );
            Ok(())
        }
        Ok(Some(problems)) => {
            let n = problems.len();
            let report = crate::plan::Checked {
                diagnostics: problems,
                ..checked.clone()
            };
            err!(
                "{}",
                super::diagnostics::human(
                    std::slice::from_ref(&report),
                    term::stderr_colour(),
                    term::width()
                )
            );
            errln!("preflight found {n} problem(s) with the plan; nothing was submitted.");
            Err(exit::FAILED)
        }
        Err(e) => {
            super::report_error(&e);
            errln!(
                "preflight could not check the rollback windows and objects; nothing was submitted (--no-preflight skips the check)."
            );
            Err(exit::USAGE)
        }
    }
}

/// The command that resumes this apply: the same plan, state directory and connection flags,
/// with `--yes` and without `--restart` (a resume must not start over) or `--timeout` (a new
/// run gets a new budget). Without `--state-dir` a resume would not find the journal.
fn resume_command(args: &ApplyArgs) -> String {
    let mut words = vec![
        "planrun".to_owned(),
        "apply".to_owned(),
        quote(&args.plan.display().to_string()),
        "--yes".to_owned(),
    ];
    let mut flag = |name: &str, value: String| {
        words.push(name.to_owned());
        words.push(quote(&value));
    };
    if let Some(dir) = &args.session.state_dir {
        flag("--state-dir", dir.display().to_string());
    }
    if let Some(p) = args.session.poll_interval {
        flag("--poll-interval", format!("{}ms", p.as_millis()));
    }
    if let Some(p) = args.session.settle {
        flag("--settle", format!("{}ms", p.as_millis()));
    }
    // Flags that may have come from the environment are repeated only when they differ from
    // it: the environment of the resume is the same shell.
    let from_env = |var: &str, value: &str| std::env::var(var).ok().as_deref() == Some(value);
    if let Some(e) = &args.api.endpoint
        && !from_env("PLANRUN_ENDPOINT", e)
    {
        flag("--endpoint", e.clone());
    }
    if let Some(r) = &args.api.region
        && !from_env("TENCENTCLOUD_REGION", r)
    {
        flag("--region", r.clone());
    }
    if args.api.api != super::api_args::ApiVersion::V3 {
        flag("--api", "v2".to_owned());
    }
    if let Some(profile) = &args.api.profile {
        flag("--profile", profile.clone());
    }
    let method: crate::api::sign::SignatureMethod = args.api.signature_method.into();
    if method != crate::api::sign::SignatureMethod::HmacSha256 {
        flag("--signature-method", method.as_str().to_owned());
    }
    if args.api.rate != crate::api::limiter::CLOUD_RATE {
        flag("--rate", args.api.rate.to_string());
    }
    if args.api.concurrency != 4 {
        flag("--concurrency", args.api.concurrency.to_string());
    }
    if let Some(b) = args.batch_size {
        flag("--batch-size", b.to_string());
    }
    if let Some(r) = &args.report {
        flag("--report", r.display().to_string());
    }
    if let Some(f) = args.report_format {
        use clap::ValueEnum as _;
        if let Some(v) = f.to_possible_value() {
            flag("--report-format", v.get_name().to_owned());
        }
    }
    if args.no_preflight {
        words.push("--no-preflight".to_owned());
    }
    if args.sandbox {
        words.push("--sandbox".to_owned());
    }
    words.join(" ")
}

/// A word as a POSIX shell reads it back: single-quoted unless plainly safe.
pub(super) fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:,=+@%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// First stop signal (Ctrl-C, SIGTERM, SIGHUP): stop submitting and wind down. Second: leave
/// at once (the journal is consistent after every write, so nothing is lost).
async fn interrupt_watch(mut stops: signals::Stops, cancel: watch::Sender<bool>, resume: String) {
    let first = stops.next().await;
    // The engine hears it before anything is printed: printing can fail (a closed pipe) and
    // must never be what keeps the engine submitting.
    let _ = cancel.send(true);
    errln!(
        "\n{first}: no new submissions; finishing the ones in flight (Ctrl-C again to quit at once)…"
    );
    let second = stops.next().await;
    say_anywhere(
        &format!("\n{second} again. Quit. Resume with:\n  {resume}"),
        true,
    );
    std::process::exit(exit::UNFINISHED);
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        apply: ApplyArgs,
    }

    fn parse(args: &[&str]) -> ApplyArgs {
        Cli::try_parse_from(std::iter::once("apply").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .apply
    }

    #[test]
    fn the_resume_command_keeps_the_state_dir_and_drops_restart_and_timeout() {
        let cmd = resume_command(&parse(&[
            "plans/p.yaml",
            "--restart",
            "--timeout",
            "30s",
            "--state-dir",
            "/var/lib/planrun state",
            "--poll-interval",
            "2s",
            "--report",
            "out.json",
        ]));
        assert_eq!(
            cmd,
            "planrun apply plans/p.yaml --yes --state-dir '/var/lib/planrun state' \
             --poll-interval 2000ms --report out.json"
        );
    }

    #[test]
    fn the_resume_command_keeps_the_reports_format() {
        assert_eq!(
            resume_command(&parse(&[
                "p.yaml",
                "--report",
                "incident.txt",
                "--report-format",
                "markdown"
            ])),
            "planrun apply p.yaml --yes --report incident.txt --report-format markdown"
        );
    }

    #[test]
    fn the_resume_command_of_a_plain_apply_is_short() {
        assert_eq!(
            resume_command(&parse(&["p.yaml", "-y"])),
            "planrun apply p.yaml --yes"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
