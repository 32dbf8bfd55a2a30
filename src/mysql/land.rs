//! The verified result onto production, the restore's only writes there: each restored table
//! copied in under a temporary name (ordinary, logged writes: replicas receive them with new
//! GTIDs), without triggers and without foreign keys, its `CHECKSUM TABLE` compared with the
//! scratch server's and written to the ledger, then every table renamed to its new name in
//! one `RENAME TABLE` — all of them or none.

use std::process::Stdio;

use mysql_async::prelude::Queryable;

use super::gate::Gate;
use super::ledger::{Entry, Landing, Ledger};
use super::progress::{Meter, Phase, Progress, Unit, counter, metered};
use super::rows::Rows;
use super::scratch::Scratch;
use super::tools::{self, Proc};
use super::{Credentials, Error, Request, TEMP_PREFIX, quote};

/// What landing did, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Landed {
    pub tables: Vec<Landing>,
    /// Foreign keys the copies were made without, as `db.table.constraint`.
    pub dropped_keys: Vec<String>,
}

/// The stem of this restore's temporary names on production.
pub fn stem(req: &Request) -> String {
    let d = super::digest(&[&req.id, &req.run]);
    format!("{TEMP_PREFIX}{}_", &d[..10])
}

/// One table to land, and where it comes from (its source database and table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub landing: Landing,
    pub source_db: String,
    pub source: String,
}

/// The tables to land: `tables` become `db._planrun_<run>_t<k>`, the tables of each `dbs`
/// source (`whole[k]` lists them, from the scratch server) go into `_planrun_<run>_d<k>`.
pub fn landings(req: &Request, whole: &[Vec<String>]) -> Vec<Planned> {
    let stem = stem(req);
    let mut out = Vec::new();
    for (k, (source_db, target)) in req.objects.dbs.iter().enumerate() {
        for t in whole.get(k).into_iter().flatten() {
            out.push(Planned {
                landing: Landing {
                    temp_db: format!("{stem}d{k}"),
                    temp: t.clone(),
                    db: target.clone(),
                    target: t.clone(),
                    checksum: None,
                },
                source_db: source_db.clone(),
                source: t.clone(),
            });
        }
    }
    for (k, (db, source, target)) in req.objects.tables.iter().enumerate() {
        out.push(Planned {
            landing: Landing {
                temp_db: db.clone(),
                temp: format!("{stem}t{k}"),
                db: db.clone(),
                target: target.clone(),
                checksum: None,
            },
            source_db: db.clone(),
            source: source.clone(),
        });
    }
    out
}

/// Where a landing's table is on the scratch server: its database, its name before and
/// after it is renamed to its temporary name there (a whole database keeps its names).
fn on_scratch(scratch: &Scratch, p: &Planned) -> (String, String, String) {
    let db = scratch
        .name(&p.source_db)
        .unwrap_or(&p.source_db)
        .to_owned();
    (db, p.source.clone(), p.landing.temp.clone())
}

async fn checksum(conn: &mut mysql_async::Conn, db: &str, table: &str) -> Result<String, Error> {
    let row: Option<(String, Option<i64>)> = conn
        .query_first(format!("CHECKSUM TABLE {}.{}", quote(db), quote(table)))
        .await?;
    Ok(row
        .and_then(|r| r.1)
        .map_or_else(|| "NULL".to_owned(), |c| c.to_string()))
}

/// The two servers of a landing: production (`req`, `creds`) and the scratch server.
pub struct Ends<'a> {
    pub req: &'a Request,
    pub creds: &'a Credentials,
    pub scratch: &'a Scratch,
}

