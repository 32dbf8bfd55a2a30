//! A TencentDB instance compared through its MySQL address: after `apply --sandbox`, the
//! sandbox's catalog points one instance's DescribeDBInstances address (`Vip`, `Vport`) at a
//! real local MariaDB, and the plan's `connect:` points another there. The tables stand for
//! what the cloud's rollback wrote beside the source.

use super::fixture::{independent, json, table};
use crate::selfhosted::run::defaults_file;
use crate::selfhosted::server::Server;
use crate::support::Test;

const TABLES: &str = "CREATE DATABASE orders; \
    CREATE TABLE orders.payments_bak (id BIGINT UNSIGNED PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, \
      paid_at TIMESTAMP(3) NULL, ref VARBINARY(16)) ENGINE=InnoDB; \
    INSERT INTO orders.payments_bak SELECT 9007199254740993 + seq * 2, seq / 4, \
      FROM_UNIXTIME(1790000000 + seq), UNHEX(LPAD(HEX(seq), 8, '0')) FROM orders.seq_1_to_50; \
    CREATE TABLE orders.payments LIKE orders.payments_bak; \
    INSERT INTO orders.payments SELECT * FROM orders.payments_bak; \
    DELETE FROM orders.payments WHERE id IN (9007199254740995, 9007199254740997, 9007199254741001); \
    UPDATE orders.payments SET ref = 0xFF00 WHERE id = 9007199254741011; \
    INSERT INTO orders.payments VALUES (9007199254740994, 1, NULL, NULL)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_instance_is_compared_through_its_sandbox_address_or_its_connect() {
    let server = Server::start().await;
    server.admin(TABLES).await;
    let dir = tempfile::tempdir().expect("dir");
    let cnf = defaults_file(dir.path());
    let time = crate::apply::harness::recent_time();
    let plan = dir.path().join("cloud.yaml");
    std::fs::write(
        &plan,
        format!(
            "version: 1\nrollback_time: \"{time}\"\nstrategy: table\nrename: \"{{name}}_bak\"\nregion: ap-guangzhou\ninstances:\n\
             \x20 - id: cdb-ord00001\n    tables:\n      orders: [payments]\n\
             \x20 - id: cdb-ord00002\n    connect: 127.0.0.1:{}\n    tables:\n      orders: [payments]\n",
            server.port
        ),
    )
    .expect("plan");
    let catalog = dir.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        format!(
            "instances:\n  - id: cdb-ord00001\n    region: ap-guangzhou\n    address: 127.0.0.1:{}\n",
            server.port
        ),
    )
    .expect("catalog");
    let run = || {
        Test::in_dir(dir.path())
            .real_clock()
            .timeout(std::time::Duration::from_secs(120))
    };

    // Before any apply there is nothing restored to compare: exit 3.
    let early = run().arg("compare").arg(&plan).arg("--sandbox").run();
    assert_eq!(early.code, Some(3), "{}", early.stderr);

    let applied = run().args(["apply", "--sandbox", "--yes"]).arg(&plan).run();
    assert_eq!(
        applied.code,
        Some(0),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );

    let out = run()
        .arg("compare")
        .arg(&plan)
        .args(["--sandbox", "--format", "json", "--chunk-rows", "7"])
        .arg("--catalog")
        .arg(&catalog)
        .arg("--defaults-file")
        .arg(&cnf)
        .run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let doc = json(&out.stdout);
    let expected = independent(
        &server,
        "orders",
        "payments",
        "payments_bak",
        "id",
        &["id", "amount", "paid_at", "ref"],
    )
    .await;
    assert_eq!(expected, (3, 1, 1));
    for instance in ["cdb-ord00001", "cdb-ord00002"] {
        let t = doc["tables"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["instance"] == instance))
            .unwrap_or_else(|| panic!("{instance}: {doc}"));
        assert_eq!(
            (
                t["deleted"].as_i64(),
                t["inserted"].as_i64(),
                t["changed"].as_i64()
            ),
            (Some(expected.0), Some(expected.1), Some(expected.2)),
            "{t}"
        );
    }
    // Keys beyond 2^53 are compared exactly: the one deleted row is the one SQL says.
    let t = table(&doc, "orders.payments");
    assert_eq!(t["sample"]["deleted"][0]["id"], "9007199254740995", "{t}");

    // Without the catalog's address the sandbox gives none: said, exit 2.
    let bare = run()
        .arg("compare")
        .arg(&plan)
        .args(["--sandbox", "--instance", "cdb-ord00001"])
        .arg("--defaults-file")
        .arg(&cnf)
        .run();
    assert_eq!(bare.code, Some(2), "{}\n{}", bare.stdout, bare.stderr);
    assert!(
        bare.stdout.contains("connect: HOST:PORT"),
        "{}",
        bare.stdout
    );
}
