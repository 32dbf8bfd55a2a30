//! `planrun apply PLAN`: validate, show the diff, confirm, submit, track to the end, survive
//! crashes (the journal), and print a summary (and a report).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::api_args::ApiArgs;
use super::{exit, plan as plan_cmd, progress, session, term};
use crate::diff;
use crate::engine::run::{Ending, Engine};

/// Apply a plan: submit its rollbacks and track them to the end.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only show what would be done (same as `planrun plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Start the built-in emulator of the cloud API and apply against it (no account needed).
    #[arg(long)]
    pub sandbox: bool,
    #[command(flatten)]
    pub session: session::SessionArgs,
    /// Stop after this long (e.g. 90s, 30m, 2h); what is left is reported timed_out and the
    /// journal stays resumable.
    #[arg(long, value_name = "DURATION", value_parser = session::parse_duration)]
    pub timeout: Option<Duration>,
    /// Write the JSON report (job ids, statuses, times, errors) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Instances per call; overrides the plan's `batch_size` (1 to 50).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub batch_size: Option<u8>,
    /// Skip the rollback-window preflight (DescribeRollbackRangeTime) before submitting.
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
    let (checked, resolved) = match plan_cmd::load_valid(&args.plan, false) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let batch_size = args.batch_size.map_or(resolved.batch_size, usize::from);
    let calls = plan_cmd::calls(&resolved, batch_size, false, args.api.api);
    out!("{}", diff::human(&resolved, &calls, term::stdout_colour()));
    if args.dry_run {
        return exit::OK;
    }
    if let Err(code) = check_regions(args, &resolved) {
        return code;
    }
    let runtime = match super::runtime(2) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(apply(args, &checked, resolved, batch_size))
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
        .filter(|i| i.region.as_deref().is_none_or(|r| r.trim().is_empty()))
        .map(|i| i.id.as_str())
        .collect();
    if without.is_empty() {
        return Ok(());
    }
    eprintln!(
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

/// Asks the person at the terminal to type `yes`.
#[allow(clippy::print_stdout)]
fn confirm(name: &str, instances: usize) -> Result<(), i32> {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: refusing to apply without confirmation: stdin is not a terminal. Review the plan above and pass --yes to apply it."
        );
        return Err(exit::USAGE);
    }
    out!("\nApply plan {name} to {instances} instances? Only `yes` is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() || answer.trim() != "yes" {
        outln!("Apply cancelled; nothing was submitted.");
        return Err(exit::FAILED);
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn apply(
    args: &ApplyArgs,
    checked: &crate::plan::Checked,
    resolved: crate::plan::ResolvedPlan,
    batch_size: usize,
) -> i32 {
    let mut session = match session::Session::open(
        &args.plan,
        &resolved,
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
    if !args.no_preflight
        && let Err(code) = preflight(&session, checked, &resolved).await
    {
        session.shutdown().await;
        return code;
    }
    if !args.yes
        && let Err(code) = confirm(&resolved.name, resolved.instances.len())
    {
        session.shutdown().await;
        return code;
    }
    if let Err(code) = session.prepare(args.restart) {
        return code;
    }
    if session.already_complete() {
        outln!(
            "\nThis plan was already applied completely (journal {}).",
            session.journal_path().display()
        );
        outln!(
            "Nothing was submitted. Use `planrun status {}` to see it, or --restart to apply it again.",
            args.plan.display()
        );
        // A pipeline reads the report whether this run or an earlier one did the work.
        if let Some(path) = &args.report
            && let Err(e) = session.write_report(path)
        {
            eprintln!("error: cannot write the report {}: {e}", path.display());
        }
        let code = session.summary_exit_code();
        out!("{}", session.summary_table());
        return code;
    }
    let total = resolved.instances.len();
    let (tx, rx) = mpsc::unbounded_channel();
    let drawer = if std::io::stderr().is_terminal() {
        tokio::spawn(progress::bars(rx, total))
    } else {
        tokio::spawn(progress::plain(rx, total))
    };
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let resume_hint = resume_command(args);
    let interrupt = tokio::spawn(interrupt_watch(cancel_tx, resume_hint.clone()));
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
    interrupt.abort();
    let state = engine.into_state();
    let _ = drawer.await;
    session.finish(state);
    if let Some(path) = &args.report
        && let Err(e) = session.write_report(path)
    {
        eprintln!("error: cannot write the report {}: {e}", path.display());
    }
    outln!();
    out!("{}", session.summary_table());
    let code = match ending {
        Ending::Complete => {
            let code = session.summary_exit_code();
            if session.report().totals.pending > 0 {
                outln!(
                    "\nSome instances could not be submitted in this run (see above); nothing was lost. Submit them with:\n  {resume_hint}"
                );
            }
            code
        }
        Ending::Interrupted => {
            outln!(
                "\nInterrupted. In-flight submissions were completed and journaled; nothing is lost."
            );
            outln!("Resume with:\n  {resume_hint}");
            if args.sandbox {
                // Its tasks lived in this process: there is nothing left to resume.
                outln!("(--sandbox: the emulator stopped with this run, so that starts over.)");
            }
            exit::UNFINISHED
        }
        Ending::TimedOut => {
            outln!(
                "\n--timeout reached: unfinished instances are reported timed_out. Resume tracking with:\n  {resume_hint}"
            );
            exit::FAILED
        }
        Ending::Stopped(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            eprintln!(
                "The run stopped: the API refused the credentials or the permission. Nothing more was submitted."
            );
            exit::USAGE
        }
        Ending::Journal(e) => {
            eprintln!(
                "error: cannot write the journal {}: {e}",
                session.journal_path().display()
            );
            eprintln!("Stopped at once: without the journal planrun could submit twice.");
            exit::USAGE
        }
    };
    session.shutdown().await;
    code
}

/// Runs the rollback-window preflight; any problem stops the apply before anything is sent
/// (the plan is reviewed and applied as a whole).
async fn preflight(
    session: &session::Session,
    checked: &crate::plan::Checked,
    plan: &crate::plan::ResolvedPlan,
) -> Result<(), i32> {
    match super::preflight::check(&session.protocol, checked, plan, session.requests()).await {
        Ok(None) => {
            eprintln!(
                "preflight: skipped (API 2.0 has no rollback-window query here; --api v3 checks it)"
            );
            Ok(())
        }
        Ok(Some(problems)) if problems.is_empty() => {
            eprintln!(
                "preflight: all {} instances can roll back to their times",
                plan.instances.len()
            );
            Ok(())
        }
        Ok(Some(problems)) => {
            let n = problems.len();
            let report = crate::plan::Checked {
                diagnostics: problems,
                ..checked.clone()
            };
            eprint!(
                "{}",
                super::diagnostics::human(
                    std::slice::from_ref(&report),
                    term::stderr_colour(),
                    term::width()
                )
            );
            eprintln!(
                "preflight: {n} instance(s) cannot be rolled back as planned; nothing was submitted."
            );
            Err(exit::FAILED)
        }
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            eprintln!(
                "preflight could not check the rollback windows; nothing was submitted (--no-preflight skips the check)."
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
    if args.no_preflight {
        words.push("--no-preflight".to_owned());
    }
    if args.sandbox {
        words.push("--sandbox".to_owned());
    }
    words.join(" ")
}

/// A word as a POSIX shell reads it back: single-quoted unless plainly safe.
fn quote(word: &str) -> String {
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

/// First Ctrl-C: stop submitting and wind down. Second: leave at once (the journal is
/// consistent after every write, so nothing is lost).
async fn interrupt_watch(cancel: watch::Sender<bool>, resume: String) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!(
        "\nInterrupt: no new submissions; finishing the ones in flight (Ctrl-C again to quit at once)…"
    );
    let _ = cancel.send(true);
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("\nQuit. Resume with:\n  {resume}");
        std::process::exit(exit::UNFINISHED);
    }
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
    fn the_resume_command_of_a_plain_apply_is_short() {
        assert_eq!(
            resume_command(&parse(&["p.yaml", "-y"])),
            "planrun apply p.yaml --yes"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
