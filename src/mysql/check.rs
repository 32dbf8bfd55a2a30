//! The checks before a restore, which change nothing: the server answers (and accepts the
//! credentials), binary logging is on, the dump to start from — chosen by its binary-log
//! coordinates and the log's own event times — the log reaching back to it without a gap,
//! the sources in the dump, the targets free, the scratch server's version. `plan`, `plan
//! --preflight` and `apply`'s preflight use them.

use std::process::Stdio;

use mysql_async::prelude::Queryable;

use super::credentials::Credentials;
use super::dump::{self, Dump};
use super::scratch::Version;
use super::span::latest_time;
use super::tools::{self, Proc};
use super::{Error, Request};

/// What the server says of its logging (`plan` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub version: String,
    pub binlog_format: String,
    pub binlog_row_image: String,
    /// MariaDB: `gtid_strict_mode=ON|OFF, gtid_binlog_pos=...`; MySQL: `gtid_mode=...`.
    pub gtid: String,
}

impl std::fmt::Display for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, binlog_format={}, binlog_row_image={}, {}",
            self.version, self.binlog_format, self.binlog_row_image, self.gtid
        )
    }
}

/// What the checks found: the dump and log span a restore would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub dump: Dump,
    /// What was (not) checked of the dump's GTID position against the log at its
    /// coordinates.
    pub gtid_check: String,
    /// The binary logs from the dump's file to the newest.
    pub logs: Vec<String>,
    pub facts: Facts,
    /// Newer dumps passed over, and why.
    pub skipped: Vec<(String, String)>,
}

/// A driver connection; a refusal of the credentials is [`Error::Auth`].
pub async fn connect(
    host: &str,
    port: u16,
    creds: &Credentials,
) -> Result<mysql_async::Conn, Error> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host.to_owned())
        .tcp_port(port)
        .user(creds.user.clone())
        .pass(creds.password.clone())
        .prefer_socket(false);
    let server = format!("{host}:{port}");
    mysql_async::Conn::new(opts).await.map_err(|e| match &e {
        // Access denied (1045), to a database (1044), by the plugin (1698).
        mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1045 | 1698) => Error::Auth {
            server,
            reason: s.message.clone(),
        },
        _ => Error::Unreachable {
            server,
            reason: e.to_string(),
        },
    })
}

pub(super) async fn connect_to(
    req: &Request,
    creds: &Credentials,
) -> Result<mysql_async::Conn, Error> {
    connect(&req.host, req.port, creds).await
}

/// Checks everything a restore needs without changing anything.
pub async fn check(req: &Request, creds: &Credentials) -> Result<Span, Error> {
    let mut conn = connect_to(req, creds).await?;
    let span = check_on(&mut conn, req, creds).await;
    let _ = conn.disconnect().await;
    span
}

/// [`check`], then the privileges the README lists (`SHOW GRANTS`) and the scratch server.
pub async fn preflight(req: &Request, creds: &Credentials) -> Result<Span, Error> {
    let mut conn = connect_to(req, creds).await?;
    let result = async {
        // The privileges first: a missing one is named, not met as an error later.
        let grants: Vec<String> = conn.query("SHOW GRANTS").await?;
        let missing = super::grants::missing(&grants, &super::grants::needed(req));
        if !missing.is_empty() {
            return Err(Error::Privileges(format!(
                "{} (see the README's list)",
                missing.join(", ")
            )));
        }
        let span = check_on(&mut conn, req, creds).await?;
        scratch_version(req, creds, &span.facts).await?;
        Ok(span)
    }
    .await;
    let _ = conn.disconnect().await;
    result
}

/// The scratch server is of production's flavour and major version.
pub async fn scratch_version(
    req: &Request,
    creds: &Credentials,
    facts: &Facts,
) -> Result<(), Error> {
    let production = Version::parse(&facts.version).ok_or_else(|| {
        Error::Scratch(format!(
            "production's version {:?} is not understood",
            facts.version
        ))
    })?;
    let scratch = match &req.restore_server {
        None => super::scratch::local_version().await?,
        Some((host, port)) => {
            let mut c = connect(host, *port, creds).await?;
            let v: Option<String> = c.query_first("SELECT VERSION()").await?;
            let _ = c.disconnect().await;
            Version::parse(v.as_deref().unwrap_or_default()).ok_or_else(|| {
                Error::Scratch("the restore_server's version is not understood".into())
            })?
        }
    };
    match scratch.mismatch(&production) {
        Some(why) => Err(Error::Scratch(why)),
        None => Ok(()),
    }
}

