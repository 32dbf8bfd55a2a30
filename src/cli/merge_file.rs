//! A saved merge on the command line: `planrun show FILE` prints it (human, JSON, or the
//! exact statements with `--format sql`), `planrun apply FILE` asks, then writes exactly its
//! rows, once ([`crate::engine::ops::merge_file`]).

use std::path::Path;

use super::show::Format;
use super::{Error, exit};
use crate::compare::merge::Step;
use crate::engine::ops::{merge_file, selfhosted};
use crate::plan::text::visible;
use crate::render::merge as render;

/// `planrun show FILE` for a saved merge, each row printed as it is read.
pub fn show(path: &Path, format: Format) -> Result<(), Error> {
    let (digest, mut reader) = merge_file::open(path, false)?;
    let mut line = |text: String| outln!("{text}");
    let shown = match format {
        Format::Human => render::human(path, &digest, &mut reader, &mut line),
        Format::Json => render::json(&digest, &mut reader).map(|doc| outln!("{doc}")),
        Format::Sql => render::sql(&digest, &mut reader, &mut line),
    };
    shown.map_err(|source| {
        let path = path.to_path_buf();
        Error::MergeFile(merge_file::Error::Row { path, source })
    })
}

/// The flags of `apply` that mean nothing for a saved merge.
pub fn refuse_plan_flags(args: &super::apply::ApplyArgs) -> Result<(), Error> {
    let given: Vec<&str> = [
        (args.dry_run, "--dry-run (use `planrun show FILE`)"),
        (
            args.sandbox,
            "--sandbox (the saved merge names its servers)",
        ),
        (args.restart, "--restart"),
        (args.batch_size.is_some(), "--batch-size"),
        (args.timeout.is_some(), "--timeout"),
        (args.report.is_some(), "--report"),
        (args.no_preflight, "--no-preflight"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "a saved merge is applied as it is: {} does not apply to it; nothing was written.",
        given.join(", ")
    )))
}

/// `planrun apply FILE` for a saved merge: 0 written, 1 some rows were conflicts.
pub fn apply(path: &Path, yes: bool, defaults_file: Option<&Path>) -> Result<i32, Error> {
    let opened = merge_file::open_for_apply(path)?;
    let h = opened.header.clone();
    if !opened.done {
        outln!("{}", render::describe(&h, &opened.digest, path));
        if !yes {
            super::ask(
                &format!(
                    "\nWrite these rows into {} tables of production? Only `yes` is accepted: ",
                    h.tables.len()
                ),
                "refusing to write without confirmation: stdin is not a terminal. Review the merge (`planrun show FILE`) and pass --yes to apply it.",
                "Apply cancelled; nothing was written.",
            )?;
        }
    }
    let creds = selfhosted::credentials(defaults_file)?;
    let runtime = super::runtime(1)?;
    let mut step = |s: Step| {
        let how = if s.recovered {
            " (committed by an earlier apply; read back from the server)"
        } else {
            ""
        };
        errln!(
            "merge: chunk {}: {} rows written, {} conflicts{how}",
            s.chunk,
            s.written,
            s.conflicts
        );
    };
    let applied = runtime.block_on(opened.apply(&creds, &mut step))?;
    let shown = visible(&path.display().to_string()).into_owned();
    outln!("{}", render::applied(&h, &shown, &applied));
    Ok(exit::of_failures(applied.conflicts().count()))
}
