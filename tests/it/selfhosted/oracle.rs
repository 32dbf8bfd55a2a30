//! The independent oracle of `docs/oracle.md`, made with the server's own tools and
//! nothing of planrun: a second fresh server, the same dump loaded whole, production's binary
//! log replayed from the dump's coordinates up to the time (`mariadb-binlog --start-position
//! --stop-datetime | mariadb`). And what must not change on production: every other table's
//! checksum, the definitions in `information_schema`, no planrun database, and a binary log
//! that after a restore holds only the result's writes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::NaiveDateTime;
use mysql_async::prelude::Queryable;

use super::server::{Server, tool};

/// The dump's `MASTER_LOG_FILE` and `MASTER_LOG_POS`, read as a person would.
fn coordinates(text: &str) -> (String, u64) {
    let line = text
        .lines()
        .find(|l| l.contains("MASTER_LOG_FILE='"))
        .expect("a dump with --master-data");
    let file = line
        .split("MASTER_LOG_FILE='")
        .nth(1)
        .and_then(|r| r.split('\'').next());
    let pos = line
        .split("MASTER_LOG_POS=")
        .nth(1)
        .and_then(|r| r.trim_end_matches(';').parse().ok());
    (file.expect("file").to_owned(), pos.expect("position"))
}

/// A dump's bytes (it may hold binary strings), decompressed.
fn dump_bytes(dump: &Path) -> Vec<u8> {
    let file = std::fs::File::open(dump).expect("dump");
    let mut bytes = Vec::new();
    if dump.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(file)
            .read_to_end(&mut bytes)
            .expect("gunzip");
    } else {
        std::io::BufReader::new(file)
            .read_to_end(&mut bytes)
            .expect("read");
    }
    bytes
}

fn pipe_into(server: &Server, producer: &mut Command) {
    let mut source = producer
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("producer runs");
    let out = source.stdout.take().expect("stdout");
    let sink = Command::new(tool(&["mariadb", "mysql"]))
        .args(server.client_args())
        .stdin(out)
        .output()
        .expect("mariadb runs");
    let produced = source.wait_with_output().expect("producer ends");
    assert!(
        produced.status.success(),
        "{}",
        String::from_utf8_lossy(&produced.stderr)
    );
    assert!(
        sink.status.success(),
        "{}",
        String::from_utf8_lossy(&sink.stderr)
    );
}

/// The oracle's restore of production to `time` (UTC) from `dump`.
pub async fn restore(production: &Server, dump: &Path, time: NaiveDateTime) -> Server {
    let oracle = Server::start().await;
    let bytes = dump_bytes(dump);
    let (file, pos) = coordinates(&String::from_utf8_lossy(&bytes));
    let dir = tempfile::tempdir().expect("dir");
    let plain = dir.path().join("dump.sql");
    std::fs::write(&plain, &bytes).expect("dump copy");
    pipe_into(&oracle, Command::new("cat").arg(&plain));
    pipe_into(
        &oracle,
        Command::new(tool(&["mariadb-binlog", "mysqlbinlog"]))
            .args(production.client_args())
            .args([
                "--read-from-remote-server".to_owned(),
                "--to-last-log".to_owned(),
                format!("--start-position={pos}"),
                // Written out, not planrun's `contract::TIME_FORMAT`: the oracle shares
                // nothing with the code it judges (mariadb-binlog's own format).
                format!("--stop-datetime={}", time.format("%Y-%m-%d %H:%M:%S")),
                file,
            ])
            .env("TZ", "UTC"),
    );
    oracle
}

/// `CHECKSUM TABLE` and every row, each column as `HEX(CAST(col AS BINARY))`, sorted.
pub async fn state(server: &Server, db: &str, table: &str) -> (Option<i64>, Vec<String>) {
    let mut c = server.conn().await;
    let columns: Vec<String> = c
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .expect("columns");
    assert!(!columns.is_empty(), "{db}.{table} does not exist");
    let list: Vec<String> = columns
        .iter()
        .map(|col| format!("IFNULL(HEX(CAST(`{col}` AS BINARY)), 'NULL')"))
        .collect();
    let mut rows: Vec<String> = c
        .query(format!(
            "SELECT CONCAT_WS('|', {}) FROM `{db}`.`{table}`",
            list.join(", ")
        ))
        .await
        .expect("rows");
    rows.sort();
    let sum: Option<(String, Option<i64>)> = c
        .query_first(format!("CHECKSUM TABLE `{db}`.`{table}`"))
        .await
        .expect("checksum");
    let _ = c.disconnect().await;
    (sum.and_then(|s| s.1), rows)
}

/// What must not change on production: each base table's checksum, the definitions of
/// triggers, views, routines and events, the databases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub tables: BTreeMap<String, Option<i64>>,
    pub definitions: Vec<String>,
    pub databases: Vec<String>,
}

const USER_DBS: &str = "NOT IN ('mysql','sys','information_schema','performance_schema')";

