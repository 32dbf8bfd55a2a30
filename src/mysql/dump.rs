//! The dumps of a `backups` directory: which one to start from (the newest finished before the
//! time), its binary-log coordinates, and the part of it a restore loads.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::Error;

/// A dump and what its comments say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub path: PathBuf,
    /// `-- Dump completed on ...` (the dumping machine's clock).
    pub finished: NaiveDateTime,
    /// From `CHANGE MASTER TO MASTER_LOG_FILE='..', MASTER_LOG_POS=..` (`--master-data=2`;
    /// `--source-data=2` writes `CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=...`).
    pub log_file: String,
    pub log_pos: u64,
}

fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = std::fs::File::open(path)?;
    let gzip = path.extension().is_some_and(|e| e == "gz");
    Ok(if gzip {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Reads a dump's comments. `None`: not a usable dump (no coordinates or never completed).
pub fn inspect(path: &Path) -> std::io::Result<Option<Dump>> {
    let mut coords = None;
    let mut finished = None;
    for line in open(path)?.split(b'\n') {
        let line = line?;
        if !line.starts_with(b"-- ") {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if coords.is_none() {
            coords = coordinates(&text);
        }
        if let Some(rest) = text.strip_prefix("-- Dump completed on ") {
            finished = completed(rest);
        }
    }
    Ok(coords
        .zip(finished)
        .map(|((log_file, log_pos), finished)| Dump {
            path: path.to_path_buf(),
            finished,
            log_file,
            log_pos,
        }))
}

/// `-- CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=1368;`, or the
/// `SOURCE_LOG_FILE`/`SOURCE_LOG_POS` spelling of MySQL 8.0.23+.
fn coordinates(line: &str) -> Option<(String, u64)> {
    let file_at = line
        .find("MASTER_LOG_FILE='")
        .map(|i| i + "MASTER_LOG_FILE='".len())
        .or_else(|| {
            line.find("SOURCE_LOG_FILE='")
                .map(|i| i + "SOURCE_LOG_FILE='".len())
        })?;
    let file = line[file_at..].split('\'').next()?.to_owned();
    let pos_at = line.find("_LOG_POS=").map(|i| i + "_LOG_POS=".len())?;
    let pos = line[pos_at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((file, pos))
}

/// `2026-12-01  7:34:09` (the hour is space-padded).
fn completed(rest: &str) -> Option<NaiveDateTime> {
    let mut words = rest.split_whitespace();
    let (date, time) = (words.next()?, words.next()?);
    NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M:%S").ok()
}

/// The newest dump of `dir` that finished before `time`.
pub fn newest_before(dir: &Path, time: NaiveDateTime) -> Result<Dump, Error> {
    let no_dump = |why: String| Error::NoDump {
        dir: dir.display().to_string(),
        time: time.to_string(),
        why,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| no_dump(format!(" (cannot read it: {e})")))?;
    let mut best: Option<Dump> = None;
    let mut seen = 0;
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.ends_with(".sql") || name.ends_with(".sql.gz")) {
            continue;
        }
        seen += 1;
        let Some(dump) = inspect(&path).map_err(|e| Error::BadDump {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?
        else {
            continue;
        };
        if dump.finished < time && best.as_ref().is_none_or(|b| dump.finished > b.finished) {
            best = Some(dump);
        }
    }
    best.ok_or_else(|| {
        no_dump(if seen == 0 {
            " (no *.sql or *.sql.gz files)".to_owned()
        } else {
            format!(
                " ({seen} dump files; none completed before it with --master-data=2 coordinates)"
            )
        })
    })
}

/// Databases and their tables in a dump (`-- Current Database:` / `CREATE TABLE` lines).
pub fn contents(path: &Path) -> std::io::Result<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in open(path)?.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if let Some(db) = text
            .strip_prefix("-- Current Database: ")
            .and_then(unquote_ident)
        {
            out.push((db, Vec::new()));
        } else if let Some(t) = text
            .strip_prefix("CREATE TABLE ")
            .and_then(|r| unquote_ident(r.split(" (").next().unwrap_or(r)))
            && let Some((_, tables)) = out.last_mut()
        {
            tables.push(t);
        }
    }
    Ok(out)
}

fn unquote_ident(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('`')?.strip_suffix('`')?;
    Some(inner.replace("``", "`"))
}

/// Writes the part of the dump that belongs to database `db` to `to`, as statements for the
/// current database (its `CREATE DATABASE` and `USE` are left out: the caller picks the
/// database). Session settings of the dump's header and footer are kept. Returns bytes written.
pub fn extract(path: &Path, db: &str, to: &mut impl Write) -> std::io::Result<u64> {
    let mut reader = open(path)?;
    let mut written = 0u64;
    // None: the header before any database; Some(true): inside `db`; Some(false): elsewhere.
    let mut inside: Option<bool> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(name) = text.strip_prefix("-- Current Database: ") {
            inside = Some(unquote_ident(name.trim_end()).as_deref() == Some(db));
            continue;
        }
        let keep = match inside {
            Some(true) => !(text.starts_with("USE ") || text.starts_with("CREATE DATABASE ")),
            // Session settings (`/*!40101 SET ...*/;`) before the first and after the last
            // database: harmless, and the data needs them (character set, checks off).
            None => text.starts_with("/*!"),
            Some(false) => text.starts_with("/*!") && text.contains(" SET "),
        };
        if keep {
            to.write_all(&line)?;
            written += line.len() as u64;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_of_both_spellings() {
        assert_eq!(
            coordinates("-- CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=1368;"),
            Some(("bin.000001".into(), 1368))
        );
        assert_eq!(
            coordinates(
                "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='b.000002', SOURCE_LOG_POS=4;"
            ),
            Some(("b.000002".into(), 4))
        );
        assert_eq!(coordinates("-- Host: x"), None);
    }

    #[test]
    fn completion_time_with_a_padded_hour() {
        assert_eq!(
            completed("2026-12-01  7:34:09"),
            NaiveDateTime::parse_from_str("2026-12-01 07:34:09", "%Y-%m-%d %H:%M:%S").ok()
        );
    }
}
