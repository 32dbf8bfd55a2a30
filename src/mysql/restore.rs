//! One server's restore: the checks first ([`super::check`]), then scratch databases loaded
//! from the dump, the binary log replayed into them up to the time, `RENAME TABLE` to the new
//! names, scratch dropped.
//! On any failure, and on a stop, the scratch databases (and any empty target database made)
//! are dropped. Scratch names derive from the plan's id of the server, so a re-run after a
//! crash finds and drops what an interrupted run left, then starts over; a receipt tells a
//! re-run whether the interrupted run had already made the targets ([`restore`]).

use std::path::PathBuf;

use chrono::FixedOffset;
use mysql_async::prelude::Queryable;
use sha2::Digest;

use super::check::{Span, check_on, connect};
use super::credentials::Credentials;
use super::dump;
use super::receipt::{RECEIPTS_DB, Receipt, table_exists};
use super::{Error, Request, SCRATCH_PREFIX, quote, replay, tools};

/// Where a restore is, for progress drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Checking,
    Loading,
    Replaying,
    Renaming,
    Done,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Self::Checking => "checking",
            Self::Loading => "loading dump",
            Self::Replaying => "replaying binlog",
            Self::Renaming => "renaming",
            Self::Done => "done",
        }
    }
}

/// A step of a restore: its phase and the bytes of SQL handed to the server so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub bytes: u64,
}

/// The scratch database of the `n`th source database of server `id`.
pub fn scratch_name(id: &str, n: usize) -> String {
    format!("{}{n}", scratch_stem(id))
}

fn scratch_stem(id: &str) -> String {
    let digest = sha2::Sha256::digest(id.as_bytes());
    format!("{SCRATCH_PREFIX}{}_", &hex::encode(digest)[..8])
}

/// What a restore did: the dump and log span it used, and whether an earlier, interrupted
/// run of the same restore had already made the targets (it was killed after its `RENAME
/// TABLE`, before its caller recorded it done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub span: Span,
    pub earlier: bool,
}

/// Restores `req`; progress goes to `progress`; `stop` stops it (its child processes are
/// killed, what it made dropped: [`Error::Cancelled`]) unless it has reached its `RENAME`.
///
/// A restore leaves a receipt (`Receipt`), moved into place by the same `RENAME TABLE`
/// that makes the targets: one statement, so the receipt exists exactly when the targets
/// were made by this restore. A re-run of the same `req.run` that finds it is done; one that
/// does not cleans up what the interrupted run made and starts over. Once the caller has
/// recorded the restore done, it drops the receipt with [`forget`].
pub async fn restore(
    req: &Request,
    creds: &Credentials,
    progress: &(dyn Fn(Progress) + Send + Sync),
    stop: &super::Stop,
) -> Result<Restored, Error> {
    progress(Progress {
        phase: Phase::Checking,
        bytes: 0,
    });
    let mut conn = connect(req, creds).await?;
    let receipt = Receipt::of(req);
    if receipt.exists(&mut conn).await? {
        // Killed after its RENAME: the targets are this restore's own. Only its scratch may
        // be left (the RENAME emptied it).
        drop_scratch(&mut conn, &req.id).await?;
        let _ = conn.disconnect().await;
        let dump = dump::newest_before(&req.backups, req.time)?;
        progress(Progress {
            phase: Phase::Done,
            bytes: 0,
        });
        return Ok(Restored {
            span: Span {
                dump,
                logs: Vec::new(),
            },
            earlier: true,
        });
    }
    // An interrupted earlier run of this restore left these: start clean.
    take_back(&mut conn, req, &receipt).await?;
    if stop.requested() {
        let _ = conn.disconnect().await;
        return Err(Error::Cancelled);
    }
    let work = Work::new(req)?;
    let prepared = tokio::select! {
        r = async {
            let span = check_on(&mut conn, req).await?;
            prepare(&mut conn, req, &span, &work, creds, progress).await?;
            Ok(span)
        } => r,
        () = stop.wait() => Err(Error::Cancelled),
    };
    let stopped = matches!(prepared, Err(Error::Cancelled)) || stop.requested();
    if stopped {
        // The driver connection may have been stopped mid-statement: clean up on a new one.
        let _ = conn.disconnect().await;
        conn = connect(req, creds).await?;
    }
    let result = match prepared {
        Ok(_) if stopped => Err(Error::Cancelled),
        // From here on, no stop: the targets appear in one statement, or not at all.
        Ok(span) => finish_locked(&mut conn, req, &receipt, &work, progress)
            .await
            .map(|()| span),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Leave nothing half-made: target databases it made (empty: the RENAME failed).
        let _ = take_back(&mut conn, req, &receipt).await;
    }
    let cleaned = drop_scratch(&mut conn, &req.id).await;
    let _ = conn.disconnect().await;
    let span = result?;
    cleaned?;
    progress(Progress {
        phase: Phase::Done,
        bytes: work.bytes(),
    });
    Ok(Restored {
        span,
        earlier: false,
    })
}

