//! `--concurrency` bounds self-hosted restores, measured on production: its binary log orders
//! every statement a restore's landing runs there, each naming the restore's temporary
//! `_planrun_<restore>_` names, so the most landings ever at work at once can be counted
//! from it; and with production's writes held, the restores at work are the ones waiting
//! there.

use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::restore::story;
use super::run::{apply, defaults_file, spawn_apply, write_plan};
use super::server::Server;
use crate::support::wait_for;

const IDS: [&str; 3] = ["shop-a", "shop-b", "shop-c"];

/// The temporary-name stem (`_planrun_` and ten hex digits) a statement names, if any.
fn stem(statement: &str) -> Option<&str> {
    let at = statement.find("_planrun_")?;
    statement.get(at..at + "_planrun_".len() + 10)
}

/// The most restores at work at once in `log`: each from the first statement that names its
/// stem to the last. There must be `n` of them.
fn most_at_once(log: &[String], n: usize) -> usize {
    let mut stems: Vec<&str> = log.iter().filter_map(|s| stem(s)).collect();
    stems.sort_unstable();
    stems.dedup();
    assert_eq!(stems.len(), n, "{log:#?}");
    let spans: Vec<(usize, usize)> = stems
        .iter()
        .map(|stem| {
            let first = log.iter().position(|s| s.contains(stem));
            let last = log.iter().rposition(|s| s.contains(stem));
            first.zip(last).expect("named")
        })
        .collect();
    (0..log.len())
        .map(|i| spans.iter().filter(|(f, l)| *f <= i && i <= *l).count())
        .max()
        .unwrap_or(0)
}

fn plan_in(
    dir: &std::path::Path,
    port: u16,
    rename: &str,
    time: chrono::NaiveDateTime,
) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let _ = defaults_file(dir);
    let plan = write_plan(
        dir,
        &format!(
            "  - id: shop-a\n    server: 127.0.0.1:{port}\n    backups: ../dumps\n    strategy: table\n    tables:\n      shop: [orders]\n\
             \x20 - id: shop-b\n    server: 127.0.0.1:{port}\n    backups: ../dumps\n    strategy: table\n    tables:\n      shop: [refunds]\n\
             \x20 - id: shop-c\n    server: 127.0.0.1:{port}\n    backups: ../dumps\n    strategy: db\n    dbs: [audit]\n"
        ),
        time,
    );
    let text = std::fs::read_to_string(&plan).expect("plan");
    std::fs::write(&plan, text.replace("{name}_bak", rename)).expect("plan");
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_restores_at_work_at_once() {
    let server = Server::start().await;
    let root = tempfile::tempdir().expect("dir");
    let backups = root.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    let (time, _) = story(&server, &backups, "full.sql", "").await;

    // One at a time: never two restores' statements interleave.
    let one = root.path().join("one");
    let plan = plan_in(&one, server.port, "{name}_one", time);
    let before = server.binlog_statements().await.len();
    let out = apply(&plan, &one, time).args(["--concurrency", "1"]).run();
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let log = server.binlog_statements().await.split_off(before);
    assert_eq!(most_at_once(&log, IDS.len()), 1, "{log:#?}");

    // Two at a time: with every write held (a global read lock), two restores reach the
    // server and wait there, the third waits for a slot; let go, never more than two.
    let two = root.path().join("two");
    let plan = plan_in(&two, server.port, "{name}_two", time);
    let mut hold = server.conn().await;
    hold.query_drop("FLUSH TABLES WITH READ LOCK")
        .await
        .expect("read lock");
    let before = server.binlog_statements().await.len();
    let child = spawn_apply(&plan, &two, time, &["--concurrency", "2"], "apply.log");
    let waiting = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'planrun_test' AND (INFO LIKE 'CREATE DATABASE%' OR INFO LIKE 'CREATE TABLE%')";
    wait_for(
        "two restores held at their first write",
        Duration::from_secs(60),
        async || server.count(waiting).await >= 2,
    )
    .await;
    assert_eq!(
        server.count(waiting).await,
        2,
        "the third restore waits for a slot"
    );
    drop(hold);
    let status = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(120)))
        .await
        .expect("join");
    let text = std::fs::read_to_string(two.join("apply.log")).unwrap_or_default();
    assert_eq!(status.code, Some(0), "{text}");
    assert!(text.contains("3 succeeded"), "{text}");
    let log = server.binlog_statements().await.split_off(before);
    assert_eq!(most_at_once(&log, IDS.len()), 2, "{log:#?}");
}
