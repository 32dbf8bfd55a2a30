//! One server's restore, step by step: the checks ([`super::check`]); the scratch server
//! (`super::scratch`) with the dump loaded (`super::load`); the span decoded from
//! production, judged and filtered in one pass (`super::span`), then replayed on the
//! scratch server; the result landed on production (`super::land`).
//!
//! Production is only read until the landing. On any failure, and on a stop, what the
//! restore made on production (the temporary tables and databases its ledger lists) is
//! dropped, and the scratch server with its data removed. A re-run of the same restore
//! after a crash reads the ledger first: landed (renamed) means done; anything else is
//! dropped and done again.

use std::path::PathBuf;
use std::process::Stdio;

use mysql_async::prelude::Queryable;

use super::check::{Span, check_on, connect_to};
use super::credentials::Credentials;
use super::land::{self, Landed};
use super::ledger::{Landing, Ledger};
use super::progress::{Meter, Unit, counter, metered};
pub use super::progress::{Phase, Progress};
pub use super::recover::{abandon, forget};
use super::recover::{leftovers, take_back};
use super::scratch::Scratch;
use super::span::{Judge, Judged};
pub use super::summary::Summary;
use super::tools::{self, Proc};
use super::{Error, Request};
use crate::contract::TIME_FORMAT;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The dump and log span (`None`: done by an earlier, interrupted run).
    pub span: Option<Span>,
    pub judged: Judged,
    pub landed: Landed,
    /// An earlier run of the same restore had landed it (killed after its rename, before
    /// its caller recorded it done).
    pub earlier: bool,
}

impl Restored {
    /// Landed before this run could record it (`earlier`: by an interrupted run).
    fn already(tables: Vec<Landing>, earlier: bool) -> Self {
        Self {
            span: None,
            judged: Judged::default(),
            landed: Landed {
                tables,
                dropped_keys: Vec::new(),
            },
            earlier,
        }
    }
}

/// A private working directory of the restore (the filtered span). On a throwaway scratch
/// server it is inside that server's directory, which the watchdog removes even when planrun
/// is killed with -9; with a `restore_server` it is named by the restore, so that a re-run
/// removes what an interrupted run left.
fn work_dir_in(req: &Request, scratch: &Scratch) -> PathBuf {
    match scratch.dir() {
        Some(dir) => dir.join("work"),
        None => work_dir(req),
    }
}

/// The working directory of a restore on a `restore_server`.
pub(super) fn work_dir(req: &Request) -> PathBuf {
    let d = super::digest(&[&req.id, &req.run, "work"]);
    std::env::temp_dir().join(format!("planrun-work-{}", &d[..16]))
}

struct Work(PathBuf);

impl Work {
    async fn new(req: &Request, scratch: &Scratch) -> Result<Self, Error> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = work_dir_in(req, scratch);
        super::scratch::remove_tree(&dir).await?;
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Tells `progress` a phase that is not counted, and the bytes of SQL handed over so far.
fn teller(progress: &(dyn Fn(Progress) + Send + Sync)) -> impl Fn(Phase, u64) + '_ {
    move |phase, bytes| progress(Progress::at(phase, bytes))
}

/// Bytes between two progress ticks of a file fed to a server, at least (a hundredth of
/// the file otherwise).
pub(super) const MIN_STEP: u64 = 64 << 10;

