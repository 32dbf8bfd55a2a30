//! What a restore tells while it works, on a real server: its phases in order, the dump
//! file's bytes loaded up to the file's size, the decoded span replayed up to its size, the
//! rows landed up to the number the table held at the time — each counted as the data
//! streams, growing, never going back. Totals come from the test's own view (the file's
//! size on disk, `COUNT(*)` on the server), never from planrun.

use std::sync::Mutex;

use chrono::Utc;
use planrun::mysql::progress::{Phase, Progress, Unit};
use planrun::mysql::{Objects, TEMP_PREFIX};

use super::restore::{at, creds, request, run};
use super::server::Server;

/// The amounts told in `phase`, in order (done, total, unit).
fn amounts(told: &[Progress], phase: Phase) -> Vec<(u64, u64, Unit)> {
    told.iter()
        .filter(|p| p.phase == phase)
        .filter_map(|p| p.amount.map(|a| (a.done, a.total, a.unit)))
        .collect()
}

/// Asserts that `amounts` grow from 0 to `total` without going back, over `at_least`
/// distinct values (so that something in between was told).
fn grows_to(what: &str, amounts: &[(u64, u64, Unit)], total: u64, at_least: usize) {
    assert!(!amounts.is_empty(), "{what}: nothing told");
    assert!(amounts.iter().all(|a| a.1 == total), "{what}: {amounts:?}");
    assert_eq!(amounts.first().map(|a| a.0), Some(0), "{what}: {amounts:?}");
    assert_eq!(
        amounts.last().map(|a| a.0),
        Some(total),
        "{what}: {amounts:?}"
    );
    assert!(
        amounts.windows(2).all(|w| w[0].0 <= w[1].0),
        "{what} went back: {amounts:?}"
    );
    let mut distinct: Vec<u64> = amounts.iter().map(|a| a.0).collect();
    distinct.dedup();
    assert!(distinct.len() >= at_least, "{what}: only {distinct:?} told");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_tells_its_phases_in_order_and_counts_bytes_and_rows_to_their_totals() {
    let server = Server::start().await;
    let backups = tempfile::tempdir().expect("backups dir");
    // About 1.6 MB of dump: 20,000 rows of 60 letters (MariaDB's sequence engine).
    server
        .admin(
            "CREATE DATABASE shop; \
             CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(80)); \
             INSERT INTO shop.orders SELECT seq, seq % 1000, REPEAT(CHAR(65 + seq % 26), 60) \
             FROM shop.seq_1_to_20000",
        )
        .await;
    let dump = backups.path().join("shop.sql");
    server.dump(&["shop"], &dump);
    let dump_size = std::fs::metadata(&dump).expect("the dump").len();
    // Between the dump and the time: 5,000 rows changed, 1,000 deleted (row events to
    // replay); after it, the incident.
    let t0 = Utc::now().timestamp() + 1000;
    server
        .admin(&format!(
            "SET TIMESTAMP = {t0}; \
             UPDATE shop.orders SET amount = amount + 1, note = 'changed' WHERE id <= 5000; \
             DELETE FROM shop.orders WHERE id > 19000"
        ))
        .await;
    let rows_at_time = server.count("SELECT COUNT(*) FROM shop.orders").await;
    let expected = server.snapshot("shop.orders").await;
    server
        .admin(&format!(
            "SET TIMESTAMP = {}; DELETE FROM shop.orders WHERE id > 10",
            t0 + 100
        ))
        .await;

    let req = request(
        server.port,
        backups.path(),
        at(t0 + 50),
        Objects {
            dbs: vec![],
            tables: vec![("shop".into(), "orders".into(), "orders_bak".into())],
        },
    );
    let told = Mutex::new(Vec::new());
    run(&req, &creds(), &|p| told.lock().expect("lock").push(p))
        .await
        .unwrap_or_else(|e| panic!("restore: {e}"));
    assert_eq!(server.snapshot("shop.orders_bak").await, expected);
    let told = told.into_inner().expect("lock");

    let mut phases: Vec<Phase> = told.iter().map(|p| p.phase).collect();
    phases.dedup();
    assert_eq!(
        phases,
        [
            Phase::Checking,
            Phase::Starting,
            Phase::Loading,
            Phase::Reading,
            Phase::Replaying,
            Phase::Copying,
            Phase::Renaming,
            Phase::Done
        ]
    );
    let words: Vec<&str> = phases.iter().map(|p| p.name()).collect();
    assert_eq!(
        words,
        [
            "checking",
            "starting scratch server",
            "loading dump",
            "reading binlog",
            "replaying binlog",
            "landing",
            "renaming",
            "done"
        ]
    );

    let loading = amounts(&told, Phase::Loading);
    assert!(loading.iter().all(|a| a.2 == Unit::Bytes), "{loading:?}");
    grows_to("loading", &loading, dump_size, 5);
    let last = told
        .iter()
        .rfind(|p| p.phase == Phase::Loading)
        .expect("told");
    let mb = format!("{:.1} MB", dump_size as f64 / 1e6);
    assert_eq!(last.line(), format!("loading dump {mb} of {mb}"));

    // The span's size is planrun's own file: that it is reached, and grows, is what can be
    // checked here.
    let replaying = amounts(&told, Phase::Replaying);
    let span = replaying.first().map_or(0, |a| a.1);
    assert!(span > 0, "{replaying:?}");
    grows_to("replaying", &replaying, span, 3);

    let landing = amounts(&told, Phase::Copying);
    assert!(landing.iter().all(|a| a.2 == Unit::Rows), "{landing:?}");
    let rows = u64::try_from(rows_at_time).expect("a count");
    assert_eq!(rows, 19_000);
    grows_to("landing", &landing, rows, 5);
    let last = told
        .iter()
        .rfind(|p| p.phase == Phase::Copying)
        .expect("told");
    assert_eq!(last.line(), "landing 19,000 of 19,000 rows");

    assert!(server.databases_like(TEMP_PREFIX).await.is_empty());
}