pub async fn fingerprint(server: &Server) -> Fingerprint {
    let mut c = server.conn().await;
    let names: Vec<(String, String)> = c
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA {USER_DBS} ORDER BY 1, 2"
        ))
        .await
        .expect("tables");
    let mut tables = BTreeMap::new();
    for (d, t) in names {
        let sum: Option<(String, Option<i64>)> = c
            .query_first(format!("CHECKSUM TABLE `{d}`.`{t}`"))
            .await
            .expect("checksum");
        tables.insert(format!("{d}.{t}"), sum.and_then(|s| s.1));
    }
    let mut definitions: Vec<String> = Vec::new();
    for q in [
        format!(
            "SELECT CONCAT_WS(' ', 'trigger', TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, ACTION_STATEMENT) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA {USER_DBS}"
        ),
        format!(
            "SELECT CONCAT_WS(' ', 'view', TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION) FROM information_schema.VIEWS WHERE TABLE_SCHEMA {USER_DBS}"
        ),
        format!(
            "SELECT CONCAT_WS(' ', 'routine', ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_DEFINITION) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA {USER_DBS}"
        ),
        format!(
            "SELECT CONCAT_WS(' ', 'event', EVENT_SCHEMA, EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA {USER_DBS}"
        ),
    ] {
        let mut found: Vec<String> = c.query(q).await.expect("definitions");
        definitions.append(&mut found);
    }
    definitions.sort();
    let databases: Vec<String> = c
        .query(format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME {USER_DBS} ORDER BY 1"
        ))
        .await
        .expect("databases");
    let _ = c.disconnect().await;
    Fingerprint {
        tables,
        definitions,
        databases,
    }
}

/// Where production's binary log is now (`SHOW MASTER STATUS`).
pub async fn log_position(server: &Server) -> (String, u64) {
    let mut c = server.conn().await;
    let row: Option<mysql_async::Row> = c.query_first("SHOW MASTER STATUS").await.expect("status");
    let _ = c.disconnect().await;
    let row = row.expect("binary logging is on");
    (
        row.get::<String, _>(0).expect("file"),
        row.get::<u64, _>(1).expect("position"),
    )
}

/// `(Event_type, Info)` of every event written since `from`.
pub async fn events_since(server: &Server, from: &(String, u64)) -> Vec<(String, String)> {
    let mut c = server.conn().await;
    let logs: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await.expect("logs");
    let mut out = Vec::new();
    for log in logs {
        let name: String = log.get(0).expect("name");
        if older(&name, &from.0) {
            continue;
        }
        let q = if name == from.0 {
            format!("SHOW BINLOG EVENTS IN '{name}' FROM {}", from.1)
        } else {
            format!("SHOW BINLOG EVENTS IN '{name}'")
        };
        let events: Vec<mysql_async::Row> = c.query(q).await.expect("events");
        for e in events {
            out.push((
                e.get::<String, _>("Event_type").expect("type"),
                e.get::<String, _>("Info").unwrap_or_default(),
            ));
        }
    }
    let _ = c.disconnect().await;
    out
}

fn older(name: &str, than: &str) -> bool {
    name < than
}

/// Asserts that the events since `from` are a restore's landing of `targets` and nothing
/// else: tables made under `_planrun_` names, their rows, one rename to the targets, and the
/// temporary databases of `dbs` restores.
pub fn only_landing(events: &[(String, String)], targets: &[&str]) {
    let mut renamed = false;
    for (kind, info) in events {
        match kind.as_str() {
            "Gtid" | "Xid" | "Format_desc" | "Rotate" | "Gtid_list" | "Binlog_checkpoint"
            | "Annotate_rows" | "Write_rows_v1" | "Write_rows" => {}
            "Table_map" => assert!(
                info.contains("._planrun_") || info.contains("(_planrun_"),
                "a row event of another table: {info}"
            ),
            "Query" => {
                // `use db; set ...; STATEMENT`: the statement is last.
                let statement = info.rsplit("; ").next().unwrap_or(info);
                let ours = statement.starts_with("CREATE TABLE `_planrun_")
                    || (statement.starts_with("CREATE TABLE `")
                        && info.starts_with("use `_planrun_"))
                    || statement.starts_with("CREATE DATABASE `_planrun_")
                    || statement.starts_with("DROP DATABASE IF EXISTS `_planrun_")
                    || statement.starts_with("/*!40101 SET")
                    || targets
                        .iter()
                        .any(|t| statement == format!("CREATE DATABASE `{t}`"))
                    || (statement.starts_with("RENAME TABLE `") && {
                        renamed = true;
                        targets
                            .iter()
                            .all(|t| statement.contains(&format!("`{t}`")))
                    });
                assert!(ours, "a statement that is not the landing's: {info}");
            }
            other => panic!("an event the landing does not write: {other} {info}"),
        }
    }
    assert!(renamed, "no rename: {events:#?}");
}

/// No file of planrun's is left in `tmp` (scratch servers, working files).
pub fn no_temp_files(tmp: &Path) {
    let left: Vec<String> = std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("planrun-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the temporary directory: {left:?}");
}