/// Restores `req`; progress goes to `progress`; `stop` stops it (its child processes are
/// killed, what it made dropped: [`Error::Cancelled`]) unless it has reached its rename.
pub async fn restore(
    req: &Request,
    creds: &Credentials,
    progress: &(dyn Fn(Progress) + Send + Sync),
    stop: &super::Stop,
) -> Result<Restored, Error> {
    let say = teller(progress);
    say(Phase::Checking, 0);
    let ledger = Ledger::of(&req.state, &req.run);
    let mut prod = connect_to(req, creds).await?;
    if let Some(tables) = take_back(&mut prod, req, &ledger).await? {
        let _ = prod.disconnect().await;
        leftovers(req, creds).await?;
        say(Phase::Done, 0);
        return Ok(Restored::already(tables, true));
    }
    leftovers(req, creds).await?;
    if stop.requested() {
        let _ = prod.disconnect().await;
        return Err(Error::Cancelled);
    }
    let result = run(req, creds, &mut prod, &ledger, progress, stop).await;
    if result.is_err() {
        // Nothing half-made stays on production. The connection may have been stopped
        // mid-statement: clean up on a new one.
        let _ = prod.disconnect().await;
        let cleaned = match connect_to(req, creds).await {
            Ok(mut c) => {
                let r = take_back(&mut c, req, &ledger).await;
                let _ = c.disconnect().await;
                r
            }
            Err(e) => Err(e),
        };
        // A rename that went through before the stop took effect: the restore is done.
        if let Ok(Some(tables)) = cleaned {
            say(Phase::Done, 0);
            return Ok(Restored::already(tables, false));
        }
        if let Err(cleanup) = cleaned
            && let Err(cause) = result
        {
            return Err(Error::Unclean {
                cause: Box::new(cause),
                cleanup: Box::new(cleanup),
            });
        }
        return result;
    }
    let _ = prod.disconnect().await;
    result
}

async fn run(
    req: &Request,
    creds: &Credentials,
    prod: &mut mysql_async::Conn,
    ledger: &Ledger,
    progress: &(dyn Fn(Progress) + Send + Sync),
    stop: &super::Stop,
) -> Result<Restored, Error> {
    let say = teller(progress);
    let span = stoppable(stop, check_on(prod, req, creds)).await?;
    super::check::scratch_version(req, creds, &span.facts).await?;
    say(Phase::Starting, 0);
    let mut scratch = stoppable(stop, Scratch::open(req, creds, &span.dump.databases())).await?;
    let prepared = prepare(req, creds, prod, &mut scratch, &span, progress, stop).await;
    let result = match prepared {
        Ok((judged, bytes)) => {
            say(Phase::Copying, bytes);
            let ends = land::Ends {
                req,
                creds,
                scratch: &scratch,
            };
            land_all(&ends, prod, ledger, progress, stop, bytes)
                .await
                .map(|landed| (judged, landed))
        }
        Err(e) => Err(e),
    };
    // A failure caused by the scratch server's death says so.
    let result = match result {
        Err(e) => Err(scratch.death().await.unwrap_or(e)),
        ok => ok,
    };
    let closed = scratch.close(req).await;
    let (judged, landed) = result?;
    closed?;
    say(Phase::Done, judged.bytes);
    Ok(Restored {
        span: Some(span),
        judged,
        landed,
        earlier: false,
    })
}

/// Runs `work` unless a stop comes first (then its child processes die with it).
async fn stoppable<T>(
    stop: &super::Stop,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::select! {
        r = work => r,
        () = stop.wait() => Err(Error::Cancelled),
    }
}