/// Copies and verifies every landing, then renames them all, telling `progress` the rows
/// copied of how many (`bytes`: the SQL the restore handed its scratch server). The ledger
/// is written before each step that makes something named by the restore's id, and after
/// the creation of a target database (a name of the plan's: only a create that succeeded
/// proves it is this restore's).
pub async fn land(
    ends: &Ends<'_>,
    production: &mut mysql_async::Conn,
    ledger: &Ledger,
    planned: &[Planned],
    stop: &super::Stop,
    progress: &(dyn Fn(Progress) + Send + Sync),
    bytes: u64,
) -> Result<Landed, Error> {
    let Ends { req, scratch, .. } = *ends;
    let mut tables: Vec<Landing> = planned.iter().map(|p| p.landing.clone()).collect();
    ledger.write(&Entry::Copying {
        tables: tables.clone(),
    })?;
    let mut sconn = scratch.conn().await?;
    let mut dropped_keys = Vec::new();
    // On the scratch server: no triggers, no foreign keys, temporary names.
    for p in planned {
        let l = &p.landing;
        let (db, source, copied) = on_scratch(scratch, p);
        let triggers: Vec<String> = sconn
            .exec(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?",
                (&db, &source),
            )
            .await?;
        for t in triggers {
            sconn
                .query_drop(format!("DROP TRIGGER {}.{}", quote(&db), quote(&t)))
                .await?;
        }
        let keys: Vec<String> = sconn
            .exec(
                "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
                (&db, &source),
            )
            .await?;
        for k in keys {
            sconn
                .query_drop(format!(
                    "ALTER TABLE {}.{} DROP FOREIGN KEY {}",
                    quote(&db),
                    quote(&source),
                    quote(&k)
                ))
                .await?;
            dropped_keys.push(format!("{}.{}.{k}", l.db, l.target));
        }
        if source != copied {
            sconn
                .query_drop(format!(
                    "RENAME TABLE {db}.{} TO {db}.{}",
                    quote(&source),
                    quote(&copied),
                    db = quote(&db)
                ))
                .await?;
        }
    }
    let mut temp_dbs: Vec<String> = tables
        .iter()
        .filter(|l| l.temp_db != l.db)
        .map(|l| l.temp_db.clone())
        .collect();
    temp_dbs.dedup();
    for db in &temp_dbs {
        ledger.write(&Entry::Database { name: db.clone() })?;
        production
            .query_drop(format!("CREATE DATABASE {}", quote(db)))
            .await?;
    }
    // The rows to copy, counted exactly on the scratch server (private: nothing else writes
    // there), so that the copy can say how far it is.
    let mut total = 0u64;
    for p in planned {
        let (db, _, copied) = on_scratch(scratch, p);
        let n: Option<u64> = sconn
            .query_first(format!(
                "SELECT COUNT(*) FROM {}.{}",
                quote(&db),
                quote(&copied)
            ))
            .await?;
        total += n.unwrap_or(0);
    }
    let tell = counter(progress, Phase::Copying, total, Unit::Rows, bytes);
    tell(0);
    let (meter, mut ticks) = Meter::new(total, 1);
    // The copies, one dump-and-load per destination database.
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    for p in planned {
        let l = &p.landing;
        let (db, _, copied) = on_scratch(scratch, p);
        match groups.iter_mut().find(|g| g.0 == db && g.1 == l.temp_db) {
            Some(g) => g.2.push(copied),
            None => groups.push((db, l.temp_db.clone(), vec![copied])),
        }
    }
    for (sdb, pdb, names) in &groups {
        let copying = copy(ends, sdb, pdb, names, meter.clone());
        metered(copying, &mut ticks, stop, &tell).await?;
    }
    tell(meter.get());
    for (l, p) in tables.iter_mut().zip(planned) {
        let (db, _, copied) = on_scratch(scratch, p);
        let there = checksum(&mut sconn, &db, &copied).await?;
        let here = checksum(production, &l.temp_db, &l.temp).await?;
        if there != here {
            return Err(Error::Checksum {
                table: format!("{}.{}", l.db, l.target),
                production: here,
                scratch: there,
            });
        }
        l.checksum = Some(here);
    }
    let _ = sconn.disconnect().await;
    ledger.write(&Entry::Verified {
        tables: tables.clone(),
    })?;
    // The last moment a stop is heeded: from here the targets appear whole, or not at all.
    if stop.requested() {
        return Err(Error::Cancelled);
    }
    progress(Progress::at(Phase::Renaming, bytes));
    for (_, target) in &req.objects.dbs {
        // Written only once the create has succeeded: a database of that name made by
        // someone else since the checks fails the create and is never listed, so the
        // clean-up never takes it for this restore's (a kill between the two leaves an
        // empty database that a re-run reports as existing, rather than a guess).
        production
            .query_drop(format!("CREATE DATABASE {}", quote(target)))
            .await?;
        ledger.write(&Entry::Created {
            name: target.clone(),
        })?;
    }
    let moves: Vec<String> = tables
        .iter()
        .map(|l| {
            format!(
                "{}.{} TO {}.{}",
                quote(&l.temp_db),
                quote(&l.temp),
                quote(&l.db),
                quote(&l.target)
            )
        })
        .collect();
    production
        .query_drop(format!("RENAME TABLE {}", moves.join(", ")))
        .await?;
    crash_point(AFTER_RENAME);
    ledger.write(&Entry::Renamed)?;
    for db in &temp_dbs {
        production
            .query_drop(format!("DROP DATABASE IF EXISTS {}", quote(db)))
            .await?;
    }
    Ok(Landed {
        tables,
        dropped_keys,
    })
}

