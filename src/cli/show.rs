//! `planrun show SAVED`: a saved plan rendered like `plan` (the diff and its calls), after the
//! same checks `apply SAVED` makes, with what it was made from and when; or a saved merge
//! (`merge PLAN ... --out FILE`): its rows and their guards, or its exact statements.

use std::path::PathBuf;

use super::exit;
use super::plan::{calls, view};
use crate::diff;
use crate::plan::text::visible;

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

#[allow(clippy::print_stdout)]
pub fn run(args: &ShowArgs) -> i32 {
    if super::merge_file::is_saved_merge(&args.saved) {
        let rendering = match args.format {
            Format::Human => super::merge_file::Rendering::Human,
            Format::Json => super::merge_file::Rendering::Json,
            Format::Sql => super::merge_file::Rendering::Sql,
        };
        return super::merge_file::show(&args.saved, rendering);
    }
    if args.format == Format::Sql {
        errln!(
            "error: --format sql shows a saved merge's statements; this is a saved plan (use --show-requests)"
        );
        return exit::USAGE;
    }
    let loaded = match super::saved::load(&args.saved) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let saved = &loaded.saved;
    let shown = calls(&loaded.prepared, args.show_requests);
    match args.format {
        Format::Human => {
            outln!(
                "Saved plan {} of {}, made {} UTC by planrun {} for API {} (plan hash {})",
                visible(&args.saved.display().to_string()),
                visible(&saved.path),
                saved.made_at.format(crate::contract::TIME_FORMAT),
                visible(&saved.planrun),
                &saved.api.name()[1..],
                &saved.plan_hash[..12.min(saved.plan_hash.len())],
            );
            out!(
                "{}",
                diff::human(&loaded.resolved, &shown, &view(args.expand))
            );
        }
        Format::Json | Format::Sql => {
            let mut doc = diff::json(&loaded.resolved, &shown);
            doc["saved"] = serde_json::json!({
                "path": saved.path,
                "made_at": saved.made_at,
                "planrun": saved.planrun,
                "api": saved.api,
                "plan_hash": saved.plan_hash,
                "journal": saved.journal,
            });
            outln!("{doc}");
        }
    }
    exit::OK
}
