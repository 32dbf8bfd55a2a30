//! `planrun report PLAN|STATE|SAVED`: the record of the last apply, read from its journal (during
//! the run: a snapshot), as an HTML page, Markdown for a ticket, or the JSON report; and the
//! writer behind `apply --report FILE`, whose format follows the file's extension.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::located::Located;
use super::{exit, session};
use crate::engine::journal::{Journal, Record};
use crate::engine::report::Report;
use crate::engine::state::RunState;
use crate::record::{self, Incident, PlanInfo};

/// What a record is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained page: timeline, every instance, the calls as sent.
    Html,
    /// GitHub-flavoured, for a ticket: the summary and what was not restored.
    Markdown,
    /// The report of `docs/contract.md` §6 (`status --format json`).
    Json,
}

impl Format {
    /// From a file name: `.html`/`.htm`, `.md`/`.markdown`, `.json`.
    pub fn of_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Self::Html),
            "md" | "markdown" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            _ => None,
        }
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
pub fn run(args: &ReportArgs) -> i32 {
    let format = match (args.format, &args.out) {
        (Some(f), _) => f,
        (None, None) => Format::Markdown,
        (None, Some(out)) => match Format::of_path(out) {
            Some(f) => f,
            None => {
                errln!(
                    "error: cannot tell the format from {} (use .html, .md or .json, or pass --format)",
                    out.display()
                );
                return exit::USAGE;
            }
        },
    };
    let (records, plan, resolved, journal) = match sources(args) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let mut incident = Incident::build(&records, plan.as_ref(), None);
    if let Some((_, resolved)) = &resolved {
        incident = incident.with_selfhosted(super::selfhosted::record(resolved, &records));
    }
    incident = incident.with_differences(kept_comparison(&journal));
    let ids: Vec<&str> = incident.instances.iter().map(|i| i.id.as_str()).collect();
    let report = Report::new(&incident.plan, &RunState::replay(ids, &records));
    let text = match render(format, &incident, &report) {
        Ok(text) => text,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = write_atomically(path, text.as_bytes()) {
                errln!("error: cannot write {}: {e}", path.display());
                return exit::USAGE;
            }
            errln!(
                "wrote the record of plan {} to {}",
                incident.plan,
                path.display()
            );
        }
        None => out!("{text}"),
    }
    exit::of_totals(&report.totals, exit::Precedence::UnfinishedFirst)
}

fn render(format: Format, incident: &Incident, report: &Report) -> serde_json::Result<String> {
    Ok(match format {
        Format::Html => record::html(incident),
        Format::Markdown => record::markdown(incident),
        Format::Json => serde_json::to_string_pretty(report)? + "\n",
    })
}

/// The journal's records and, when a plan was given, what it asks for (and the plan itself,
/// with its path).
type Sources = (
    Vec<Record>,
    Option<PlanInfo>,
    Option<(PathBuf, crate::plan::ResolvedPlan)>,
    PathBuf,
);

