//! The proof of which chunks of a saved merge committed, kept on the server itself: one row
//! per chunk in `_planrun_merge.progress`, inserted *first* in the chunk's own transaction
//! and filled in with its outcome just before COMMIT. The row exists exactly when the chunk's
//! writes committed (InnoDB commits both or neither), so an apply killed between COMMIT and
//! its journal write finds the chunk done, and two applies racing for a chunk cannot both
//! write it (the second waits on the row's key, then finds it taken).

use std::collections::HashMap;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::Error;
use super::journal::Conflict;

/// The database planrun keeps merge progress in (never a user's name).
pub const DB: &str = "_planrun_merge";

const CREATE: &str = "CREATE DATABASE IF NOT EXISTS `_planrun_merge`; \
    CREATE TABLE IF NOT EXISTS `_planrun_merge`.`progress` (\
      `merge` CHAR(64) NOT NULL, \
      `chunk` BIGINT UNSIGNED NOT NULL, \
      `at` DATETIME(6) NOT NULL, \
      `written` BIGINT UNSIGNED NOT NULL, \
      `conflicts` LONGTEXT NOT NULL, \
      PRIMARY KEY (`merge`, `chunk`)\
    ) ENGINE=InnoDB";

/// The server's error for a duplicate key.
const DUPLICATE_KEY: u16 = 1062;

/// Makes the progress table if it is not there.
pub async fn ensure(conn: &mut Conn) -> Result<(), Error> {
    conn.query_drop(CREATE).await?;
    Ok(())
}

/// Every committed chunk of `merge` on this server: what it wrote, its conflicts.
pub async fn committed(
    conn: &mut Conn,
    merge: &str,
) -> Result<HashMap<u64, (u64, Vec<Conflict>)>, Error> {
    let rows: Vec<(u64, u64, String)> = conn
        .exec(
            "SELECT `chunk`, `written`, `conflicts` FROM `_planrun_merge`.`progress` WHERE `merge` = ?",
            (merge,),
        )
        .await?;
    rows.into_iter()
        .map(|(chunk, written, conflicts)| {
            let conflicts: Vec<Conflict> = serde_json::from_str(&conflicts).map_err(|e| {
                Error::Refused(format!(
                    "the progress row of chunk {chunk} on the server cannot be read: {e}"
                ))
            })?;
            Ok((chunk, (written, conflicts)))
        })
        .collect()
}

/// Takes the chunk inside the open transaction: `Ok(false)` when it is already taken (it
/// committed in an earlier apply, or another apply holds it and has now committed).
pub async fn claim(conn: &mut Conn, merge: &str, chunk: u64) -> Result<bool, Error> {
    let taken = conn
        .exec_drop(
            "INSERT INTO `_planrun_merge`.`progress` (`merge`, `chunk`, `at`, `written`, `conflicts`) \
             VALUES (?, ?, UTC_TIMESTAMP(6), 0, '[]')",
            (merge, chunk),
        )
        .await;
    match taken {
        Ok(()) => Ok(true),
        Err(mysql_async::Error::Server(e)) if e.code == DUPLICATE_KEY => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Records the chunk's outcome in its row, inside the same transaction.
pub async fn settle(
    conn: &mut Conn,
    merge: &str,
    chunk: u64,
    written: u64,
    conflicts: &[Conflict],
) -> Result<(), Error> {
    let conflicts = serde_json::to_string(conflicts).map_err(std::io::Error::other)?;
    conn.exec_drop(
        "UPDATE `_planrun_merge`.`progress` SET `written` = ?, `conflicts` = ? \
         WHERE `merge` = ? AND `chunk` = ?",
        (written, conflicts, merge, chunk),
    )
    .await?;
    Ok(())
}
