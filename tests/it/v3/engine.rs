//! The engine's V3 adapter and AnyProtocol: tracking, reconciliation data, preflight, stop.

use serde_json::{Value, json};

use super::*;
use planrun::api::v3::Client;
use planrun::api::v3::client::{
    DESCRIBE_ROLLBACK_RANGE_TIME, DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK,
    STOP_ROLLBACK,
};
use planrun::engine::any::AnyProtocol;
use planrun::engine::protocol::{JobHandle, Protocol, TaskState};
use planrun::engine::v3::V3;
use planrun::engine::window::{Window, window};

#[tokio::test]
async fn engine_adapter_tracks_by_request_and_reconciles_by_detail() {
    let (endpoint, script) = serve().await;
    let v3 = V3::new(Client::new(config(&endpoint)).unwrap());
    let any = AnyProtocol::from(v3.clone());
    assert_eq!(any.name(), "v3");

    let job = any
        .submit(Some("ap-shanghai"), &[db_instance("cdb-mo64xu70")])
        .await
        .unwrap();
    assert_eq!(job, JobHandle("f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7".into()));
    let sent = &script.seen(START_BATCH_ROLLBACK)[0];
    assert_eq!(header(&sent.headers, "x-tc-region"), "ap-shanghai");

    // Tracking by AsyncRequestId: the batch lists another instance first.
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 2, "Items": [
            {"Status": "SUCCESS", "Progress": 100,
             "Detail": [detail("cdb-c1nl9rpv", "2026-11-20 03:10:00", "db")]},
            {"Status": "RUNNING", "Progress": 40, "StartTime": "2026-11-23 10:00:00",
             "Info": "importing", "Detail": [detail("cdb-mo64xu70", "2026-11-20 03:10:00", "db")]}
        ]}),
    );
    let task = any.task(None, "cdb-mo64xu70", &job).await.unwrap().unwrap();
    assert_eq!(task.state, TaskState::Running);
    assert_eq!(task.progress, Some(40));
    assert_eq!(task.message.as_deref(), Some("importing"));
    assert_eq!(task.job.as_ref(), Some(&job));
    assert_eq!(task.spec, Some(db_instance("cdb-mo64xu70").spec));
    let asked: Value =
        serde_json::from_slice(&script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL)[0].body).unwrap();
    assert_eq!(asked["AsyncRequestId"], job.0.as_str());

    // Listing every task of the instance: no AsyncRequestId, derived handles that resolve.
    let listing = json!({"TotalCount": 2, "Items": [
        {"Status": "FAILED", "StartTime": "2026-11-22 09:00:00",
         "Detail": [detail("cdb-mo64xu70", "2026-11-20 01:00:00", "db")]},
        {"Status": "UNDEFINED", "StartTime": "2026-11-23 10:00:00",
         "Detail": [detail("cdb-mo64xu70", "2026-11-20 03:10:00", "db")]}
    ]});
    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, listing.clone());
    let tasks = any.tasks(None, "cdb-mo64xu70").await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].state, TaskState::Failed);
    assert!(matches!(tasks[1].state, TaskState::Unknown(_)));
    let ours = tasks
        .iter()
        .find(|t| t.spec.as_ref() == Some(&db_instance("cdb-mo64xu70").spec))
        .unwrap();
    let derived = ours.job.clone().unwrap();
    assert!(
        derived.0.starts_with("detail:2026-11-23 10:00:00|"),
        "{derived}"
    );
    let last: Value = serde_json::from_slice(
        &script
            .seen(DESCRIBE_ROLLBACK_TASK_DETAIL)
            .last()
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(last.get("AsyncRequestId").is_none(), "{last}");

    script.push(DESCRIBE_ROLLBACK_TASK_DETAIL, listing);
    let again = any
        .task(None, "cdb-mo64xu70", &derived)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.started_at.as_deref(), Some("2026-11-23 10:00:00"));
    // A request the API no longer lists is simply not found.
    let gone = any
        .task(None, "cdb-mo64xu70", &JobHandle("missing".into()))
        .await
        .unwrap();
    assert!(gone.is_none());
}

