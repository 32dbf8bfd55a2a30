//! `planrun::mysql::restore` on a real server: table and db strategies equal the originals at
//! the time; refusals leave nothing behind.

use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use planrun::mysql::{self, Credentials, Objects, Request, TEMP_PREFIX};

use super::server::{PASSWORD, Server, USER};

/// Credentials as the tools find them: an option file (kept for the whole test run).
fn creds_with(password: &str) -> Credentials {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let path = dir.path().join(format!("{password}.cnf"));
    std::fs::write(
        &path,
        format!(
            "[client]\nuser={USER}\npassword=\"{}\"\n",
            password.replace('"', "\\\"")
        ),
    )
    .expect("option file");
    Credentials::find(Some(&path), None).expect("readable")
}

pub fn creds() -> Credentials {
    creds_with(PASSWORD)
}

pub(super) fn at(unix: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .expect("valid time")
        .naive_utc()
}

/// Where the requests' ledgers go (kept for the whole test run).
fn state_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
        .to_path_buf()
}

static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(super) fn request(port: u16, backups: &Path, time: NaiveDateTime, objects: Objects) -> Request {
    Request {
        id: "shop-1".into(),
        host: "127.0.0.1".into(),
        port,
        backups: backups.to_path_buf(),
        time,
        offset: FixedOffset::east_opt(0).expect("UTC"),
        objects,
        restore_server: None,
        state: state_dir(),
        // Each request a restore of its own, as each job of the engine is.
        run: format!(
            "local-shop-1-{}",
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ),
    }
}

/// `CHECKSUM TABLE` and the sorted rows of a table.
pub type Snapshot = (Option<i64>, Vec<String>);
/// Each table of the story as it was at the time.
pub type Expected = Vec<(String, Snapshot)>;

