//! A saved merge (`planrun merge PLAN ... --out FILE`): every row a merge would write, with
//! its values and its guard, as a reviewer approves it. Like a saved plan it is checked whole
//! before anything is written: a truncated or edited file is refused.
//!
//! On disk, JSON lines: a header (what was compared, where, the tables and their columns),
//! one line per row to write (`insert`: a deleted row, written only if its key is still
//! absent; `revert`: a changed row, written back only if the row still equals what compare
//! saw, `seen`), an `end` line with the counts, then `sha256 <hex>` over every byte before
//! it. The digest is also the merge's name on the servers (its progress rows). Rows are
//! streamed in and out: a file of millions of rows is never held in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cell::Cell;
use super::{Endpoint, Error, Pair};

/// The first field of every saved merge, also how `show` and `apply` recognise one.
pub const FORMAT: &str = "planrun-saved-merge-1";

/// What a merge restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Re-insert a deleted row, only if its key is still absent.
    Insert,
    /// Write a changed row back, only if it still equals what compare saw.
    Revert,
}

/// One table a merge writes into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeTable {
    pub instance: String,
    /// Where it was compared (and where apply writes): `HOST:PORT`.
    pub host: String,
    pub port: u16,
    pub db: String,
    pub source: String,
    pub restored_db: String,
    pub restored: String,
    /// Every column, in the order of each row's values.
    pub columns: Vec<String>,
    /// The key's positions in `columns`.
    pub key: Vec<usize>,
    /// Columns the server computes (never written).
    pub generated: Vec<usize>,
    /// DECIMAL columns' types, to compare keys exactly (`(position, "DECIMAL(10,2)")`).
    pub decimals: Vec<(usize, String)>,
}

impl MergeTable {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: self.host.clone(),
            port: self.port,
        }
    }

    pub fn pair(&self) -> Pair {
        Pair {
            db: self.db.clone(),
            source: self.source.clone(),
            restored_db: self.restored_db.clone(),
            restored: self.restored.clone(),
        }
    }

    /// The key's values in a row.
    pub fn key_of<'a>(&self, row: &'a [Cell]) -> Vec<&'a Cell> {
        self.key.iter().filter_map(|&i| row.get(i)).collect()
    }
}

/// The header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`] (first, so the file's first bytes say what it is).
    pub format: String,
    pub planrun: String,
    pub made_at: DateTime<Utc>,
    /// The plan (name, path as given, hash of what was applied).
    pub plan: String,
    pub plan_path: String,
    pub plan_hash: String,
    /// What was asked: `deleted`, `changed`, the tables and the condition.
    pub restore: Vec<String>,
    pub table_filter: Option<String>,
    pub filter: Option<String>,
    /// Rows per transaction when applied.
    pub chunk_rows: usize,
    pub tables: Vec<MergeTable>,
}

/// One row to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The table's position in the header.
    pub t: usize,
    pub op: Op,
    /// The row as of the time (the restored copy's), every column.
    pub row: Vec<Cell>,
    /// `revert`: the row as compare saw it in the source (the guard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Vec<Cell>>,
}

/// Rows per table and kind, the last line before the digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// `(inserts, reverts)` per table, in header order.
    pub tables: Vec<(u64, u64)>,
}

impl Summary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(i, r)| i + r).sum()
    }
}

#[derive(Serialize, Deserialize)]
struct End {
    end: Summary,
}

/// Writes a saved merge beside `out` and moves it into place only when whole.
pub struct Writer {
    file: BufWriter<File>,
    hasher: Sha256,
    tmp: PathBuf,
    out: PathBuf,
    pub summary: Summary,
}

impl Writer {
    pub fn create(out: &Path, header: &Header) -> Result<Self, Error> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = out.with_file_name(format!(".{name}.tmp-merge"));
        let file = BufWriter::new(File::create(&tmp)?);
        let mut w = Self {
            file,
            hasher: Sha256::new(),
            tmp,
            out: out.to_path_buf(),
            summary: Summary {
                tables: vec![(0, 0); header.tables.len()],
            },
        };
        w.line(header)?;
        Ok(w)
    }

    fn line<T: Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        self.hasher.update(&bytes);
        self.file.write_all(&bytes)?;
        Ok(())
    }

    pub fn action(&mut self, action: &Action) -> Result<(), Error> {
        if let Some(t) = self.summary.tables.get_mut(action.t) {
            match action.op {
                Op::Insert => t.0 += 1,
                Op::Revert => t.1 += 1,
            }
        }
        self.line(action)
    }

    /// Writes the counts and the digest, syncs, and renames into place; returns the digest.
    pub fn finish(mut self) -> Result<String, Error> {
        let end = End {
            end: self.summary.clone(),
        };
        self.line(&end)?;
        let digest = hex::encode(self.hasher.clone().finalize());
        writeln!(self.file, "sha256 {digest}")?;
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.out)?;
        Ok(digest)
    }

    /// Removes the unfinished file.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Whether the bytes begin as a saved merge does.
pub fn is_saved_merge(head: &[u8]) -> bool {
    head.starts_with(format!("{{\"format\":\"{FORMAT}\"").as_bytes())
}

/// Why a file is not a saved merge that can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("not a saved merge (it does not start with `{{\"format\":\"{FORMAT}\"`)")]
    NotSaved,
    #[error("the saved merge is truncated (no `sha256` trailer line)")]
    Truncated,
    #[error("the saved merge was changed after it was made (its sha256 does not match)")]
    Tampered,
    #[error("the saved merge cannot be read: {0}")]
    Unreadable(String),
}

