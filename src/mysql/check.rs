//! The checks before a restore, which change nothing: the server answers, binary logging is
//! on, the newest dump before the time exists and the log reaches back to it without a gap,
//! the sources are in the dump, the targets are free. `plan` and `apply`'s preflight use them.

use mysql_async::prelude::Queryable;

use super::credentials::Credentials;
use super::dump::{self, Dump};
use super::{Error, Request};

/// What the checks found: the dump and the log span a restore would use (`plan` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub dump: Dump,
    /// The binary logs from the dump's file to the newest.
    pub logs: Vec<String>,
}

pub(super) async fn connect(
    req: &Request,
    creds: &Credentials,
) -> Result<mysql_async::Conn, Error> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(req.host.clone())
        .tcp_port(req.port)
        .user(creds.user.clone())
        .pass(creds.password.clone())
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .map_err(|e| Error::Unreachable {
            server: format!("{}:{}", req.host, req.port),
            reason: e.to_string(),
        })
}

/// Checks everything a restore needs without changing anything.
pub async fn check(req: &Request, creds: &Credentials) -> Result<Span, Error> {
    let mut conn = connect(req, creds).await?;
    let span = check_on(&mut conn, req).await;
    let _ = conn.disconnect().await;
    span
}

pub(super) async fn check_on(conn: &mut mysql_async::Conn, req: &Request) -> Result<Span, Error> {
    let server = format!("{}:{}", req.host, req.port);
    let log_bin: Option<i64> = conn.query_first("SELECT @@log_bin").await?;
    if log_bin != Some(1) {
        return Err(Error::NoBinlog(server));
    }
    let dump = dump::newest_before(&req.backups, req.time)?;
    let rows: Vec<mysql_async::Row> = conn.query("SHOW BINARY LOGS").await?;
    let listed: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    let logs = log_span(&listed, &dump.log_file)?;
    let contents = dump::contents(&dump.path)?;
    let in_dump = |db: &str, table: Option<&str>| {
        contents
            .iter()
            .any(|(d, tables)| d == db && table.is_none_or(|t| tables.iter().any(|x| x == t)))
    };
    for (source, target) in &req.objects.dbs {
        if !in_dump(source, None) {
            return Err(Error::MissingSource(format!("database `{source}`")));
        }
        let n: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                (target,),
            )
            .await?;
        if n.unwrap_or(0) > 0 {
            return Err(Error::TargetExists(format!("database `{target}`")));
        }
    }
    for (db, source, target) in &req.objects.tables {
        if !in_dump(db, Some(source)) {
            return Err(Error::MissingSource(format!("table `{db}`.`{source}`")));
        }
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
    Ok(Span { dump, logs })
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
}
