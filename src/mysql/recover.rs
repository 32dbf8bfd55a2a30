//! What an earlier, interrupted run of a restore left, found by its ledger
//! ([`super::ledger`]) and by names that carry the restore's id: on production its temporary
//! tables and databases (dropped) or its landed targets (proven by the ledger's checksums,
//! kept); on the machine its scratch server and working files (removed).

use mysql_async::prelude::Queryable;

use super::check::connect_to;
use super::credentials::Credentials;
use super::land;
use super::ledger::{Entry, Landing, Ledger};
use super::{Error, Request, TEMP_PREFIX, quote};

/// The scratch server, working files and staging databases an earlier run left.
pub(super) async fn leftovers(req: &Request, creds: &Credentials) -> Result<(), Error> {
    super::scratch::sweep_throwaway(req).await?;
    super::scratch::sweep_staging(req, creds).await?;
    super::scratch::remove_tree(&super::restore::work_dir(req)).await?;
    Ok(())
}

/// What an earlier run of this restore left on production, by its ledger: `Some(tables)`
/// when it had landed (renamed) them — proven by the ledger's `renamed`, or by every target
/// carrying the checksum the ledger verified before the rename while no temporary table is
/// left; otherwise its temporary tables and databases, and the target databases it proved
/// it created (if they hold nothing at all), are dropped, and `None`.
pub(super) async fn take_back(
    conn: &mut mysql_async::Conn,
    req: &Request,
    ledger: &Ledger,
) -> Result<Option<Vec<Landing>>, Error> {
    let entries = ledger.read()?;
    let stem = land::stem(req);
    let temp_dbs: Vec<String> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Database { name } if name.starts_with(&stem) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let verified = entries.iter().rev().find_map(|e| match e {
        Entry::Verified { tables } => Some(tables.clone()),
        _ => None,
    });
    let renamed = entries.contains(&Entry::Renamed);
    let landed = match (&verified, renamed) {
        (Some(t), true) => Some(t.clone()),
        (Some(t), false) if proven(conn, t).await? => {
            ledger.write(&Entry::Renamed)?;
            Some(t.clone())
        }
        _ => None,
    };
    for db in &temp_dbs {
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(db)))
            .await?;
    }
    if landed.is_some() {
        return Ok(landed);
    }
    for e in &entries {
        if let Entry::Copying { tables } = e {
            for l in tables.iter().filter(|l| l.temp.starts_with(&stem)) {
                conn.query_drop(format!(
                    "DROP TABLE IF EXISTS {}.{}",
                    quote(&l.temp_db),
                    quote(&l.temp)
                ))
                .await?;
            }
        }
    }
    for name in created(&entries) {
        drop_if_empty(conn, name).await?;
    }
    ledger.remove()?;
    Ok(None)
}

/// The target databases the ledger proves this restore created (`created` entries, written
/// after a create that succeeded). A `database` entry of a target (older ledgers wrote one
/// before the create) proves nothing: the create may have failed on someone else's database.
fn created(entries: &[Entry]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Created { name } if !name.starts_with(TEMP_PREFIX) => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

/// Every target exists with the checksum verified before the rename, and no temporary
/// table is left: the rename happened.
async fn proven(conn: &mut mysql_async::Conn, tables: &[Landing]) -> Result<bool, Error> {
    for l in tables {
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&l.temp_db, &l.temp),
            )
            .await?;
        if n.unwrap_or(0) > 0 {
            return Ok(false);
        }
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (&l.db, &l.target),
            )
            .await?;
        if n.unwrap_or(0) == 0 {
            return Ok(false);
        }
        let row: Option<(String, Option<i64>)> = conn
            .query_first(format!(
                "CHECKSUM TABLE {}.{}",
                quote(&l.db),
                quote(&l.target)
            ))
            .await?;
        let sum = row.and_then(|r| r.1).map(|c| c.to_string());
        if sum != l.checksum {
            return Ok(false);
        }
    }
    Ok(!tables.is_empty())
}

/// What a database holds, by kind: tables (views and sequences among them), routines and
/// events (triggers belong to tables).
const HOLDINGS: &str = "SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) \
    + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) \
    + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)";

/// Drops `db` (which this restore created) while it holds nothing at all: anything in it was
/// put there by someone else since, and keeps it.
async fn drop_if_empty(conn: &mut mysql_async::Conn, db: &str) -> Result<(), Error> {
    let n: Option<i64> = conn.exec_first(HOLDINGS, (db, db, db)).await?;
    if n == Some(0) {
        // Nothing held may also mean no database (gone since): nothing to drop then.
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(db)))
            .await?;
    }
    Ok(())
}

/// Forgets a finished restore (its caller has recorded it done): its ledger goes.
pub fn forget(req: &Request) -> Result<(), Error> {
    Ok(Ledger::of(&req.state, &req.run).remove()?)
}

/// Cleans up after a restore that will not run again (`planrun cancel` with no apply
/// running): what its ledger lists on production, its scratch server and working files.
/// `Ok(true)`: it had landed: nothing is dropped.
pub async fn abandon(req: &Request, creds: &Credentials) -> Result<bool, Error> {
    let mut conn = connect_to(req, creds).await?;
    let ledger = Ledger::of(&req.state, &req.run);
    let landed = take_back(&mut conn, req, &ledger).await;
    let _ = conn.disconnect().await;
    let landed = landed?.is_some();
    leftovers(req, creds).await?;
    Ok(landed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_target_database_whose_create_succeeded_is_this_restores() {
        let entries = [
            // An older ledger's intent, written before a create that may have failed.
            Entry::Database {
                name: "shop_bak".into(),
            },
            Entry::Database {
                name: "_planrun_0123456789_d0".into(),
            },
            Entry::Created {
                name: "other_bak".into(),
            },
        ];
        assert_eq!(created(&entries), ["other_bak"]);
    }
}
