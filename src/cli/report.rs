//! `planrun report PLAN|STATE|SAVED`: the record of the last apply, read from its journal
//! (during the run: a snapshot), as an HTML page, Markdown for a ticket, or the JSON report;
//! and the writer behind `apply --report FILE`, whose format follows the file's extension.

use std::path::{Path, PathBuf};

use super::{Error, exit, plan as plan_cmd};
use crate::engine::apply::Apply;
use crate::engine::journal::Journal;
use crate::engine::ops::located::Located;
use crate::engine::ops::report::{self, Given, GivenPlan};
use crate::engine::ops::{saved, write_atomically};
use crate::engine::prepare::{Generation, prepare};
use crate::plan::ResolvedPlan;
use crate::record::{Format, Incident};

/// `--format html|markdown|json`: the record's [`Format`], with the help text of each value.
impl clap::ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Html, Self::Markdown, Self::Json]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            Self::Html => clap::builder::PossibleValue::new("html")
                .help("One self-contained page: timeline, every instance, the calls as sent"),
            Self::Markdown => clap::builder::PossibleValue::new("markdown")
                .help("GitHub-flavoured, for a ticket: the summary and what was not restored"),
            Self::Json => clap::builder::PossibleValue::new("json")
                .help("The report of `docs/contract.md` §6 (`status --format json`)"),
        })
    }
}

/// Render the record of a plan's last apply.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The plan file (its journal is found as `status` finds it), or a journal file
    /// (`.planrun/NAME-HASH.journal`, also one set aside by --restart), or a saved plan
    /// (`plan PLAN --out FILE`: the journal it records).
    #[arg(value_name = "PLAN|STATE|SAVED")]
    pub target: PathBuf,
    /// What to write [default: from --out's extension, else markdown]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the record to FILE (complete or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The journal of `apply --sandbox`.
    #[arg(long)]
    pub sandbox: bool,
    /// Where the journal lives [default: .planrun/ beside the plan]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Accept REGION although it is not in planrun's list of TencentDB for MySQL regions (a
    /// region opened after this planrun was made); repeatable.
    #[arg(long = "allow-region", value_name = "REGION")]
    pub allow_region: Vec<String>,
}

/// 0 all succeeded, 1 failures (once everything is final), 3 while anything is unfinished
/// (as `status`); 2 when nothing can be read or written.
pub fn run(args: &ReportArgs) -> Result<i32, Error> {
    let format = match (args.format, &args.out) {
        (Some(f), _) => f,
        (None, None) => Format::Markdown,
        (None, Some(out)) => Format::of_path(out).ok_or_else(|| {
            Error::Usage(format!(
                "cannot tell the format from {} (use .html, .md or .json, or pass --format)",
                out.display()
            ))
        })?,
    };
    let found = report::find(given(args)?, args.sandbox, &mut |note| {
        errln!("note: {note}")
    })?;
    let comparison = report::kept_comparison(&found.journal);
    let (incident, report) = Incident::of_history(&found, comparison);
    let text = format
        .render(&incident, &report)
        .map_err(|e| Error::Usage(e.to_string()))?;
    match &args.out {
        Some(path) => {
            write_atomically(path, text.as_bytes())
                .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
            errln!(
                "wrote the record of plan {} to {}",
                incident.plan,
                path.display()
            );
        }
        None => out!("{text}"),
    }
    Ok(exit::of_totals(
        &report.totals,
        exit::Precedence::UnfinishedFirst,
    ))
}

/// What `report` was given: a journal, a saved plan (its plan and the journal it records) or
/// a plan (its journal found as `status` finds it).
fn given(args: &ReportArgs) -> Result<Given<'_>, Error> {
    let target = &args.target;
    if report::is_journal(target)? {
        return Ok(Given::Journal(target));
    }
    // A saved plan's record is its plan's: the plan it holds, the journal it records.
    let dir = args.state_dir.as_deref();
    if saved::is_saved(target) {
        let loaded = plan_cmd::load_saved(target)?;
        let at = Located::of_saved(&loaded.saved, dir, false)?;
        return Ok(Given::Plan(Box::new(GivenPlan {
            path: PathBuf::from(&loaded.saved.path),
            resolved: loaded.resolved,
            prepared: loaded.prepared,
            at,
        })));
    }
    let (text, resolved) = load_quietly(target, &args.allow_region)?;
    // The hash and requests do not depend on the generation or the batch size.
    let prepared = prepare(&resolved, Generation::V3, resolved.batch_size);
    let at = Located::of_plan(target, &text, &resolved.name, dir, false)?;
    Ok(Given::Plan(Box::new(GivenPlan {
        path: target.clone(),
        resolved,
        prepared,
        at,
    })))
}

/// The plan, its errors shown; its warnings are not (they were the reviewer's business, and
/// an old rollback time is old by now).
fn load_quietly(path: &Path, allowed_regions: &[String]) -> Result<(String, ResolvedPlan), Error> {
    let context = super::term::context(allowed_regions).map_err(Error::Usage)?;
    let (checked, readable) = crate::engine::ops::load::check(path, &context);
    match checked.resolved.clone() {
        Some(resolved) if readable && !checked.has_errors() => Ok((checked.text, resolved)),
        _ => Err(Error::Plan {
            checked: Box::new(checked),
            json: false,
            readable,
        }),
    }
}

/// `apply --report FILE`: the JSON report, or the record as HTML or Markdown, as `format`
/// (else FILE's extension, else JSON, as before the record existed) says.
pub fn write_for_apply(
    apply: &Apply,
    path: &Path,
    format: Option<Format>,
    plan: &ResolvedPlan,
) -> std::io::Result<()> {
    let format = format
        .or_else(|| Format::of_path(path))
        .unwrap_or(Format::Json);
    if format == Format::Json {
        return apply.write_report(path);
    }
    let records = Journal::read(apply.journal_path())?;
    let incident = Incident::of_apply(&records, &apply.plan_info(), apply.state(), plan);
    let text = format
        .render(&incident, &apply.report())
        .map_err(std::io::Error::other)?;
    write_atomically(path, text.as_bytes())
}