fn sources(args: &ReportArgs) -> Result<Sources, i32> {
    let target = &args.target;
    let (journal, plan, resolved_plan) = if is_journal(target)? {
        (target.clone(), None, None)
    } else {
        // A saved plan's record is its plan's: the plan it holds, the journal it records.
        let dir = args.state_dir.as_deref();
        let (target, resolved, prepared, at) = if super::saved::is_saved(target) {
            let loaded = super::saved::load(target)?;
            let at = Located::of_saved(&loaded.saved, dir, false)?;
            let path = PathBuf::from(&loaded.saved.path);
            (path, loaded.resolved, loaded.prepared, at)
        } else {
            let (text, resolved) = load_quietly(target, &args.allow_region)?;
            // The hash and requests do not depend on the generation or the batch size.
            let prepared = crate::engine::prepare::prepare(
                &resolved,
                crate::engine::prepare::Generation::V3,
                resolved.batch_size,
            );
            let at = Located::of_plan(target, &text, &resolved.name, dir, false)?;
            (target.clone(), resolved, prepared, at)
        };
        let readable = |sandboxed| {
            at.sandboxed(sandboxed)
                .readable(&resolved.name, &prepared.hash)
        };
        let (path, demo) = (readable(args.sandbox), readable(true));
        if !args.sandbox && !path.exists() && demo.exists() {
            errln!(
                "No apply of plan {} is recorded (journal {}), but an `apply --sandbox` is: see it with\n  planrun report {} --sandbox",
                resolved.name,
                path.display(),
                target.display()
            );
            return Err(exit::UNFINISHED);
        }
        let info = PlanInfo::of(&resolved, &prepared);
        (path, Some(info), Some((target.clone(), resolved)))
    };
    match Journal::read(&journal) {
        Ok(records) if records.is_empty() => Err(nothing_recorded(&journal)),
        Ok(records) => Ok((records, plan, resolved_plan, journal)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(nothing_recorded(&journal)),
        Err(e) => {
            errln!("error: cannot read the journal {}: {e}", journal.display());
            Err(exit::USAGE)
        }
    }
}

/// What `planrun compare` kept beside the journal, if it ran and its file reads.
fn kept_comparison(journal: &Path) -> Option<crate::compare::Comparison> {
    let bytes = std::fs::read(super::compare::kept_path(journal)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The plan, its errors shown; its warnings are not (they were the reviewer's business, and
/// an old rollback time is old by now).
fn load_quietly(
    path: &Path,
    allowed_regions: &[String],
) -> Result<(String, crate::plan::ResolvedPlan), i32> {
    let context = super::term::context(allowed_regions).map_err(|e| {
        errln!("error: {e}");
        exit::USAGE
    })?;
    let (checked, readable) = super::validate::check(path, &context);
    match checked.resolved.clone() {
        Some(resolved) if readable && !checked.has_errors() => Ok((checked.text, resolved)),
        _ => {
            let shown = super::diagnostics::human(
                std::slice::from_ref(&checked),
                super::term::stderr_colour(),
                super::term::width(),
            );
            err!("{shown}");
            Err(if readable { exit::FAILED } else { exit::USAGE })
        }
    }
}

fn nothing_recorded(journal: &Path) -> i32 {
    errln!("No apply is recorded (journal {}).", journal.display());
    exit::UNFINISHED
}

/// A journal's first line is one of its records; a plan's never is.
fn is_journal(path: &Path) -> Result<bool, i32> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| {
        errln!("error: cannot read {}: {e}", path.display());
        exit::USAGE
    })?;
    // A record's line is short; a plan's first line may be long, or not text at all.
    let mut line = String::new();
    let read = BufReader::new(file.take(64 * 1024)).read_line(&mut line);
    Ok(matches!(read, Ok(n) if n > 0) && serde_json::from_str::<Record>(line.trim()).is_ok())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: a reader
/// never sees half a record, and a failure leaves the old file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-record"));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `apply --report FILE`: the JSON report, or the record as HTML or Markdown, as `format`
/// (else FILE's extension, else JSON, as before the record existed) says.
pub fn write_for_apply(
    session: &session::Session,
    path: &Path,
    format: Option<Format>,
    plan: (&Path, &crate::plan::ResolvedPlan),
) -> std::io::Result<()> {
    let format = format
        .or_else(|| Format::of_path(path))
        .unwrap_or(Format::Json);
    if format == Format::Json {
        return session.write_report(path);
    }
    let records = Journal::read(session.journal_path())?;
    let incident = Incident::build(&records, Some(&session.plan_info()), Some(session.state()))
        .with_selfhosted(super::selfhosted::record(plan.1, &records));
    let text = render(format, &incident, &session.report()).map_err(std::io::Error::other)?;
    write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(Format::of_path(Path::new("r.HTML")), Some(Format::Html));
        assert_eq!(Format::of_path(Path::new("a/r.md")), Some(Format::Markdown));
        assert_eq!(Format::of_path(Path::new("r.json")), Some(Format::Json));
        assert_eq!(Format::of_path(Path::new("r.txt")), None);
        assert_eq!(Format::of_path(Path::new("report")), None);
    }

    #[test]
    fn a_journal_is_told_from_a_plan_by_its_first_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = dir.path().join("p.journal");
        std::fs::write(
            &journal,
            "{\"record\":\"complete\",\"at\":\"2026-11-20T03:00:00Z\"}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plan = dir.path().join("p.yaml");
        std::fs::write(&plan, "version: 1\n").unwrap_or_else(|e| panic!("{e}"));
        let json_plan = dir.path().join("q.yaml");
        std::fs::write(&json_plan, "{\"version\": 1}\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(is_journal(&journal), Ok(true));
        assert_eq!(is_journal(&plan), Ok(false));
        assert_eq!(is_journal(&json_plan), Ok(false));
        assert_eq!(is_journal(&dir.path().join("none")), Err(exit::USAGE));
    }

    #[test]
    fn an_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("r.html");
        write_atomically(&path, b"<p>1</p>").unwrap_or_else(|e| panic!("{e}"));
        write_atomically(&path, b"<p>2</p>").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&b"<p>2</p>"[..]));
        assert_eq!(
            std::fs::read_dir(dir.path()).map(Iterator::count).ok(),
            Some(1)
        );
        assert!(write_atomically(&dir.path().join("missing/r.html"), b"x").is_err());
    }
}
