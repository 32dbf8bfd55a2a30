//! Faults and the server around a restore (defects 5, 8 and 10 of issue 22): a replica in
//! GTID strict mode keeps replicating; a server that dies fails the instance within
//! seconds, with the cause, leaving nothing; the exact privileges are enough, a missing one
//! is named before anything starts, a refused password exits 2.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use super::super::oracle;
use super::super::run::{held, planrun, spawn_apply};
use super::super::server::Server;
use super::scene::{Scene, exact};
use crate::support::wait_for;

const SCHEMA: &str = "CREATE DATABASE shop; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
    INSERT INTO shop.orders VALUES (1, 10, 'a'), (2, 20, 'b')";
const BETWEEN: &str =
    "INSERT INTO shop.orders VALUES (3, 30, 'c'); UPDATE shop.orders SET amount = 11 WHERE id = 1";
const INCIDENT: &str = "DELETE FROM shop.orders";
const ORDERS: &str = "    strategy: table\n    tables:\n      shop: [orders]\n";

async fn gtid(server: &Server, what: &str) -> String {
    let mut c = server.conn().await;
    let v: Option<String> = c
        .query_first(format!("SELECT @@{what}"))
        .await
        .expect("gtid");
    let _ = c.disconnect().await;
    v.unwrap_or_default()
}

/// Defect 5: the restore's writes reach production's binary log with new GTIDs (never the
/// span's old ones): production in GTID strict mode takes them, and a strict replica
/// receives them and keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d5_a_strict_replica_keeps_replicating_through_a_restore() {
    let scene = Scene::new(
        &["--gtid-strict-mode=1"],
        SCHEMA,
        &["shop"],
        &["--gtid"],
        BETWEEN,
        INCIDENT,
    )
    .await;
    let replica = Server::start_with(&["--server-id=2", "--gtid-strict-mode=1"]).await;
    // The replica replays production's whole log, its test user included.
    replica
        .admin(&format!(
            "DROP USER 'planrun_test'@'127.0.0.1'; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', MASTER_USE_GTID=slave_pos; START SLAVE",
            scene.prod.port
        ))
        .await;
    let caught_up = async || {
        gtid(&replica, "gtid_slave_pos").await == gtid(&scene.prod, "gtid_binlog_pos").await
    };
    wait_for("the replica caught up", Duration::from_secs(60), caught_up).await;
    let last_before = gtid(&scene.prod, "gtid_binlog_pos").await;
    scene
        .restores_exactly(ORDERS, &[("shop.orders", "shop.orders_bak")], &[])
        .await;
    assert_ne!(
        gtid(&scene.prod, "gtid_binlog_pos").await,
        last_before,
        "new GTIDs"
    );
    wait_for(
        "the replica caught up again",
        Duration::from_secs(60),
        caught_up,
    )
    .await;
    let mut c = replica.conn().await;
    let status: Option<mysql_async::Row> =
        c.query_first("SHOW SLAVE STATUS").await.expect("status");
    let _ = c.disconnect().await;
    let status = status.expect("a replica");
    assert_eq!(
        status.get::<String, _>("Slave_SQL_Running").as_deref(),
        Some("Yes")
    );
    assert_eq!(status.get::<u64, _>("Last_SQL_Errno"), Some(0));
    assert_eq!(
        oracle::state(&replica, "shop", "orders_bak").await,
        oracle::state(&scene.prod, "shop", "orders_bak").await
    );
}

fn scratch_pid(tmp: &std::path::Path) -> Option<String> {
    std::fs::read_dir(tmp)
        .ok()?
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("planrun-scratch-")
        })
        .find_map(|e| std::fs::read_to_string(e.path().join("server.pid")).ok())
        .map(|p| p.trim().to_owned())
}

