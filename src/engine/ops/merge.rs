//! `merge`: compares as `compare` does and saves every row a merge would write (deleted rows
//! to re-insert, changed rows to write back), each with its guard, for review (`planrun show
//! FILE`) and for `planrun apply FILE` ([`super::merge_file`]). Nothing is written to any
//! database here.

use std::fmt;
use std::path::{Path, PathBuf};

use super::compare::{Target, Targets, pairs};
use super::{escaped, shown};
use crate::compare::merge::Rows;
use crate::compare::saved::{FORMAT, Header, MergeTable, Writer};
use crate::compare::schema::Shape;
use crate::compare::{self, Counts, Pair};
use crate::mysql::Credentials;
use crate::plan::text::visible;

/// What a merge restores (the CLI gives it clap's `ValueEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Rows deleted since the time: re-inserted, only where their key is still absent.
    Deleted,
    /// Rows changed since the time: written back, only where the row is still as compare saw it.
    Changed,
}

/// What to save, and where.
#[derive(Debug, Clone)]
pub struct Asked<'a> {
    /// The plan as given (recorded in the saved merge).
    pub plan: &'a Path,
    pub restore: &'a [Kind],
    /// Only these source tables (`DB.TABLE`; every restored table when empty).
    pub tables: &'a [String],
    /// Only rows of the restored copy for which this SQL condition holds.
    pub filter: Option<&'a str>,
    pub out: &'a Path,
    /// Rows per transaction when the merge is applied.
    pub rows_per_transaction: u64,
    /// Rows of the restored copy per range compared.
    pub chunk_rows: u64,
}

/// Why no merge was saved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Some instances have no address (said by [`Event::NotMerged`] before).
    #[error("instances without an address")]
    Unaddressed,
    #[error("{}; nothing was written", escaped(.0))]
    Server(#[from] compare::Error),
    #[error("--table {}: no restored table of the plan has this source", visible(.0))]
    NoSuchTable(String),
    #[error("{0}")]
    Clock(String),
    #[error("cannot write {}: {source}", shown(.path))]
    Write {
        path: PathBuf,
        source: compare::Error,
    },
    #[error(
        "{} {}: {}; nothing was written",
        visible(.instance),
        visible(.table),
        escaped(.source)
    )]
    Table {
        instance: String,
        table: String,
        source: compare::Error,
    },
}

/// What happens while the merge is made.
#[derive(Debug)]
pub enum Event<'a> {
    /// An instance, or one of its tables (`table`), that is left out, and why.
    NotMerged {
        instance: &'a str,
        table: Option<String>,
        why: &'a str,
    },
    /// A table's comparison so far, as `compare` says it.
    Progress(super::compare::Event<'a>),
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMerged {
                instance,
                table: None,
                why,
            } => write!(
                f,
                "note: {}: not merged: {}",
                visible(instance),
                visible(why)
            ),
            Self::NotMerged {
                instance,
                table: Some(table),
                why,
            } => write!(
                f,
                "note: {} {}: not merged: {}",
                visible(instance),
                visible(table),
                visible(why)
            ),
            Self::Progress(e) => e.fmt(f),
        }
    }
}

/// A merge saved: its digest, the rows in it, and how many tables were left out.
pub struct Saved {
    pub digest: String,
    pub inserts: u64,
    pub reverts: u64,
    pub tables: usize,
    pub left_out: usize,
}

/// Storage engines whose writes are transactional: a chunk commits whole or not at all.
const TRANSACTIONAL: [&str; 3] = ["innodb", "tokudb", "rocksdb"];

struct Chosen {
    table: MergeTable,
    pair: Pair,
    shape: Shape,
}