async fn facts(conn: &mut mysql_async::Conn) -> Result<Facts, Error> {
    let row: Option<(String, String, String)> = conn
        .query_first("SELECT VERSION(), @@binlog_format, @@binlog_row_image")
        .await?;
    let (version, binlog_format, binlog_row_image) = row.unwrap_or_default();
    let gtid = if version.to_ascii_lowercase().contains("mariadb") {
        let g: Option<(i64, String)> = conn
            .query_first("SELECT @@gtid_strict_mode, @@gtid_binlog_pos")
            .await?;
        let (strict, pos) = g.unwrap_or_default();
        format!(
            "gtid_strict_mode={}, gtid_binlog_pos={}",
            if strict == 1 { "ON" } else { "OFF" },
            if pos.is_empty() { "(none)" } else { &pos }
        )
    } else {
        let g: Option<String> = conn.query_first("SELECT @@gtid_mode").await?;
        format!("gtid_mode={}", g.unwrap_or_default())
    };
    Ok(Facts {
        version,
        binlog_format,
        binlog_row_image,
        gtid,
    })
}

pub(super) async fn check_on(
    conn: &mut mysql_async::Conn,
    req: &Request,
    creds: &Credentials,
) -> Result<Span, Error> {
    let server = req.server();
    let log_bin: Option<i64> = conn.query_first("SELECT @@log_bin").await?;
    if log_bin != Some(1) {
        return Err(Error::NoBinlog(server));
    }
    let facts = facts(conn).await?;
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await?;
    let listed: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    let mariadb = facts.version.to_ascii_lowercase().contains("mariadb");
    let (dump, gtid_check, skipped) = choose(conn, req, creds, &listed, mariadb).await?;
    let logs = log_span(&listed, &dump.log_file)?;
    for (source, target) in &req.objects.dbs {
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                (target,),
            )
            .await?;
        if n.unwrap_or(0) > 0 {
            return Err(Error::TargetExists(format!("database `{target}`")));
        }
        let _ = source;
    }
    for (db, _, target) in &req.objects.tables {
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                (db, target),
            )
            .await?;
        if n.unwrap_or(0) > 0 {
            return Err(Error::TargetExists(format!("table `{db}`.`{target}`")));
        }
    }
    Ok(Span {
        dump,
        gtid_check,
        logs,
        facts,
        skipped,
    })
}

