//! `kill -9` of `planrun apply FILE` in the middle of a chunk, with rows of that chunk written
//! but not committed; applied again, every row is written once. The proof is the server's own
//! binary log: it holds committed transactions only, and every row they inserted.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mysql_async::prelude::Queryable;

use super::fixture::{binlog_position, restored, rows};
use crate::selfhosted::server::Server;
use crate::support::wait_for;

/// The keys of every row inserted into `shop.orders` from `(file, position)` on, decoded
/// from the server's binary log by `mariadb-binlog`.
fn inserted_keys(server: &Server, from: &(String, u64)) -> Vec<i64> {
    let data = server.dir.path().join("data");
    let mut files: Vec<String> = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            n.starts_with("bin.") && n[4..].chars().all(|c| c.is_ascii_digit()) && *n >= from.0
        })
        .collect();
    files.sort();
    let tool = ["/usr/bin/mariadb-binlog", "/usr/bin/mysqlbinlog"]
        .into_iter()
        .find(|t| Path::new(t).exists())
        .expect("mariadb-binlog is installed (.ci/mariadb)");
    let out = Command::new(tool)
        .args(["--no-defaults", "--base64-output=DECODE-ROWS", "--verbose"])
        .arg(format!("--start-position={}", from.1))
        .args(files.iter().map(|f| data.join(f)))
        .output()
        .expect("mariadb-binlog runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut keys = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "### INSERT INTO `shop`.`orders`" {
            let first = lines
                .by_ref()
                .find_map(|l| l.trim().strip_prefix("###   @1="))
                .expect("the row's first column");
            keys.push(first.parse().expect("an id"));
        }
    }
    keys
}

/// `planrun apply m.merge --yes --defaults-file ...`.
fn apply(r: &super::fixture::Restored) -> crate::support::Test {
    r.planrun()
        .arg("apply")
        .arg(r.path("m.merge"))
        .arg("--yes")
        .arg("--defaults-file")
        .arg(r.path("client.cnf"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_apply_then_apply_again_writes_each_row_once() {
    let r = restored().await;
    let deleted: Vec<i64> = rows(
        &r.server,
        "SELECT CAST(b.id AS CHAR) FROM shop.orders_bak b LEFT JOIN shop.orders s ON s.id = b.id WHERE s.id IS NULL ORDER BY b.id",
    )
    .await
    .iter()
    .map(|s| s.parse().expect("id"))
    .collect();
    let out = r
        .planrun()
        .arg("merge")
        .arg(&r.plan)
        .args([
            "--restore",
            "deleted",
            "--table",
            "shop.orders",
            "--rows-per-transaction",
            "5",
        ])
        .arg("--out")
        .arg(r.path("m.merge"))
        .arg("--defaults-file")
        .arg(r.path("client.cnf"))
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let start = binlog_position(&r.server).await;

    // Another session holds the key of chunk 3's third row (an insert it has not committed):
    // the apply writes that chunk's first two rows, then waits on the key.
    let blocked_key = deleted[12];
    let mut blocker = r.server.conn().await;
    blocker
        .query_drop(format!(
            "START TRANSACTION; INSERT INTO shop.orders VALUES ({blocked_key}, 'blocker', 0, NULL, NULL)"
        ))
        .await
        .expect("blocker");
    let log = std::fs::File::create(r.path("first.log")).expect("log");
    let child = apply(&r)
        .stdout_to(log.try_clone().expect("log"))
        .stderr_to(log)
        .spawn();
    // Waiting inside chunk 3: chunks 1 and 2 committed, its first two rows written but not
    // committed (a dirty read sees them, a committed read does not).
    let (a, b) = (deleted[10], deleted[11]);
    wait_for(
        "the apply to wait inside chunk 3",
        Duration::from_secs(60),
        async || {
            let mut c = r.server.conn().await;
            let committed: Result<Option<i64>, _> = c
                .query_first("SELECT COUNT(*) FROM _planrun_merge.progress")
                .await;
            let _ = c
                .query_drop("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
                .await;
            let dirty: Option<i64> = c
                .query_first(format!(
                    "SELECT COUNT(*) FROM shop.orders WHERE id IN ({a}, {b})"
                ))
                .await
                .unwrap_or_default();
            let _ = c.disconnect().await;
            matches!(committed, Ok(Some(2))) && dirty == Some(2)
        },
    )
    .await;
    assert_eq!(
        r.server
            .count(&format!(
                "SELECT COUNT(*) FROM shop.orders WHERE id IN ({a}, {b})"
            ))
            .await,
        0,
        "not committed"
    );
    let killed = child.kill9();
    assert_eq!(killed.code, None, "killed by a signal");
    blocker.query_drop("ROLLBACK").await.expect("rollback");
    drop(blocker);

    let again = apply(&r).run();
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    assert!(
        again
            .stdout
            .contains(&format!("{} rows written in 9 chunks", deleted.len())),
        "{}",
        again.stdout
    );
    let mut written = inserted_keys(&r.server, &start);
    written.sort_unstable();
    assert_eq!(
        written, deleted,
        "each deleted row inserted once, nothing else"
    );

    // A crash after COMMIT but before the journal: the journal is gone, the server's
    // progress rows still prove what committed, and nothing is written again.
    std::fs::remove_file(r.path("m.merge.journal")).expect("journal");
    let recovered = apply(&r).run();
    assert_eq!(
        recovered.code,
        Some(0),
        "{}\n{}",
        recovered.stdout,
        recovered.stderr
    );
    assert!(
        recovered.stderr.contains("committed by an earlier apply"),
        "{}",
        recovered.stderr
    );
    let mut written = inserted_keys(&r.server, &start);
    written.sort_unstable();
    assert_eq!(written, deleted, "nothing written twice");
}
