//! `planrun cancel` through the binary: StopRollback for the plan's unfinished instances,
//! recorded in the journal so `status` and the report show `cancelled`.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use planrun::api::v3::client::{START_BATCH_ROLLBACK, STOP_ROLLBACK};

const PLAN: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nregion: ap-guangzhou\ninstances:\n  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]\n    tables: {shop: {orders: orders_bak}}\n";

async fn planrun(args: Vec<String>, home: std::path::PathBuf) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("planrun")
            .unwrap()
            .env_clear()
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .env("PLANRUN_NOW", "2026-11-23T04:00:00Z")
            .env("TENCENTCLOUD_SECRET_ID", ID)
            .env("TENCENTCLOUD_SECRET_KEY", KEY)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_unfinished_rollbacks_and_status_shows_cancelled() {
    let (endpoint, script) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.yaml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();
    let s = |v: &str| v.to_owned();
    // An apply that submits, then stops tracking at --timeout (the fake cloud never lists tasks).
    let apply = vec![
        s("apply"),
        plan.clone(),
        s("--yes"),
        s("--no-preflight"),
        s("--timeout"),
        s("2s"),
        s("--endpoint"),
        endpoint.clone(),
    ];
    let out = planrun(apply, dir.path().to_owned()).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(script.seen(START_BATCH_ROLLBACK).len(), 1);

    script.push(STOP_ROLLBACK, json!({"AsyncRequestId": "stop-a"}));
    let cancel = vec![
        s("cancel"),
        plan.clone(),
        s("--instance"),
        s("cdb-bbbbbbbb"),
        s("--yes"),
        s("--endpoint"),
        endpoint.clone(),
    ];
    let out = planrun(cancel, dir.path().to_owned()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cdb-bbbbbbbb: cancelled (StopRollback request stop-a)"),
        "{stdout}"
    );
    let stops = script.seen(STOP_ROLLBACK);
    assert_eq!(stops.len(), 1, "only the instance asked for");
    let body: Value = serde_json::from_slice(&stops[0].body).unwrap();
    assert_eq!(body["InstanceId"], "cdb-bbbbbbbb");

    let status = vec![s("status"), plan, s("--offline"), s("--format"), s("json")];
    let out = planrun(status, dir.path().to_owned()).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["instances"][1]["id"], "cdb-bbbbbbbb");
    assert_eq!(report["instances"][1]["status"], "cancelled");
    assert_eq!(report["instances"][0]["status"], "submitted");
    assert_eq!(report["totals"]["cancelled"], 1);
}
