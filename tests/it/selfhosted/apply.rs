//! `planrun apply` of a self-hosted plan end to end: two servers in one plan, credentials
//! from `--defaults-file`, the journal, `status`, and a kill -9 in the middle of a restore.

use std::time::{Duration, Instant};

use planrun::mysql::TEMP_PREFIX;

use super::restore::{expected_of, story};
use super::run::{apply, defaults_file, planrun, spawn_apply, write_plan};
use super::server::{PASSWORD, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plan_restores_two_servers_and_status_reads_it_back() {
    let (a, b) = tokio::join!(Server::start(), Server::start());
    let dir = tempfile::tempdir().expect("dir");
    for name in ["a", "b"] {
        std::fs::create_dir(dir.path().join(name)).expect("backups dir");
    }
    let (dir_a, dir_b) = (dir.path().join("a"), dir.path().join("b"));
    let ((time, expected_a), (time_b, expected_b)) = tokio::join!(
        story(&a, &dir_a, "full.sql.gz", ""),
        story(&b, &dir_b, "full.sql", ""),
    );
    // Both stories stamp "now + 1000 s": the same second unless a tick fell between them.
    let time = time.min(time_b);
    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop-a\n    server: 127.0.0.1:{}\n    backups: a\n    strategy: table\n    tables:\n      shop: [orders, refunds]\n\
             \x20 - id: shop-b\n    server: 127.0.0.1:{}\n    backups: b\n    strategy: db\n    dbs: [audit]\n    tables:\n      shop: [orders]\n",
            a.port, b.port
        ),
        time,
    );
    let shown = planrun(dir.path(), time)
        .arg("plan")
        .arg(&plan)
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    let shown = shown.stdout;
    assert!(shown.contains("mysql at 127.0.0.1:"), "{shown}");
    assert!(shown.contains("in 2 self-hosted restores."), "{shown}");
    assert!(
        shown.contains("full.sql.gz (binary log bin.000001:"),
        "{shown}"
    );
    assert!(shown.contains("binlog_format=ROW"), "{shown}");

    let out = apply(&plan, dir.path(), time)
        .arg("--report")
        .arg(dir.path().join("report.json"))
        .run();
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(0), "{text}");
    assert!(
        text.contains("preflight: shop-a: 10.11") && text.contains("; dump "),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "the password was printed");

    assert_eq!(
        &a.snapshot("shop.orders_bak").await,
        expected_of(&expected_a, "shop.orders")
    );
    assert_eq!(
        &a.snapshot("shop.refunds_bak").await,
        expected_of(&expected_a, "shop.refunds")
    );
    assert_eq!(
        &b.snapshot("audit_bak.events").await,
        expected_of(&expected_b, "audit.events")
    );
    assert_eq!(
        &b.snapshot("shop.orders_bak").await,
        expected_of(&expected_b, "shop.orders")
    );
    for s in [&a, &b] {
        assert!(s.databases_like(TEMP_PREFIX).await.is_empty());
    }
    let report = std::fs::read_to_string(dir.path().join("report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&report).expect("report is JSON");
    assert_eq!(report["totals"]["succeeded"], 2, "{report}");
    assert_eq!(report["instances"][0]["id"], "shop-a", "{report}");
    assert!(!report.to_string().contains(PASSWORD));
    for entry in std::fs::read_dir(dir.path().join(".planrun")).expect("state dir") {
        let file = std::fs::read(entry.expect("entry").path()).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&file).contains(PASSWORD),
            "the password reached a state file"
        );
    }

    let status = planrun(dir.path(), time)
        .args(["status", "--format", "json"])
        .arg(&plan)
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    let report: serde_json::Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", status.stderr));
    assert_eq!(status.code, Some(0), "{report}");
    assert_eq!(report["totals"]["succeeded"], 2, "{report}");

    // Applied again, the plan is complete: nothing is redone, targets stay.
    let again = apply(&plan, dir.path(), time).run();
    assert_eq!(again.code, Some(0));
    assert!(again.stdout.contains("already applied completely"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_midway_is_cleaned_up_and_redone() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let backups = dir.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    // Enough rows that copying takes a while: the kill lands in the middle. Dumped before
    // the story's changes (which do not touch it), so the dump precedes the time.
    server
        .admin("CREATE DATABASE big; CREATE TABLE big.rows (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
                INSERT INTO big.rows SELECT seq, seq % 97, REPEAT('x', 30) FROM big.seq_1_to_200000")
        .await;
    server.dump(&["big"], &backups.join("big.sql"));
    let (time, _) = story(&server, &backups, "full.sql", "").await;
    let before = server.snapshot("big.rows").await;
    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop\n    server: 127.0.0.1:{}\n    backups: dumps\n    strategy: db\n    dbs: [big]\n",
            server.port
        ),
        time,
    );
    let mut child = spawn_apply(&plan, dir.path(), time, &[], "first.log");
    // Wait for the copy onto production to be under way (a temporary table exists there),
    // then hold every write so that it cannot finish before the kill.
    let copying =
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE '\\_planrun\\_%'";
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.count(copying).await == 0 {
        assert!(Instant::now() < deadline, "the copy never started");
        assert!(
            !child.exited(),
            "apply ended before copying: {}",
            std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default()
        );
    }
    let mut hold = server.conn().await;
    mysql_async::prelude::Queryable::query_drop(&mut hold, "FLUSH TABLES WITH READ LOCK")
        .await
        .expect("read lock");
    assert!(server.count(copying).await > 0, "interrupted mid-copy");
    child.kill9();
    drop(hold);

    let out = apply(&plan, dir.path(), time).run();
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(0), "{text}");
    // The restore equals the table it was made from (nothing changed `big` after its dump).
    assert_eq!(server.snapshot("big_bak.rows").await, before);
    assert!(
        server.databases_like(TEMP_PREFIX).await.is_empty(),
        "its temporary database dropped"
    );
    super::oracle::no_temp_files(&super::run::tmp(dir.path()));
}
