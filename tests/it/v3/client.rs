//! The API 3.0 client: signing as sent, bodies, decoding, retries, pacing, outcome unknown.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::*;
use planrun::api::tc3;
use planrun::api::v3::client::{
    DESCRIBE_ROLLBACK_RANGE_TIME, DESCRIBE_ROLLBACK_TASK_DETAIL, DESCRIBE_TASKS,
    START_BATCH_ROLLBACK,
};
use planrun::api::v3::tasks::DescribeTasksRequest;
use planrun::api::v3::{AsyncRequestId, Client};
use planrun::api::{Credentials, Error, ErrorClass};
use planrun::engine::window::{Window, window};

#[tokio::test]
async fn v3_submission_is_signed_and_sent_exactly_as_documented() {
    let (endpoint, script) = serve().await;
    let mut conf = config(&endpoint);
    conf.credentials = Credentials::new(ID, KEY).with_token("temporary-token");
    let client = Client::new(conf).unwrap();
    let id = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70"), db_instance("cdb-c1nl9rpv")])
        .await
        .unwrap();
    assert_eq!(
        id,
        AsyncRequestId("f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7".into())
    );

    let seen = script.seen(START_BATCH_ROLLBACK);
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert!(s.signature_ok, "the server's TC3 verification failed");
    assert_eq!(
        String::from_utf8(s.body.clone()).unwrap(),
        r#"{"Instances":[{"InstanceId":"cdb-mo64xu70","Strategy":"table","RollbackTime":"2026-11-20 03:15:00","Tables":[{"Database":"orders","Table":[{"TableName":"payments","NewTableName":"payments_bak"}]}]},{"InstanceId":"cdb-c1nl9rpv","Strategy":"db","RollbackTime":"2026-11-20 03:10:00","Databases":[{"DatabaseName":"db1","NewDatabaseName":"db1_bak"}]}]}"#
    );
    assert_eq!(header(&s.headers, "content-type"), "application/json");
    assert_eq!(header(&s.headers, "x-tc-version"), "2017-03-20");
    assert_eq!(header(&s.headers, "x-tc-region"), "ap-guangzhou");
    assert_eq!(header(&s.headers, "x-tc-token"), "temporary-token");
    assert_eq!(
        header(&s.headers, "host"),
        endpoint.trim_start_matches("http://").trim_end_matches('/')
    );
    let ts: i64 = header(&s.headers, "x-tc-timestamp").parse().unwrap();
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 60);
    assert!(header(&s.headers, "authorization").starts_with(&format!(
        "TC3-HMAC-SHA256 Credential={ID}/{}/cdb/tc3_request, SignedHeaders=content-type;host, Signature=",
        tc3::date(ts)
    )));
}

#[tokio::test]
async fn wrong_key_gets_signature_failure_that_stops_the_run_with_its_request_id() {
    let (endpoint, script) = serve().await;
    let mut conf = config(&endpoint);
    conf.credentials = Credentials::new(ID, "not-the-key");
    let client = Client::new(conf).unwrap();
    let err = client
        .rollback_tasks("cdb-mo64xu70", None, 0, 20)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::StopRun);
    assert_eq!(
        err.code_text().as_deref(),
        Some("AuthFailure.SignatureFailure")
    );
    assert_eq!(err.request_id(), Some("req-0001"));
    assert!(err.to_string().contains("RequestId req-0001"), "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-key"));
    // Authentication failures are not retried, even for queries.
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL).len(), 1);
}

#[tokio::test]
async fn task_details_tolerate_nulls_and_page_through_total_count() {
    let (endpoint, script) = serve().await;
    let item = |n: usize| {
        json!({"Info": null, "Status": "SUCCESS", "Progress": 100,
               "StartTime": format!("2026-11-23 10:{:02}:00", n % 60), "EndTime": null,
               "Detail": null})
    };
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 230, "Items": (0..100).map(item).collect::<Vec<_>>()}),
    );
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": "230", "Items": (100..200).map(item).collect::<Vec<_>>()}),
    );
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 230, "Items": (200..230).map(item).collect::<Vec<_>>()}),
    );
    let client = Client::new(config(&endpoint)).unwrap();
    let all = client
        .all_rollback_tasks("cdb-mo64xu70", None)
        .await
        .unwrap();
    assert_eq!(all.len(), 230);
    assert!(all.iter().all(|t| t.detail.is_empty() && t.info.is_none()));
    let bodies: Vec<Value> = script
        .seen(DESCRIBE_ROLLBACK_TASK_DETAIL)
        .iter()
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!({"InstanceId": "cdb-mo64xu70", "Offset": 0, "Limit": 100}),
            json!({"InstanceId": "cdb-mo64xu70", "Offset": 100, "Limit": 100}),
            json!({"InstanceId": "cdb-mo64xu70", "Offset": 200, "Limit": 100}),
        ]
    );
}

