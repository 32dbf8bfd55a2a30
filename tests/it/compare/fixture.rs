//! The incident the tests compare after: a shop whose orders (DECIMAL, DATETIME, NULLs), tags
//! (a case-insensitive key) and log (no key) were dumped, then hit by an incident after the
//! rollback time, then written to legitimately; a self-hosted apply of the plan restores
//! `*_bak` as of the time.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use mysql_async::prelude::Queryable;

use crate::selfhosted::run::{apply, defaults_file, planrun, write_plan};
use crate::selfhosted::server::Server;

const SCHEMA: &str = "CREATE DATABASE shop; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, \
      amount DECIMAL(10,2) NOT NULL, note VARCHAR(40), placed DATETIME(6)) ENGINE=InnoDB; \
    INSERT INTO shop.orders SELECT seq, CONCAT('c', seq), seq * 1.25, \
      IF(seq % 5 = 0, NULL, CONCAT('n', seq)), '2026-01-01 00:00:00.25' + INTERVAL seq SECOND \
      FROM shop.seq_1_to_300; \
    CREATE TABLE shop.tags (code VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, \
      label VARCHAR(40)) ENGINE=InnoDB; \
    INSERT INTO shop.tags VALUES ('alpha', 'A'), ('beta', 'B'), ('gamma', 'G'), ('delta', 'D'); \
    CREATE TABLE shop.log (msg VARCHAR(40), n INT) ENGINE=InnoDB; \
    INSERT INTO shop.log VALUES ('boot', 1)";

/// The incident: 42 orders deleted, 20 amounts zeroed, a tag's key changed in case, a tag
/// deleted, the log emptied.
const INCIDENT: &str = "DELETE FROM shop.orders WHERE id % 7 = 0; \
    UPDATE shop.orders SET amount = 0 WHERE id BETWEEN 100 AND 119; \
    UPDATE shop.tags SET code = 'ALPHA' WHERE code = 'alpha'; \
    DELETE FROM shop.tags WHERE code = 'beta'; \
    DELETE FROM shop.log";

/// What happened since, on purpose: new orders, notes, a tag.
const LEGITIMATE: &str = "INSERT INTO shop.orders SELECT seq, CONCAT('new', seq), 1, NULL, NULL \
      FROM shop.seq_1001_to_1010; \
    UPDATE shop.orders SET note = 'legit' WHERE id IN (1, 2); \
    INSERT INTO shop.tags VALUES ('epsilon', 'E')";

/// A server after the incident, with the plan applied.
pub struct Restored {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub plan: PathBuf,
    pub time: NaiveDateTime,
}

impl Restored {
    /// `planrun ARGS` in the test's directory, its clock just after the time.
    pub fn planrun(&self) -> crate::support::Test {
        planrun(self.dir.path(), self.time)
    }

    /// `planrun compare PLAN --defaults-file ... ARGS`.
    pub fn compare(&self, args: &[&str]) -> crate::support::Output {
        self.planrun()
            .arg("compare")
            .arg(&self.plan)
            .arg("--defaults-file")
            .arg(self.dir.path().join("client.cnf"))
            .args(args)
            .run()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn at(unix: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .expect("time")
        .naive_utc()
}

/// The story, then `apply` of a plan restoring `shop.orders`, `shop.tags` and `shop.log`.
pub async fn restored() -> Restored {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).expect("dumps");
    server.admin(SCHEMA).await;
    server.dump(&["shop"], &dumps.join("shop.sql"));
    // Binary-log events carry the statement's time: stamped in the future, the incident is
    // after the rollback time on a clock the test controls (as the self-hosted tests do).
    let t0 = Utc::now().timestamp() + 1000;
    server
        .admin(&format!("SET TIMESTAMP = {}; {INCIDENT}", t0 + 100))
        .await;
    server
        .admin(&format!("SET TIMESTAMP = {}; {LEGITIMATE}", t0 + 200))
        .await;
    let time = at(t0 + 50);
    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop\n    server: 127.0.0.1:{}\n    backups: dumps\n    strategy: table\n    tables:\n      shop: [orders, tags, log]\n",
            server.port
        ),
        time,
    );
    let out = apply(&plan, dir.path(), time).run();
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    Restored {
        server,
        dir,
        plan,
        time,
    }
}

/// Deleted, inserted and changed rows of `db.bak` against `db.src`, by the test's own SQL:
/// anti-joins on the key, and a join on the key with every column compared byte for byte.
pub async fn independent(
    server: &Server,
    db: &str,
    src: &str,
    bak: &str,
    key: &str,
    columns: &[&str],
) -> (i64, i64, i64) {
    let same: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST(b.`{c}` AS BINARY) <=> CAST(s.`{c}` AS BINARY)"))
        .collect();
    let deleted = server
        .count(&format!("SELECT COUNT(*) FROM {db}.{bak} b LEFT JOIN {db}.{src} s ON s.{key} = b.{key} WHERE s.{key} IS NULL"))
        .await;
    let inserted = server
        .count(&format!("SELECT COUNT(*) FROM {db}.{src} s LEFT JOIN {db}.{bak} b ON b.{key} = s.{key} WHERE b.{key} IS NULL"))
        .await;
    let changed = server
        .count(&format!(
            "SELECT COUNT(*) FROM {db}.{bak} b JOIN {db}.{src} s ON s.{key} = b.{key} WHERE NOT ({})",
            same.join(" AND ")
        ))
        .await;
    (deleted, inserted, changed)
}

/// Every row of a table as one text, in key order (for "nothing else changed").
pub async fn rows(server: &Server, sql: &str) -> Vec<String> {
    let mut c = server.conn().await;
    let rows: Vec<String> = c.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = c.disconnect().await;
    rows
}

/// The server's binary-log position (file, offset) now.
pub async fn binlog_position(server: &Server) -> (String, u64) {
    let mut c = server.conn().await;
    let row: Option<mysql_async::Row> = c
        .query_first("SHOW MASTER STATUS")
        .await
        .expect("master status");
    let _ = c.disconnect().await;
    let row = row.expect("binary logging is on");
    (row.get(0).expect("file"), row.get(1).expect("position"))
}

/// The JSON document `compare --format json` printed.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// The table `source` of a comparison.
pub fn table<'a>(doc: &'a serde_json::Value, source: &str) -> &'a serde_json::Value {
    doc["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["source"] == source))
        .unwrap_or_else(|| panic!("no {source} in {doc}"))
}
