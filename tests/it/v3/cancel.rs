//! `planrun cancel` through the binary: StopRollback for the plan's unfinished instances,
//! confirmed with DescribeAsyncRequestInfo and the task's state: `stopping`, then `cancelled` once KILLED.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;
use planrun::api::v3::client::{
    DESCRIBE_ASYNC_REQUEST_INFO, DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK, STOP_ROLLBACK,
};

const PLAN: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nregion: ap-guangzhou\ninstances:\n  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]\n    tables: {shop: {orders: orders_bak}}\n";

async fn planrun(args: Vec<String>, home: std::path::PathBuf) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        crate::support::Test::in_dir(&home)
            .env("PLANRUN_NOW", "2026-11-23T04:00:00Z")
            .env("TENCENTCLOUD_SECRET_ID", ID)
            .env("TENCENTCLOUD_SECRET_KEY", KEY)
            .args(&args)
            .command()
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
    // The stop is confirmed: the request RUNNING, then SUCCESS; the task PAUSED (being
    // stopped), then KILLED. Only then is the instance cancelled.
    script.push(
        DESCRIBE_ASYNC_REQUEST_INFO,
        json!({"Status": "RUNNING", "Info": null}),
    );
    script.push(
        DESCRIBE_ASYNC_REQUEST_INFO,
        json!({"Status": "SUCCESS", "Info": "ok"}),
    );
    let task = |status: &str| {
        json!({"TotalCount": 1, "Items": [{"Status": status, "Progress": 40,
        "StartTime": "2026-11-23 12:00:00", "EndTime": "0000-00-00 00:00:00", "Detail": null}]})
    };
    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, task("PAUSED"));
    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, task("KILLED"));
    let cancel = vec![
        s("cancel"),
        plan.clone(),
        s("--instance"),
        s("cdb-bbbbbbbb"),
        s("--yes"),
        s("--poll-interval"),
        s("50ms"),
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
        stdout.contains("cdb-bbbbbbbb: stopping (StopRollback request stop-a)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cdb-bbbbbbbb: cancelled (the task is KILLED)"),
        "{stdout}"
    );
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL).len(), 2);
    let asked: Value =
        serde_json::from_slice(&script.seen(DESCRIBE_ASYNC_REQUEST_INFO)[0].body).unwrap();
    assert_eq!(asked, json!({"AsyncRequestId": "stop-a"}));
    let stops = script.seen(STOP_ROLLBACK);
    assert_eq!(stops.len(), 1, "only the instance asked for");
    let body: Value = serde_json::from_slice(&stops[0].body).unwrap();
    assert_eq!(body["InstanceId"], "cdb-bbbbbbbb");

    let status = vec![s("status"), plan, s("--offline"), s("--format"), s("json")];
    let out = planrun(status, dir.path().to_owned()).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["instances"][1]["id"], "cdb-bbbbbbbb");
    assert_eq!(report["instances"][1]["status"], "cancelled");
    // The apply ended at its --timeout, which the journal records.
    assert_eq!(report["instances"][0]["status"], "timed_out");
    assert_eq!(report["totals"]["cancelled"], 1);
}

/// A stop that is not confirmed by `--wait` leaves the instance `stopping` (exit 3), never
/// `cancelled`: the task is still PAUSED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_stop_stays_stopping() {
    let (endpoint, script) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.yaml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan = plan.display().to_string();
    let s = |v: &str| v.to_owned();
    let common = [s("--endpoint"), endpoint.clone()];
    let mut apply = vec![s("apply"), plan.clone(), s("--yes"), s("--no-preflight")];
    apply.extend([s("--timeout"), s("2s")]);
    apply.extend(common.clone());
    planrun(apply, dir.path().to_owned()).await;
    for _ in 0..20 {
        script.push(
            DESCRIBE_ROLLBACK_TASK_DETAIL,
            json!({"TotalCount": 1, "Items": [{"Status": "PAUSED", "Progress": 40}]}),
        );
    }
    // The stop request waits for the maintenance window (DescribeAsyncRequestInfo's UNDEFINED).
    for _ in 0..20 {
        script.push(
            DESCRIBE_ASYNC_REQUEST_INFO,
            json!({"Status": "UNDEFINED", "Info": null}),
        );
    }
    let mut cancel = vec![
        s("cancel"),
        plan.clone(),
        s("--instance"),
        s("cdb-aaaaaaaa"),
    ];
    cancel.extend([
        s("--yes"),
        s("--poll-interval"),
        s("50ms"),
        s("--wait"),
        s("300ms"),
    ]);
    cancel.extend(common.clone());
    let out = planrun(cancel, dir.path().to_owned()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "cdb-aaaaaaaa: still stopping (StopRollback request stop-1: waiting for maintenance window)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("cancelled"), "{stdout}");
    let status = vec![
        s("status"),
        plan.clone(),
        s("--offline"),
        s("--format"),
        s("json"),
    ];
    let out = planrun(status, dir.path().to_owned()).await;
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["instances"][0]["status"], "stopping");
    assert_eq!(report["totals"]["stopping"], 1);
    assert_eq!(report["totals"]["cancelled"], 0);

    // Cancelling again confirms the first stop instead of sending another StopRollback (the
    // PAUSED answers left are seen first, then KILLED).
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 1, "Items": [{"Status": "KILLED", "Progress": 40}]}),
    );
    let stops = script.seen(STOP_ROLLBACK).len();
    let mut again = vec![
        s("cancel"),
        plan,
        s("--instance"),
        s("cdb-aaaaaaaa"),
        s("--yes"),
    ];
    again.extend([s("--poll-interval"), s("50ms"), s("--wait"), s("20s")]);
    again.extend([s("--endpoint"), endpoint.clone()]);
    let out = planrun(again, dir.path().to_owned()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("cdb-aaaaaaaa: already stopping (StopRollback request stop-1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cdb-aaaaaaaa: cancelled (the task is KILLED)"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        script.seen(STOP_ROLLBACK).len(),
        stops,
        "no second StopRollback"
    );
}
