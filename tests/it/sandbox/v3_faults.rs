//! API 3.0's StopRollback (and DescribeAsyncRequestInfo of both requests) and the injected faults (502, InternalError, slow, lost answer).

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
    assert_eq!(
        error_code(&r),
        Some("OperationDenied.InstanceTaskStatusError")
    );
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
    assert_eq!(
        error_code(&again),
        Some("OperationDenied.InstanceTaskStatusError")
    );
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
        Some("OperationDenied.InstanceTaskStatusError"),
        "already being stopped"
    );
    assert_eq!(info(&started).await["Status"], "RUNNING");
    assert_eq!(info(&stop).await["Status"], "RUNNING");
    // Until the stop is through (1 s × time_scale): the next answer that is not PAUSED.
    let deadline = Instant::now() + Duration::from_secs(10);
    let killed = loop {
        let item = c.detail(A, json!({})).await["Items"][0].clone();
        if item["Status"] != "PAUSED" {
            break item;
        }
        assert!(Instant::now() < deadline, "never stopped: {item}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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

fn faulty(kinds: FaultKinds) -> Config {
    Config {
        faults: Faults {
            rate: 1.0,
            kinds,
            seed: 9,
            slow_ms: 300,
            actions: ["StartBatchRollback".to_owned()].into(),
        },
        ..fast()
    }
}

#[tokio::test]
async fn a_lost_answer_after_acceptance_leaves_a_task_to_find() {
    let sb = start(faulty(FaultKinds {
        lost: true,
        ..FaultKinds::default()
    }))
    .await;
    let c = V3::new(&sb);
    let sent = c
        .send("StartBatchRollback", &json!({"Instances": [instance(A)]}))
        .await;
    let answered = match sent {
        Ok(resp) => resp.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "the answer must be lost");
    let found = c.detail(A, json!({})).await;
    assert_eq!(
        found["TotalCount"], 1,
        "the submission was carried out: {found}"
    );
    let s = sb.counters();
    assert_eq!(
        (
            s.lost_responses,
            s.lost_accepted_jobs,
            s.accepted_submissions[A]
        ),
        (1, 1, 1)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn http502_internal_and_slow_faults_hit_v3_too() {
    let sb = start(faulty(FaultKinds {
        http502: true,
        ..FaultKinds::default()
    }))
    .await;
    let c = V3::new(&sb);
    let resp = c
        .send("StartBatchRollback", &json!({"Instances": [instance(A)]}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), 502);
    assert_eq!(
        (sb.counters().faults["http502"], sb.counters().accepted_jobs),
        (1, 0)
    );
    sb.shutdown().await;

    let sb = start(faulty(FaultKinds {
        internal: true,
        ..FaultKinds::default()
    }))
    .await;
    let c = V3::new(&sb);
    let r = c.start(json!([instance(A)])).await;
    assert_eq!(error_code(&r), Some("InternalError"));
    let r = c.detail(A, json!({})).await;
    assert_eq!(
        r["TotalCount"], 0,
        "faults target StartBatchRollback only: {r}"
    );
    let s = sb.counters();
    assert_eq!(
        (s.rejections_per_error["InternalError"], s.accepted_jobs),
        (1, 0)
    );
    sb.shutdown().await;

    let sb = start(faulty(FaultKinds {
        slow: true,
        ..FaultKinds::default()
    }))
    .await;
    let c = V3::new(&sb);
    let t0 = Instant::now();
    let r = c.start(json!([instance(A)])).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert!(
        r["AsyncRequestId"].is_string(),
        "a slow answer still answers: {r}"
    );
    assert_eq!(sb.counters().faults["slow"], 1);
    sb.shutdown().await;
}
