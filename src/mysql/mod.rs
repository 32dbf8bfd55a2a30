//! Self-hosted MySQL and MariaDB (`provider: mysql`): point-in-time restores from a logical
//! dump and the server's binary log, under new names beside the originals.
//!
//! The server's own client tools do the heavy lifting (`mariadb`/`mysql` loads SQL,
//! `mariadb-binlog`/`mysqlbinlog` reads the binary log over the replication protocol); a
//! driver connection (`mysql_async`) runs the control statements: checks, scratch databases,
//! `RENAME TABLE`, clean-up. Nothing here prints; callers get [`Error`]s and [`Progress`].
//! Depends on nothing else of planrun: the CLI turns a plan entry into a [`Request`].

pub mod check;
pub mod credentials;
pub mod dump;
mod receipt;
pub mod replay;
pub mod restore;
mod stop;
pub mod tools;

use std::path::PathBuf;

use chrono::{FixedOffset, NaiveDateTime};

pub use credentials::Credentials;
pub use receipt::RECEIPTS_DB;
pub use restore::{Progress, Restored, restore};
pub use stop::Stop;

/// Every scratch database planrun makes starts with this: easy to spot, never a user's name.
pub const SCRATCH_PREFIX: &str = "_planrun_scratch_";

/// What to restore where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The plan's id of the server (names the scratch databases, so a re-run finds leftovers).
    pub id: String,
    pub host: String,
    pub port: u16,
    pub backups: PathBuf,
    /// The point in time, in `offset`.
    pub time: NaiveDateTime,
    pub offset: FixedOffset,
    pub objects: Objects,
    /// This restore's own name (the journal's job handle): a re-run of the same restore after
    /// a crash finds by it what the interrupted run made ([`RECEIPTS_DB`]), and
    /// nothing else is ever taken for its own.
    pub run: String,
}

/// What comes back, as `(source, target)` pairs: whole databases and single tables (the plan's
/// rules keep a table out of `tables` when its database is under `dbs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    pub dbs: Vec<(String, String)>,
    /// `(db, source table, target table)`; the target lives in the same database.
    pub tables: Vec<(String, String, String)>,
}

impl Objects {
    /// The source databases involved, each once, in order.
    pub fn source_dbs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let names = self
            .dbs
            .iter()
            .map(|(s, _)| s)
            .chain(self.tables.iter().map(|(db, _, _)| db));
        for n in names {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }
}

/// Why a restore of one server did not happen. Each leaves nothing half-made behind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("{0}")]
    Credentials(String),
    #[error("no dump in {dir} finished before {time}{why}")]
    NoDump {
        dir: String,
        time: String,
        why: String,
    },
    #[error("dump {file}: {reason}")]
    BadDump { file: String, reason: String },
    #[error("binary logging is off on {0}: a point-in-time restore needs log_bin")]
    NoBinlog(String),
    #[error(
        "the binary log no longer reaches back to the dump: {file} is not on the server (oldest is {oldest})"
    )]
    LogTooShort { file: String, oldest: String },
    #[error("the binary log has a gap: {missing} is missing between {from} and {to}")]
    LogGap {
        missing: String,
        from: String,
        to: String,
    },
    #[error("{0} already exists on the server: planrun never overwrites; pick another new name")]
    TargetExists(String),
    #[error("{0} is not in the dump")]
    MissingSource(String),
    #[error(
        "the binary log between the dump and the time holds a statement planrun does not replay ({0}); only row events are replayed (binlog_format=ROW)"
    )]
    Statement(String),
    #[error("{tool} is not on PATH (install mariadb-client or mysql-client)")]
    NoTool { tool: String },
    #[error("{tool} failed: {reason}")]
    Tool { tool: String, reason: String },
    /// Stopped on request (`planrun cancel`): what it had made is dropped.
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Sql(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<mysql_async::Error> for Error {
    fn from(e: mysql_async::Error) -> Self {
        Self::Sql(e.to_string())
    }
}

/// `` `name` `` with backticks doubled: identifiers come from the plan, and are quoted always.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
