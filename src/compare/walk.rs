//! The comparison of one restored table with its source, chunk by chunk: the copy's key is
//! walked in ranges of `chunk_rows` rows; each range is digested by the server on each side
//! in one statement (one statement reads one consistent snapshot); only a range whose
//! digests differ is read row by row, inside a read-only snapshot of its own, and then only
//! its differing rows leave the server (a join on the key, filtered to what is not the
//! same). Memory does not grow with the table: a range's rows are streamed to the [`Sink`]
//! one at a time.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use serde::Serialize;

use super::cell::Cell;
use super::schema::Shape;
use super::sql::{self, Range};
use super::{Error, Pair};

/// How to walk.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rows of the copy per range (each range is one snapshot and one digest per side).
    pub chunk_rows: u64,
    /// A condition on the copy's columns: only its rows are listed as deleted or changed.
    pub filter: Option<String>,
    /// List rows inserted since (a merge that restores nothing of them does not ask).
    pub inserted: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            chunk_rows: DEFAULT_CHUNK_ROWS,
            filter: None,
            inserted: true,
        }
    }
}

/// Ranges of 1,000 rows: pt-table-checksum's default, and short snapshots.
pub const DEFAULT_CHUNK_ROWS: u64 = 1_000;

/// One row that is not the same on both sides.
#[derive(Debug)]
pub enum Difference<'a> {
    /// In the copy, not in the source: deleted since the time.
    Deleted(&'a [Cell]),
    /// In the source, not in the copy: inserted since the time.
    Inserted(&'a [Cell]),
    /// The same key, other values: the positions of the columns that differ.
    Changed {
        restored: &'a [Cell],
        now: &'a [Cell],
        columns: &'a [usize],
    },
}

/// Where differences go, as they are found, in key order within a range.
pub trait Sink {
    fn take(&mut self, difference: Difference<'_>) -> Result<(), Error>;
}

/// What a walk counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub rows_restored: u64,
    pub rows_now: u64,
    pub deleted: u64,
    pub inserted: u64,
    pub changed: u64,
    /// Ranges digested, and those that differed (read row by row).
    pub chunks: u64,
    pub differing_chunks: u64,
    /// Rows the server read: each range's rows once per digest, again for a differing range.
    pub rows_read: u64,
    /// Rows sent to planrun: range ends and differing rows.
    pub rows_fetched: u64,
}

impl Counts {
    pub fn differences(&self) -> u64 {
        self.deleted + self.inserted + self.changed
    }
}

/// Compares `pair` (as `shape` describes it) and hands every difference to `sink`;
/// `progress` hears the counts after each range. With `helper`, a second connection to the
/// same server, the copy is read on it while `conn` reads the source: the server works on
/// both at once.
pub async fn walk(
    conn: &mut Conn,
    mut helper: Option<&mut Conn>,
    pair: &Pair,
    shape: &Shape,
    options: &Options,
    sink: &mut dyn Sink,
    progress: &mut (dyn FnMut(&Counts) + Send),
) -> Result<Counts, Error> {
    let hash = hash_of(conn).await;
    let rows = options.chunk_rows.max(1);
    let mut counts = Counts::default();
    let mut lower: Option<Vec<Value>> = None;
    // A one-column key: the copy's range, its end and its digest come from one pass over
    // its rows, read one range ahead while the source's range is digested.
    let single = shape.key.len() == 1;
    let mut ahead: Option<CopyChunk> = None;
    loop {
        let copy_conn: &mut Conn = match helper.as_deref_mut() {
            Some(h) => h,
            None => &mut *conn,
        };
        let known = if single {
            match ahead.take() {
                Some(c) => Some(c),
                None => {
                    Some(copy_chunk(copy_conn, pair, shape, lower.as_deref(), rows, hash).await?)
                }
            }
        } else {
            None
        };
        // Otherwise the copy does not change: its range ends are found outside the snapshots.
        let upper = match &known {
            Some(c) => c.upper.clone(),
            None => {
                let end = sql::boundary(pair, shape, lower.as_deref(), rows);
                copy_conn
                    .exec_first::<Row, _, _>(end.sql, end.params)
                    .await?
                    .map(Row::unwrap)
            }
        };
        counts.rows_fetched += u64::from(upper.is_some());
        let range = Range {
            lower: lower.take(),
            upper,
        };
        // One statement per side and range, each its own consistent read: no transaction
        // around it (two round trips a range saved; the listing of a differing range opens
        // its own snapshot).
        let source = sql::digest(pair, shape, &range, false, hash);
        let digests = match (&known, helper.as_deref_mut()) {
            (Some(c), Some(h)) => {
                // The next range of the copy, while the server digests this one's source.
                let next = async {
                    match &range.upper {
                        Some(u) => copy_chunk(h, pair, shape, Some(u), rows, hash)
                            .await
                            .map(Some),
                        None => Ok(None),
                    }
                };
                let (s, n) = futures::join!(side(conn, source), next);
                ahead = n?;
                s.map(|s| ((c.count, c.digest), s))
            }
            (Some(c), None) => side(conn, source).await.map(|s| ((c.count, c.digest), s)),
            (None, Some(h)) => {
                let copy = sql::digest(pair, shape, &range, true, hash);
                let (c, s) = futures::join!(side(h, copy), side(conn, source));
                c.and_then(|c| s.map(|s| (c, s)))
            }
            (None, None) => {
                let copy = sql::digest(pair, shape, &range, true, hash);
                match side(conn, copy).await {
                    Ok(c) => side(conn, source).await.map(|s| (c, s)),
                    Err(e) => Err(e),
                }
            }
        };
        let (copy, source) = digests?;
        chunk(
            conn,
            pair,
            shape,
            options,
            &range,
            (copy, source),
            sink,
            &mut counts,
        )
        .await?;
        progress(&counts);
        match range.upper {
            Some(upper) => lower = Some(upper),
            None => return Ok(counts),
        }
    }
}

/// The copy's next range read in one pass: rows, digest, and its end (`None`: the last).
struct CopyChunk {
    count: u64,
    digest: u64,
    upper: Option<Vec<Value>>,
}

async fn copy_chunk(
    conn: &mut Conn,
    pair: &Pair,
    shape: &Shape,
    lower: Option<&[Value]>,
    rows: u64,
    hash: sql::Hash,
) -> Result<CopyChunk, Error> {
    let st = sql::copy_chunk(pair, shape, lower, rows, hash);
    let row: Option<Row> = conn.exec_first(st.sql, st.params).await?;
    let mut values = row.map(Row::unwrap).unwrap_or_default().into_iter();
    let number = |v: Option<Value>| match v {
        Some(Value::Int(i)) => u64::try_from(i).unwrap_or(0),
        Some(Value::UInt(u)) => u,
        Some(Value::Bytes(b)) => String::from_utf8_lossy(&b).parse().unwrap_or(0),
        _ => 0,
    };
    let count = number(values.next());
    let digest = number(values.next());
    let last = values.next().filter(|v| *v != Value::NULL);
    Ok(CopyChunk {
        count,
        digest,
        // Fewer rows than asked: the copy ends here, and the source's range is open.
        upper: last.filter(|_| count >= rows).map(|v| vec![v]),
    })
}

/// CRC32 and CRC32C where the server has both, else MD5.
async fn hash_of(conn: &mut Conn) -> sql::Hash {
    match conn.query_drop("DO CRC32C('')").await {
        Ok(()) => sql::Hash::Crc,
        Err(_) => sql::Hash::Md5,
    }
}

/// `(count, digest)` of one side of a range.
async fn side(conn: &mut Conn, st: sql::Statement) -> Result<(u64, u64), Error> {
    let row: Option<(u64, u64)> = conn.exec_first(st.sql, st.params).await?;
    Ok(row.unwrap_or((0, 0)))
}

#[allow(clippy::too_many_arguments)]
async fn chunk(
    conn: &mut Conn,
    pair: &Pair,
    shape: &Shape,
    options: &Options,
    range: &Range,
    (copy, source): ((u64, u64), (u64, u64)),
    sink: &mut dyn Sink,
    counts: &mut Counts,
) -> Result<(), Error> {
    counts.chunks += 1;
    counts.rows_restored += copy.0;
    counts.rows_now += source.0;
    counts.rows_read += copy.0 + source.0;
    counts.rows_fetched += 2;
    if copy == source {
        return Ok(());
    }
    counts.differing_chunks += 1;
    counts.rows_read += copy.0 + source.0;
    // Its deleted, changed and inserted rows are listed from one snapshot.
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        .await?;
    let listed = list(conn, pair, shape, options, range, sink, counts).await;
    // A read-only transaction: COMMIT and ROLLBACK both just end the snapshot.
    let ended = conn.query_drop("ROLLBACK").await;
    listed?;
    ended?;
    Ok(())
}

/// The rows of a differing range that are not the same on both sides, to `sink`.
async fn list(
    conn: &mut Conn,
    pair: &Pair,
    shape: &Shape,
    options: &Options,
    range: &Range,
    sink: &mut dyn Sink,
    counts: &mut Counts,
) -> Result<(), Error> {
    let n = shape.columns.len();
    let st = sql::deleted_or_changed(pair, shape, range, options.filter.as_deref());
    let mut rows = conn.exec_iter(st.sql, st.params).await?;
    let mut differ = Vec::with_capacity(n);
    while let Some(row) = rows.next().await? {
        counts.rows_fetched += 1;
        let cells: Vec<Cell> = row.unwrap().into_iter().map(Cell).collect();
        let (restored, now) = cells.split_at(n.min(cells.len()));
        if now.get(shape.key[0]).is_none_or(Cell::is_null) {
            counts.deleted += 1;
            sink.take(Difference::Deleted(restored))?;
            continue;
        }
        differ.clear();
        differ.extend((0..n).filter(|&i| restored.get(i) != now.get(i)));
        if differ.is_empty() {
            // Equal bytes the server called different (cannot happen; never a change).
            continue;
        }
        counts.changed += 1;
        sink.take(Difference::Changed {
            restored,
            now,
            columns: &differ,
        })?;
    }
    drop(rows);
    if options.inserted {
        let st = sql::inserted(pair, shape, range);
        let mut rows = conn.exec_iter(st.sql, st.params).await?;
        while let Some(row) = rows.next().await? {
            counts.rows_fetched += 1;
            counts.inserted += 1;
            let cells: Vec<Cell> = row.unwrap().into_iter().map(Cell).collect();
            sink.take(Difference::Inserted(&cells))?;
        }
    }
    Ok(())
}
