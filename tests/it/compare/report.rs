//! `planrun compare` after a self-hosted apply: its counts against the test's own SQL, a
//! table without a key refused with why, a case-insensitive key, nothing written anywhere,
//! and the differences in the incident record (Markdown, and HTML opened in Chromium).

use std::path::PathBuf;
use std::process::Command;

use super::fixture::{binlog_position, independent, json, restored, table};
use crate::selfhosted::server::PASSWORD;

const ORDERS: &[&str] = &["id", "code", "amount", "note", "placed"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_counts_equal_an_independent_sql_computation_and_the_record_shows_them() {
    let r = restored().await;
    let before = binlog_position(&r.server).await;
    // Small ranges: the 300 rows are walked in 19 of them.
    let out = r.compare(&["--format", "json", "--chunk-rows", "16"]);
    assert_eq!(out.code, Some(1), "differences: {}", out.stderr);
    assert!(!out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD));
    let doc = json(&out.stdout);

    let orders = table(&doc, "shop.orders");
    let (d, i, c) = independent(&r.server, "shop", "orders", "orders_bak", "id", ORDERS).await;
    assert_eq!(
        (
            orders["deleted"].as_i64(),
            orders["inserted"].as_i64(),
            orders["changed"].as_i64()
        ),
        (Some(d), Some(i), Some(c)),
        "{orders}"
    );
    assert!(
        d > 0 && i > 0 && c > 0,
        "the story has each kind: {d} {i} {c}"
    );
    assert_eq!(orders["key"], serde_json::json!(["id"]));
    assert_eq!(orders["restored"], "shop.orders_bak");
    assert_eq!(orders["instance"], "shop");
    assert_eq!(
        orders["rows_restored"].as_i64(),
        Some(r.server.count("SELECT COUNT(*) FROM shop.orders_bak").await)
    );
    assert_eq!(
        orders["rows_now"].as_i64(),
        Some(r.server.count("SELECT COUNT(*) FROM shop.orders").await)
    );
    // The sample is bounded and holds what SQL says was deleted.
    let deleted = orders["sample"]["deleted"].as_array().expect("sample");
    assert_eq!(deleted.len(), 10, "{orders}");
    for row in deleted {
        let id = row["id"].as_str().expect("id as text");
        assert_eq!(
            r.server
                .count(&format!("SELECT COUNT(*) FROM shop.orders WHERE id = {id}"))
                .await,
            0
        );
    }
    let changed = &orders["sample"]["changed"][0];
    assert!(
        changed["columns"].as_array().is_some_and(|c| !c.is_empty()),
        "{changed}"
    );

    // A case-insensitive key: 'alpha' became 'ALPHA': the same key, changed (the server's
    // collation says which keys are the same); the test's SQL joins the same way.
    let tags = table(&doc, "shop.tags");
    let (d, i, c) = independent(
        &r.server,
        "shop",
        "tags",
        "tags_bak",
        "code",
        &["code", "label"],
    )
    .await;
    assert_eq!(
        (
            tags["deleted"].as_i64(),
            tags["inserted"].as_i64(),
            tags["changed"].as_i64()
        ),
        (Some(d), Some(i), Some(c)),
        "{tags}"
    );
    assert_eq!(
        (d, i, c),
        (1, 1, 1),
        "beta deleted, epsilon inserted, alpha's case changed"
    );
    assert_eq!(
        tags["sample"]["changed"][0]["columns"],
        serde_json::json!(["code"])
    );

    let log = table(&doc, "shop.log");
    let why = log["not_comparable"].as_str().unwrap_or_default();
    assert!(why.contains("no primary key"), "{log}");
    assert!(log["deleted"].is_null(), "{log}");

    // Read-only: the server's binary log did not move.
    assert_eq!(
        binlog_position(&r.server).await,
        before,
        "compare wrote something"
    );

    // The human table, and bad input: an unknown instance.
    let human = r.compare(&[]);
    assert_eq!(human.code, Some(1));
    assert!(human.stdout.contains("shop.orders_bak"), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("not comparable: shop.log_bak has no primary key"),
        "{}",
        human.stdout
    );
    let unknown = r.compare(&["--instance", "nope"]);
    assert_eq!(unknown.code, Some(2), "{}", unknown.stderr);

    // The record: Markdown and the HTML page in Chromium.
    let md = r
        .planrun()
        .args(["report", "--format", "markdown"])
        .arg(&r.plan)
        .run();
    assert!(
        md.stdout
            .contains("#### Differences since the time (3 tables)"),
        "{}",
        md.stdout
    );
    let orders_row = md
        .stdout
        .lines()
        .find(|l| l.starts_with("| shop | shop.orders_bak |"))
        .unwrap_or_else(|| panic!("{}", md.stdout));
    assert!(
        orders_row.contains(&format!("| {d_} |", d_ = orders["deleted"])),
        "{orders_row}"
    );
    let page = r.path("record.html");
    let html = r
        .planrun()
        .arg("report")
        .arg(&r.plan)
        .arg("--out")
        .arg(&page)
        .run();
    assert_eq!(html.code, Some(0), "{}", html.stderr);
    let seen = inspect(&page, &r.path("record.png"));
    for kind in ["console_errors", "exceptions", "log_errors"] {
        assert_eq!(seen[kind], serde_json::json!([]), "{kind}: {seen}");
    }
    // The page itself, and nothing from the network.
    assert_eq!(seen["requests"], serde_json::json!([seen["url"]]), "{seen}");
    let rows = seen["dom"]["difference_rows"].as_array().expect("rows");
    let orders_cells = rows
        .iter()
        .find(|r| r[1] == "shop.orders_bak")
        .unwrap_or_else(|| panic!("{seen}"));
    assert_eq!(
        orders_cells[6],
        orders["deleted"].to_string(),
        "{orders_cells}"
    );
    assert_eq!(
        orders_cells[7],
        orders["inserted"].to_string(),
        "{orders_cells}"
    );
    assert_eq!(
        orders_cells[8],
        orders["changed"].to_string(),
        "{orders_cells}"
    );
    let shown = seen["dom"]["differences"].as_str().unwrap_or_default();
    assert!(shown.contains("no primary key"), "{shown}");
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/browser/inspect.py PAGE SHOT` (the project's `.venv` Python when there is one).
fn inspect(page: &std::path::Path, shot: &std::path::Path) -> serde_json::Value {
    let venv = repo().join(".venv/bin/python");
    let python = if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    };
    let check = Command::new(python)
        .arg(repo().join("tests/browser/inspect.py"))
        .arg(page)
        .arg(shot)
        .output()
        .unwrap_or_else(|e| panic!("python: {e}"));
    assert!(
        check.status.success(),
        "inspect.py failed (is chromium installed? .ci/test installs it): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    serde_json::from_slice(&check.stdout).expect("inspect.py output")
}