/// `mariadb-dump` of `names` on the scratch server piped into `mariadb` on production, into
/// database `into`: tables and rows only (no `DROP TABLE`, no locks, no triggers). The
/// stream passes through planrun's [`Gate`], which lets only the creation and filling of
/// `names` through, and counts the rows handed to production on `rows`.
async fn copy(
    ends: &Ends<'_>,
    from: &str,
    into: &str,
    names: &[String],
    rows: Meter,
) -> Result<(), Error> {
    let Ends {
        req,
        creds,
        scratch,
    } = *ends;
    let mut dump_args = scratch.tool_args();
    dump_args.extend(
        [
            "--skip-triggers",
            "--no-create-db",
            "--skip-add-drop-table",
            "--skip-add-locks",
            "--skip-lock-tables",
            "--skip-disable-keys",
            "--skip-comments",
            "--hex-blob",
            "--skip-routines",
            "--skip-events",
            "--max-allowed-packet=1G",
        ]
        .map(String::from),
    );
    // After `--`, every argument is a name: a table called `--databases` is not an option.
    dump_args.push("--".to_owned());
    dump_args.push(from.to_owned());
    dump_args.extend(names.iter().cloned());
    let mut gate = Gate::new(names);
    let mut dumper = Proc::spawn(
        &tools::dumper()?,
        &dump_args,
        Stdio::null(),
        Stdio::piped(),
        &[],
    )?;
    let mut pipe = tools::stdout_file(&mut dumper)?;
    let mut load_args = tools::connection(creds.tool_option(), &req.host, req.port);
    load_args.push("--max-allowed-packet=1G".into());
    // No client command (`\!`, `source`, ...) is read from the stream.
    load_args.push("--binary-mode".into());
    load_args.push(format!("--database={into}"));
    let loader = Proc::spawn(
        &tools::client()?,
        &load_args,
        Stdio::piped(),
        Stdio::null(),
        &[],
    )?;
    let loading = tools::feed(loader, move |stdin| {
        use std::io::{Read, Write};
        let mut buf = vec![0u8; 1 << 16];
        let mut counted = Rows::default();
        let mut passed = Vec::with_capacity(1 << 16);
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            // Only whole statements the gate let pass reach production; a refused one ends
            // the copy before it is written (the loader then ends at its input's end).
            gate.feed(&buf[..n], &mut passed).map_err(Error::Gate)?;
            stdin.write_all(&passed)?;
            rows.add(counted.feed(&passed));
            passed.clear();
        }
        gate.finish(&mut passed).map_err(Error::Gate)?;
        stdin.write_all(&passed)?;
        // Dropping the pipe's end here (a loader that died) ends the dumper too.
        Ok(())
    });
    let (dumped, loaded) = tokio::join!(dumper.finish(), loading);
    // The loader's error says more (a dropped connection to production, a refused write).
    loaded?;
    dumped
}

/// Where the test-only crash hook of [`crash_point`] fires.
const AFTER_RENAME: &str = "after-rename";

/// A test-only crash: the process kills itself at `point` when `PLANRUN_TEST_CRASH_AT`
/// names it, so that a test can stop a restore at exactly that moment (as kill -9 would).
/// It cannot fire by accident in production: it is compiled into debug builds only (release
/// builds, which users run, do not contain it), and even there only a variable nobody sets
/// outside planrun's tests, holding this exact point's name, arms it.
pub(super) fn crash_point(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("PLANRUN_TEST_CRASH_AT").is_ok_and(|v| v == point) {
        // `abort`: no destructor, no clean-up, no marker written: as abrupt as kill -9.
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
