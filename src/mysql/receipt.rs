//! Receipts: how a re-run of a restore tells the targets it made itself (before it was
//! killed) from targets that were there before, which are never taken.

use mysql_async::prelude::Queryable;
use sha2::Digest;

use super::{Error, Request, quote};

/// The receipts of restores, and the lists of target databases they made, live here until
/// their runs are recorded done. Never a user's name (the scratch prefix's sibling).
pub const RECEIPTS_DB: &str = "_planrun_receipts";

/// The server-wide named lock (`GET_LOCK`) under which a restore makes [`RECEIPTS_DB`] and
/// moves its receipt in, and under which a finished one drops the database once empty:
/// without it, two restores on one server race — one drops the empty database just before
/// the other's `RENAME TABLE` moves its receipt into it, and that rename fails. The server
/// releases it when the connection goes, so a killed run never leaves it held.
const RECEIPTS_LOCK: &str = "planrun_receipts";

/// How long a restore waits for [`RECEIPTS_LOCK`]; it is held for a few statements.
const RECEIPTS_LOCK_WAIT_S: u32 = 120;

/// Takes [`RECEIPTS_LOCK`] on this connection.
pub(super) async fn lock(conn: &mut mysql_async::Conn) -> Result<(), Error> {
    let got: Option<Option<i64>> = conn
        .query_first(format!(
            "SELECT GET_LOCK('{RECEIPTS_LOCK}', {RECEIPTS_LOCK_WAIT_S})"
        ))
        .await?;
    match got {
        Some(Some(1)) => Ok(()),
        _ => Err(Error::Sql(format!(
            "the server's lock {RECEIPTS_LOCK} stayed held by another restore for {RECEIPTS_LOCK_WAIT_S} s"
        ))),
    }
}

/// Gives [`RECEIPTS_LOCK`] back (it also goes with the connection).
pub(super) async fn unlock(conn: &mut mysql_async::Conn) -> Result<(), Error> {
    conn.query_drop(format!("DO RELEASE_LOCK('{RECEIPTS_LOCK}')"))
        .await?;
    Ok(())
}

/// One restore's entries in [`RECEIPTS_DB`]: `r_<hash of the run>` (the receipt the final
/// `RENAME TABLE` moves in) and `r_<hash>_made` (each target database it is about to make,
/// written before the `CREATE DATABASE`, so that only databases it made are ever taken back).
pub(super) struct Receipt {
    pub(super) table: String,
    pub(super) made: String,
}

impl Receipt {
    pub(super) fn of(req: &Request) -> Self {
        let digest = sha2::Sha256::digest(format!("{}\n{}", req.id, req.run).as_bytes());
        let table = format!("r_{}", &hex::encode(digest)[..24]);
        Self {
            made: format!("{table}_made"),
            table,
        }
    }

    pub(super) async fn exists(&self, conn: &mut mysql_async::Conn) -> Result<bool, Error> {
        table_exists(conn, RECEIPTS_DB, &self.table).await
    }

    /// Notes that target database `db` is about to be made by this restore.
    pub(super) async fn note_made(
        &self,
        conn: &mut mysql_async::Conn,
        db: &str,
    ) -> Result<(), Error> {
        conn.query_drop(format!(
            "CREATE TABLE IF NOT EXISTS {}.{} (db VARCHAR(64) NOT NULL PRIMARY KEY)",
            quote(RECEIPTS_DB),
            quote(&self.made)
        ))
        .await?;
        conn.exec_drop(
            format!(
                "INSERT IGNORE INTO {}.{} VALUES (?)",
                quote(RECEIPTS_DB),
                quote(&self.made)
            ),
            (db,),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn unnote_made(
        &self,
        conn: &mut mysql_async::Conn,
        db: &str,
    ) -> Result<(), Error> {
        conn.exec_drop(
            format!(
                "DELETE FROM {}.{} WHERE db = ?",
                quote(RECEIPTS_DB),
                quote(&self.made)
            ),
            (db,),
        )
        .await?;
        Ok(())
    }

    /// Drops this restore's entries, and [`RECEIPTS_DB`] once it holds no other's — under
    /// [`RECEIPTS_LOCK`], so that no other restore is moving its receipt in meanwhile.
    pub(super) async fn drop_all(&self, conn: &mut mysql_async::Conn) -> Result<(), Error> {
        lock(conn).await?;
        let dropped = self.drop_all_locked(conn).await;
        let released = unlock(conn).await;
        dropped.and(released)
    }

    async fn drop_all_locked(&self, conn: &mut mysql_async::Conn) -> Result<(), Error> {
        conn.query_drop(format!(
            "DROP TABLE IF EXISTS {db}.{}, {db}.{}",
            quote(&self.table),
            quote(&self.made),
            db = quote(RECEIPTS_DB)
        ))
        .await?;
        let left: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
                (RECEIPTS_DB,),
            )
            .await?;
        if left == Some(0) {
            conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(RECEIPTS_DB)))
                .await?;
        }
        Ok(())
    }
}

pub(super) async fn table_exists(
    conn: &mut mysql_async::Conn,
    db: &str,
    table: &str,
) -> Result<bool, Error> {
    let n: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}
