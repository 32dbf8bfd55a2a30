//! Argument parsing, asking the person, wiring the engine's operations, printing their events
//! and outcomes, and exit codes: the only module that prints. A command returns its exit code
//! or an [`Error`], which [`run`] prints once.

/// Prints a line on stdout; a closed pipe (`planrun validate ... | head`) is not an error.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints on stdout (flushed, for prompts); a closed pipe is not an error.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, $($arg)*);
        let _ = stdout.flush();
    }};
}

/// Prints a line on stderr; a closed stderr (`2>&1 | tee apply.log` after `tee` died) is not an
/// error: the command goes on and ends with its own exit code.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// Prints on stderr without a newline; a closed stderr is not an error.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, $($arg)*);
        let _ = stderr.flush();
    }};
}

pub mod api_args;
pub mod apply;
pub mod cancel;
pub mod compare;
mod error;
pub mod exit;
pub mod jobs;
pub mod merge;
pub mod merge_file;
pub mod new;
pub mod plan;
pub mod progress;
pub mod report;
pub mod sandbox;
pub mod session;
pub mod show;
pub mod signals;
pub mod status;
pub mod term;
pub mod validate;

pub use error::Error;

use clap::{CommandFactory, Parser, Subcommand};

/// Reviewed, declarative point-in-time rollbacks of TencentDB for MySQL (CDB) instances.
///
/// Write a plan (YAML), review it with `validate` and `plan`, then `apply` it.
#[derive(Debug, Parser)]
#[command(name = "planrun", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 invalid plan or failed rollback, 2 usage/IO/credentials, 3 interrupted (resumable)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a plan from a query of the fleet (API 3.0 DescribeDBInstances: tags, names, ids, regions).
    New(new::NewArgs),
    /// Check plans: every problem of every file, pointed at its line (exit 0 valid, 1 invalid, 2 unreadable).
    #[command(after_help = "Examples:
  planrun validate plans/*.yaml                       # every problem of every file
  planrun validate --format github plans/*.yaml       # annotations in a GitHub Actions job
  generate-plan | planrun validate -                  # a plan on standard input")]
    Validate(validate::ValidateArgs),
    /// Dry run: validate, then show what would be rolled back, as what, in which calls.
    #[command(after_help = "Examples:
  planrun plan plans/incident-42.yaml                  # the diff and the calls
  planrun plan plans/incident-42.yaml --show-requests  # each call's exact parameters
  planrun plan plans/incident-42.yaml --preflight --format json   # ask the API first, for CI")]
    Plan(plan::PlanArgs),
    /// Submit the plan's rollbacks and track them to the end (resumable; never submits twice).
    #[command(after_help = "Examples:
  planrun apply plans/incident-42.yaml --sandbox --yes   # the demo: no account needed
  planrun apply plans/incident-42.yaml --report run.json # confirm at the prompt, keep a report
  planrun apply plans/incident-42.yaml --yes             # after Ctrl-C or a crash: resumes

Ctrl-C, SIGTERM or SIGHUP: no new submissions, in-flight ones finish, exit 3 with the resume
command; a second one quits at once.")]
    Apply(apply::ApplyArgs),
    /// Show a saved plan (`plan PLAN --out FILE`) like `plan` shows a plan, after checking it.
    #[command(after_help = "Examples:
  planrun plan plans/incident-42.yaml --out incident-42.planrun   # in CI: save what is reviewed
  planrun show incident-42.planrun --show-requests                # review exactly that
  planrun apply incident-42.planrun                               # apply exactly that")]
    Show(show::ShowArgs),
    /// After an apply: compare every restored table with its source (rows deleted, inserted,
    /// changed since the time; exit 0 none, 1 differences, 2 error, 3 apply unfinished).
    #[command(after_help = "Examples:
  planrun compare plans/incident-42.yaml                        # a table per instance
  planrun compare plans/incident-42.yaml --format json          # counts and samples
  planrun compare plans/self-hosted.yaml --defaults-file ~/.planrun-db.cnf

The restored copy and its source are read in ranges of --chunk-rows rows of the key, each
digested by the server on both sides in its own read-only snapshot; only ranges that differ
are read row by row. Nothing is written to any table. The result is kept beside the journal
for `planrun report`.")]
    Compare(compare::CompareArgs),
    /// Save the rows that put back what the incident destroyed, each with its guard, for review
    /// (`show FILE`) and `apply FILE`; writes no table.
    #[command(after_help = "Examples:
  planrun merge plans/incident-42.yaml --restore deleted --out restore.merge
  planrun merge plans/incident-42.yaml --restore deleted,changed --table orders.payments \\
      --where \"created_at < '2026-11-20 03:17:00'\" --out payments.merge
  planrun show restore.merge --format sql     # the exact statements
  planrun apply restore.merge                 # writes exactly those rows, once

A deleted row is re-inserted only if its key is still absent; a changed row is written back
only if it still equals what the merge saw. Any other row is a conflict: not written, shown
with both versions (exit 1).")]
    Merge(merge::MergeArgs),
    /// Stop the running rollbacks of the plan's last apply (StopRollback; API 3.0).
    #[command(after_help = "Examples:
  planrun cancel plans/incident-42.yaml                          # every unfinished rollback
  planrun cancel plans/incident-42.yaml --instance cdb-ord00001 --yes")]
    Cancel(cancel::CancelArgs),
    /// What the journal of the last apply says, refreshed from the API.
    #[command(after_help = "Examples:
  planrun status plans/incident-42.yaml                 # refreshed from the API
  planrun status plans/incident-42.yaml --offline       # the journal only, no credentials
  planrun status plans/incident-42.yaml --format json   # the report document")]
    Status(status::StatusArgs),
    /// The record of the last apply, from its journal: an HTML page, Markdown for a ticket, or JSON.
    Report(report::ReportArgs),
    /// List an instance's rollback jobs (v3: DescribeRollbackTaskDetail; v2: GetCdbRollbackJob; all pages with --all).
    #[command(after_help = "Examples:
  planrun jobs cdb-ord00001 --region ap-guangzhou
  planrun jobs cdb-ord00001 --region ap-guangzhou --all --format json")]
    Jobs(jobs::JobsArgs),
    /// Run the local emulator of the cloud API: API 2.0 at /v2/index.php and API 3.0 at / (loopback only).
    #[command(after_help = "Examples:
  planrun sandbox serve --port 8080          # then: PLANRUN_ENDPOINT=http://127.0.0.1:8080/ planrun apply ...
  planrun sandbox serve --fault-rate 0.2 --faults lost,http502 --seed 7   # a flaky cloud")]
    Sandbox(sandbox::SandboxArgs),
    /// Print the plan's JSON Schema (draft-07; `schemas/plan.schema.json` is this output).
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the program with the given arguments; returns the process exit code. A command's
/// error is printed here, once.
pub fn run(args: Vec<std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    command(cli.command).unwrap_or_else(|e| {
        e.print();
        exit::of_error(&e)
    })
}

/// Runs one command: its exit code, or why it failed.
fn command(command: Command) -> Result<i32, Error> {
    match command {
        Command::New(args) => new::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Cancel(args) => cancel::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Jobs(args) => jobs::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Schema => {
            outln!("{}", schema_text());
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "planrun", &mut script);
            out!("{}", String::from_utf8_lossy(&script));
            Ok(exit::OK)
        }
    }
}

/// Asks the person at the terminal to type `yes` after `question`. Refused (`refusal`) when
/// stdin is not a terminal: nobody would see the question. Any other answer is `declined`.
pub fn ask(question: &str, refusal: &str, declined: &'static str) -> Result<(), Error> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(refusal.to_owned()));
    }
    out!("{question}");
    let mut answer = String::new();
    match std::io::stdin().lock().read_line(&mut answer) {
        Ok(_) if answer.trim() == "yes" => Ok(()),
        _ => Err(Error::Declined(declined)),
    }
}

/// The async runtime of a command that talks to an API: the current thread for one-shot
/// commands, two workers for `apply` and the sandbox.
pub fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, Error> {
    let mut builder = if workers > 1 {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(Error::Runtime)
}

/// The schema as checked in: pretty JSON.
pub fn schema_text() -> String {
    serde_json::to_string_pretty(&crate::plan::model::schema()).unwrap_or_default()
}
