//! The sandbox's API 3.0 answers as the official SDK documents them: DescribeTasks (the
//! AsyncRequestId and InstanceIds of each submission, `SUCCEED`), DescribeAsyncRequestInfo
//! (a stop's: in `v3_faults`), the configurable task-running code, an empty `Detail`, tasks
//! held in INITIAL, and the fault that creates tasks then answers InternalError.

use super::v3::{V3, error_code, instance};
use super::*;

#[tokio::test]
async fn describe_tasks_ties_each_task_to_its_request_and_instances() {
    let sb = start(Config {
        task_seconds: (30.0, 30.0),
        ..fast()
    })
    .await;
    let c = V3::new(&sb);
    let first = c.start(json!([instance(A), instance(B)])).await["AsyncRequestId"].clone();
    let tasks = |body: Value| c.call("DescribeTasks", body);
    let page = tasks(json!({"InstanceId": A, "TaskTypes": [1, 10]})).await;
    assert_eq!(page["TotalCount"], 1, "{page}");
    let item = &page["Items"][0];
    assert_eq!(item["AsyncRequestId"], first);
    assert_eq!(item["InstanceIds"], json!([A, B]));
    assert_eq!(item["TaskType"], "BATCH ROLLBACK");
    assert_eq!(item["EndTime"], "0000-00-00 00:00:00");
    assert!(item["JobId"].is_u64(), "{item}");
    // Filters: another type, a later start, another instance.
    let none = tasks(json!({"InstanceId": A, "TaskTypes": [2]})).await;
    assert_eq!(none["TotalCount"], 0);
    let later = tasks(json!({"InstanceId": A, "StartTimeBegin": "2999-01-01 00:00:00"})).await;
    assert_eq!(later["TotalCount"], 0);
    let other = tasks(json!({"InstanceId": "cdb-cccccccc"})).await;
    assert_eq!(other["TotalCount"], 0);
    let by_request = tasks(json!({"AsyncRequestId": first})).await;
    assert_eq!(by_request["TotalCount"], 1);
    let bad = tasks(json!({"TaskTypes": "10"})).await;
    assert_eq!(error_code(&bad), Some("InvalidParameter"));
    let unknown = c
        .call(
            "DescribeAsyncRequestInfo",
            json!({"AsyncRequestId": "nope"}),
        )
        .await;
    assert_eq!(
        error_code(&unknown),
        Some("InvalidParameter.InvalidAsyncRequestId")
    );
    sb.shutdown().await;

    // Done: SUCCEED in DescribeTasks' spelling, SUCCESS in the others'.
    let sb = start(fast()).await;
    let c = V3::new(&sb);
    c.start(json!([instance(A)])).await;
    let done = wait_for_every(
        "the task to end",
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            let item = c.call("DescribeTasks", json!({"InstanceId": A})).await["Items"][0].clone();
            let status = item["TaskStatus"].as_str().unwrap_or("");
            if ["INITIAL", "WAITING", "RUNNING"].contains(&status) {
                Err(item)
            } else {
                Ok(item)
            }
        },
    )
    .await;
    assert_eq!(done["TaskStatus"], "SUCCEED", "{done}");
    assert_ne!(done["EndTime"], "0000-00-00 00:00:00");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_task_running_code_is_configurable_and_defaults_to_a_documented_one() {
    for (code, expected) in [
        (None, "FailedOperation.StatusConflict"),
        (
            Some("OperationDenied.WrongStatus"),
            "OperationDenied.WrongStatus",
        ),
    ] {
        let mut config = Config {
            task_seconds: (30.0, 30.0),
            ..fast()
        };
        if let Some(code) = code {
            config.task_running_code = planrun::sandbox::task_running_code(code).unwrap();
        }
        let sb = start(config).await;
        let c = V3::new(&sb);
        c.start(json!([instance(A)])).await;
        let busy = c.start(json!([instance(A)])).await;
        assert_eq!(error_code(&busy), Some(expected));
        assert_eq!(
            planrun::api::error::classify_v3(expected),
            planrun::api::ErrorClass::Busy
        );
        sb.shutdown().await;
    }
    assert!(planrun::sandbox::task_running_code("Nope").is_err());
}

