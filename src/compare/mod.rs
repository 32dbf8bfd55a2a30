//! After a rollback: the restored copies compared with the tables they were restored from
//! (`planrun compare`), and the rows the incident destroyed put back under review (`planrun
//! merge`, a saved merge, its apply). Works on a MySQL or MariaDB connection to the instance
//! that holds both tables, whoever runs it (a self-hosted server, a cloud instance's address).
//! Pure of the CLI: nothing here prints; it returns results, errors and progress counts.

pub mod cell;
pub mod journal;
pub mod merge;
pub mod outcome;
pub mod progress;
pub mod saved;
pub mod schema;
pub mod sql;
pub mod walk;

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::mysql::Credentials;

pub use cell::Cell;
pub use outcome::{Comparison, Samples, TableOutcome};
pub use walk::{Counts, Difference, Options, Sink, walk};

/// A restored table and the table it was restored from, on one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub db: String,
    pub source: String,
    /// The database of the restored copy (the source's for a table, the new one for a
    /// database).
    pub restored_db: String,
    pub restored: String,
}

impl Pair {
    pub fn source_name(&self) -> String {
        format!("{}.{}", self.db, self.source)
    }

    pub fn restored_name(&self) -> String {
        format!("{}.{}", self.restored_db, self.restored)
    }
}

/// Where an instance's MySQL protocol answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a comparison or a merge could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("{0}")]
    Sql(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Something about the tables or the file that stops the work (said for people).
    #[error("{0}")]
    Refused(String),
}

impl From<mysql_async::Error> for Error {
    fn from(e: mysql_async::Error) -> Self {
        Self::Sql(e.to_string())
    }
}

/// How long reaching a server may take before it is called unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to `at` with `creds` (the password stays in memory), its session set for
/// comparing and writing exactly: UTC for TIMESTAMP values, utf8mb4, snapshots that are
/// repeatable, and strict writes (a value that does not fit is an error, never truncated).
pub async fn connect(at: &Endpoint, creds: &Credentials) -> Result<Conn, Error> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(at.host.clone())
        .tcp_port(at.port)
        .user(creds.user.clone())
        .pass(creds.password.clone())
        .prefer_socket(false)
        .stmt_cache_size(64);
    let unreachable = |reason: String| Error::Unreachable {
        server: at.to_string(),
        reason,
    };
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts))
        .await
        .map_err(|_| unreachable(format!("no answer in {} s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    conn.query_drop(
        "SET NAMES utf8mb4; \
         SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'; \
         SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    )
    .await?;
    Ok(conn)
}

/// `Ok(pair's shape)`, `Err(Ok(why not comparable))`, or `Err(Err(error))`.
pub async fn shape_of(
    conn: &mut Conn,
    pair: &Pair,
) -> Result<Result<schema::Shape, String>, Error> {
    let copy = schema::describe(conn, &pair.restored_db, &pair.restored).await?;
    let source = schema::describe(conn, &pair.db, &pair.source).await?;
    Ok(match (copy, source) {
        (None, _) => Err(format!(
            "the restored copy {} does not exist",
            pair.restored_name()
        )),
        (Some(_), None) => Err(format!(
            "the source {} no longer exists (dropped or renamed since the time?)",
            pair.source_name()
        )),
        (Some(c), Some(s)) => schema::shape(pair, &c, &s),
    })
}

/// The tables of a restored database, each beside the source's table of the same name; a
/// table on only one side is `Err` with why.
pub async fn database_pairs(
    conn: &mut Conn,
    source: &str,
    restored: &str,
) -> Result<Vec<Result<Pair, (Pair, String)>>, Error> {
    let copies = schema::tables(conn, restored).await?;
    let sources = schema::tables(conn, source).await?;
    let pair = |t: &str| Pair {
        db: source.to_owned(),
        source: t.to_owned(),
        restored_db: restored.to_owned(),
        restored: t.to_owned(),
    };
    let mut out: Vec<Result<Pair, (Pair, String)>> = copies
        .iter()
        .map(|t| {
            if sources.contains(t) {
                Ok(pair(t))
            } else {
                let p = pair(t);
                let why = format!(
                    "the source {} no longer exists (dropped or renamed since the time?)",
                    p.source_name()
                );
                Err((p, why))
            }
        })
        .collect();
    for t in sources.iter().filter(|t| !copies.contains(t)) {
        let p = pair(t);
        let why = format!(
            "{} is not in the restored copy {restored}: created since the time?",
            p.source_name()
        );
        out.push(Err((p, why)));
    }
    if copies.is_empty() {
        return Err(Error::Refused(format!(
            "the restored database {restored} holds no table"
        )));
    }
    Ok(out)
}
