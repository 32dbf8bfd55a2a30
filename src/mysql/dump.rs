//! The dumps of a `backups` directory and what each says of itself: its binary-log
//! coordinates (`--master-data`/`--source-data`), its GTID position (`--gtid`), its databases
//! and tables. Which one a restore starts from is decided against the server's binary log
//! ([`super::check`]), never by a clock; reading a dump for loading is [`open`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// A dump and what its comments say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub path: PathBuf,
    /// From `CHANGE MASTER TO MASTER_LOG_FILE='..', MASTER_LOG_POS=..` (`--master-data=2`;
    /// `--source-data=2` writes `CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=...`).
    pub log_file: String,
    pub log_pos: u64,
    /// `gtid_slave_pos` (MariaDB `--gtid`) or `GTID_PURGED` (MySQL), when written.
    pub gtid: Option<String>,
    /// Databases and their tables (`-- Current Database:` / `CREATE TABLE` lines).
    pub contents: Vec<(String, Vec<String>)>,
}

impl Dump {
    pub fn has_db(&self, db: &str) -> bool {
        self.contents.iter().any(|(d, _)| d == db)
    }

    pub fn has_table(&self, db: &str, table: &str) -> bool {
        self.contents
            .iter()
            .any(|(d, tables)| d == db && tables.iter().any(|t| t == table))
    }

    pub fn databases(&self) -> Vec<String> {
        self.contents.iter().map(|(d, _)| d.clone()).collect()
    }

    /// The coordinates as `file:position`.
    pub fn coordinates(&self) -> String {
        format!("{}:{}", self.log_file, self.log_pos)
    }
}

/// A dump's text, decompressed when it ends in `.gz`.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    Ok(reader(path, std::fs::File::open(path)?))
}

/// Whether the dump at `path` is gzip-compressed (read through a decoder).
pub fn compressed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

/// The text of dump `path` read from `file` (its bytes, perhaps counted on the way).
pub fn reader(path: &Path, file: impl std::io::Read + Send + 'static) -> Box<dyn BufRead + Send> {
    if compressed(path) {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(file),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    }
}

/// Reads a dump once. `Ok(Err(why))`: not a usable dump, and why.
pub fn inspect(path: &Path) -> std::io::Result<Result<Dump, String>> {
    let mut coords = None;
    let mut gtid = None;
    let mut contents: Vec<(String, Vec<String>)> = Vec::new();
    let mut completed = false;
    for line in open(path)?.split(b'\n') {
        let line = line?;
        // Data lines are most of a dump: only their first bytes are looked at.
        if line.starts_with(b"INSERT ") {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some(comment) = text.strip_prefix("-- ") {
            if coords.is_none() {
                coords = coordinates(comment);
            }
            if gtid.is_none() {
                gtid = gtid_position(comment);
            }
            if let Some(db) = comment
                .strip_prefix("Current Database: ")
                .and_then(unquote_ident)
                && !contents.iter().any(|(d, _)| *d == db)
            {
                contents.push((db, Vec::new()));
            }
            completed |= comment.starts_with("Dump completed");
        } else if let Some(t) = text
            .strip_prefix("CREATE TABLE ")
            .and_then(|r| unquote_ident(r.split(" (").next().unwrap_or(r)))
            && let Some((_, tables)) = contents.last_mut()
        {
            tables.push(t);
        }
    }
    let Some((log_file, log_pos)) = coords else {
        return Ok(Err(
            "it has no binary-log coordinates (dump with --master-data=2 or --source-data=2)"
                .into(),
        ));
    };
    if !completed {
        return Ok(Err("it is incomplete (no `-- Dump completed` line)".into()));
    }
    Ok(Ok(Dump {
        path: path.to_path_buf(),
        log_file,
        log_pos,
        gtid,
        contents,
    }))
}

/// `CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=1368;`, or the
/// `SOURCE_LOG_FILE`/`SOURCE_LOG_POS` spelling of MySQL 8.0.23+.
fn coordinates(line: &str) -> Option<(String, u64)> {
    let file_at = ["MASTER_LOG_FILE='", "SOURCE_LOG_FILE='"]
        .iter()
        .find_map(|k| line.find(k).map(|i| i + k.len()))?;
    let file = line[file_at..].split('\'').next()?.to_owned();
    let pos_at = line.find("_LOG_POS=").map(|i| i + "_LOG_POS=".len())?;
    let pos = line[pos_at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((file, pos))
}

/// `SET GLOBAL gtid_slave_pos='0-1-8';` (MariaDB) or `SET @@GLOBAL.GTID_PURGED='...'`.
fn gtid_position(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = [
        "gtid_slave_pos='",
        "gtid_purged='",
        "gtid_purged=/*!80000 '+'*/ '",
    ]
    .iter()
    .find_map(|k| lower.find(k).map(|i| i + k.len()))?;
    Some(line[at..].split('\'').next()?.to_owned())
}

fn unquote_ident(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('`')?.strip_suffix('`')?;
    Some(inner.replace("``", "`"))
}

/// Files that are no usable dump, each with why.
pub type Unusable = Vec<(PathBuf, String)>;

/// Every `*.sql` and `*.sql.gz` of `dir`, read: usable dumps (latest coordinates first) and
/// the files that are not, with why.
pub fn candidates(dir: &Path) -> std::io::Result<(Vec<Dump>, Unusable)> {
    let mut dumps = Vec::new();
    let mut unusable = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".sql") || name.ends_with(".sql.gz")
        })
        .collect();
    paths.sort();
    for path in paths {
        match inspect(&path) {
            Ok(Ok(dump)) => dumps.push(dump),
            Ok(Err(why)) => unusable.push((path, why)),
            Err(e) => unusable.push((path, format!("cannot be read: {e}"))),
        }
    }
    // Latest first, by where in the log each was taken: no clock decides.
    dumps.sort_by_key(|d| std::cmp::Reverse(log_order(&d.log_file, d.log_pos)));
    Ok((dumps, unusable))
}

/// A binary log's coordinates as a sortable key (`bin.000012` → 12).
pub fn log_order(file: &str, pos: u64) -> (u64, u64) {
    let n = file
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (n, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_of_both_spellings() {
        assert_eq!(
            coordinates("CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=1368;"),
            Some(("bin.000001".into(), 1368))
        );
        assert_eq!(
            coordinates(
                "CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='b.000002', SOURCE_LOG_POS=4;"
            ),
            Some(("b.000002".into(), 4))
        );
        assert_eq!(coordinates("Host: x"), None);
    }

    #[test]
    fn gtid_positions_of_both_flavours() {
        assert_eq!(
            gtid_position("SET GLOBAL gtid_slave_pos='0-1-8';"),
            Some("0-1-8".into())
        );
        assert_eq!(
            gtid_position("SET @@GLOBAL.GTID_PURGED='3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5';"),
            Some("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5".into())
        );
    }

    #[test]
    fn dumps_sort_by_log_coordinates_not_by_name_or_clock() {
        assert!(log_order("bin.000010", 4) > log_order("bin.000009", 900));
        assert!(log_order("bin.000010", 500) > log_order("bin.000010", 4));
    }
}
