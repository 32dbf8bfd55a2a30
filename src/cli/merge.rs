//! `planrun merge PLAN --restore deleted[,changed] --out FILE`: compares as `compare` does
//! and saves every row a merge would write, each with its guard, for review (`planrun show
//! FILE`) and for `planrun apply FILE` ([`crate::engine::ops::merge`]). Nothing is written
//! to any database here.

use std::path::PathBuf;

use super::compare::{TargetArgs, progress, resolve};
use super::{Error, exit};
use crate::engine::ops::merge::{self, Asked, Event, Kind};

/// `--restore deleted,changed`: the engine's [`Kind`], with the help text of each value.
impl clap::ValueEnum for Kind {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Deleted, Self::Changed]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(match self {
            Self::Deleted => clap::builder::PossibleValue::new("deleted").help(
                "Rows deleted since the time: re-inserted, only where their key is still absent",
            ),
            Self::Changed => clap::builder::PossibleValue::new("changed").help(
                "Rows changed since the time: written back, only where the row is still as compare saw it",
            ),
        })
    }
}
use crate::engine::ops::selfhosted;
use crate::plan::text::visible;

/// Save the rows that would put what the incident destroyed back, for review.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The plan that was applied.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// What to restore: deleted, changed, or both (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub restore: Vec<Kind>,
    /// Only this source table (repeat for several) [default: every restored table]
    #[arg(long = "table", value_name = "DB.TABLE")]
    pub tables: Vec<String>,
    /// Only rows of the restored copy for which this SQL condition on its columns holds,
    /// e.g. "created_at < '2026-11-20 03:17:00'".
    #[arg(long = "where", value_name = "PREDICATE")]
    pub filter: Option<String>,
    /// The saved merge to write (whole or not at all).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Rows per transaction when the merge is applied.
    #[arg(long, value_name = "ROWS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub rows_per_transaction: u64,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// 0 written, 1 written but some table could not be merged, 2 error (nothing written), 3 the
/// apply is not finished.
pub fn run(args: &MergeArgs) -> Result<i32, Error> {
    if args.out.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to replace it",
            visible(&args.out.display().to_string())
        )));
    }
    if let Some(f) = &args.filter
        && (f.contains(';') || f.trim().is_empty())
    {
        return Err(Error::Usage(
            "--where takes one SQL condition (no `;`)".into(),
        ));
    }
    let runtime = super::runtime(1)?;
    runtime.block_on(async {
        let targets = resolve(&args.plan, &args.target, false).await?;
        let creds = selfhosted::credentials(args.target.defaults_file.as_deref())?;
        let asked = Asked {
            plan: &args.plan,
            restore: &args.restore,
            tables: &args.tables,
            filter: args.filter.as_deref(),
            out: &args.out,
            rows_per_transaction: args.rows_per_transaction,
            chunk_rows: args.target.chunk_rows,
        };
        let mut compared = progress();
        let mut say = |event: Event<'_>| match event {
            Event::Progress(e) => compared(e),
            other => errln!("{other}"),
        };
        let saved = merge::save(&asked, &targets, &creds, &mut say).await?;
        outln!("{}", crate::render::merge::saved(&args.out, &saved));
        Ok(exit::of_failures(saved.left_out))
    })
}