/// The SDK allows `null` for any field: without `TotalCount`, a full page (as many items as
/// the `Limit` asked) is not the end of the listing, a short one is.
#[tokio::test]
async fn listings_without_total_count_page_while_pages_come_back_full() {
    let (endpoint, script) = serve().await;
    let task = |n: usize| json!({"Status": "SUCCESS", "StartTime": format!("2026-11-23 10:{:02}:00", n % 60)});
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": null, "Items": (0..100).map(task).collect::<Vec<_>>()}),
    );
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"Items": (100..130).map(task).collect::<Vec<_>>()}),
    );
    let item =
        |n: usize| json!({"AsyncRequestId": format!("req-{n}"), "TaskType": "BATCH ROLLBACK"});
    script.push(
        DESCRIBE_TASKS,
        json!({"TotalCount": null, "Items": (0..100).map(item).collect::<Vec<_>>()}),
    );
    script.push(
        DESCRIBE_TASKS,
        json!({"TotalCount": null, "Items": (100..200).map(item).collect::<Vec<_>>()}),
    );
    script.push(DESCRIBE_TASKS, json!({"TotalCount": null, "Items": []}));
    let client = Client::new(config(&endpoint)).unwrap();
    let tasks = client
        .all_rollback_tasks("cdb-mo64xu70", None)
        .await
        .unwrap();
    assert_eq!(tasks.len(), 130);
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL).len(), 2);
    let items = client
        .all_tasks(&DescribeTasksRequest::default())
        .await
        .unwrap();
    assert_eq!(items.len(), 200);
    let offsets: Vec<Value> = script
        .seen(DESCRIBE_TASKS)
        .iter()
        .map(|s| serde_json::from_slice::<Value>(&s.body).unwrap()["Offset"].clone())
        .collect();
    assert_eq!(offsets, [json!(0), json!(100), json!(200)]);
}

#[tokio::test]
async fn queries_retry_internal_errors_but_submissions_do_not() {
    let (endpoint, script) = serve().await;
    script.push(
        DESCRIBE_ROLLBACK_RANGE_TIME,
        error("InternalError", "try again"),
    );
    script.push(
        DESCRIBE_ROLLBACK_RANGE_TIME,
        error("InternalError.DBError", "again"),
    );
    script.push(
        DESCRIBE_ROLLBACK_RANGE_TIME,
        json!({"TotalCount": 1, "Items": [{"InstanceId": "cdb-mo64xu70", "Code": 0,
               "Message": "ok", "Times": [{"Begin": "2026-11-13 00:00:00",
               "End": "2026-11-23 00:00:00"}]}]}),
    );
    script.push(START_BATCH_ROLLBACK, error("InternalError", "boom"));
    let client = Client::new(config(&endpoint)).unwrap();
    let items: Vec<_> = client
        .rollback_range_time(&["cdb-mo64xu70".to_owned()])
        .await
        .unwrap()
        .into_iter()
        .map(planrun::engine::v3::answer_of)
        .collect();
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_RANGE_TIME).len(), 3);
    assert_eq!(
        window(&items, "cdb-mo64xu70", "2026-11-20 03:15:00"),
        Window::Inside
    );
    // An error answer to a submission is no proof that nothing started: in doubt, not
    // retried, whatever the code that is not a refusal.
    script.push(START_BATCH_ROLLBACK, error("CdbError.TaskError", "flow"));
    script.push(START_BATCH_ROLLBACK, error("Brand.NewCode", "?"));
    for code in ["InternalError", "CdbError.TaskError", "Brand.NewCode"] {
        let err = client
            .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{code}");
        assert_eq!(err.code_text().as_deref(), Some(code));
    }
    assert_eq!(script.seen(START_BATCH_ROLLBACK).len(), 3);
}

