//! `planrun show SAVED`: a saved plan rendered like `plan` (the diff and its calls), after the
//! same checks `apply SAVED` makes, with what it was made from and when; or a saved merge
//! (`merge PLAN ... --out FILE`): its rows and their guards, or its exact statements.

use std::path::PathBuf;

use super::plan::{calls, load_saved, view};
use super::{Error, exit};
use crate::diff;
use crate::render;

/// How `show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// A saved merge's exact statements, chunk by chunk.
    Sql,
}

/// Show a saved plan (`planrun plan PLAN --out FILE`) as `plan` shows a plan, or a saved
/// merge (`planrun merge PLAN ... --out FILE`).
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The saved plan or saved merge.
    #[arg(value_name = "SAVED")]
    pub saved: PathBuf,
    /// Output format (`sql`: a saved merge's statements).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also print each call's exact (unsigned) action parameters.
    #[arg(long)]
    pub show_requests: bool,
    /// One block per instance in the diff.
    #[arg(long)]
    pub expand: bool,
}

pub fn run(args: &ShowArgs) -> Result<i32, Error> {
    if crate::engine::ops::merge_file::is_saved_merge(&args.saved) {
        super::merge_file::show(&args.saved, args.format)?;
        return Ok(exit::OK);
    }
    if args.format == Format::Sql {
        return Err(Error::Usage(
            "--format sql shows a saved merge's statements; this is a saved plan (use --show-requests)".into(),
        ));
    }
    let loaded = load_saved(&args.saved)?;
    let saved = &loaded.saved;
    let shown = calls(&loaded.prepared, args.show_requests);
    match args.format {
        Format::Human => {
            outln!("{}", render::saved::header(saved, &args.saved));
            out!(
                "{}",
                diff::human(&loaded.resolved, &shown, &view(args.expand))
            );
        }
        Format::Json | Format::Sql => {
            outln!("{}", render::saved::json(saved, &loaded.resolved, &shown));
        }
    }
    Ok(exit::OK)
}
