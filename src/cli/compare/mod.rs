//! `planrun compare PLAN`: after an apply, every restored table compared with its source by
//! key (rows deleted, inserted and changed since the time), printed as a table per instance
//! or as JSON, and kept beside the journal for the incident record (`planrun report`).

mod render;
pub mod targets;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::exit;
use crate::compare::outcome::{DEFAULT_SAMPLE, FORMAT, Sampler};
use crate::compare::{self, Comparison, Pair, TableOutcome};
use crate::plan::text::visible;
pub use render::row as render_row;
pub use targets::{Target, TargetArgs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    /// One document: every table's counts and samples.
    Json,
}

/// Compare the restored copies of the plan's last apply with their sources.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The plan that was applied.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Rows of each kind (deleted, inserted, changed) shown per table.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SAMPLE)]
    pub sample: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// 0 no difference, 1 differences (or a table that could not be compared), 2 error, 3 the
/// apply is not finished.
pub fn run(args: &CompareArgs) -> i32 {
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        match compare_plan(args).await {
            Ok(code) | Err(code) => code,
        }
    })
}

async fn compare_plan(args: &CompareArgs) -> Result<i32, i32> {
    let json = args.format == Format::Json;
    let targets = targets::resolve(&args.plan, &args.target, json).await?;
    let creds = targets::credentials(&args.target)?;
    let mut errors = targets.unaddressed.len();
    let mut tables = Vec::new();
    let mut not_compared: Vec<(String, String)> = targets.skipped.clone();
    not_compared.extend(targets.unaddressed.iter().cloned());
    let options = compare::Options {
        chunk_rows: args.target.chunk_rows,
        ..compare::Options::default()
    };
    for target in &targets.targets {
        match compare_instance(target, &creds, &options, args.sample).await {
            Ok(mut found) => {
                errors += found
                    .iter()
                    .filter(|t| {
                        t.not_comparable
                            .as_deref()
                            .is_some_and(|w| w.starts_with(ERROR))
                    })
                    .count();
                tables.append(&mut found);
            }
            Err(e) => {
                errors += 1;
                errln!(
                    "error: {}: {}",
                    visible(&target.instance),
                    visible(&e.to_string())
                );
                not_compared.push((target.instance.clone(), e.to_string()));
            }
        }
    }
    let comparison = Comparison {
        format: FORMAT.to_owned(),
        plan: targets.resolved.name.clone(),
        plan_hash: targets.plan_hash.clone(),
        compared_at: chrono::Utc::now(),
        tables,
        instances_not_compared: not_compared,
    };
    let kept = kept_path(&targets.journal);
    match serde_json::to_vec_pretty(&comparison) {
        Ok(bytes) => {
            if let Err(e) = super::report::write_atomically(&kept, &bytes) {
                errln!(
                    "warning: cannot keep the comparison for the record at {}: {e}",
                    visible(&kept.display().to_string())
                );
            }
        }
        Err(e) => errln!("warning: {e}"),
    }
    if json {
        match serde_json::to_string_pretty(&comparison) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                errln!("error: {e}");
                return Err(exit::USAGE);
            }
        }
    } else {
        out!("{}", render::human(&comparison, &targets.targets));
    }
    Ok(if errors > 0 {
        exit::USAGE
    } else if comparison.differences() > 0 || comparison.not_comparable() > 0 {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// Marks a table's `not_comparable` that is an error (the server failed), not a property.
const ERROR: &str = "error: ";

/// Where `compare` keeps its result: beside the journal, under its name (`KEY[.sandbox].compare.json`).
pub fn kept_path(journal: &Path) -> PathBuf {
    journal.with_extension("compare.json")
}

/// The restored tables of one instance (those of its restored databases listed on the
/// server), each compared.
pub async fn pairs(
    conn: &mut mysql_async::Conn,
    target: &Target,
) -> Result<Vec<Result<Pair, (Pair, String)>>, compare::Error> {
    let mut out: Vec<Result<Pair, (Pair, String)>> =
        target.tables.iter().cloned().map(Ok).collect();
    for (source, restored) in &target.dbs {
        out.extend(compare::database_pairs(conn, source, restored).await?);
    }
    Ok(out)
}

async fn compare_instance(
    target: &Target,
    creds: &crate::mysql::Credentials,
    options: &compare::Options,
    sample: usize,
) -> Result<Vec<TableOutcome>, compare::Error> {
    let id = target.instance.as_str();
    let mut conn = compare::connect(&target.at, creds).await?;
    // A second connection digests the restored copy while the first digests the source.
    let mut helper = compare::connect(&target.at, creds).await.ok();
    let mut out = Vec::new();
    for pair in pairs(&mut conn, target).await? {
        let pair = match pair {
            Ok(p) => p,
            Err((p, why)) => {
                out.push(TableOutcome::not_comparable(id, &p, why));
                continue;
            }
        };
        let outcome = match compare::shape_of(&mut conn, &pair).await {
            Ok(Ok(shape)) => {
                let mut sampler = Sampler::new(&shape, sample);
                let label = format!("{id} {}", pair.source_name());
                let mut progress = progress_line(label);
                match compare::walk(
                    &mut conn,
                    helper.as_mut(),
                    &pair,
                    &shape,
                    options,
                    &mut sampler,
                    &mut progress,
                )
                .await
                {
                    Ok(counts) => {
                        TableOutcome::compared(id, &pair, &shape, &counts, sampler.samples)
                    }
                    Err(e) => TableOutcome::not_comparable(id, &pair, format!("{ERROR}{e}")),
                }
            }
            Ok(Err(why)) => TableOutcome::not_comparable(id, &pair, why),
            Err(e) => TableOutcome::not_comparable(id, &pair, format!("{ERROR}{e}")),
        };
        out.push(outcome);
    }
    let _ = conn.disconnect().await;
    if let Some(h) = helper {
        let _ = h.disconnect().await;
    }
    Ok(out)
}

/// A line on stderr every few seconds while a table is compared (long tables).
pub fn progress_line(label: String) -> impl FnMut(&compare::Counts) + Send {
    let started = Instant::now();
    let mut last = started;
    move |c: &compare::Counts| {
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            errln!(
                "compare: {}: {} rows compared in {} ranges ({} differing), {} differences so far",
                visible(&label),
                c.rows_restored.max(c.rows_now),
                c.chunks,
                c.differing_chunks,
                c.differences()
            );
        }
    }
}