/// Saves the merge `asked` of `targets` to `asked.out`, written whole or not at all.
pub async fn save(
    asked: &Asked<'_>,
    t: &Targets,
    creds: &Credentials,
    say: &mut (dyn FnMut(Event<'_>) + Send),
) -> Result<Saved, Error> {
    for (id, why) in t.skipped.iter().chain(&t.unaddressed) {
        say(Event::NotMerged {
            instance: id,
            table: None,
            why,
        });
    }
    if !t.unaddressed.is_empty() {
        return Err(Error::Unaddressed);
    }
    let wanted =
        |pair: &Pair| asked.tables.is_empty() || asked.tables.contains(&pair.source_name());
    let mut left_out = 0;
    let mut chosen: Vec<(usize, Chosen)> = Vec::new();
    let mut conns = Vec::new();
    for (n, target) in t.targets.iter().enumerate() {
        let mut conn = compare::connect(&target.at, creds).await?;
        for pair in pairs(&mut conn, target).await? {
            let pair = match pair {
                Ok(p) => p,
                Err((p, why)) => {
                    if wanted(&p) {
                        left_out += 1;
                        say(Event::NotMerged {
                            instance: &target.instance,
                            table: Some(p.source_name()),
                            why: &why,
                        });
                    }
                    continue;
                }
            };
            if !wanted(&pair) {
                continue;
            }
            match mergeable(&mut conn, &pair, asked.filter).await? {
                Ok(shape) => chosen.push((
                    n,
                    Chosen {
                        table: merge_table(target, &pair, &shape),
                        pair,
                        shape,
                    },
                )),
                Err(why) => {
                    left_out += 1;
                    say(Event::NotMerged {
                        instance: &target.instance,
                        table: Some(pair.source_name()),
                        why: &why,
                    });
                }
            }
        }
        let helper = compare::connect(&target.at, creds).await.ok();
        conns.push((conn, helper));
    }
    for name in asked.tables {
        if !chosen.iter().any(|(_, c)| &c.pair.source_name() == name) {
            return Err(Error::NoSuchTable(name.clone()));
        }
    }
    let header = Header {
        format: FORMAT.to_owned(),
        planrun: env!("CARGO_PKG_VERSION").to_owned(),
        made_at: super::now().map_err(Error::Clock)?,
        plan: t.resolved.name.clone(),
        plan_path: asked.plan.display().to_string(),
        plan_hash: t.plan_hash.clone(),
        restore: asked
            .restore
            .iter()
            .map(|k| match k {
                Kind::Deleted => "deleted".to_owned(),
                Kind::Changed => "changed".to_owned(),
            })
            .collect(),
        table_filter: (!asked.tables.is_empty()).then(|| asked.tables.join(",")),
        filter: asked.filter.map(str::to_owned),
        chunk_rows: usize::try_from(asked.rows_per_transaction).unwrap_or(500),
        tables: chosen.iter().map(|(_, c)| c.table.clone()).collect(),
    };
    let unwritable = |source| Error::Write {
        path: asked.out.to_path_buf(),
        source,
    };
    let mut writer = Writer::create(asked.out, &header).map_err(unwritable)?;
    let options = compare::Options {
        chunk_rows: asked.chunk_rows,
        filter: asked.filter.map(str::to_owned),
        inserted: false,
    };
    for (i, (n, c)) in chosen.iter().enumerate() {
        let mut sink = Rows {
            writer: &mut writer,
            table: i,
            deleted: asked.restore.contains(&Kind::Deleted),
            changed: asked.restore.contains(&Kind::Changed),
        };
        let instance = &t.targets[*n].instance;
        let label = format!("{instance} {}", c.pair.source_name());
        say(Event::Progress(super::compare::Event::Table {
            label: &label,
        }));
        let mut progress = |counts: &Counts| {
            say(Event::Progress(super::compare::Event::Progress {
                label: &label,
                counts,
            }));
        };
        let (conn, helper) = &mut conns[*n];
        let walked = compare::walk(
            conn,
            helper.as_mut(),
            &c.pair,
            &c.shape,
            &options,
            &mut sink,
            &mut progress,
        )
        .await;
        if let Err(source) = walked {
            writer.abandon();
            return Err(Error::Table {
                instance: instance.clone(),
                table: c.pair.source_name(),
                source,
            });
        }
    }
    let summary = writer.summary.clone();
    let digest = writer.finish().map_err(unwritable)?;
    for (conn, helper) in conns {
        let _ = conn.disconnect().await;
        if let Some(h) = helper {
            let _ = h.disconnect().await;
        }
    }
    let (inserts, reverts) = summary
        .tables
        .iter()
        .fold((0, 0), |(a, b), (i, r)| (a + i, b + r));
    Ok(Saved {
        digest,
        inserts,
        reverts,
        tables: header.tables.len(),
        left_out,
    })
}

/// The pair's shape, or why it cannot be merged (not comparable, a non-transactional
/// source, a `--where` the server refuses).
async fn mergeable(
    conn: &mut mysql_async::Conn,
    pair: &Pair,
    filter: Option<&str>,
) -> Result<Result<Shape, String>, compare::Error> {
    let shape = match compare::shape_of(conn, pair).await? {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    if !TRANSACTIONAL.contains(&shape.source_engine.to_ascii_lowercase().as_str()) {
        return Ok(Err(format!(
            "its engine {} is not transactional: a chunk could be half written",
            shape.source_engine
        )));
    }
    if let Some(f) = filter {
        use mysql_async::prelude::Queryable;
        let probe = format!(
            "SELECT 1 FROM {} WHERE ({f}) LIMIT 0",
            compare::sql::table(&pair.restored_db, &pair.restored)
        );
        if let Err(e) = conn.query_drop(probe).await {
            return Ok(Err(format!("--where does not apply to it: {e}")));
        }
    }
    Ok(Ok(shape))
}

fn merge_table(target: &Target, pair: &Pair, shape: &Shape) -> MergeTable {
    MergeTable {
        instance: target.instance.clone(),
        host: target.at.host.clone(),
        port: target.at.port,
        db: pair.db.clone(),
        source: pair.source.clone(),
        restored_db: pair.restored_db.clone(),
        restored: pair.restored.clone(),
        columns: shape.columns.iter().map(|c| c.name.clone()).collect(),
        key: shape.key.clone(),
        generated: (0..shape.columns.len())
            .filter(|&i| shape.columns[i].generated)
            .collect(),
        decimals: shape
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.data_type == "decimal")
            .map(|(i, c)| {
                let ty = c
                    .column_type
                    .replace(" unsigned", "")
                    .replace(" zerofill", "");
                (i, ty.to_ascii_uppercase())
            })
            .collect(),
    }
}
