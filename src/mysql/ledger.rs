//! A restore's ledger: what it is about to make on production under names carrying the
//! restore's id, written (and synced) *before* it makes it; the target databases (names of
//! the plan's) it made, written *after* their create succeeded, the only proof that one is
//! its own; and the checksums of the verified copies, written before the final rename. A
//! re-run of the same restore after a crash reads it to tell what is its own: only names the
//! ledger lists so are ever dropped.
//! It lives beside the journal as `<job>.land`, one JSON object a line; it holds names and
//! checksums, never a credential.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One table of the landing: where it is copied to, and what it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    pub temp_db: String,
    pub temp: String,
    pub db: String,
    pub target: String,
    /// `CHECKSUM TABLE` of the copy, equal on both servers (set once verified).
    pub checksum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Entry {
    /// About to create this temporary database on production (its name carries the
    /// restore's id). Older ledgers also list targets so, before their create: such an
    /// entry proves nothing of a target, and is never acted on.
    Database { name: String },
    /// This target database was created on production by this restore (written after its
    /// `CREATE DATABASE` succeeded).
    Created { name: String },
    /// About to copy these tables in (under their temporary names).
    Copying { tables: Vec<Landing> },
    /// Every copy verified; the rename is next.
    Verified { tables: Vec<Landing> },
    /// The rename is done: the targets are this restore's.
    Renamed,
}

pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    pub fn of(state: &Path, run: &str) -> Self {
        Self {
            path: state.join(format!("{run}.land")),
        }
    }

    pub fn read(&self) -> std::io::Result<Vec<Entry>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                // A torn last line (killed mid-write) was never acted on.
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Appends `entry` and syncs it before returning.
    pub fn write(&self, entry: &Entry) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_all()
    }

    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_a_torn_line_is_ignored() {
        let dir = tempfile_dir();
        let ledger = Ledger::of(&dir, "local-x-1");
        ledger
            .write(&Entry::Database {
                name: "_planrun_ab_d0".into(),
            })
            .expect("write");
        ledger.write(&Entry::Renamed).expect("write");
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("local-x-1.land"))
            .and_then(|mut f| f.write_all(b"{\"step\":\"verif"))
            .expect("torn");
        assert_eq!(
            ledger.read().expect("read"),
            [
                Entry::Database {
                    name: "_planrun_ab_d0".into()
                },
                Entry::Renamed
            ]
        );
        ledger.remove().expect("remove");
        assert!(ledger.read().expect("read").is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("planrun-ledger-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }
}
