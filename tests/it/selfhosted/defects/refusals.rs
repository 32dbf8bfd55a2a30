//! Scenarios whose honest answer is another dump or a refusal (defects 2 and 3 of issue 22):
//! never exit 0 with a result that differs from the oracle's.

use super::super::oracle;
use super::super::run::planrun;
use super::scene::Scene;

const SCHEMA: &str = "CREATE DATABASE shop; CREATE DATABASE other; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL); \
    CREATE TABLE other.t2 (id INT PRIMARY KEY); \
    CREATE VIEW other.vo AS SELECT * FROM shop.orders; \
    CREATE TRIGGER other.t_reach AFTER INSERT ON other.t2 FOR EACH ROW INSERT INTO shop.orders VALUES (NEW.id + 100, 0); \
    INSERT INTO shop.orders VALUES (1, 10), (2, 20)";

/// Defect 2: the dump is chosen by where it lies in the binary log, not by its clock. A dump
/// taken after the incident whose `Dump completed` line, in another clock, reads before the
/// time is passed over for the older one; with it alone, the instance is refused, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d2_a_dump_taken_after_the_time_is_never_chosen_whatever_its_clock_says() {
    let scene = Scene::new(
        &[],
        SCHEMA,
        &["shop", "other"],
        &[],
        "UPDATE shop.orders SET amount = 11 WHERE id = 1",
        "DELETE FROM shop.orders",
    )
    .await;
    // Taken after the incident; its completion line says an hour before the time.
    let late = scene.backups.join("late.sql");
    scene.prod.dump(&["shop", "other"], &late);
    let text = std::fs::read_to_string(&late).expect("dump");
    let stamp = (scene.time - chrono::Duration::hours(1)).format(planrun::contract::TIME_FORMAT);
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("-- Dump completed on") {
                format!("-- Dump completed on {stamp}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&late, text).expect("dump");
    let said = scene
        .restores_exactly(
            "    strategy: table\n    tables:\n      shop: [orders]\n",
            &[("shop.orders", "shop.orders_bak")],
            &[],
        )
        .await;
    assert!(
        said.contains("/dumps/full.sql and the binary log"),
        "{said}"
    );

    // The late dump alone: no usable dump, and why.
    std::fs::remove_file(scene.dump()).expect("remove");
    let plan = scene.plan(
        "    strategy: table\n    rename: \"{name}_again\"\n    tables:\n      shop: [orders]\n",
    );
    let before = oracle::fingerprint(&scene.prod).await;
    let out = planrun(scene.dir.path(), scene.time)
        .args(["plan", "--preflight"])
        .arg(&plan)
        .arg("--defaults-file")
        .arg(scene.dir.path().join("client.cnf"))
        .run();
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(1), "{said}");
    assert!(
        said.contains("late.sql: it holds changes the log stamps"),
        "{said}"
    );
    assert_eq!(oracle::fingerprint(&scene.prod).await, before);
}

/// Defect 3: writes logged as statements (one session's `binlog_format=STATEMENT` on a ROW
/// server) through a trigger of another database, or through a view, may reach the restored
/// table without naming it: the instance is refused, naming the first such event, and
/// production is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d3_statement_logged_writes_that_may_reach_the_table_are_refused() {
    let scene = Scene::new(
        &[],
        SCHEMA,
        &["shop", "other"],
        &["--triggers"],
        "SET SESSION binlog_format = STATEMENT; USE other; INSERT INTO t2 VALUES (5); \
         INSERT INTO other.vo VALUES (7, 70); SET SESSION binlog_format = ROW",
        "DELETE FROM shop.orders",
    )
    .await;
    // The oracle, which executes the statements, sees what a filter would miss.
    let oracle = oracle::restore(&scene.prod, &scene.dump(), scene.time).await;
    let (_, rows) = oracle::state(&oracle, "shop", "orders").await;
    assert_eq!(rows.len(), 4, "the trigger's and the view's rows: {rows:?}");
    let before = oracle::fingerprint(&scene.prod).await;
    let from = oracle::log_position(&scene.prod).await;
    let out = scene.apply(&scene.plan("    strategy: table\n    tables:\n      shop: [orders]\n"));
    let said = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code, Some(1), "{said}");
    assert!(
        said.contains("refused: a statement-logged write that may reach a restored table (through `other`.`t2`)"),
        "{said}"
    );
    assert!(said.contains("INSERT INTO t2 VALUES (5)"), "{said}");
    assert!(said.contains("bin.000001:"), "{said}");
    assert_eq!(oracle::fingerprint(&scene.prod).await, before);
    assert!(oracle::events_since(&scene.prod, &from).await.is_empty());
    oracle::no_temp_files(&scene.tmp());
}
