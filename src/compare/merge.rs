//! Making and applying a saved merge. [`Rows`] turns the differences of a comparison into
//! the rows a merge writes (deleted rows re-inserted, changed rows written back) as it walks.
//! [`apply`] writes exactly what a saved merge lists: a chunk of rows at a time, each chunk
//! one transaction that first takes its progress row ([`super::progress`]), then locks each
//! row by its key, checks the row's guard on what it locked, writes it or records a conflict.
//! Killed at any point, an apply run again writes each row at most once.

use std::collections::HashMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::cell::Cell;
use super::journal::{ChunkOutcome, Conflict, Entry, Journal};
use super::outcome::{RowText, row_text};
use super::saved::{Action, MergeTable, Op, Reader, Writer};
use super::walk::{Difference, Sink};
use super::{Endpoint, Error, progress, sql};
use crate::mysql::{Credentials, quote};

/// Collects a comparison's differences as rows of a saved merge.
pub struct Rows<'a> {
    pub writer: &'a mut Writer,
    pub table: usize,
    pub deleted: bool,
    pub changed: bool,
}

impl Sink for Rows<'_> {
    fn take(&mut self, d: Difference<'_>) -> Result<(), Error> {
        let action = match d {
            Difference::Deleted(row) if self.deleted => Action {
                t: self.table,
                op: Op::Insert,
                row: row.to_vec(),
                seen: None,
            },
            Difference::Changed { restored, now, .. } if self.changed => Action {
                t: self.table,
                op: Op::Revert,
                row: restored.to_vec(),
                seen: Some(now.to_vec()),
            },
            _ => return Ok(()),
        };
        self.writer.action(&action)
    }
}

/// The statements of one table's writes.
pub struct Statements {
    pub lock: String,
    pub insert: String,
    pub update: String,
}

