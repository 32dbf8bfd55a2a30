//! `planrun plan PLAN`: validate, then print the dry-run diff and the calls that would be sent.

use std::path::PathBuf;

use super::{diagnostics, exit, term};
use crate::diff::{self, Call};
use crate::engine::{batch, request};
use crate::plan::{Checked, ResolvedPlan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Show what a plan would do, without contacting any API.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also print each call's exact (unsigned) action parameters.
    #[arg(long)]
    pub show_requests: bool,
    /// Instances per call; overrides the plan's `batch_size` (1 to 50).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub batch_size: Option<u8>,
}

/// The calls a plan becomes, as the diff shows them.
pub fn calls(plan: &ResolvedPlan, batch_size: usize, with_params: bool) -> Vec<Call> {
    batch::batches(plan, batch_size)
        .into_iter()
        .map(|b| {
            let instances: Vec<_> = b.instances.iter().map(|&i| &plan.instances[i]).collect();
            let params = with_params.then(|| {
                let requests: Vec<_> = instances.iter().map(|i| request::rollback(i)).collect();
                crate::api::rollback::rollback_params(&requests)
            });
            Call {
                action: "RollbackCdbDatabaseTables".to_owned(),
                region: b.region,
                instances: instances.iter().map(|i| i.id.clone()).collect(),
                params,
            }
        })
        .collect()
}

/// Loads and checks a plan for a command that needs a valid one; on failure prints the
/// diagnostics (stderr for human, stdout for JSON) and returns the exit code.
#[allow(clippy::print_stdout)]
pub fn load_valid(path: &std::path::Path, json: bool) -> Result<(Checked, ResolvedPlan), i32> {
    let now = term::now().map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let (checked, readable) = super::validate::check(path, now);
    if !readable || checked.has_errors() {
        if json {
            println!(
                "{}",
                diagnostics::json(std::slice::from_ref(&checked), false)
            );
        } else {
            eprint!(
                "{}",
                diagnostics::human(
                    std::slice::from_ref(&checked),
                    term::stderr_colour(),
                    term::width()
                )
            );
        }
        return Err(if readable { exit::FAILED } else { exit::USAGE });
    }
    if !json && checked.has_warnings() {
        eprint!(
            "{}",
            diagnostics::human(
                std::slice::from_ref(&checked),
                term::stderr_colour(),
                term::width()
            )
        );
    }
    let resolved = checked.resolved.clone().ok_or(exit::FAILED)?;
    Ok((checked, resolved))
}

#[allow(clippy::print_stdout)]
pub fn run(args: &PlanArgs) -> i32 {
    let json = args.format == Format::Json;
    let (_, resolved) = match load_valid(&args.plan, json) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let size = args.batch_size.map_or(resolved.batch_size, usize::from);
    let calls = calls(&resolved, size, args.show_requests);
    if json {
        println!("{}", diff::json(&resolved, &calls));
    } else {
        print!("{}", diff::human(&resolved, &calls, term::stdout_colour()));
    }
    exit::OK
}