#[tokio::test]
async fn empty_detail_held_initial_and_internal_after_creating_the_tasks() {
    let sb = start(Config {
        task_seconds: (30.0, 30.0),
        empty_detail: true,
        initial_hold_seconds: 100.0,
        faults: Faults {
            rate: 1.0,
            kinds: FaultKinds {
                accepted_internal: true,
                ..FaultKinds::default()
            },
            seed: 1,
            slow_ms: 1,
            actions: ["StartBatchRollback".to_owned()].into(),
        },
        ..fast()
    })
    .await;
    let c = V3::new(&sb);
    let answer = c.start(json!([instance(A)])).await;
    assert_eq!(error_code(&answer), Some("InternalError"), "{answer}");
    let counters = sb.counters();
    assert_eq!(
        counters.accepted_submissions.get(A),
        Some(&1),
        "the task exists"
    );
    assert_eq!(counters.accepted_then_failed, 1);
    let item = c.detail(A, json!({})).await["Items"][0].clone();
    assert_eq!(item["Status"], "INITIAL", "held: {item}");
    assert!(
        item["Detail"].is_null() || item["Detail"] == json!([]),
        "no echo: {item}"
    );
    // DescribeTasks still ties it to a request and its instance.
    let tasks = c.call("DescribeTasks", json!({"InstanceId": A})).await;
    assert_eq!(tasks["Items"][0]["InstanceIds"], json!([A]));
    // DescribeTasks' spelling of a task that waits.
    assert_eq!(tasks["Items"][0]["TaskStatus"], "WAITING");
    sb.shutdown().await;
}

/// Issue 23, defect 7: what the cloud refuses, the sandbox refuses — a made-up id, a
/// read-only or disaster-recovery replica, a call larger than its bound — and it answers the
/// documented REMOVED, UNDEFINED and WAITING.
#[tokio::test]
async fn the_sandbox_refuses_what_the_cloud_refuses_and_answers_every_documented_state() {
    let sb = start(Config {
        task_seconds: (1.0, 1.0),
        time_scale: 0.2,
        initial_hold_seconds: 2.0,
        waiting_status: "UNDEFINED",
        removed_instances: ["cdb-ord00002".to_owned()].into(),
        ..Config::demo()
    })
    .await;
    let c = V3::new(&sb);
    let made_up = c.start(json!([instance("cdb-zzzz0001")])).await;
    assert_eq!(
        error_code(&made_up),
        Some("InvalidParameter.InstanceNotFound")
    );
    // Each asked in its own region (the demo's DR replica lives in ap-shanghai).
    let shanghai = V3 {
        region: "ap-shanghai",
        ..V3::new(&sb)
    };
    for (replica, c) in [("cdb-ordro001", &c), ("cdb-orddr001", &shanghai)] {
        let r = c.start(json!([instance(replica)])).await;
        assert_eq!(error_code(&r), Some("OperationDenied"), "{replica}: {r}");
    }
    let many: Vec<Value> = (0..1000)
        .map(|n| instance(&format!("cdb-m{n:07}")))
        .collect();
    let r = c.start(Value::Array(many)).await;
    assert_eq!(error_code(&r), Some("InvalidParameter"), "{r}");
    assert_eq!(sb.counters().accepted_jobs, 0);
    // A held task is UNDEFINED in the detail and WAITING in DescribeTasks; a removed one ends
    // REMOVED.
    let id = c.start(json!([instance("cdb-ord00002")])).await["AsyncRequestId"].clone();
    let detail = c
        .detail("cdb-ord00002", json!({"AsyncRequestId": id}))
        .await;
    assert_eq!(detail["Items"][0]["Status"], "UNDEFINED", "{detail}");
    let listed = c
        .call("DescribeTasks", json!({"InstanceId": "cdb-ord00002"}))
        .await;
    assert_eq!(listed["Items"][0]["TaskStatus"], "WAITING", "{listed}");
    wait_for_every(
        "the task to end REMOVED",
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            let d = c
                .detail("cdb-ord00002", json!({"AsyncRequestId": id}))
                .await;
            if d["Items"][0]["Status"] == "REMOVED" {
                Ok(())
            } else {
                Err(d)
            }
        },
    )
    .await;
}