/// Defect 8: the scratch server killed mid-load (held there: its dump reads a pipe), then
/// production killed mid-copy (held there by a global read lock): each fails the instance
/// within seconds, with its cause, and leaves no temporary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d8_a_server_that_dies_mid_restore_fails_the_instance_within_seconds() {
    let mut scene = Scene::new(&[], SCHEMA, &["shop"], &[], BETWEEN, INCIDENT).await;
    let plan = scene.plan(ORDERS);
    let log = |name: &str| std::fs::read_to_string(scene.dir.path().join(name)).unwrap_or_default();
    let pristine = scene.dump().with_extension("pristine");
    std::fs::copy(scene.dump(), &pristine).expect("copy");
    held(&scene.dump(), scene.dir.path());

    // The scratch server, killed while the dump loads.
    let child = spawn_apply(
        &plan,
        scene.dir.path(),
        scene.time,
        &["--poll-interval", "100ms"],
        "first.log",
    );
    let tmp = scene.tmp();
    wait_for("the dump loading", Duration::from_secs(60), async || {
        log("first.log").contains("loading dump") && scratch_pid(&tmp).is_some()
    })
    .await;
    let pid = scratch_pid(&tmp).expect("its pid");
    let killed = Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status();
    let out = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
        .await
        .expect("join");
    let text = log("first.log");
    assert!(killed.elapsed() < Duration::from_secs(20), "{text}");
    assert_eq!(out.code, Some(1), "{text}");
    assert!(
        text.contains("shop: failed (the scratch server died"),
        "{text}"
    );
    oracle::no_temp_files(&scene.tmp());

    // Production, lost while the result is copied in.
    std::fs::rename(&pristine, scene.dump()).expect("the dump as it was");
    let mut hold = scene.prod.conn().await;
    hold.query_drop("FLUSH TABLES WITH READ LOCK")
        .await
        .expect("read lock");
    let child = spawn_apply(
        &plan,
        scene.dir.path(),
        scene.time,
        &["--restart", "--poll-interval", "100ms"],
        "second.log",
    );
    wait_for("the copy held", Duration::from_secs(120), async || {
        log("second.log").contains("(landing ")
    })
    .await;
    scene.prod.kill9();
    let killed = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.finish(Duration::from_secs(60)))
        .await
        .expect("join");
    let text = log("second.log");
    assert!(killed.elapsed() < Duration::from_secs(20), "{text}");
    assert_eq!(out.code, Some(1), "{text}");
    assert!(text.contains("shop: failed ("), "{text}");
    assert!(
        text.contains("Lost connection") || text.contains("gone away"),
        "{text}"
    );
    oracle::no_temp_files(&scene.tmp());
}

/// Defect 10: the README's privileges are exactly enough; a missing one is named by `plan
/// --preflight` before anything starts; a refused password exits 2, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d10_the_documented_privileges_suffice_and_problems_are_named_first() {
    let scene = Scene::new(&[], SCHEMA, &["shop"], &[], BETWEEN, INCIDENT).await;
    scene
        .prod
        .admin(
            "CREATE USER 'ops'@'127.0.0.1' IDENTIFIED BY 'ops-pw'; \
             GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'ops'@'127.0.0.1'; \
             GRANT SELECT, INSERT, CREATE, DROP, ALTER ON shop.* TO 'ops'@'127.0.0.1'; \
             CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak-pw'; \
             GRANT REPLICATION SLAVE ON *.* TO 'weak'@'127.0.0.1'; \
             GRANT SELECT, INSERT, CREATE, DROP, ALTER ON shop.* TO 'weak'@'127.0.0.1'",
        )
        .await;
    let cnf = |user: &str, pw: &str| {
        let path = scene.dir.path().join(format!("{user}.cnf"));
        std::fs::write(&path, format!("[client]\nuser={user}\npassword={pw}\n")).expect("cnf");
        path
    };
    let plan = scene.plan(ORDERS);
    let run = |args: &[&str], file: &std::path::Path| {
        planrun(scene.dir.path(), scene.time)
            .args(args)
            .arg(&plan)
            .arg("--defaults-file")
            .arg(file)
            .run()
    };

    let weak = run(&["plan", "--preflight"], &cnf("weak", "weak-pw"));
    let said = format!("{}{}", weak.stdout, weak.stderr);
    assert_eq!(weak.code, Some(1), "{said}");
    assert!(
        said.contains("lacks privileges: BINLOG MONITOR ON *.*"),
        "{said}"
    );

    let wrong = run(&["apply", "--yes"], &cnf("ops", "not-it"));
    let said = format!("{}{}", wrong.stdout, wrong.stderr);
    assert_eq!(wrong.code, Some(2), "{said}");
    assert!(said.contains("refused the credentials"), "{said}");
    assert!(!said.contains("cannot reach"), "{said}");

    let oracle = oracle::restore(&scene.prod, &scene.dump(), scene.time).await;
    let before = oracle::fingerprint(&scene.prod).await;
    let from = oracle::log_position(&scene.prod).await;
    let shown = run(&["plan", "--preflight"], &cnf("ops", "ops-pw"));
    assert_eq!(shown.code, Some(0), "{}{}", shown.stdout, shown.stderr);
    assert!(
        shown
            .stdout
            .contains("binlog_format=ROW, binlog_row_image=FULL, gtid_strict_mode=OFF"),
        "{}",
        shown.stdout
    );
    let out = run(&["apply", "--yes"], &cnf("ops", "ops-pw"));
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    exact(
        &scene,
        &oracle,
        &before,
        &from,
        &[("shop.orders", "shop.orders_bak")],
        &[],
    )
    .await;
}