/// Drops the receipt of a finished restore (its caller has recorded it done), and the
/// receipts database once it holds no other.
pub async fn forget(req: &Request, creds: &Credentials) -> Result<(), Error> {
    let mut conn = connect(req, creds).await?;
    let receipt = Receipt::of(req);
    let result = receipt.drop_all(&mut conn).await;
    let _ = conn.disconnect().await;
    result
}

/// Cleans up after a restore that will not run again (`planrun cancel` with no apply
/// running): its scratch databases and the empty target databases it made are dropped.
/// `Ok(true)`: it had finished (its receipt is there): nothing is dropped.
pub async fn abandon(req: &Request, creds: &Credentials) -> Result<bool, Error> {
    let mut conn = connect(req, creds).await?;
    let receipt = Receipt::of(req);
    let result = async {
        if receipt.exists(&mut conn).await? {
            drop_scratch(&mut conn, &req.id).await?;
            return Ok(true);
        }
        take_back(&mut conn, req, &receipt).await?;
        receipt.drop_all(&mut conn).await?;
        Ok(false)
    }
    .await;
    let _ = conn.disconnect().await;
    result
}

/// What an interrupted (or failed) run of this restore made, dropped: its scratch databases,
/// and the target databases its list names, if still empty (the `RENAME` never came).
async fn take_back(
    conn: &mut mysql_async::Conn,
    req: &Request,
    receipt: &Receipt,
) -> Result<(), Error> {
    drop_scratch(conn, &req.id).await?;
    if !table_exists(conn, RECEIPTS_DB, &receipt.made).await? {
        return Ok(());
    }
    let made: Vec<String> = conn
        .query(format!(
            "SELECT db FROM {}.{}",
            quote(RECEIPTS_DB),
            quote(&receipt.made)
        ))
        .await?;
    for db in &made {
        drop_if_empty(conn, db).await?;
    }
    receipt.drop_all(conn).await
}

/// Where the test-only crash hook of [`crash_point`] fires.
const AFTER_RENAME: &str = "after-rename";