#[tokio::test]
async fn preflight_batches_instances_and_stop_returns_its_request() {
    let (endpoint, script) = serve().await;
    let v3 = V3::new(Client::new(config(&endpoint)).unwrap());
    let ids: Vec<String> = (0..45).map(|i| format!("cdb-{i:08}")).collect();
    let items = v3.preflight(None, &ids).await.unwrap();
    assert!(items.is_empty());
    let sizes: Vec<usize> = script
        .seen(DESCRIBE_ROLLBACK_RANGE_TIME)
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_slice(&s.body).unwrap();
            v["InstanceIds"].as_array().unwrap().len()
        })
        .collect();
    assert_eq!(sizes, vec![20, 20, 5]);
    assert_eq!(
        window(&items, "cdb-00000000", "2026-11-20 03:15:00"),
        Window::Unlisted
    );

    let stop = v3.stop(None, "cdb-mo64xu70").await.unwrap();
    assert_eq!(stop, JobHandle("stop-1".into()));

    // Through AnyProtocol: v3 answers, v2 says it cannot (without sending anything).
    let any = AnyProtocol::from(v3.clone());
    assert_eq!(any.preflight(None, &ids[..1]).await.unwrap(), Some(vec![]));
    let v2 = AnyProtocol::V2(planrun::engine::v2::V2::new(
        planrun::api::v2::Client::new(config(&endpoint)).unwrap(),
    ));
    assert_eq!(v2.preflight(None, &ids).await.unwrap(), None);
    let err = v2.stop(None, "cdb-mo64xu70").await.unwrap_err();
    assert!(err.to_string().contains("--api v3"), "{err}");
    assert_eq!(script.seen(STOP_ROLLBACK).len(), 1);
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_RANGE_TIME).len(), 4);
    let body = script.seen(STOP_ROLLBACK)[0].body.clone();
    assert_eq!(body.as_slice(), br#"{"InstanceId":"cdb-mo64xu70"}"#);
}

/// Not the sandbox, which must never hold an answer back for others: answers
/// DescribeRollbackRangeTime once `gate`'s other callers are in too, echoing the
/// instances it was asked about; a call left alone for 2 s (a bound, not a measure of speed;
/// under the client's 5 s request timeout, so that no retry joins it) is refused.
async fn gated_echo(
    axum::extract::State(gate): axum::extract::State<Arc<tokio::sync::Barrier>>,
    body: axum::body::Bytes,
) -> String {
    if tokio::time::timeout(Duration::from_secs(2), gate.wait())
        .await
        .is_err()
    {
        let refusal = error("InvalidParameter", "the calls did not overlap");
        return json!({"Response": refusal}).to_string();
    }
    let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let items: Vec<Value> = asked["InstanceIds"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|id| json!({"InstanceId": id, "Code": 0, "Times": []}))
        .collect();
    json!({"Response": {"TotalCount": items.len(), "Items": items, "RequestId": "r"}}).to_string()
}

#[tokio::test]
async fn preflight_calls_overlap_and_keep_the_plan_order() {
    // 80 instances are four calls of 20: each is answered when all four are in flight.
    let gate = Arc::new(tokio::sync::Barrier::new(4));
    let app = axum::Router::new()
        .route("/", axum::routing::post(gated_echo))
        .with_state(gate);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut cfg = config(&format!("http://{addr}/"));
    cfg.concurrency = 4;
    cfg.rate_per_action = 100.0;
    let v3 = V3::new(Client::new(cfg).unwrap());
    let ids: Vec<String> = (0..80).map(|i| format!("cdb-{i:08}")).collect();
    let items = v3
        .preflight(None, &ids)
        .await
        .unwrap_or_else(|e| panic!("the four calls did not overlap: {e}"));
    let answered: Vec<&str> = items.iter().map(|i| i.instance.as_str()).collect();
    assert_eq!(answered, ids.iter().map(String::as_str).collect::<Vec<_>>());
}
