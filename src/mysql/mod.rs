//! Self-hosted MySQL and MariaDB (`provider: mysql`): point-in-time restores from a logical
//! dump and the server's binary log, under new names beside the originals.
//!
//! Production is read-only to a restore until its last step. The dump is loaded and the
//! binary-log span replayed on a *scratch server* ([`scratch`]): a throwaway server planrun
//! starts from the machine's server binaries, or a `restore_server` the plan names. The span
//! is checked first ([`span`]): it is replayed exactly, or the instance is refused. Only then
//! does the result land on production (`land`): each table copied in under a temporary
//! name as ordinary new writes, its `CHECKSUM TABLE` compared with the scratch server's,
//! then all renamed in one statement. The server's own client tools move the data
//! (`mariadb`, `mariadb-dump`, `mariadb-binlog`); a driver connection (`mysql_async`) runs
//! the control statements. Nothing here prints; callers get [`Error`]s and [`Progress`].
//! Depends on nothing else of planrun: the CLI turns a plan entry into a [`Request`].

pub mod check;
pub mod credentials;
pub mod dump;
mod gate;
pub mod grants;
mod land;
mod ledger;
mod load;
pub mod progress;
mod reach;
mod recover;
pub mod restore;
mod rows;
pub mod scratch;
pub mod span;
pub mod sql;
mod stop;
mod summary;
pub mod tools;

use std::path::PathBuf;

use chrono::{FixedOffset, NaiveDateTime};

pub use credentials::Credentials;
pub use restore::{Progress, Restored, restore};
pub use stop::Stop;

/// Every name planrun makes on a server starts with this: its temporary tables and
/// databases on production, its databases on a `restore_server`. Never a user's name.
pub const TEMP_PREFIX: &str = "_planrun_";

/// What to restore where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The plan's id of the server.
    pub id: String,
    pub host: String,
    pub port: u16,
    pub backups: PathBuf,
    /// The point in time, in `offset`.
    pub time: NaiveDateTime,
    pub offset: FixedOffset,
    pub objects: Objects,
    /// The scratch server: `None`, a throwaway one planrun starts; else a staging server's
    /// `HOST:PORT` on which planrun makes and drops only databases of its own.
    pub restore_server: Option<(String, u16)>,
    /// This restore's own name (the journal's job handle): the temporary names it makes carry
    /// it, and its ledger is named by it, so a re-run after a crash finds what it made.
    pub run: String,
    /// Where its ledger lives (the state directory, beside the journal).
    pub state: PathBuf,
}

impl Request {
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
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

    /// True when `(db, table)` is restored (a table of it, or its whole database).
    pub fn restores(&self, db: &str, table: &str) -> bool {
        self.dbs.iter().any(|(s, _)| s == db)
            || self.tables.iter().any(|(d, t, _)| d == db && t == table)
    }
}

/// Why a restore of one server did not happen. Each leaves nothing half-made behind.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The server answered and refused the user: a fix of credentials, not of the network.
    #[error("{server} refused the credentials: {reason}")]
    Auth { server: String, reason: String },
    #[error("{0}")]
    Credentials(String),
    #[error("no usable dump in {dir} for {time}: {why}")]
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
    /// The span cannot be replayed exactly: the first event that says why.
    #[error("refused: {0}")]
    Refused(span::Refusal),
    #[error("{0}")]
    Scratch(String),
    #[error("the user lacks privileges: {0}")]
    Privileges(String),
    #[error(
        "the copy on production differs from the restored table: {table} has CHECKSUM {production} on production, {scratch} on the scratch server; nothing was renamed"
    )]
    Checksum {
        table: String,
        production: String,
        scratch: String,
    },
    /// The landing stream held a statement that does not make or fill a copied table
    /// (the landing's gate): it was not sent, and the landing stops.
    #[error("the copy to production was stopped before a statement it must not send: {0}")]
    Gate(String),
    #[error("{tool} is not on PATH (install mariadb-client or mysql-client)")]
    NoTool { tool: String },
    #[error("{tool} failed: {reason}")]
    Tool { tool: String, reason: String },
    /// A failure whose clean-up on production failed too (the server went away, say).
    #[error(
        "{cause} (what it made on production is not dropped yet: {cleanup}; `planrun apply` again drops it)"
    )]
    Unclean {
        cause: Box<Error>,
        cleanup: Box<Error>,
    },
    /// Stopped on request (`planrun cancel`): what it had made is dropped.
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Sql(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True for errors only the operator can fix before anything runs (credentials): the CLI
    /// exits 2 for them.
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth { .. } | Self::Credentials(_))
    }
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

/// A short, stable digest of `parts` (names of temporary objects and directories).
pub(crate) fn digest(parts: &[&str]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(parts.join("\n").as_bytes());
    hex::encode(d)
}
