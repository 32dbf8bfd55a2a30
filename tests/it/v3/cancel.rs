//! `planrun cancel` through the binary: StopRollback for the plan's unfinished instances,
//! confirmed with DescribeAsyncRequestInfo and the task's state: `stopping`, then `cancelled`
//! once KILLED.

use serde_json::json;

use super::*;
use planrun::api::v3::client::{
    DESCRIBE_ASYNC_REQUEST_INFO, DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK, STOP_ROLLBACK,
};

const PLAN: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nregion: ap-guangzhou\ninstances:\n  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]\n    tables: {shop: {orders: orders_bak}}\n";

/// [`PLAN`] applied against `endpoint`: submitted, then no longer tracked at `--timeout` (the
/// fake cloud never lists tasks), exit 1. Returns the plan's directory and path.
async fn submitted(endpoint: &str) -> (tempfile::TempDir, String) {
    let (dir, plan) = plan_in_temp_dir(PLAN);
    let apply = [
        "apply",
        &plan,
        "--yes",
        "--no-preflight",
        "--timeout",
        "2s",
        "--endpoint",
        endpoint,
    ];
    let out = planrun(dir.path(), &apply).await;
    assert_eq!(out.code, Some(1), "{}", out.all());
    (dir, plan)
}

/// `status PLAN --offline --format json`: what the journal says.
async fn offline_status(dir: &Path, plan: &str) -> Value {
    let args = ["status", plan, "--offline", "--format", "json"];
    let out = planrun(dir, &args).await;
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()))
}

/// `cancel PLAN --instance ID --yes` polling every 50 ms, with `extra` flags.
async fn cancel(dir: &Path, plan: &str, id: &str, endpoint: &str, extra: &[&str]) -> Output {
    let args = [
        "cancel",
        plan,
        "--instance",
        id,
        "--yes",
        "--poll-interval",
        "50ms",
        "--endpoint",
        endpoint,
    ];
    planrun(dir, &[&args[..], extra].concat()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_unfinished_rollbacks_and_status_shows_cancelled() {
    let (endpoint, script) = serve().await;
    let (dir, plan) = submitted(&endpoint).await;
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
    // The task started after the submission (the journal's intent, on this machine's clock,
    // read in the plan's +08:00): a lone item that started before it is provably not its
    // task, and cancel does not take it for its own.
    let started = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format(planrun::contract::TIME_FORMAT)
        .to_string();
    let task = |status: &str| {
        json!({"TotalCount": 1, "Items": [{"Status": status, "Progress": 40,
        "StartTime": started, "EndTime": "0000-00-00 00:00:00", "Detail": null}]})
    };
    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, task("PAUSED"));
    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, task("KILLED"));
    let out = cancel(dir.path(), &plan, "cdb-bbbbbbbb", &endpoint, &[]).await;
    let stdout = &out.stdout;
    assert_eq!(out.code, Some(0), "{}", out.all());
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

    let report = offline_status(dir.path(), &plan).await;
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
    let (dir, plan) = submitted(&endpoint).await;
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
    let out = cancel(
        dir.path(),
        &plan,
        "cdb-aaaaaaaa",
        &endpoint,
        &["--wait", "300ms"],
    )
    .await;
    let stdout = &out.stdout;
    assert_eq!(out.code, Some(3), "{stdout}");
    assert!(
        stdout.contains(
            "cdb-aaaaaaaa: still stopping (StopRollback request stop-1: waiting for maintenance window)"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("cancelled"), "{stdout}");
    let report = offline_status(dir.path(), &plan).await;
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
    let out = cancel(
        dir.path(),
        &plan,
        "cdb-aaaaaaaa",
        &endpoint,
        &["--wait", "20s"],
    )
    .await;
    let stdout = &out.stdout;
    assert!(
        stdout.contains("cdb-aaaaaaaa: already stopping (StopRollback request stop-1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cdb-aaaaaaaa: cancelled (the task is KILLED)"),
        "{stdout}"
    );
    assert_eq!(out.code, Some(0), "{stdout}");
    assert_eq!(
        script.seen(STOP_ROLLBACK).len(),
        stops,
        "no second StopRollback"
    );
}