/// The dump loaded and the span judged and replayed on the scratch server.
async fn prepare(
    req: &Request,
    creds: &Credentials,
    prod: &mut mysql_async::Conn,
    scratch: &mut Scratch,
    span: &Span,
    progress: &(dyn Fn(Progress) + Send + Sync),
    stop: &super::Stop,
) -> Result<(Judged, u64), Error> {
    let say = teller(progress);
    // The dump file's own bytes as they are read: its size is the one total known before
    // the load (a compressed dump's SQL is larger, and not known until it is read).
    let total = std::fs::metadata(&span.dump.path)?.len();
    let unit = if super::dump::compressed(&span.dump.path) {
        Unit::CompressedBytes
    } else {
        Unit::Bytes
    };
    let tell = counter(progress, Phase::Loading, total, unit, 0);
    tell(0);
    let (meter, mut ticks) = Meter::new(total, MIN_STEP);
    let loading = super::load::load(scratch, &span.dump, meter.clone());
    let loaded = metered(loading, &mut ticks, stop, &tell).await?;
    tell(meter.get());
    say(Phase::Reading, loaded);
    let mut reach = stoppable(stop, super::reach::reach(req, scratch, prod)).await?;
    let grants: Vec<String> = prod.query("SHOW GRANTS").await?;
    if !super::grants::sees_definitions(&grants) {
        // Triggers and views of databases the dump does not hold are unknown then: a
        // statement-logged write there may reach a restored table through one.
        let all: Vec<String> = prod
            .query(format!(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN {}",
                crate::contract::system_databases_sql()
            ))
            .await?;
        reach.blind = all
            .into_iter()
            .filter(|d| scratch.name(d).is_none())
            .map(|d| d.to_lowercase())
            .collect();
    }
    let work = Work::new(req, scratch).await?;
    let file = work.0.join("span.sql");
    let judged = stoppable(stop, judge(req, creds, scratch, span, &reach, &file)).await?;
    let judged = match judged {
        Ok(j) => j,
        Err(refusal) => return Err(Error::Refused(refusal)),
    };
    // The decoded span as it is fed to the scratch server, of the file's size.
    let total = std::fs::metadata(&file)?.len();
    let tell = counter(progress, Phase::Replaying, total, Unit::Bytes, loaded);
    tell(0);
    let (meter, mut ticks) = Meter::new(total, MIN_STEP);
    let fed = meter.clone();
    let mut args = scratch.tool_args();
    args.push("--max-allowed-packet=1G".into());
    let client = Proc::spawn(&tools::client()?, &args, Stdio::piped(), Stdio::null(), &[])?;
    let replay = tools::feed(client, move |stdin| {
        let mut f = std::fs::File::open(&file)?;
        let mut to = super::progress::Counting {
            inner: stdin,
            meter: fed,
        };
        std::io::copy(&mut f, &mut to)?;
        Ok(())
    });
    metered(replay, &mut ticks, stop, &tell).await?;
    tell(meter.get());
    drop(work);
    Ok((judged.clone(), loaded + judged.bytes))
}

/// Decodes the span from production (from the dump's coordinates to the time) and judges
/// it; what is to be replayed goes to `file`, the span's only copy on disk.
async fn judge(
    req: &Request,
    creds: &Credentials,
    scratch: &Scratch,
    span: &Span,
    reach: &super::span::Reach,
    file: &std::path::Path,
) -> Result<Result<Judged, super::span::Refusal>, Error> {
    let mut args = vec![
        "--to-last-log".to_owned(),
        format!("--start-position={}", span.dump.log_pos),
        format!("--stop-datetime={}", req.time.format(TIME_FORMAT)),
    ];
    if !scratch.throwaway() {
        for (source, name) in scratch.names() {
            args.push(format!("--rewrite-db={source}->{name}"));
        }
    }
    args.push(span.dump.log_file.clone());
    let (proc, out) = super::check::read_binlog(req, creds, &args)?;
    let reach = reach.clone();
    let first = span.dump.log_file.clone();
    let file = file.to_path_buf();
    let judged = tools::blocking(move || {
        let mut input = std::io::BufReader::with_capacity(1 << 16, out);
        let mut to = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&file)?);
        let verdict = Judge::new(&reach, &first).run(&mut input, &mut to)?;
        std::io::Write::flush(&mut to)?;
        Ok(verdict)
    });
    tokio::pin!(judged);
    let finished = proc.finish();
    tokio::pin!(finished);
    // A refusal ends the read at once (the tool is killed with its Proc).
    tokio::select! {
        j = &mut judged => {
            let j = j?;
            if j.is_err() {
                return Ok(j);
            }
            finished.await?;
            Ok(j)
        }
        f = &mut finished => {
            f?;
            judged.await
        }
    }
}

/// The restored tables of the scratch server onto production ([`land::land`]).
async fn land_all(
    ends: &land::Ends<'_>,
    prod: &mut mysql_async::Conn,
    ledger: &Ledger,
    progress: &(dyn Fn(Progress) + Send + Sync),
    stop: &super::Stop,
    bytes: u64,
) -> Result<Landed, Error> {
    let (req, scratch) = (ends.req, ends.scratch);
    let mut whole = Vec::new();
    let mut sconn = scratch.conn().await?;
    for (source, _) in &req.objects.dbs {
        let name = scratch.name(source).unwrap_or(source).to_owned();
        let tables: Vec<String> = sconn
            .exec(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
                (&name,),
            )
            .await?;
        whole.push(tables);
    }
    let _ = sconn.disconnect().await;
    let planned = land::landings(req, &whole);
    land::land(ends, prod, ledger, &planned, stop, progress, bytes).await
}
