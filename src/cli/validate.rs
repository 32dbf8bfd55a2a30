//! `planrun validate PLAN...`: every problem of every file, pointed at its line.

use std::path::PathBuf;

use super::{Error, exit, term};
use crate::engine::ops::load::check;
use crate::render::diagnostics;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets with labels (miette); colour on a terminal only.
    Human,
    /// One JSON document (see README: machine-readable outputs).
    Json,
    /// GitHub Actions annotations (`::error file=..,line=..::...`).
    Github,
}

/// Check plans without contacting any API.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Plan files to check (all are checked; all problems are reported).
    #[arg(required = true, value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Accept REGION although it is not in planrun's list of TencentDB for MySQL regions (a
    /// region opened after this planrun was made); repeatable.
    #[arg(long = "allow-region", value_name = "REGION")]
    pub allow_region: Vec<String>,
}

pub fn run(args: &ValidateArgs) -> Result<i32, Error> {
    let context = term::context(&args.allow_region).map_err(Error::Usage)?;
    let mut files = Vec::with_capacity(args.plans.len());
    let mut unreadable = false;
    for path in &args.plans {
        let (checked, readable) = check(path, &context);
        unreadable |= !readable;
        files.push(checked);
    }
    match args.format {
        Format::Human => out!(
            "{}",
            diagnostics::human(&files, term::stdout_colour(), term::width())
        ),
        Format::Json => outln!("{}", diagnostics::json(&files, args.deny_warnings)),
        Format::Github => out!("{}", diagnostics::github(&files)),
    }
    let failed = files
        .iter()
        .any(|f| f.has_errors() || (args.deny_warnings && f.has_warnings()));
    // The process ends right after this: handing a large plan's hundred thousand small
    // allocations back one by one would cost a tenth of the whole run.
    std::mem::forget(files);
    Ok(exit::of_validation(unreadable, failed))
}