/// A test-only crash: the process kills itself at `point` when `PLANRUN_TEST_CRASH_AT`
/// names it, so that a test can stop a restore at exactly that moment (as kill -9 would).
/// It cannot fire by accident in production: it is compiled into debug builds only (release
/// builds, which users run, do not contain it), and even there only a variable nobody sets
/// outside planrun's tests, holding this exact point's name, arms it.
fn crash_point(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("PLANRUN_TEST_CRASH_AT").is_ok_and(|v| v == point) {
        // `abort`: no destructor, no clean-up, no marker written: as abrupt as kill -9.
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}

/// Files of one restore (dump part and decoded log), in a private temp directory.
struct Work {
    dir: PathBuf,
    bytes: std::sync::atomic::AtomicU64,
}

impl Work {
    fn new(req: &Request) -> Result<Self, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!(
            "planrun-restore-{}-{:016x}",
            req.id,
            rand::random::<u64>()
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Self {
            dir,
            bytes: Default::default(),
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn add(&self, n: u64) -> u64 {
        use std::sync::atomic::Ordering;
        self.bytes.fetch_add(n, Ordering::Relaxed) + n
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Scratch databases loaded from the dump and brought to the time with the binary log. May be
/// stopped at any point: it makes nothing but scratch.
async fn prepare(
    conn: &mut mysql_async::Conn,
    req: &Request,
    span: &Span,
    work: &Work,
    creds: &Credentials,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), Error> {
    let client = tools::client()?;
    let binlog = tools::binlog()?;
    let connection = tools::connection(creds.tool_option(), &req.host, req.port);
    let sources = req.objects.source_dbs();
    let scratch: Vec<String> = (0..sources.len())
        .map(|n| scratch_name(&req.id, n))
        .collect();
    for (source, scratch) in sources.iter().zip(&scratch) {
        conn.query_drop(format!("CREATE DATABASE {}", quote(scratch)))
            .await?;
        let part = work.file(&format!("{scratch}.sql"));
        let bytes = {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&part)?);
            let n = dump::extract(&span.dump.path, source, &mut out)?;
            std::io::Write::flush(&mut out)?;
            n
        };
        let mut args = connection.clone();
        args.push(scratch.clone());
        tools::load(&client, &args, &part).await?;
        progress(Progress {
            phase: Phase::Loading,
            bytes: work.add(bytes),
        });
    }
    // First the whole span, unfiltered: a statement on a source database stops the restore
    // before anything is replayed.
    let whole = work.file("span.sql");
    let mut args = connection.clone();
    args.extend(span_args(req, span));
    args.push(span.dump.log_file.clone());
    tools::capture(&binlog, &args, &whole, &posix_tz(req.offset)).await?;
    replay::check_statements(&whole, &sources)?;
    for (source, scratch) in sources.iter().zip(&scratch) {
        let log = work.file(&format!("{scratch}.binlog.sql"));
        let mut args = connection.clone();
        args.extend(span_args(req, span));
        args.extend([
            format!("--database={source}"),
            format!("--rewrite-db={source}->{scratch}"),
            span.dump.log_file.clone(),
        ]);
        tools::capture(&binlog, &args, &log, &posix_tz(req.offset)).await?;
        replay::check(&log, std::slice::from_ref(scratch))?;
        tools::load(&client, &connection, &log).await?;
        let bytes = std::fs::metadata(&log)?.len();
        progress(Progress {
            phase: Phase::Replaying,
            bytes: work.add(bytes),
        });
    }
    Ok(())
}

/// [`finish`] under the receipts database's lock ([`receipt::lock`]): another restore on the
/// same server must not drop that database between its creation here and the rename.
async fn finish_locked(
    conn: &mut mysql_async::Conn,
    req: &Request,
    receipt: &Receipt,
    work: &Work,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), Error> {
    super::receipt::lock(conn).await?;
    let finished = finish(conn, req, receipt, work, progress).await;
    let released = super::receipt::unlock(conn).await;
    finished.and(released)
}

/// The targets, with one `RENAME TABLE` from the scratch databases (and the receipt with them).
async fn finish(
    conn: &mut mysql_async::Conn,
    req: &Request,
    receipt: &Receipt,
    work: &Work,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), Error> {
    let sources = req.objects.source_dbs();
    let scratch: Vec<String> = (0..sources.len())
        .map(|n| scratch_name(&req.id, n))
        .collect();
    progress(Progress {
        phase: Phase::Renaming,
        bytes: work.bytes(),
    });
    conn.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS {}",
        quote(RECEIPTS_DB)
    ))
    .await?;
    // The receipt waits in a scratch database of its own (dropped with the others) and moves
    // in with the targets.
    let holder = format!("{}r", scratch_stem(&req.id));
    conn.query_drop(format!(
        "CREATE DATABASE {h}; CREATE TABLE {h}.`receipt` (made DATETIME NOT NULL); INSERT INTO {h}.`receipt` VALUES (NOW())",
        h = quote(&holder)
    ))
    .await?;
    let mut moves = vec![format!(
        "{}.`receipt` TO {}.{}",
        quote(&holder),
        quote(RECEIPTS_DB),
        quote(&receipt.table)
    )];
    let scratch_of = |db: &str| {
        let n = sources.iter().position(|s| s == db).unwrap_or(0);
        scratch[n].clone()
    };
    for (source, target) in &req.objects.dbs {
        let from = scratch_of(source);
        let tables: Vec<String> = conn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (&from,),
            )
            .await?;
        receipt.note_made(conn, target).await?;
        if let Err(e) = conn
            .query_drop(format!("CREATE DATABASE {}", quote(target)))
            .await
        {
            // Not made by this restore (someone made it since the checks): never taken back.
            receipt.unnote_made(conn, target).await?;
            return Err(e.into());
        }
        for t in tables {
            moves.push(format!(
                "{}.{} TO {}.{}",
                quote(&from),
                quote(&t),
                quote(target),
                quote(&t)
            ));
        }
    }
    for (db, source, target) in &req.objects.tables {
        moves.push(format!(
            "{}.{} TO {}.{}",
            quote(&scratch_of(db)),
            quote(source),
            quote(db),
            quote(target)
        ));
    }
    // One statement: every table moves, the receipt with them, or none does.
    conn.query_drop(format!("RENAME TABLE {}", moves.join(", ")))
        .await?;
    crash_point(AFTER_RENAME);
    Ok(())
}

