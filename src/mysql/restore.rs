//! One server's restore: the checks first ([`super::check`]), then scratch databases loaded
//! from the dump, the binary log replayed into them up to the time, `RENAME TABLE` to the new
//! names, scratch dropped.
//! On any failure the scratch databases (and any empty target database made) are dropped.
//! Scratch names derive from the plan's id of the server, so a re-run after a crash finds
//! and drops what an interrupted run left, then starts over.

use std::path::PathBuf;

use chrono::FixedOffset;
use mysql_async::prelude::Queryable;
use sha2::Digest;

use super::check::{Span, check_on, connect};
use super::credentials::Credentials;
use super::dump;
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

/// Restores `req`; progress goes to `progress`. Returns what the checks found.
pub async fn restore(
    req: &Request,
    creds: &Credentials,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Span, Error> {
    progress(Progress {
        phase: Phase::Checking,
        bytes: 0,
    });
    let mut conn = connect(req, creds).await?;
    // An interrupted earlier run of this server's restore left these: start clean.
    drop_scratch(&mut conn, &req.id).await?;
    if req.again {
        for (_, target) in &req.objects.dbs {
            drop_if_empty(&mut conn, target).await?;
        }
    }
    let span = check_on(&mut conn, req).await?;
    let work = Work::new(req)?;
    let mut made_targets = Vec::new();
    let result = run(
        &mut conn,
        req,
        &span,
        &work,
        creds,
        &mut made_targets,
        progress,
    )
    .await;
    if result.is_err() {
        // Leave nothing half-made: the scratch databases, and target databases made empty.
        for db in &made_targets {
            let _ = drop_if_empty(&mut conn, db).await;
        }
    }
    let cleaned = drop_scratch(&mut conn, &req.id).await;
    let _ = conn.disconnect().await;
    result?;
    cleaned?;
    progress(Progress {
        phase: Phase::Done,
        bytes: work.bytes(),
    });
    Ok(span)
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

async fn run(
    conn: &mut mysql_async::Conn,
    req: &Request,
    span: &Span,
    work: &Work,
    creds: &Credentials,
    made_targets: &mut Vec<String>,
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
    progress(Progress {
        phase: Phase::Renaming,
        bytes: work.bytes(),
    });
    let mut moves = Vec::new();
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
        conn.query_drop(format!("CREATE DATABASE {}", quote(target)))
            .await?;
        made_targets.push(target.clone());
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
    if !moves.is_empty() {
        // One statement: every table moves, or none does.
        conn.query_drop(format!("RENAME TABLE {}", moves.join(", ")))
            .await?;
    }
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
