//! `planrun show SAVED`: a saved plan rendered like `plan` (the diff and its calls), after the
//! same checks `apply SAVED` makes, with what it was made from and when.

use std::path::PathBuf;

use super::exit;
use super::plan::{Format, calls, view};
use crate::diff;
use crate::plan::text::visible;

/// Show a saved plan (`planrun plan PLAN --out FILE`) as `plan` shows a plan.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The saved plan.
    #[arg(value_name = "SAVED")]
    pub saved: PathBuf,
    /// Output format.
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
    let loaded = match super::saved::load(&args.saved) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let saved = &loaded.saved;
    let shown = calls(&loaded.prepared, args.show_requests);
    match args.format {
        Format::Human => {
            outln!(
                "Saved plan {} of {}, made {} by planrun {} for API {} (plan hash {})",
                visible(&args.saved.display().to_string()),
                visible(&saved.path),
                saved.made_at.format("%Y-%m-%d %H:%M:%S UTC"),
                visible(&saved.planrun),
                &saved.api.name()[1..],
                &saved.plan_hash[..12.min(saved.plan_hash.len())],
            );
            out!(
                "{}",
                diff::human(&loaded.resolved, &shown, &view(args.expand))
            );
        }
        Format::Json => {
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
