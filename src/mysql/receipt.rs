//! Receipts: how a re-run of a restore tells the targets it made itself (before it was
//! killed) from targets that were there before, which are never taken.

use mysql_async::prelude::Queryable;
use sha2::Digest;

use super::{Error, Request, quote};

/// The receipts of restores, and the lists of target databases they made, live here until
/// their runs are recorded done. Never a user's name (the scratch prefix's sibling).
pub const RECEIPTS_DB: &str = "_planrun_receipts";

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

    pub(super) async fn drop_all(&self, conn: &mut mysql_async::Conn) -> Result<(), Error> {
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
