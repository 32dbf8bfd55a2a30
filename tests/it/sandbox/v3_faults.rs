//! API 3.0's StopRollback and DescribeAsyncRequestInfo of both requests (the injected faults of
//! both APIs are in `faults`).

use super::v3::{V3, error_code, instance};
use super::*;

#[tokio::test]
async fn stop_rollback_kills_the_running_task_for_both_apis() {
    let mut config = Config {
        task_seconds: (30.0, 30.0),
        ..fast()
    };
    config.missing_instances.insert("cdb-gone0000".into());
    let sb = start(config).await;
    let c = V3::new(&sb);
    let r = c.call("StopRollback", json!({"InstanceId": A})).await;
    assert_eq!(error_code(&r), Some("OperationDenied"));
    let started = c.start(json!([instance(A)])).await["AsyncRequestId"].clone();
    let r = c.call("StopRollback", json!({"InstanceId": A})).await;
    let stop_id = r["AsyncRequestId"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    assert_eq!(stop_id.split('-').count(), 4);
    let item = c.detail(A, json!({})).await["Items"][0].clone();
    assert_eq!(item["Status"], "KILLED", "{item}");
    let info = |id: Value| c.call("DescribeAsyncRequestInfo", json!({ "AsyncRequestId": id }));
    assert_eq!(info(json!(stop_id)).await["Status"], "SUCCESS");
    assert_eq!(info(started).await["Status"], "KILLED");
    assert_ne!(item["EndTime"], "0000-00-00 00:00:00");
    let mut v2 = Caller::new(&sb);
    let jobs = v2.jobs(A, &[]).await;
    assert_eq!(int(&jobs["data"]["taskList"][0]["status"]), 4);
    let again = c.call("StopRollback", json!({"InstanceId": A})).await;
    assert_eq!(error_code(&again), Some("OperationDenied"));
    let r = c.start(json!([instance(A)])).await;
    assert!(
        r["AsyncRequestId"].is_string(),
        "a killed task frees the instance: {r}"
    );
    let r = c
        .call("StopRollback", json!({"InstanceId": "cdb-gone0000"}))
        .await;
    assert_eq!(error_code(&r), Some("InvalidParameter.InstanceNotFound"));
    assert_eq!(sb.counters().stopped_tasks, 1);
    sb.shutdown().await;
}

/// A stop with a delay: the task PAUSED and the stop request RUNNING until the task is
/// KILLED, then the request SUCCESS; meanwhile the instance is busy and a second stop refused.
#[tokio::test]
async fn a_stop_with_a_delay_shows_paused_then_killed() {
    let sb = start(Config {
        task_seconds: (30.0, 30.0),
        stop_seconds: 1.0,
        ..fast()
    })
    .await;
    let c = V3::new(&sb);
    let started = c.start(json!([instance(A)])).await["AsyncRequestId"].clone();
    let r = c.call("StopRollback", json!({"InstanceId": A})).await;
    let stop = r["AsyncRequestId"].clone();
    assert!(stop.is_string(), "{r}");
    let info = |id: &Value| {
        c.call(
            "DescribeAsyncRequestInfo",
            json!({ "AsyncRequestId": id.clone() }),
        )
    };
    let item = c.detail(A, json!({})).await["Items"][0].clone();
    assert_eq!(item["Status"], "PAUSED", "{item}");
    let busy = c.start(json!([instance(A)])).await;
    assert_eq!(error_code(&busy), Some("FailedOperation.StatusConflict"));
    let again = c.call("StopRollback", json!({"InstanceId": A})).await;
    assert_eq!(
        error_code(&again),
        Some("OperationDenied"),
        "already being stopped"
    );
    assert_eq!(info(&started).await["Status"], "RUNNING");
    assert_eq!(info(&stop).await["Status"], "RUNNING");
    // Until the stop is through (1 s × time_scale): the next answer that is not PAUSED.
    let killed = wait_for_every(
        "the stop to go through",
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            let item = c.detail(A, json!({})).await["Items"][0].clone();
            if item["Status"] != "PAUSED" {
                Ok(item)
            } else {
                Err(item)
            }
        },
    )
    .await;
    assert_eq!(killed["Status"], "KILLED", "{killed}");
    assert_eq!(info(&stop).await["Status"], "SUCCESS");
    assert_eq!(sb.counters().stopped_tasks, 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_absurd_stop_delay_keeps_the_task_paused_without_panicking() {
    let sb = start(Config {
        task_seconds: (30.0, 30.0),
        stop_seconds: f64::MAX,
        ..fast()
    })
    .await;
    let c = V3::new(&sb);
    c.start(json!([instance(A)])).await;
    let r = c.call("StopRollback", json!({"InstanceId": A})).await;
    assert!(r["AsyncRequestId"].is_string(), "{r}");
    let item = c.detail(A, json!({})).await["Items"][0].clone();
    assert_eq!(item["Status"], "PAUSED", "{item}");
    sb.shutdown().await;
}