#[tokio::test]
async fn busy_and_invalid_parameters_are_classified_and_never_resent() {
    let (endpoint, script) = serve().await;
    script.push(
        START_BATCH_ROLLBACK,
        error("OperationDenied.WrongStatus", "a task is running"),
    );
    script.push(
        START_BATCH_ROLLBACK,
        error("InvalidParameter.InstanceNotFound", "no such instance"),
    );
    let client = Client::new(config(&endpoint)).unwrap();
    let busy = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap_err();
    assert_eq!(busy.class(), ErrorClass::Busy);
    assert_eq!(busy.api_message(), Some("a task is running"));
    let invalid = client
        .start_batch_rollback(&[tables_instance("cdb-zzzzzzzz")])
        .await
        .unwrap_err();
    assert_eq!(invalid.class(), ErrorClass::InstancesOnly);
    assert_eq!(script.seen(START_BATCH_ROLLBACK).len(), 2);
}

#[tokio::test]
async fn rate_limit_answers_slow_the_action_down_and_are_retried() {
    let (endpoint, script) = serve().await;
    script.push(
        START_BATCH_ROLLBACK,
        error("RequestLimitExceeded", "too fast"),
    );
    script.push(
        START_BATCH_ROLLBACK,
        error("RequestLimitExceeded.UinLimitExceeded", "too fast"),
    );
    let client = Client::new(config(&endpoint)).unwrap();
    let before = client.current_rate(START_BATCH_ROLLBACK);
    let id = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap();
    assert_eq!(id.0, "f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7");
    assert_eq!(client.attempts(START_BATCH_ROLLBACK), 3);
    assert_eq!(script.seen(START_BATCH_ROLLBACK).len(), 3);
    let after = client.current_rate(START_BATCH_ROLLBACK);
    assert!(after <= before / 4.0 + 1e-9, "{before} -> {after}");
    // Other actions keep their own rate.
    assert_eq!(client.current_rate(DESCRIBE_ROLLBACK_TASK_DETAIL), before);
}

#[tokio::test]
async fn requests_of_one_action_stay_within_the_rate_over_any_second() {
    let (endpoint, script) = serve().await;
    let mut conf = config(&endpoint);
    conf.rate_per_action = 20.0;
    conf.concurrency = 8;
    let client = Client::new(conf).unwrap();
    let calls = (0..25).map(|_| {
        let c = client.clone();
        async move { c.rollback_tasks("cdb-mo64xu70", None, 0, 10).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let seen = script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL);
    assert_eq!(seen.len(), 25);
    let mut times: Vec<Instant> = seen.iter().map(|s| s.at).collect();
    times.sort();
    // A sliding window of one second: the first 20 may go at once, the 21st only once the
    // first has left it (a little slack for the clock).
    let span = times[20] - times[0];
    assert!(span >= Duration::from_millis(950), "{span:?}");
    for (i, t) in times.iter().enumerate() {
        let within = times[i..]
            .iter()
            .filter(|u| **u - *t < Duration::from_millis(950))
            .count();
        assert!(within <= 20, "{within} requests within a second");
    }
}

#[tokio::test]
async fn a_dropped_connection_after_sending_is_outcome_unknown_with_one_request_seen() {
    let (endpoint, count) = swallowing_server().await;
    let client = Client::new(config(&endpoint)).unwrap();
    let err = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "{err:?}");
    assert!(err.is_outcome_unknown());
    // The server counts a request before it drops the connection the client saw closed.
    assert_eq!(*count.lock().unwrap(), 1);
    assert_eq!(client.attempts(START_BATCH_ROLLBACK), 1);

    let stop = client.stop_rollback("cdb-mo64xu70").await.unwrap_err();
    assert_eq!(stop.class(), ErrorClass::OutcomeUnknown);
    assert_eq!(*count.lock().unwrap(), 2);
}

#[tokio::test]
async fn nothing_listening_is_not_sent_and_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(config(&endpoint)).unwrap();
    let err = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    assert_eq!(client.attempts(START_BATCH_ROLLBACK), 4);
}

#[tokio::test]
async fn an_expired_signature_is_signed_afresh_once_then_stops_the_run() {
    let (endpoint, script) = serve().await;
    script.push(
        START_BATCH_ROLLBACK,
        error("AuthFailure.SignatureExpire", "expired"),
    );
    let client = Client::new(config(&endpoint)).unwrap();
    client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap();
    assert_eq!(client.attempts(START_BATCH_ROLLBACK), 2);

    for _ in 0..2 {
        script.push(
            DESCRIBE_ROLLBACK_TASK_DETAIL,
            error("AuthFailure.SignatureExpire", "expired"),
        );
    }
    let err = client
        .rollback_tasks("cdb-mo64xu70", None, 0, 10)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::StopRun);
    assert_eq!(client.attempts(DESCRIBE_ROLLBACK_TASK_DETAIL), 2);
}