/// The binary log from the dump's coordinates to the time, read from the server.
fn span_args(req: &Request, span: &Span) -> [String; 4] {
    [
        "--read-from-remote-server".to_owned(),
        "--to-last-log".to_owned(),
        format!("--start-position={}", span.dump.log_pos),
        format!("--stop-datetime={}", req.time.format("%Y-%m-%d %H:%M:%S")),
    ]
}

/// Drops every scratch database of server `id` (left by this run or an interrupted one).
async fn drop_scratch(conn: &mut mysql_async::Conn, id: &str) -> Result<(), Error> {
    let stem = scratch_stem(id);
    let all: Vec<String> = conn
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .await?;
    for db in all.into_iter().filter(|d| d.starts_with(&stem)) {
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(&db)))
            .await?;
    }
    Ok(())
}

async fn drop_if_empty(conn: &mut mysql_async::Conn, db: &str) -> Result<(), Error> {
    let n: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
            (db,),
        )
        .await?;
    if n == Some(0) {
        // No tables may also mean no database (not made yet): nothing to drop then.
        conn.query_drop(format!("DROP DATABASE IF EXISTS {}", quote(db)))
            .await?;
    }
    Ok(())
}

/// `+08:00` → `UTC-08:00` (POSIX TZ signs are reversed): the binlog tool reads
/// `--stop-datetime` in its local time zone, which must be the plan's.
fn posix_tz(offset: FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs >= 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_zones_have_reversed_signs() {
        let east = FixedOffset::east_opt(8 * 3600).expect("valid");
        assert_eq!(posix_tz(east), "UTC-08:00");
        let west = FixedOffset::west_opt(5 * 3600 + 1800).expect("valid");
        assert_eq!(posix_tz(west), "UTC+05:30");
    }

    #[test]
    fn scratch_names_carry_the_prefix_and_fit() {
        let name = scratch_name(&"x".repeat(64), 499);
        assert!(name.starts_with(SCRATCH_PREFIX));
        assert!(name.len() <= 64);
    }
}