const SCHEMA: &str = "CREATE DATABASE shop; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
    CREATE TABLE shop.refunds (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
    CREATE DATABASE audit; \
    CREATE TABLE audit.events (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
    INSERT INTO shop.orders VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, NULL); \
    INSERT INTO shop.refunds VALUES (1, 5, 'r'); \
    INSERT INTO audit.events VALUES (1, 1, 'boot')";

/// Builds the story on a fresh server: schema and rows, a dump (`dump_name`), then changes
/// stamped `t0`, the time `t0 + 50`, an incident stamped `t0 + 100`. Returns the time and the
/// tables as they were at it.
pub async fn story(
    server: &Server,
    backups: &Path,
    dump_name: &str,
    between: &str,
) -> (NaiveDateTime, Expected) {
    server.admin(SCHEMA).await;
    server.dump(&["shop", "audit"], &backups.join(dump_name));
    // Binary-log events carry the statement's timestamp: stamping them in the future puts
    // "between the dump and the time" and "after the time" on a clock the test controls.
    let t0 = Utc::now().timestamp() + 1000;
    server
        .admin(&format!(
            "SET TIMESTAMP = {t0}; \
             INSERT INTO shop.orders VALUES (4, 40, 'new'), (5, 50, 'also new'); \
             UPDATE shop.orders SET amount = amount + 1, note = 'paid' WHERE id IN (1, 4); \
             DELETE FROM shop.orders WHERE id = 2; \
             INSERT INTO shop.refunds VALUES (2, 7, NULL); \
             UPDATE audit.events SET note = 'changed' WHERE id = 1"
        ))
        .await;
    if !between.is_empty() {
        server
            .admin(&format!("SET TIMESTAMP = {}; {between}", t0 + 10))
            .await;
    }
    let mut expected = Vec::new();
    for t in ["shop.orders", "shop.refunds", "audit.events"] {
        expected.push((t.to_owned(), server.snapshot(t).await));
    }
    server
        .admin(&format!(
            "SET TIMESTAMP = {}; \
             DELETE FROM shop.orders WHERE id > 1; \
             UPDATE shop.refunds SET amount = 0; \
             DROP TABLE audit.events",
            t0 + 100
        ))
        .await;
    (at(t0 + 50), expected)
}

/// A restore that nobody stops, recorded done as the engine does (its ledger removed).
pub(super) async fn run(
    req: &Request,
    creds: &Credentials,
    progress: &(dyn Fn(mysql::Progress) + Send + Sync),
) -> Result<mysql::Restored, mysql::Error> {
    let restored = mysql::restore(req, creds, progress, &mysql::Stop::never()).await?;
    mysql::restore::forget(req)?;
    Ok(restored)
}

pub fn expected_of<'a>(expected: &'a [(String, Snapshot)], table: &str) -> &'a Snapshot {
    &expected
        .iter()
        .find(|(t, _)| t == table)
        .expect("table in the story")
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_tables_and_databases_equal_the_originals_at_the_time() {
    let server = Server::start().await;
    let backups = tempfile::tempdir().expect("backups dir");
    let (time, expected) = story(&server, backups.path(), "shop-full.sql.gz", "").await;
    assert_ne!(
        expected_of(&expected, "shop.orders"),
        &server.snapshot("shop.orders").await,
        "the incident changed the original"
    );

    let tables = request(
        server.port,
        backups.path(),
        time,
        Objects {
            dbs: vec![],
            tables: vec![
                ("shop".into(), "orders".into(), "orders_bak".into()),
                ("shop".into(), "refunds".into(), "refunds_bak".into()),
            ],
        },
    );
    let phases = std::sync::Mutex::new(Vec::new());
    let span = run(&tables, &creds(), &|p| {
        phases.lock().expect("lock").push(p);
    })
    .await
    .unwrap_or_else(|e| panic!("table restore: {e}"));
    assert!(
        span.span
            .as_ref()
            .is_some_and(|s| s.dump.path.ends_with("shop-full.sql.gz"))
    );
    assert!(!span.earlier);
    assert_eq!(
        &server.snapshot("shop.orders_bak").await,
        expected_of(&expected, "shop.orders")
    );
    assert_eq!(
        &server.snapshot("shop.refunds_bak").await,
        expected_of(&expected, "shop.refunds")
    );
    let phases = phases.into_inner().expect("lock");
    assert_eq!(
        phases.last().map(|p| p.phase),
        Some(mysql::restore::Phase::Done)
    );
    assert!(
        phases.last().is_some_and(|p| p.bytes > 0),
        "bytes are counted"
    );
    // A compressed dump is counted in the bytes of its file, and says so.
    let gz = std::fs::metadata(backups.path().join("shop-full.sql.gz"))
        .expect("the dump")
        .len();
    let loading: Vec<_> = phases
        .iter()
        .filter(|p| p.phase == mysql::restore::Phase::Loading)
        .filter_map(|p| p.amount)
        .collect();
    assert!(
        loading
            .iter()
            .all(|a| a.unit == mysql::progress::Unit::CompressedBytes && a.total == gz),
        "{loading:?}"
    );
    assert_eq!(loading.last().map(|a| a.done), Some(gz), "{loading:?}");

    let dbs = request(
        server.port,
        backups.path(),
        time,
        Objects {
            dbs: vec![("audit".into(), "audit_bak".into())],
            tables: vec![],
        },
    );
    run(&dbs, &creds(), &|_| {})
        .await
        .unwrap_or_else(|e| panic!("db restore: {e}"));
    assert_eq!(
        &server.snapshot("audit_bak.events").await,
        expected_of(&expected, "audit.events")
    );

    // A target database that was there before (empty) is never taken, not even by a re-run
    // of the same restore: only databases its ledger lists as made by it are.
    server.admin("CREATE DATABASE audit_again").await;
    let again = request(
        server.port,
        backups.path(),
        time,
        Objects {
            dbs: vec![("audit".into(), "audit_again".into())],
            tables: vec![],
        },
    );
    for _ in 0..2 {
        let err = run(&again, &creds(), &|_| {})
            .await
            .expect_err("an existing target is refused");
        assert!(matches!(err, mysql::Error::TargetExists(_)), "{err}");
    }
    assert_eq!(server.databases_like("audit_again").await, ["audit_again"]);

    // Run again before its caller recorded it done (killed after the rename), the same
    // restore knows the targets for its own by its ledger; once forgotten, they are taken.
    let mut fresh = again.clone();
    fresh.objects.dbs = vec![("audit".into(), "audit_fresh".into())];
    let never = mysql::Stop::never();
    mysql::restore(&fresh, &creds(), &|_| {}, &never)
        .await
        .unwrap_or_else(|e| panic!("restore: {e}"));
    let redone = mysql::restore(&fresh, &creds(), &|_| {}, &never)
        .await
        .unwrap_or_else(|e| panic!("a re-run of the same restore: {e}"));
    assert!(redone.earlier, "{redone:?}");
    assert_eq!(
        &server.snapshot("audit_fresh.events").await,
        expected_of(&expected, "audit.events")
    );
    mysql::restore::forget(&fresh).unwrap_or_else(|e| panic!("forget: {e}"));
    let err = run(&fresh, &creds(), &|_| {})
        .await
        .expect_err("forgotten: the target is taken");
    assert!(matches!(err, mysql::Error::TargetExists(_)), "{err}");

    assert!(
        server.databases_like(TEMP_PREFIX).await.is_empty(),
        "nothing temporary left"
    );
    // The originals kept the incident: nothing touched them.
    assert_eq!(
        server.snapshot("shop.orders").await.1,
        vec!["1|11|paid".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_problem_and_leave_nothing_behind() {
    let server = Server::start().await;
    let backups = tempfile::tempdir().expect("backups dir");
    let (time, _) = story(
        &server,
        backups.path(),
        "shop.sql",
        // A schema change of a restored table between the dump and the time (checked last
        // below).
        "ALTER TABLE shop.orders ADD COLUMN extra INT",
    )
    .await;
    let orders = |target: &str| Objects {
        dbs: vec![],
        tables: vec![("shop".into(), "orders".into(), target.into())],
    };

    // A target that exists.
    server.admin("CREATE TABLE shop.taken (id INT)").await;
    let err = run(
        &request(server.port, backups.path(), time, orders("taken")),
        &creds(),
        &|_| {},
    )
    .await
    .expect_err("target exists");
    assert!(matches!(err, mysql::Error::TargetExists(_)), "{err}");

    // A source the dump does not hold.
    let missing = Objects {
        dbs: vec![],
        tables: vec![("shop".into(), "nope".into(), "nope_bak".into())],
    };
    let err = run(
        &request(server.port, backups.path(), time, missing),
        &creds(),
        &|_| {},
    )
    .await
    .expect_err("no such table");
    assert!(
        matches!(&err, mysql::Error::NoDump { why, .. } if why.contains("lacks table `shop`.`nope`")),
        "{err}"
    );

    // A time before every dump.
    let err = run(
        &request(
            server.port,
            backups.path(),
            at(1_000_000_000),
            orders("o_bak"),
        ),
        &creds(),
        &|_| {},
    )
    .await
    .expect_err("no dump before 2001");
    assert!(matches!(err, mysql::Error::NoDump { .. }), "{err}");

    // Wrong password: the error must not carry it.
    let wrong = creds_with("not-it");
    let err = run(
        &request(server.port, backups.path(), time, orders("o_bak")),
        &wrong,
        &|_| {},
    )
    .await
    .expect_err("wrong password");
    assert!(matches!(err, mysql::Error::Auth { .. }), "{err}");
    assert!(!err.to_string().contains(PASSWORD));

    // The schema change of the restored table between the dump and the time: a restore
    // could not be exact, so it is refused, and nothing is left.
    let before = server.snapshot("shop.orders").await;
    let err = run(
        &request(server.port, backups.path(), time, orders("o_bak")),
        &creds(),
        &|_| {},
    )
    .await
    .expect_err("DDL in the span");
    assert!(
        matches!(&err, mysql::Error::Refused(r) if r.statement.contains("ALTER TABLE shop.orders")),
        "{err}"
    );
    assert_eq!(server.snapshot("shop.orders").await, before);

    // A log that no longer reaches back to the dump.
    server.admin("FLUSH BINARY LOGS").await;
    let newest: String = {
        use mysql_async::prelude::Queryable;
        let mut c = server.conn().await;
        let rows: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await.expect("logs");
        rows.last().and_then(|r| r.get(0)).expect("a log")
    };
    // The server keeps a log a binlog reader of the restores above still holds (it notices
    // the reader gone a little later): purge until the old logs are gone.
    crate::support::wait_for("the old logs purged", std::time::Duration::from_secs(60), async || {
        server
            .admin(&format!("PURGE BINARY LOGS TO '{newest}'"))
            .await;
        server
            .count("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            .await
            == 0
            && {
                use mysql_async::prelude::Queryable;
                let mut c = server.conn().await;
                let rows: Vec<mysql_async::Row> = c.query("SHOW BINARY LOGS").await.expect("logs");
                rows.len() == 1
            }
    })
    .await;
    let err = run(
        &request(server.port, backups.path(), time, orders("o_bak")),
        &creds(),
        &|_| {},
    )
    .await
    .expect_err("log purged");
    assert!(
        matches!(&err, mysql::Error::NoDump { why, .. } if why.contains("its binary log bin.000001 is no longer on the server")),
        "{err}"
    );

    assert!(
        server.databases_like(TEMP_PREFIX).await.is_empty(),
        "nothing temporary left"
    );
    assert_eq!(
        server
            .count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME LIKE '%bak'")
            .await,
        0
    );
    let port = server.port;
    drop(server);

    // A server that is not there (the one above, stopped).
    let gone = request(port, backups.path(), time, orders("o_bak"));
    let err = run(&gone, &creds(), &|_| {})
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, mysql::Error::Unreachable { .. }), "{err}");
}