impl MergeTable {
    fn written(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.columns.len()).filter(|i| !self.generated.contains(i))
    }

    fn placeholder(&self, column: usize) -> String {
        match self.decimals.iter().find(|(i, _)| *i == column) {
            Some((_, ty)) => format!("CAST(? AS {ty})"),
            None => "?".to_owned(),
        }
    }

    fn key_match(&self) -> String {
        self.key
            .iter()
            .map(|&i| format!("{} = {}", quote(&self.columns[i]), self.placeholder(i)))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Locks the row by its key (`FOR UPDATE`: a missing key's gap too), then inserts or
    /// updates it; the written columns exclude the generated ones.
    pub fn statements(&self) -> Statements {
        let target = sql::table(&self.db, &self.source);
        let all: Vec<String> = self.columns.iter().map(|c| quote(c)).collect();
        let written: Vec<usize> = self.written().collect();
        let names: Vec<String> = written.iter().map(|&i| all[i].clone()).collect();
        Statements {
            lock: format!(
                "SELECT {} FROM {target} WHERE {} FOR UPDATE",
                all.join(", "),
                self.key_match()
            ),
            insert: format!(
                "INSERT INTO {target} ({}) VALUES ({})",
                names.join(", "),
                vec!["?"; names.len()].join(", ")
            ),
            update: format!(
                "UPDATE {target} SET {} WHERE {}",
                names
                    .iter()
                    .map(|n| format!("{n} = ?"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.key_match()
            ),
        }
    }

    /// The parameters of each statement for `action`: the lock's and the key of the write
    /// are the key the source had (`seen`) for a revert, the row's own for an insert.
    pub fn params(&self, action: &Action) -> (Vec<Value>, Vec<Value>) {
        let keyed = action.seen.as_deref().unwrap_or(&action.row);
        let key: Vec<Value> = self
            .key_of(keyed)
            .into_iter()
            .map(|c| c.0.clone())
            .collect();
        let mut write: Vec<Value> = self.written().map(|i| action.row[i].0.clone()).collect();
        if action.op == Op::Revert {
            write.extend(key.iter().cloned());
        }
        (key, write)
    }

    pub fn text(&self, row: &[Cell], only: Option<&[usize]>) -> RowText {
        row_text(self.columns.iter().map(String::as_str), row, only)
    }
}

/// What an apply did, chunk by chunk (those of earlier applies included).
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub chunks: Vec<ChunkOutcome>,
    /// The journal said the merge was done before this apply: nothing was written.
    pub already_done: bool,
}

impl Applied {
    pub fn written(&self) -> u64 {
        self.chunks.iter().map(|c| c.written).sum()
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Conflict> {
        self.chunks.iter().flat_map(|c| c.conflicts.iter())
    }
}

/// What apply reports as it goes.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub chunk: u64,
    pub written: u64,
    pub conflicts: usize,
    pub recovered: bool,
}

/// One open connection per server, with its committed chunks of this merge.
struct Server {
    conn: Conn,
    committed: HashMap<u64, (u64, Vec<Conflict>)>,
}

/// Applies the saved merge read by `reader` (verified, named `merge` by its digest),
/// journaling each chunk in `journal` (whose `entries` were read when it was opened).
pub async fn apply(
    reader: &mut Reader,
    merge: &str,
    creds: &Credentials,
    journal: &mut Journal,
    entries: Vec<Entry>,
    step: &mut (dyn FnMut(Step) + Send),
) -> Result<Applied, Error> {
    let mut applied = Applied::default();
    let mut journaled: HashMap<u64, ChunkOutcome> = HashMap::new();
    for e in entries {
        match e {
            Entry::Chunk(c) => {
                journaled.insert(c.chunk, c);
            }
            Entry::Done { .. } => applied.already_done = true,
            Entry::Start { .. } => {}
        }
    }
    if applied.already_done {
        let mut chunks: Vec<ChunkOutcome> = journaled.into_values().collect();
        chunks.sort_by_key(|c| c.chunk);
        applied.chunks = chunks;
        return Ok(applied);
    }
    journal.append(&Entry::Start {
        merge: merge.to_owned(),
        at: chrono::Utc::now(),
    })?;
    let tables = reader.header.tables.clone();
    let chunk_rows = reader.header.chunk_rows.max(1);
    let mut servers: HashMap<Endpoint, Server> = HashMap::new();
    let mut chunk_no = 0u64;
    let mut pending: Option<Action> = reader.next_action().map_err(refused)?;
    while let Some(first) = pending.take() {
        chunk_no += 1;
        let t = first.t;
        let mut rows = vec![first];
        while rows.len() < chunk_rows {
            match reader.next_action().map_err(refused)? {
                Some(a) if a.t == t => rows.push(a),
                other => {
                    pending = other;
                    break;
                }
            }
        }
        if pending.is_none() && rows.len() == chunk_rows {
            pending = reader.next_action().map_err(refused)?;
        }
        if let Some(done) = journaled.remove(&chunk_no) {
            applied.chunks.push(done);
            continue;
        }
        let table = &tables[t];
        let at = table.endpoint();
        if !servers.contains_key(&at) {
            let mut conn = super::connect(&at, creds).await?;
            progress::ensure(&mut conn).await?;
            let committed = progress::committed(&mut conn, merge).await?;
            servers.insert(at.clone(), Server { conn, committed });
        }
        let Some(server) = servers.get_mut(&at) else {
            continue;
        };
        let outcome = match server.committed.remove(&chunk_no) {
            Some((written, conflicts)) => recovered(chunk_no, t, written, conflicts),
            None => match write_chunk(&mut server.conn, table, t, merge, chunk_no, &rows).await? {
                Some(outcome) => outcome,
                // Taken meanwhile by another apply of the same file, which committed it.
                None => {
                    let now = progress::committed(&mut server.conn, merge).await?;
                    let (written, conflicts) = now.get(&chunk_no).cloned().ok_or_else(|| {
                        Error::Refused(format!("chunk {chunk_no} is taken but not committed"))
                    })?;
                    recovered(chunk_no, t, written, conflicts)
                }
            },
        };
        journal.append(&Entry::Chunk(outcome.clone()))?;
        step(Step {
            chunk: chunk_no,
            written: outcome.written,
            conflicts: outcome.conflicts.len(),
            recovered: outcome.recovered,
        });
        applied.chunks.push(outcome);
    }
    journal.append(&Entry::Done {
        at: chrono::Utc::now(),
    })?;
    for (_, s) in servers {
        let _ = s.conn.disconnect().await;
    }
    Ok(applied)
}

fn refused(e: super::saved::Invalid) -> Error {
    Error::Refused(e.to_string())
}

fn recovered(chunk: u64, table: usize, written: u64, conflicts: Vec<Conflict>) -> ChunkOutcome {
    ChunkOutcome {
        chunk,
        table,
        written,
        conflicts,
        recovered: true,
    }
}

/// One chunk in one transaction; `Ok(None)` when its progress row was already taken.
async fn write_chunk(
    conn: &mut Conn,
    table: &MergeTable,
    t: usize,
    merge: &str,
    chunk: u64,
    rows: &[Action],
) -> Result<Option<ChunkOutcome>, Error> {
    conn.query_drop("START TRANSACTION").await?;
    let result = write_rows(conn, table, t, merge, chunk, rows).await;
    match result {
        Ok(Some(outcome)) => {
            conn.query_drop("COMMIT").await?;
            Ok(Some(outcome))
        }
        other => {
            let _ = conn.query_drop("ROLLBACK").await;
            other
        }
    }
}

async fn write_rows(
    conn: &mut Conn,
    table: &MergeTable,
    t: usize,
    merge: &str,
    chunk: u64,
    rows: &[Action],
) -> Result<Option<ChunkOutcome>, Error> {
    if !progress::claim(conn, merge, chunk).await? {
        return Ok(None);
    }
    let st = table.statements();
    let mut written = 0;
    let mut conflicts = Vec::new();
    for action in rows {
        let (key, write) = table.params(action);
        let now: Option<Vec<Cell>> = conn
            .exec_first::<Row, _, _>(st.lock.as_str(), key)
            .await?
            .map(|r| r.unwrap().into_iter().map(Cell).collect());
        let conflict = |why: &str, now: Option<&Vec<Cell>>| Conflict {
            table: t,
            op: action.op,
            key: table.text(&action.row, Some(&table.key)),
            why: why.to_owned(),
            saved: table.text(&action.row, None),
            seen: action.seen.as_deref().map(|s| table.text(s, None)),
            now: now.map(|n| table.text(n, None)),
        };
        let ok = match (action.op, &now) {
            (Op::Insert, None) => {
                conn.exec_drop(st.insert.as_str(), write).await?;
                true
            }
            (Op::Insert, Some(_)) => {
                conflicts.push(conflict("its key is in the table again", now.as_ref()));
                false
            }
            (Op::Revert, Some(n)) if Some(n) == action.seen.as_ref() => {
                conn.exec_drop(st.update.as_str(), write).await?;
                true
            }
            (Op::Revert, Some(_)) => {
                conflicts.push(conflict(
                    "the row changed since compare saw it",
                    now.as_ref(),
                ));
                false
            }
            (Op::Revert, None) => {
                conflicts.push(conflict("the row was deleted since compare saw it", None));
                false
            }
        };
        if ok {
            let affected = conn.affected_rows();
            if affected > 1 {
                return Err(Error::Refused(format!(
                    "chunk {chunk}: one row's write changed {affected} rows; rolled back"
                )));
            }
            written += 1;
        }
    }
    progress::settle(conn, merge, chunk, written, &conflicts).await?;
    Ok(Some(ChunkOutcome {
        chunk,
        table: t,
        written,
        conflicts,
        recovered: false,
    }))
}
