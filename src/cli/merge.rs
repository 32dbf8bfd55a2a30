//! `planrun merge PLAN --restore deleted[,changed] --out FILE`: compares as `compare` does
//! and saves every row a merge would write (deleted rows to re-insert, changed rows to write
//! back), each with its guard, for review (`planrun show FILE`) and for `planrun apply FILE`.
//! Nothing is written to any database here.

use std::path::PathBuf;

use super::compare::{TargetArgs, pairs, progress_line, targets};
use super::exit;
use crate::compare::merge::Rows;
use crate::compare::saved::{FORMAT, Header, MergeTable, Writer};
use crate::compare::schema::Shape;
use crate::compare::{self, Pair};
use crate::plan::text::visible;

/// What a merge restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Rows deleted since the time: re-inserted, only where their key is still absent.
    Deleted,
    /// Rows changed since the time: written back, only where the row is still as compare saw it.
    Changed,
}

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

/// Storage engines whose writes are transactional: a chunk commits whole or not at all.
const TRANSACTIONAL: [&str; 3] = ["innodb", "tokudb", "rocksdb"];

/// 0 written, 1 written but some table could not be merged, 2 error (nothing written), 3 the
/// apply is not finished.
pub fn run(args: &MergeArgs) -> i32 {
    if args.out.exists() && !args.force {
        errln!(
            "error: {} exists; pass --force to replace it",
            visible(&args.out.display().to_string())
        );
        return exit::USAGE;
    }
    if let Some(f) = &args.filter
        && (f.contains(';') || f.trim().is_empty())
    {
        errln!("error: --where takes one SQL condition (no `;`)");
        return exit::USAGE;
    }
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        match merge(args).await {
            Ok(code) | Err(code) => code,
        }
    })
}

struct Chosen {
    table: MergeTable,
    pair: Pair,
    shape: Shape,
}

async fn merge(args: &MergeArgs) -> Result<i32, i32> {
    let t = targets::resolve(&args.plan, &args.target, false).await?;
    let creds = targets::credentials(&args.target)?;
    for (id, why) in t.skipped.iter().chain(&t.unaddressed) {
        errln!("note: {}: not merged: {}", visible(id), visible(why));
    }
    if !t.unaddressed.is_empty() {
        return Err(exit::USAGE);
    }
    let mut left_out = 0;
    let mut chosen: Vec<(usize, Chosen)> = Vec::new();
    let mut conns = Vec::new();
    for (n, target) in t.targets.iter().enumerate() {
        let mut conn = compare::connect(&target.at, &creds).await.map_err(fail)?;
        for pair in pairs(&mut conn, target).await.map_err(fail)? {
            let pair = match pair {
                Ok(p) => p,
                Err((p, why)) => {
                    if wanted(args, &p) {
                        left_out += 1;
                        errln!(
                            "note: {} {}: not merged: {}",
                            visible(&target.instance),
                            visible(&p.source_name()),
                            visible(&why)
                        );
                    }
                    continue;
                }
            };
            if !wanted(args, &pair) {
                continue;
            }
            match mergeable(&mut conn, &pair, args.filter.as_deref())
                .await
                .map_err(fail)?
            {
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
                    errln!(
                        "note: {} {}: not merged: {}",
                        visible(&target.instance),
                        visible(&pair.source_name()),
                        visible(&why)
                    );
                }
            }
        }
        let helper = compare::connect(&target.at, &creds).await.ok();
        conns.push((conn, helper));
    }
    for name in &args.tables {
        if !chosen.iter().any(|(_, c)| &c.pair.source_name() == name) {
            errln!(
                "error: --table {}: no restored table of the plan has this source",
                visible(name)
            );
            return Err(exit::USAGE);
        }
    }
    let header = Header {
        format: FORMAT.to_owned(),
        planrun: env!("CARGO_PKG_VERSION").to_owned(),
        made_at: super::term::now().map_err(|e| {
            errln!("error: {e}");
            exit::USAGE
        })?,
        plan: t.resolved.name.clone(),
        plan_path: args.plan.display().to_string(),
        plan_hash: t.plan_hash.clone(),
        restore: args
            .restore
            .iter()
            .map(|k| match k {
                Kind::Deleted => "deleted".to_owned(),
                Kind::Changed => "changed".to_owned(),
            })
            .collect(),
        table_filter: (!args.tables.is_empty()).then(|| args.tables.join(",")),
        filter: args.filter.clone(),
        chunk_rows: usize::try_from(args.rows_per_transaction).unwrap_or(500),
        tables: chosen.iter().map(|(_, c)| c.table.clone()).collect(),
    };
    let mut writer = Writer::create(&args.out, &header).map_err(|e| {
        errln!(
            "error: cannot write {}: {e}",
            visible(&args.out.display().to_string())
        );
        exit::USAGE
    })?;
    let options = compare::Options {
        chunk_rows: args.target.chunk_rows,
        filter: args.filter.clone(),
        inserted: false,
    };
    for (i, (n, c)) in chosen.iter().enumerate() {
        let mut sink = Rows {
            writer: &mut writer,
            table: i,
            deleted: args.restore.contains(&Kind::Deleted),
            changed: args.restore.contains(&Kind::Changed),
        };
        let mut progress = progress_line(format!(
            "{} {}",
            t.targets[*n].instance,
            c.pair.source_name()
        ));
        let (conn, helper) = &mut conns[*n];
        if let Err(e) = compare::walk(
            conn,
            helper.as_mut(),
            &c.pair,
            &c.shape,
            &options,
            &mut sink,
            &mut progress,
        )
        .await
        {
            writer.abandon();
            errln!(
                "error: {} {}: {}; nothing was written",
                visible(&t.targets[*n].instance),
                visible(&c.pair.source_name()),
                visible(&e.to_string())
            );
            return Err(exit::USAGE);
        }
    }
    let summary = writer.summary.clone();
    let digest = writer.finish().map_err(|e| {
        errln!(
            "error: cannot write {}: {e}",
            visible(&args.out.display().to_string())
        );
        exit::USAGE
    })?;
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
    outln!(
        "Saved merge {} (sha256 {}): {inserts} rows to re-insert, {reverts} to write back, in {} tables.\nReview it with `planrun show {}`, apply it with `planrun apply {}`.",
        visible(&args.out.display().to_string()),
        &digest[..12],
        header.tables.len(),
        visible(&args.out.display().to_string()),
        visible(&args.out.display().to_string()),
    );
    Ok(if left_out > 0 { exit::FAILED } else { exit::OK })
}

fn fail(e: compare::Error) -> i32 {
    errln!("error: {}; nothing was written", visible(&e.to_string()));
    exit::USAGE
}

fn wanted(args: &MergeArgs, pair: &Pair) -> bool {
    args.tables.is_empty() || args.tables.contains(&pair.source_name())
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

fn merge_table(target: &super::compare::Target, pair: &Pair, shape: &Shape) -> MergeTable {
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