/// Checks the whole file against its trailer (one streaming pass); returns its digest.
pub fn verify(path: &Path) -> Result<String, Invalid> {
    let unreadable = |e: std::io::Error| Invalid::Unreadable(e.to_string());
    let mut file = BufReader::new(File::open(path).map_err(unreadable)?);
    let mut head = [0u8; 64];
    let n = file.get_mut().read(&mut head).map_err(unreadable)?;
    if !is_saved_merge(&head[..n]) {
        return Err(Invalid::NotSaved);
    }
    let mut file = BufReader::new(File::open(path).map_err(unreadable)?);
    let mut hasher = Sha256::new();
    let mut line = Vec::new();
    let mut last: Option<Vec<u8>> = None;
    loop {
        line.clear();
        if file.read_until(b'\n', &mut line).map_err(unreadable)? == 0 {
            break;
        }
        if let Some(previous) = last.replace(line.clone()) {
            hasher.update(&previous);
        }
    }
    let trailer = last.ok_or(Invalid::Truncated)?;
    let Some(hex) = trailer
        .strip_suffix(b"\n")
        .and_then(|t| t.strip_prefix(b"sha256 "))
    else {
        return Err(Invalid::Truncated);
    };
    let digest = hex::encode(hasher.finalize());
    if hex != digest.as_bytes() {
        return Err(Invalid::Tampered);
    }
    Ok(digest)
}

/// Reads a verified saved merge: the header, then each action in order, then the summary.
pub struct Reader {
    lines: std::io::Lines<BufReader<File>>,
    pub header: Header,
    pub summary: Option<Summary>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self, Invalid> {
        let unreadable = |e: String| Invalid::Unreadable(e);
        let file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
        let mut lines = BufReader::new(file).lines();
        let first = lines
            .next()
            .ok_or(Invalid::Truncated)?
            .map_err(|e| unreadable(e.to_string()))?;
        let header: Header = serde_json::from_str(&first).map_err(|e| unreadable(e.to_string()))?;
        Ok(Self {
            lines,
            header,
            summary: None,
        })
    }

    /// The next row to write; `None` after the last (then [`Reader::summary`] is set).
    pub fn next_action(&mut self) -> Result<Option<Action>, Invalid> {
        if self.summary.is_some() {
            return Ok(None);
        }
        let line = self
            .lines
            .next()
            .ok_or(Invalid::Truncated)?
            .map_err(|e| Invalid::Unreadable(e.to_string()))?;
        if line.starts_with("{\"end\":") {
            let end: End =
                serde_json::from_str(&line).map_err(|e| Invalid::Unreadable(e.to_string()))?;
            self.summary = Some(end.end);
            return Ok(None);
        }
        let action: Action =
            serde_json::from_str(&line).map_err(|e| Invalid::Unreadable(e.to_string()))?;
        if action.t >= self.header.tables.len()
            || action.row.len() != self.header.tables[action.t].columns.len()
        {
            return Err(Invalid::Unreadable(format!(
                "a row does not fit its table: {line}"
            )));
        }
        Ok(Some(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::Value;

    fn header() -> Header {
        Header {
            format: FORMAT.into(),
            planrun: "0".into(),
            made_at: Utc::now(),
            plan: "p".into(),
            plan_path: "p.yaml".into(),
            plan_hash: "h".into(),
            restore: vec!["deleted".into()],
            table_filter: None,
            filter: None,
            chunk_rows: 2,
            tables: vec![MergeTable {
                instance: "a".into(),
                host: "127.0.0.1".into(),
                port: 3306,
                db: "shop".into(),
                source: "orders".into(),
                restored_db: "shop".into(),
                restored: "orders_bak".into(),
                columns: vec!["id".into(), "note".into()],
                key: vec![0],
                generated: vec![],
                decimals: vec![],
            }],
        }
    }

    fn write(dir: &Path) -> PathBuf {
        let out = dir.join("m.merge");
        let mut w = Writer::create(&out, &header()).unwrap();
        for id in 1..=3 {
            w.action(&Action {
                t: 0,
                op: Op::Insert,
                row: vec![Cell(Value::Int(id)), Cell(Value::NULL)],
                seen: None,
            })
            .unwrap();
        }
        w.finish().unwrap();
        out
    }

    #[test]
    fn a_saved_merge_reads_back_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        assert!(verify(&path).is_ok());
        let mut r = Reader::open(&path).unwrap();
        let mut ids = Vec::new();
        while let Some(a) = r.next_action().unwrap() {
            ids.push(a.row[0].text());
        }
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(r.summary.map(|s| s.rows()), Some(3));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }

    #[test]
    fn an_edited_or_truncated_merge_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("{\"i\":2}", "{\"i\":7}", 1)).unwrap();
        assert_eq!(verify(&path), Err(Invalid::Tampered));
        let cut = &text[..text.len() - 10];
        std::fs::write(&path, cut).unwrap();
        assert!(matches!(
            verify(&path),
            Err(Invalid::Truncated | Invalid::Tampered)
        ));
        std::fs::write(&path, "version: 1\n").unwrap();
        assert_eq!(verify(&path), Err(Invalid::NotSaved));
    }
}
