//! A saved merge (`merge PLAN ... --out FILE`) read back: checked whole before anything is
//! shown or written, and applied — `apply FILE` writes exactly its rows, once, under its own
//! lock and journal (a second apply writes nothing again). What is shown of it is
//! [`crate::render::merge`]'s.

use std::path::{Path, PathBuf};

use super::shown;
use crate::compare::journal::{self, Entry, Journal};
use crate::compare::merge::{self, Applied, Step};
use crate::compare::saved::{self, Header, Reader};
use crate::engine::journal::Lock;
use crate::mysql::Credentials;
use crate::plan::text::visible;

/// Why a saved merge is not shown or applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{}: {source}; nothing was written. Make it again with `planrun merge PLAN ... --out FILE`.",
        shown(.path)
    )]
    Unverified {
        path: PathBuf,
        source: saved::Invalid,
    },
    #[error("{}: {source}; nothing was written.", shown(.path))]
    Unopened {
        path: PathBuf,
        source: saved::Invalid,
    },
    #[error(
        "{} was made by planrun {}, this is planrun {}; nothing was written. Make it again with this version.",
        shown(.path),
        visible(.made_by),
        env!("CARGO_PKG_VERSION")
    )]
    Version { path: PathBuf, made_by: String },
    /// A row of it cannot be read (while it is shown).
    #[error("{}: {source}", shown(.path))]
    Row {
        path: PathBuf,
        source: saved::Invalid,
    },
    #[error(
        "another `planrun apply {}` is running (lock {}); nothing was written.",
        shown(.path),
        shown(.lock)
    )]
    Running { path: PathBuf, lock: PathBuf },
    #[error("cannot take the lock {}: {source}", shown(.lock))]
    Lock {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the journal {}: {source}", shown(.journal))]
    Journal {
        journal: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}. Every chunk committed so far is recorded (on the server and in {}); apply {} again to finish: no row is written twice.",
        visible(&.source.to_string()),
        shown(.journal),
        shown(.path)
    )]
    Apply {
        path: PathBuf,
        journal: PathBuf,
        source: crate::compare::Error,
    },
}

/// Whether `path` holds a saved merge (its first bytes say so).
pub fn is_saved_merge(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    saved::is_saved_merge(&head[..n])
}

/// Checks the file whole and opens it (`for_apply`: only this planrun's); returns its digest.
pub fn open(path: &Path, for_apply: bool) -> Result<(String, Reader), Error> {
    let at = || path.to_path_buf();
    let digest = saved::verify(path).map_err(|source| Error::Unverified { path: at(), source })?;
    let reader = Reader::open(path).map_err(|source| Error::Unopened { path: at(), source })?;
    if for_apply && reader.header.planrun != env!("CARGO_PKG_VERSION") {
        return Err(Error::Version {
            path: at(),
            made_by: reader.header.planrun.clone(),
        });
    }
    Ok((digest, reader))
}

/// A saved merge opened to be applied: checked, locked, its journal read.
pub struct Opened {
    pub path: PathBuf,
    pub digest: String,
    pub header: Header,
    /// An earlier apply wrote it all: nothing is written again.
    pub done: bool,
    reader: Reader,
    journal_path: PathBuf,
    journal: Journal,
    entries: Vec<Entry>,
    _lock: Lock,
}

/// Opens the saved merge at `path` for `apply FILE`.
pub fn open_for_apply(path: &Path) -> Result<Opened, Error> {
    let (digest, reader) = open(path, true)?;
    let (journal_path, lock_path) = journal::paths(path);
    let lock = match Lock::try_acquire(&lock_path) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return Err(Error::Running {
                path: path.to_path_buf(),
                lock: lock_path,
            });
        }
        Err(source) => {
            return Err(Error::Lock {
                lock: lock_path,
                source,
            });
        }
    };
    let (journal, entries) = Journal::open(&journal_path).map_err(|source| Error::Journal {
        journal: journal_path.clone(),
        source,
    })?;
    let done = entries.iter().any(|e| matches!(e, Entry::Done { .. }));
    Ok(Opened {
        path: path.to_path_buf(),
        digest,
        header: reader.header.clone(),
        done,
        reader,
        journal_path,
        journal,
        entries,
        _lock: lock,
    })
}

impl Opened {
    /// Writes its rows (each only if its guard holds), chunk by chunk, each chunk said to
    /// `step`; what an earlier apply committed is read back, not written again.
    pub async fn apply(
        mut self,
        creds: &Credentials,
        step: &mut (dyn FnMut(Step) + Send),
    ) -> Result<Applied, Error> {
        let applied = merge::apply(
            &mut self.reader,
            &self.digest,
            creds,
            &mut self.journal,
            self.entries,
            step,
        )
        .await;
        applied.map_err(|source| Error::Apply {
            path: self.path,
            journal: self.journal_path,
            source,
        })
    }
}
