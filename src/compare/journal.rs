//! The journal of a saved merge's apply, beside the file (`FILE.journal`, and `FILE.lock`
//! while an apply runs): what each chunk wrote and which rows were conflicts, fsynced after
//! each chunk's COMMIT. The server's progress rows ([`super::progress`]) are the proof of
//! what committed; this file is what the operator reads, and what makes a second apply say
//! at once that the merge is done.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outcome::RowText;
use super::saved::Op;

/// A row whose guard no longer held: not written, with both versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The table's position in the saved merge.
    pub table: usize,
    pub op: Op,
    pub key: RowText,
    /// Why the guard failed, in words.
    pub why: String,
    /// What the merge would have written.
    pub saved: RowText,
    /// `revert`: what compare saw in the source (what the row had to still be).
    pub seen: Option<RowText>,
    /// The row in the source now; `None` when there is none.
    pub now: Option<RowText>,
}

/// What one chunk did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkOutcome {
    pub chunk: u64,
    pub table: usize,
    pub written: u64,
    pub conflicts: Vec<Conflict>,
    /// Committed by an earlier apply that died before journaling it: read back from the
    /// server's progress row, nothing written again.
    #[serde(default)]
    pub recovered: bool,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Entry {
    Start { merge: String, at: DateTime<Utc> },
    Chunk(ChunkOutcome),
    Done { at: DateTime<Utc> },
}

/// `FILE.journal` and `FILE.lock` beside the saved merge.
pub fn paths(saved: &Path) -> (PathBuf, PathBuf) {
    let name = saved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (
        saved.with_file_name(format!("{name}.journal")),
        saved.with_file_name(format!("{name}.lock")),
    )
}

pub struct Journal {
    file: File,
}

impl Journal {
    /// Opens (creating) the journal and returns its entries; a torn last line (a crash in
    /// the middle of a write) is cut off.
    pub fn open(path: &Path) -> std::io::Result<(Self, Vec<Entry>)> {
        let entries = read(path)?;
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        let good: u64 = entries.1;
        if good < file.metadata()?.len() {
            file.set_len(good)?;
            file.sync_all()?;
        }
        Ok((Self { file }, entries.0))
    }

    pub fn append(&mut self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()
    }
}

/// The entries of a journal (none when there is no file) and the length of its whole lines.
pub fn read(path: &Path) -> std::io::Result<(Vec<Entry>, u64)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let mut entries = Vec::new();
    let mut good = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        match serde_json::from_str(&line) {
            Ok(e) => entries.push(e),
            Err(_) => break,
        }
        good += n as u64;
    }
    Ok((entries, good))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_off_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.journal");
        let (mut j, entries) = Journal::open(&path).unwrap();
        assert!(entries.is_empty());
        let chunk = Entry::Chunk(ChunkOutcome {
            chunk: 1,
            table: 0,
            written: 3,
            conflicts: vec![],
            recovered: false,
        });
        j.append(&chunk).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"record\":\"chu").unwrap();
        let (_, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries, vec![chunk]);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
    }
}
