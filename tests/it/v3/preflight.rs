//! The rollback-window preflight through the binary: `apply` submits nothing when an instance
//! cannot roll back to its time, and `plan --preflight` reports it like `validate` does.

use serde_json::json;

use super::*;
use planrun::api::v3::client::{DESCRIBE_ROLLBACK_RANGE_TIME, START_BATCH_ROLLBACK};

const PLAN: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nregion: ap-guangzhou\ninstances:\n  - id: cdb-inwindow\n    tables: {shop: {orders: orders_bak}}\n  - id: cdb-tooold01\n    rollback_time: \"2026-11-10 03:15:00\"\n    tables: {shop: {orders: orders_bak}}\n  - id: cdb-missing1\n    tables: {shop: {orders: orders_bak}}\n";

fn window_answer() -> Value {
    let window = json!([{"Begin": "2026-11-16 00:00:00", "End": "2026-11-23 12:00:00"}]);
    json!({"Items": [
        {"InstanceId": "cdb-inwindow", "Code": 0, "Message": "", "Times": window},
        {"InstanceId": "cdb-tooold01", "Code": 0, "Message": "", "Times": window},
        {"InstanceId": "cdb-missing1", "Code": 1, "Message": "instance not found", "Times": null}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_preflight_first_submits_nothing_when_preflight_finds_a_problem() {
    let (endpoint, script) = serve().await;
    script.push(DESCRIBE_ROLLBACK_RANGE_TIME, window_answer());
    let (dir, plan) = plan_in_temp_dir(PLAN);
    let out = planrun(
        dir.path(),
        &[
            "apply",
            &plan,
            "--yes",
            "--endpoint",
            &endpoint,
            "--preflight-first",
        ],
    )
    .await;
    let stderr = &out.stderr;
    assert_eq!(out.code, Some(1), "{stderr}");
    assert!(
        stderr.contains("planrun::outside_rollback_window"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cdb-tooold01: rollback time 2026-11-10 03:15:00 is outside"),
        "{stderr}"
    );
    // The refusal states the instance's window as the API returned it.
    assert!(
        stderr.contains("can roll back to 2026-11-16 00:00:00 .. 2026-11-23 12:00:00"),
        "{stderr}"
    );
    assert!(stderr.contains("planrun::instance_unavailable"), "{stderr}");
    assert!(stderr.contains("nothing was submitted"), "{stderr}");
    assert!(
        !stderr.contains("cdb-inwindow:"),
        "an instance inside its window is no problem: {stderr}"
    );
    assert!(
        script.seen(START_BATCH_ROLLBACK).is_empty(),
        "a submission was sent"
    );
    let asked = script.seen(DESCRIBE_ROLLBACK_RANGE_TIME);
    assert_eq!(asked.len(), 1);
    let body: Value = serde_json::from_slice(&asked[0].body).unwrap();
    assert_eq!(
        body["InstanceIds"],
        json!(["cdb-inwindow", "cdb-tooold01", "cdb-missing1"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_preflight_points_at_the_nodes_in_json() {
    let (endpoint, script) = serve().await;
    script.push(DESCRIBE_ROLLBACK_RANGE_TIME, window_answer());
    let (dir, plan) = plan_in_temp_dir(PLAN);
    let args = [
        "plan",
        &plan,
        "--preflight",
        "--format",
        "json",
        "--endpoint",
        &endpoint,
    ];
    let out = planrun(dir.path(), &args).await;
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["plan"], "p");
    let diags = doc["preflight"]["files"][0]["diagnostics"]
        .as_array()
        .unwrap();
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "planrun::outside_rollback_window",
            "planrun::instance_unavailable"
        ]
    );
    // Pointed at the instance ids: line 8 `  - id: cdb-tooold01`, line 11 `  - id: cdb-missing1`.
    assert_eq!(
        (
            diags[0]["path"].as_str(),
            diags[0]["line"].as_u64(),
            diags[0]["column"].as_u64()
        ),
        (Some("/instances/1/id"), Some(8), Some(9))
    );
    assert_eq!(
        (diags[1]["path"].as_str(), diags[1]["line"].as_u64()),
        (Some("/instances/2/id"), Some(11))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_preflight_passes_when_every_time_is_inside() {
    let (endpoint, script) = serve().await;
    let window = json!([{"Begin": "2026-11-01 00:00:00", "End": "2026-11-23 12:00:00"}]);
    script.push(
        DESCRIBE_ROLLBACK_RANGE_TIME,
        json!({"Items": [
            {"InstanceId": "cdb-inwindow", "Code": 0, "Times": window},
            {"InstanceId": "cdb-tooold01", "Code": 0, "Times": window},
            {"InstanceId": "cdb-missing1", "Code": 0, "Times": window}
        ]}),
    );
    let (dir, plan) = plan_in_temp_dir(PLAN);
    let out = planrun(
        dir.path(),
        &["plan", &plan, "--preflight", "--endpoint", &endpoint],
    )
    .await;
    let stderr = &out.stderr;
    assert_eq!(out.code, Some(0), "{stderr}");
    assert!(
        stderr.contains("preflight: all 3 instances can roll back to their times"),
        "{stderr}"
    );
}

/// `--preflight-first`: every check (the windows, then the objects) is answered before the
/// first submission leaves, in the order the server received them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_preflight_first_submits_nothing_before_the_last_check() {
    let (endpoint, script) = serve().await;
    let window = json!([{"Begin": "2026-11-01 00:00:00", "End": "2026-11-23 12:00:00"}]);
    let ids = ["cdb-inwindow", "cdb-tooold01", "cdb-missing1"];
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"InstanceId": id, "Code": 0, "Times": window}))
        .collect();
    script.push(DESCRIBE_ROLLBACK_RANGE_TIME, json!({ "Items": items }));
    let (dir, plan) = plan_in_temp_dir(PLAN);
    let args = [
        "apply",
        &plan,
        "--yes",
        "--endpoint",
        &endpoint,
        "--preflight-first",
        "--batch-size",
        "1",
        "--timeout",
        "2s",
    ];
    let out = planrun(dir.path(), &args).await;
    let all = script.seen.lock().unwrap().clone();
    let order: Vec<&str> = all.iter().map(|s| s.action.as_str()).collect();
    let first_submission = order.iter().position(|a| *a == START_BATCH_ROLLBACK);
    let last_check = order
        .iter()
        .rposition(|a| *a == DESCRIBE_ROLLBACK_RANGE_TIME || *a == "DescribeTables");
    assert!(
        matches!((first_submission, last_check), (Some(s), Some(c)) if c < s),
        "{order:?}\n{}",
        out.stderr
    );
    assert_eq!(
        order.iter().filter(|a| **a == START_BATCH_ROLLBACK).count(),
        3,
        "{order:?}"
    );
}