/// The latest dump (by coordinates) that holds every source, whose GTID position (when it
/// records one and the server can tell) is the log's own at its coordinates, and whose
/// coordinates the log shows to precede the time: no event before them is stamped at or
/// after it. With it, what was (not) checked of its GTID position.
async fn choose(
    conn: &mut mysql_async::Conn,
    req: &Request,
    creds: &Credentials,
    listed: &[String],
    mariadb: bool,
) -> Result<(Dump, String, Vec<(String, String)>), Error> {
    let no_dump = |why: String| Error::NoDump {
        dir: req.backups.display().to_string(),
        time: req.time.to_string(),
        why,
    };
    let (dumps, unusable) =
        dump::candidates(&req.backups).map_err(|e| no_dump(format!("cannot read it: {e}")))?;
    let mut skipped: Vec<(String, String)> = unusable
        .into_iter()
        .map(|(p, why)| (p.display().to_string(), why))
        .collect();
    for d in dumps {
        let name = d.path.display().to_string();
        if let Some(why) = lacks(req, &d) {
            skipped.push((name, why));
            continue;
        }
        if !listed.contains(&d.log_file) {
            skipped.push((
                name,
                format!("its binary log {} is no longer on the server", d.log_file),
            ));
            continue;
        }
        let log = match &d.gtid {
            Some(_) => log_gtid(conn, mariadb, &d).await?,
            None => None,
        };
        let gtid_check = match gtid_verdict(d.gtid.as_deref(), log.as_ref().map(Option::as_deref)) {
            Ok(note) => note,
            Err(why) => {
                skipped.push((name, why));
                continue;
            }
        };
        match latest_before(req, creds, &d).await? {
            Some(t) if t >= req.time => skipped.push((
                name,
                format!(
                    "it holds changes the log stamps {t}, not before the time (its coordinates {})",
                    d.coordinates()
                ),
            )),
            _ => return Ok((d, gtid_check, skipped)),
        }
    }
    Err(no_dump(if skipped.is_empty() {
        "no *.sql or *.sql.gz files".to_owned()
    } else {
        skipped
            .iter()
            .map(|(p, why)| format!("{p}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    }))
}

/// Why dump `d` cannot serve `req` (a source it does not hold).
fn lacks(req: &Request, d: &Dump) -> Option<String> {
    for (source, _) in &req.objects.dbs {
        if !d.has_db(source) {
            return Some(format!("it lacks database `{source}`"));
        }
    }
    for (db, t, _) in &req.objects.tables {
        if !d.has_table(db, t) {
            return Some(format!("it lacks table `{db}`.`{t}`"));
        }
    }
    None
}

/// Production's own GTID position at the dump's coordinates (`BINLOG_GTID_POS`, MariaDB):
/// `Some(None)` when it has none there (the coordinates are no event's start in its log),
/// `None` when the server cannot tell (MySQL has no such function).
async fn log_gtid(
    conn: &mut mysql_async::Conn,
    mariadb: bool,
    d: &Dump,
) -> Result<Option<Option<String>>, Error> {
    if !mariadb {
        return Ok(None);
    }
    let at: Option<Option<String>> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&d.log_file, d.log_pos))
        .await?;
    Ok(Some(at.flatten()))
}

/// Whether the dump's GTID position (`dump`) agrees with the log's at its coordinates
/// (`log`: as [`log_gtid`]): `Ok` says what was (not) checked, `Err` why the dump is not of
/// this log.
fn gtid_verdict(dump: Option<&str>, log: Option<Option<&str>>) -> Result<String, String> {
    let shown = |g: &str| {
        if g.is_empty() {
            "(empty)".to_owned()
        } else {
            g.to_owned()
        }
    };
    match (dump, log) {
        (None, _) => Ok("no GTID position recorded, none checked".to_owned()),
        (Some(g), None) => Ok(format!(
            "GTID {}, not checked: the server has no BINLOG_GTID_POS",
            shown(g)
        )),
        (Some(g), Some(None)) => Err(format!(
            "it records GTID {}, but its coordinates are no event's start in the server's log (BINLOG_GTID_POS is NULL there): not a dump of this log",
            shown(g)
        )),
        (Some(g), Some(Some(h))) if gtid_set(g) == gtid_set(h) => {
            Ok(format!("GTID {}, the log's own there", shown(g)))
        }
        (Some(g), Some(Some(h))) => Err(format!(
            "its GTID position {} contradicts the log's at its coordinates ({}): a dump of another server's history",
            shown(g),
            shown(h)
        )),
    }
}

/// A MariaDB GTID position (`domain-server-seq`, comma-separated, one per domain) as a
/// sorted list, so that the order of its domains does not matter.
fn gtid_set(pos: &str) -> Vec<&str> {
    let mut v: Vec<&str> = pos
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    v.sort_unstable();
    v
}

/// The latest event time of the dump's log file before its coordinates.
async fn latest_before(
    req: &Request,
    creds: &Credentials,
    d: &Dump,
) -> Result<Option<chrono::NaiveDateTime>, Error> {
    let (proc, out) = read_binlog(
        req,
        creds,
        &[format!("--stop-position={}", d.log_pos), d.log_file.clone()],
    )?;
    let read = tools::blocking(move || {
        let mut r = std::io::BufReader::with_capacity(1 << 16, out);
        Ok(latest_time(&mut r)?)
    });
    let (latest, finished) = tokio::join!(read, proc.finish());
    finished?;
    latest
}

/// `mariadb-binlog` reading production's log over the replication protocol, with `args`
/// (positions, files), printing times in the plan's zone; and the read end of its output.
pub(super) fn read_binlog(
    req: &Request,
    creds: &Credentials,
    args: &[String],
) -> Result<(Proc, std::fs::File), Error> {
    let mut all = tools::connection(creds.tool_option(), &req.host, req.port);
    all.push("--read-from-remote-server".to_owned());
    all.extend(args.iter().cloned());
    let tz = posix_tz(req.offset);
    let mut proc = Proc::spawn(
        &tools::binlog()?,
        &all,
        Stdio::null(),
        Stdio::piped(),
        &[("TZ", &tz)],
    )?;
    let out = tools::stdout_file(&mut proc)?;
    Ok((proc, out))
}

/// `+08:00` → `UTC-08:00` (POSIX TZ signs are reversed): the binlog tool reads and prints
/// times in its local time zone, which must be the plan's.
pub fn posix_tz(offset: chrono::FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs >= 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// The logs from `first` to the newest, which must all be there and numbered without a hole.
fn log_span(listed: &[String], first: &str) -> Result<Vec<String>, Error> {
    let Some(at) = listed.iter().position(|l| l == first) else {
        return Err(Error::LogTooShort {
            file: first.to_owned(),
            oldest: listed.first().cloned().unwrap_or_else(|| "none".into()),
        });
    };
    let span = listed[at..].to_vec();
    let number = |name: &str| name.rsplit('.').next().and_then(|n| n.parse::<u64>().ok());
    for pair in span.windows(2) {
        if let (Some(a), Some(b)) = (number(&pair[0]), number(&pair[1]))
            && b != a + 1
        {
            let stem = pair[0].rsplit_once('.').map_or("", |(s, _)| s);
            return Err(Error::LogGap {
                missing: format!("{stem}.{:06}", a + 1),
                from: pair[0].clone(),
                to: pair[1].clone(),
            });
        }
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_span_needs_the_dump_file_and_no_hole() {
        let l = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            log_span(&l(&["b.000001", "b.000002", "b.000003"]), "b.000002").expect("ok"),
            l(&["b.000002", "b.000003"])
        );
        assert!(matches!(
            log_span(&l(&["b.000003"]), "b.000002"),
            Err(Error::LogTooShort { .. })
        ));
        assert!(matches!(
            log_span(&l(&["b.000001", "b.000003"]), "b.000001"),
            Err(Error::LogGap { missing, .. }) if missing == "b.000002"
        ));
    }

    #[test]
    fn a_dump_is_of_this_log_only_when_its_gtid_is_the_logs_own_at_its_coordinates() {
        // Equal, whatever the order of the domains.
        assert!(gtid_verdict(Some("0-1-8,1-1-3"), Some(Some("1-1-3,0-1-8"))).is_ok());
        assert!(gtid_verdict(Some(""), Some(Some(""))).is_ok());
        // Another server's history (a sibling shard), or another point of it.
        let other = gtid_verdict(Some("0-2-3"), Some(Some("0-1-3")));
        assert!(other.is_err_and(|why| why.contains("0-2-3") && why.contains("0-1-3")));
        assert!(gtid_verdict(Some("0-1-3"), Some(Some("0-1-4"))).is_err());
        assert!(gtid_verdict(Some("0-1-3"), Some(Some(""))).is_err());
        // The coordinates are no position of this log.
        assert!(gtid_verdict(Some("0-1-3"), Some(None)).is_err());
    }

    #[test]
    fn what_could_not_be_checked_is_said() {
        assert_eq!(
            gtid_verdict(None, None).as_deref(),
            Ok("no GTID position recorded, none checked")
        );
        assert!(
            gtid_verdict(Some("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"), None)
                .is_ok_and(|note| note.contains("not checked"))
        );
    }

    #[test]
    fn posix_zones_have_reversed_signs() {
        let east = chrono::FixedOffset::east_opt(8 * 3600).expect("valid");
        assert_eq!(posix_tz(east), "UTC-08:00");
        let west = chrono::FixedOffset::west_opt(5 * 3600 + 1800).expect("valid");
        assert_eq!(posix_tz(west), "UTC+05:30");
    }
}
