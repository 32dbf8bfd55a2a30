//! `compare`: after an apply, every restored table compared with its source by key (rows
//! deleted, inserted and changed since the time), the result kept beside the journal for the
//! incident record (`planrun report`). [`targets`] finds what to compare (and `merge` what
//! to merge): the instances whose rollback succeeded and their MySQL addresses. Nothing is
//! written to any table.

pub mod targets;

use std::fmt;
use std::path::{Path, PathBuf};

use super::{escaped, shown, write_atomically};
use crate::compare::outcome::{FORMAT, Sampler};
use crate::compare::{self, Comparison, Counts, Pair, TableOutcome};
use crate::mysql::Credentials;
use crate::plan::text::visible;
pub use targets::{Target, Targets};

/// Marks a table's `not_comparable` that is an error (the server failed), not a property.
const ERROR: &str = "error: ";

/// What happens while comparing.
#[derive(Debug)]
pub enum Event<'a> {
    /// A table's comparison starts (`label`: instance and table).
    Table { label: &'a str },
    /// A table's comparison so far (`label`: instance and table), after each range.
    Progress { label: &'a str, counts: &'a Counts },
    /// An instance could not be compared at all.
    Failed { instance: String, error: String },
    /// The result could not be kept for the record.
    NotKept(String),
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Progress { label, counts: c } => write!(
                f,
                "compare: {}: {} rows compared in {} ranges ({} differing), {} differences so far",
                visible(label),
                c.rows_restored.max(c.rows_now),
                c.chunks,
                c.differing_chunks,
                c.differences()
            ),
            Self::Failed { instance, error } => {
                write!(f, "error: {}: {}", visible(instance), escaped(error))
            }
            Self::Table { label } => write!(f, "compare: {}", visible(label)),
            Self::NotKept(why) => write!(f, "warning: {why}"),
        }
    }
}

/// How a comparison came out: the result, and how many instances or tables the servers
/// failed to compare (errors, not properties of the tables).
pub struct Compared {
    pub comparison: Comparison,
    pub errors: usize,
}

/// Compares every table of `targets` (rows of each kind sampled up to `sample`) and keeps
/// the result beside the journal.
pub async fn compare(
    targets: &Targets,
    creds: &Credentials,
    options: &compare::Options,
    sample: usize,
    say: &mut (dyn FnMut(Event<'_>) + Send),
) -> Compared {
    let mut errors = targets.unaddressed.len();
    let mut tables = Vec::new();
    let mut not_compared: Vec<(String, String)> = targets.skipped.clone();
    not_compared.extend(targets.unaddressed.iter().cloned());
    for target in &targets.targets {
        match instance(target, creds, options, sample, say).await {
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
                say(Event::Failed {
                    instance: target.instance.clone(),
                    error: e.to_string(),
                });
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
            if let Err(e) = write_atomically(&kept, &bytes) {
                say(Event::NotKept(format!(
                    "cannot keep the comparison for the record at {}: {e}",
                    shown(&kept)
                )));
            }
        }
        Err(e) => say(Event::NotKept(e.to_string())),
    }
    Compared { comparison, errors }
}

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

async fn instance(
    target: &Target,
    creds: &Credentials,
    options: &compare::Options,
    sample: usize,
    say: &mut (dyn FnMut(Event<'_>) + Send),
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
                say(Event::Table { label: &label });
                let mut progress = |counts: &Counts| {
                    say(Event::Progress {
                        label: &label,
                        counts,
                    });
                };
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
