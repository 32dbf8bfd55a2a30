//! API 3.0's actions over HTTP: StartBatchRollback's rejections, a task's life through
//! DescribeRollbackTaskDetail, one set of tasks for both APIs, and rollback windows.

use super::v3::{V3, error_code, instance, recent, steady};
use super::*;
use planrun::sandbox::RollbackWindow;

/// Polls until the newest task of `id` is terminal; returns that item. 10 polls a second
/// leave room under the 20/s limit for the test's other requests.
async fn wait_done(c: &V3, id: &str) -> Value {
    wait_for_every(
        "the task to finish",
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let r = c.detail(id, json!({"Limit": 1})).await;
            let item = r["Items"][0].clone();
            let status = item["Status"].as_str().unwrap_or("").to_owned();
            if ["SUCCESS", "FAILED", "KILLED"].contains(&status.as_str()) {
                Ok(item)
            } else {
                Err(r)
            }
        },
    )
    .await
}

#[tokio::test]
async fn start_batch_rollback_refuses_the_whole_call_on_any_broken_rule() {
    let mut config = fast();
    config.missing_instances.insert("cdb-gone0000".into());
    let sb = start(config).await;
    let c = V3::new(&sb);
    let with = |id: &str, patch: Value| {
        let mut v = instance(id);
        if let (Some(m), Some(p)) = (v.as_object_mut(), patch.as_object()) {
            m.extend(p.clone());
        }
        v
    };
    let old = (chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(8)
        - chrono::TimeDelta::days(8))
    .format(planrun::contract::TIME_FORMAT)
    .to_string();
    let cases = [
        (
            json!([
                instance(A),
                with(
                    B,
                    json!({"Databases": [{"DatabaseName": "a", "NewDatabaseName": "b"}]})
                )
            ]),
            "InvalidParameterValue",
            "Instances.1 (cdb-bbbbbbbb): strategy table requires Databases to be empty",
        ),
        (
            json!([with(A, json!({"Strategy": "fast"}))]),
            "InvalidParameterValue",
            "Strategy",
        ),
        (
            json!([with(A, json!({"RollbackTime": "2026-13-01 00:00:00"}))]),
            "InvalidParameterValue",
            "not a time",
        ),
        (
            json!([with(A, json!({"RollbackTime": old}))]),
            "InvalidParameterValue",
            "outside the available rollback window",
        ),
        (
            json!([instance(A), instance(A)]),
            "InvalidParameterValue",
            "twice",
        ),
        (
            json!([with(A, json!({"InstanceId": "cdb-XY"}))]),
            "InvalidParameterValue",
            "not an instance id",
        ),
        (
            json!([instance(A), instance("cdb-gone0000")]),
            "InvalidParameter.InstanceNotFound",
            "cdb-gone0000",
        ),
        (
            json!([with(A, json!({"Extra": 1}))]),
            "InvalidParameter",
            "Instances.0",
        ),
        (
            json!([{"InstanceId": A}]),
            "MissingParameter",
            "Instances.0.Strategy",
        ),
        (json!([]), "MissingParameter", "Instances"),
    ];
    for (instances, code, words) in cases {
        let r = c.start(instances.clone()).await;
        assert_eq!(error_code(&r), Some(code), "{instances}: {r}");
        let message = r["Error"]["Message"].as_str().unwrap_or("");
        assert!(message.contains(words), "{instances}: {message}");
    }
    let r = c
        .call(
            "StartBatchRollback",
            json!({"Instances": [instance(A)], "X": 1}),
        )
        .await;
    assert_eq!(error_code(&r), Some("UnknownParameter"));
    let s = sb.counters();
    assert_eq!(s.accepted_jobs, 0, "{s:?}");
    assert!(s.accepted_submissions.is_empty());
    assert_eq!(s.rejections_per_error["InvalidParameterValue"], 6);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_task_started_in_v3_lives_and_is_described_with_its_detail() {
    let sb = start(steady()).await;
    let c = V3::new(&sb);
    // Kept: `instance` reads the clock, a second call may name another second.
    let a = instance(A);
    let r = c.start(json!([a.clone(), instance(B)])).await;
    let async_id = r["AsyncRequestId"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    assert_eq!(async_id.split('-').count(), 4);

    let r = c.detail(A, json!({})).await;
    assert_eq!(r["TotalCount"], 1, "{r}");
    let item = &r["Items"][0];
    assert!(
        ["INITIAL", "RUNNING"].contains(&item["Status"].as_str().unwrap_or("")),
        "{r}"
    );
    assert_eq!(item["EndTime"], "0000-00-00 00:00:00");
    assert_eq!(item["Detail"][0]["InstanceId"], A);
    assert_eq!(item["Detail"][0]["Strategy"], "table");
    assert_eq!(item["Detail"][0]["RollbackTime"], a["RollbackTime"]);
    assert_eq!(
        item["Detail"][0]["Tables"],
        json!([{"Database": "orders", "Table": [{"TableName": "payments", "NewTableName": "payments_bak"}]}])
    );
    let busy = c.start(json!([instance(A)])).await;
    assert_eq!(error_code(&busy), Some("FailedOperation.StatusConflict"));
    let info = |id: &str| c.call("DescribeAsyncRequestInfo", json!({ "AsyncRequestId": id }));
    let running = info(&async_id).await;
    assert!(
        ["INITIAL", "RUNNING"].contains(&running["Status"].as_str().unwrap_or("")),
        "{running}"
    );

    let done = wait_done(&c, A).await;
    assert_eq!(
        (done["Status"].as_str(), done["Progress"].as_i64()),
        (Some("SUCCESS"), Some(100))
    );
    assert_ne!(done["EndTime"], "0000-00-00 00:00:00");
    assert!(done["StartTime"].as_str() <= done["EndTime"].as_str());

    // A second job: filter by AsyncRequestId, page newest first.
    wait_done(&c, B).await;
    assert_eq!(
        info(&async_id).await["Status"],
        "SUCCESS",
        "both instances of the job are done"
    );
    let unknown = info("00000000-00000000-00000000-00000000").await;
    assert_eq!(
        error_code(&unknown),
        Some("InvalidParameter.InvalidAsyncRequestId")
    );
    let second = c.start(json!([instance(A)])).await["AsyncRequestId"].clone();
    assert_ne!(second, json!(async_id));
    let all = c.detail(A, json!({})).await;
    assert_eq!(all["TotalCount"], 2);
    let first_only = c.detail(A, json!({"AsyncRequestId": async_id})).await;
    assert_eq!(first_only["TotalCount"], 1);
    assert_eq!(first_only["Items"][0]["Status"], "SUCCESS");
    let page = c.detail(A, json!({"Offset": 1, "Limit": 1})).await;
    assert_eq!(
        (
            page["TotalCount"].as_i64(),
            page["Items"][0]["Status"].as_str()
        ),
        (Some(2), Some("SUCCESS"))
    );
    let none = c
        .detail(
            A,
            json!({"AsyncRequestId": "00000000-00000000-00000000-00000000"}),
        )
        .await;
    assert_eq!(none["TotalCount"], 0);
    assert!(
        none["Items"].is_null() || none["Items"] == json!([]),
        "{none}"
    );
    let s = sb.counters();
    assert_eq!(
        (
            s.accepted_jobs,
            s.accepted_submissions[A],
            s.accepted_submissions[B]
        ),
        (2, 2, 1)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn empty_lists_come_as_null_or_empty_arrays() {
    let sb = start(fast()).await;
    let c = V3::new(&sb);
    let mut seen = Vec::new();
    for _ in 0..16 {
        seen.push(c.detail(B, json!({})).await["Items"].clone());
    }
    assert!(
        seen.contains(&Value::Null) && seen.contains(&json!([])),
        "{seen:?}"
    );
    assert!(seen.iter().all(|v| v.is_null() || v == &json!([])));
    sb.shutdown().await;
}

#[tokio::test]
async fn both_apis_share_one_set_of_tasks() {
    let sb = start(steady()).await;
    let v3 = V3::new(&sb);
    let mut v2 = Caller::new(&sb);
    let mut para = para();
    para["rollbacktime"] = json!(recent());

    // Submitted in v2, seen and guarded in v3.
    let r = v2.submit(&[(A, para.clone())]).await;
    assert_eq!(int(&r["code"]), 0, "{r}");
    let busy = v3.start(json!([instance(A)])).await;
    assert_eq!(error_code(&busy), Some("FailedOperation.StatusConflict"));
    let seen = v3.detail(A, json!({})).await;
    assert_eq!(seen["TotalCount"], 1);
    assert_eq!(
        seen["Items"][0]["Detail"][0]["RollbackTime"],
        para["rollbacktime"]
    );

    // Submitted in v3, seen and guarded in v2.
    let r = v3.start(json!([instance(B)])).await;
    assert!(r["AsyncRequestId"].is_string(), "{r}");
    let busy = v2.submit(&[(B, para.clone())]).await;
    assert_eq!(int(&busy["code"]), 9592);
    let jobs = v2.jobs(B, &[]).await;
    assert_eq!(int(&jobs["data"]["taskCount"]), 1);
    assert_eq!(
        jobs["data"]["taskList"][0]["taskContext"]["data"]["tables"][0]["table"][0]["newname"],
        "payments_bak"
    );
    assert_eq!(sb.counters().accepted_jobs, 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn range_time_reports_windows_and_codes_per_instance() {
    let mut config = fast();
    config.missing_instances.insert("cdb-gone0000".into());
    let at = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, planrun::contract::TIME_FORMAT).unwrap_or_default()
    };
    config.rollback_windows.insert(
        B.into(),
        vec![RollbackWindow {
            begin: at("2026-11-01 00:00:00"),
            end: at("2026-11-02 12:00:00"),
        }],
    );
    let sb = start(config).await;
    let c = V3::new(&sb);
    let r = c
        .call(
            "DescribeRollbackRangeTime",
            json!({"InstanceIds": [A, B, "cdb-gone0000", "nope"]}),
        )
        .await;
    assert_eq!(r["TotalCount"], 4, "{r}");
    let items = r["Items"].as_array().cloned().unwrap_or_default();
    let codes: Vec<(Value, Value)> = items
        .iter()
        .map(|i| (i["InstanceId"].clone(), i["Code"].clone()))
        .collect();
    assert_eq!(
        codes,
        [
            (json!(A), json!(0)),
            (json!(B), json!(0)),
            (json!("cdb-gone0000"), json!(1_600_009)),
            (json!("nope"), json!(1_600_003))
        ]
    );
    // A: the last 7 days up to now, in +08:00.
    let local_now = chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(8);
    let end = at(items[0]["Times"][0]["End"].as_str().unwrap_or(""));
    let begin = at(items[0]["Times"][0]["Begin"].as_str().unwrap_or(""));
    assert!(
        (local_now - end).num_seconds().abs() <= 5,
        "{end} vs {local_now}"
    );
    assert_eq!(end - begin, chrono::TimeDelta::days(7));
    assert_eq!(
        items[1]["Times"],
        json!([{"Begin": "2026-11-01 00:00:00", "End": "2026-11-02 12:00:00"}])
    );
    assert!(items[2]["Times"].is_null() || items[2]["Times"] == json!([]));

    // The fixed window is enforced by both APIs.
    let mut inside = instance(B);
    inside["RollbackTime"] = json!("2026-11-02 11:00:00");
    let mut outside = instance(B);
    outside["RollbackTime"] = json!("2026-11-03 11:00:00");
    let r = c.start(json!([outside])).await;
    assert_eq!(error_code(&r), Some("InvalidParameterValue"));
    let mut v2 = Caller::new(&sb);
    let mut para = para();
    para["rollbacktime"] = json!("2026-11-03 11:00:00");
    let r = v2.submit(&[(B, para)]).await;
    assert_eq!(int(&r["code"]), 9003, "{r}");
    assert!(
        r["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the available rollback window"))
    );
    let r = c.start(json!([inside])).await;
    assert!(r["AsyncRequestId"].is_string(), "{r}");
    let r = c
        .call("DescribeRollbackRangeTime", json!({"InstanceIds": []}))
        .await;
    assert_eq!(error_code(&r), Some("MissingParameter"));
    sb.shutdown().await;
}
