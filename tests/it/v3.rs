//! API 3.0 client and engine adapter against a scripted in-test server on 127.0.0.1 that
//! verifies every request's TC3 signature with `planrun::api::tc3` (as the sandbox will).
// The helpers below run only inside tests: a poisoned lock or a failed bind is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use planrun::api::config::{ClientConfig, RetryPolicy, Timeouts};
use planrun::api::rollback::{
    DatabaseRename, DatabaseTables, InstanceRollback, RollbackSpec, Strategy, TableRename,
};
use planrun::api::tc3;
use planrun::api::v3::client::{
    DESCRIBE_ROLLBACK_RANGE_TIME, DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK,
    STOP_ROLLBACK,
};
use planrun::api::v3::{AsyncRequestId, Client};
use planrun::api::{Credentials, Error, ErrorClass};
use planrun::engine::any::AnyProtocol;
use planrun::engine::protocol::{JobHandle, Protocol, TaskState};
use planrun::engine::v3::{V3, Window, window};

const ID: &str = "AKIDv3test";
const KEY: &str = "v3-secret-key";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    action: String,
    headers: HeaderMap,
    body: Vec<u8>,
    signature_ok: bool,
}

#[derive(Default)]
struct Script {
    seen: Mutex<Vec<Seen>>,
    /// Scripted `Response` bodies per action, used in order; then the default answer.
    replies: Mutex<HashMap<String, VecDeque<Value>>>,
}

impl Script {
    fn push(&self, action: &str, response: Value) {
        self.replies
            .lock()
            .unwrap()
            .entry(action.to_owned())
            .or_default()
            .push_back(response);
    }

    fn seen(&self, action: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.action == action)
            .cloned()
            .collect()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Recomputes the signature from the received pieces, as the cloud does.
fn verify(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(auth) = tc3::Authorization::parse(header(headers, "authorization")) else {
        return false;
    };
    let Ok(ts) = header(headers, "x-tc-timestamp").parse::<i64>() else {
        return false;
    };
    let canonical = tc3::canonical_request(
        header(headers, "host"),
        header(headers, "content-type"),
        body,
    );
    let expected = tc3::signature(KEY, &auth.date, &tc3::string_to_sign(ts, &canonical));
    auth.secret_id == ID
        && auth.service == "cdb"
        && auth.signed_headers == "content-type;host"
        && auth.date == tc3::date(ts)
        && expected == auth.signature
}

async fn handle(State(script): State<Arc<Script>>, headers: HeaderMap, body: Bytes) -> String {
    let action = header(&headers, "x-tc-action").to_owned();
    let signature_ok = verify(&headers, &body);
    script.seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        action: action.clone(),
        headers: headers.clone(),
        body: body.to_vec(),
        signature_ok,
    });
    let mut response = if signature_ok {
        let scripted = script
            .replies
            .lock()
            .unwrap()
            .get_mut(&action)
            .and_then(VecDeque::pop_front);
        scripted.unwrap_or_else(|| default_answer(&action))
    } else {
        error("AuthFailure.SignatureFailure", "signature mismatch")
    };
    if let Some(obj) = response.as_object_mut() {
        obj.insert("RequestId".into(), json!("req-0001"));
    }
    json!({ "Response": response }).to_string()
}

fn default_answer(action: &str) -> Value {
    match action {
        START_BATCH_ROLLBACK => json!({"AsyncRequestId": "f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7"}),
        STOP_ROLLBACK => json!({"AsyncRequestId": "stop-1"}),
        DESCRIBE_ROLLBACK_TASK_DETAIL => json!({"TotalCount": 0, "Items": null}),
        DESCRIBE_ROLLBACK_RANGE_TIME => json!({"TotalCount": 0, "Items": []}),
        _ => error("InvalidAction", "unknown action"),
    }
}

fn error(code: &str, message: &str) -> Value {
    json!({"Error": {"Code": code, "Message": message}})
}

async fn serve() -> (String, Arc<Script>) {
    let script = Arc::new(Script::default());
    let app = axum::Router::new()
        .route("/", axum::routing::post(handle))
        .with_state(Arc::clone(&script));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), script)
}

fn config(endpoint: &str) -> ClientConfig {
    let mut c = ClientConfig::new(endpoint, "ap-guangzhou", Credentials::new(ID, KEY));
    c.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    };
    c.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    c
}

fn tables_instance(id: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.into(),
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Table,
            dbs: vec![],
            tables: vec![DatabaseTables {
                db: "orders".into(),
                table: vec![TableRename {
                    tablename: "payments".into(),
                    newname: "payments_bak".into(),
                }],
            }],
        },
    }
}

fn db_instance(id: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.into(),
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:10:00".into(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "db1".into(),
                newname: "db1_bak".into(),
            }],
            tables: vec![],
        },
    }
}

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
    let items = client
        .rollback_range_time(&["cdb-mo64xu70".to_owned()])
        .await
        .unwrap();
    assert_eq!(script.seen(DESCRIBE_ROLLBACK_RANGE_TIME).len(), 3);
    assert_eq!(
        window(&items, "cdb-mo64xu70", "2026-11-20 03:15:00"),
        Window::Inside
    );
    let err = client
        .start_batch_rollback(&[tables_instance("cdb-mo64xu70")])
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retry);
    assert_eq!(script.seen(START_BATCH_ROLLBACK).len(), 1);
}

#[tokio::test]
async fn busy_and_invalid_parameters_are_classified_and_never_resent() {
    let (endpoint, script) = serve().await;
    script.push(
        START_BATCH_ROLLBACK,
        error("OperationDenied.InstanceTaskRunning", "a task is running"),
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
async fn requests_of_one_action_are_spaced_by_the_configured_rate() {
    let (endpoint, script) = serve().await;
    let mut conf = config(&endpoint);
    conf.rate_per_action = 20.0;
    conf.concurrency = 8;
    let client = Client::new(conf).unwrap();
    let calls = (0..10).map(|_| {
        let c = client.clone();
        async move { c.rollback_tasks("cdb-mo64xu70", None, 0, 10).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let seen = script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL);
    assert_eq!(seen.len(), 10);
    let mut times: Vec<Instant> = seen.iter().map(|s| s.at).collect();
    times.sort();
    // 10 requests at 20/s: at least 9 gaps of 50 ms (a little slack for the clock).
    let span = times[9] - times[0];
    assert!(span >= Duration::from_millis(400), "{span:?}");
}

/// A server that reads one whole request, then closes the connection without answering.
async fn swallowing_server() -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0usize));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                if complete(&data) {
                    *seen.lock().unwrap() += 1;
                    break;
                }
            }
            drop(socket);
        }
    });
    (format!("http://{addr}/"), count)
}

/// Headers received and as many body bytes as `content-length` says.
fn complete(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let Some(end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..end]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    data.len() >= end + 4 + length
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
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(*count.lock().unwrap(), 1);
    assert_eq!(client.attempts(START_BATCH_ROLLBACK), 1);

    let stop = client.stop_rollback("cdb-mo64xu70").await.unwrap_err();
    assert_eq!(stop.class(), ErrorClass::OutcomeUnknown);
    tokio::time::sleep(Duration::from_millis(100)).await;
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

fn detail(id: &str, time: &str, strategy: &str) -> Value {
    json!({"InstanceId": id, "Strategy": strategy, "RollbackTime": time,
           "Databases": [{"DatabaseName": "db1", "NewDatabaseName": "db1_bak"}],
           "Tables": null})
}

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
    let body = &script.seen(STOP_ROLLBACK)[0].body;
    assert_eq!(body.as_slice(), br#"{"InstanceId":"cdb-mo64xu70"}"#);
}

/// `planrun jobs` with the default API (v3) and credentials from a tccli profile in a
/// temporary home: the server verifies the signature made with the profile's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_command_lists_v3_tasks_with_tccli_profile_credentials() {
    let (endpoint, script) = serve().await;
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 1, "Items": [
            {"Status": "RUNNING", "Progress": 55, "StartTime": "2026-11-23 10:00:00",
             "Detail": [detail("cdb-mo64xu70", "2026-11-20 03:10:00", "db")]}]}),
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".tccli")).unwrap();
    std::fs::write(
        home.path().join(".tccli/ci.credential"),
        format!(r#"{{"secretId": "{ID}", "secretKey": "{KEY}"}}"#),
    )
    .unwrap();
    let home_dir = home.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("planrun")
            .unwrap()
            .env_clear()
            .env("HOME", &home_dir)
            .env("NO_COLOR", "1")
            .env("TCCLI_PROFILE", "ci")
            .args(["jobs", "cdb-mo64xu70", "--region", "ap-guangzhou"])
            .args(["--endpoint", &endpoint])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("STATUS"), "{stdout}");
    assert!(
        stdout.contains("running") && stdout.contains("55%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tasks 1-1 of 1 for cdb-mo64xu70"),
        "{stdout}"
    );
    let seen = script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL);
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signature_ok);
}

#[test]
fn missing_credentials_name_every_place_looked_at() {
    let home = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("planrun")
        .unwrap()
        .env_clear()
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .args([
            "jobs",
            "cdb-mo64xu70",
            "--profile",
            "prod",
            "--region",
            "ap-guangzhou",
        ])
        .args(["--endpoint", "http://127.0.0.1:9/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // miette wraps long lines (even inside paths): compare without whitespace and gutters.
    let flat: String = err
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    for place in [
        "TENCENTCLOUD_SECRET_ID".to_owned(),
        home.path()
            .join(".tencentcloud/credentials")
            .display()
            .to_string(),
        home.path()
            .join(".tccli/prod.credential")
            .display()
            .to_string(),
    ] {
        assert!(
            flat.contains(&place.replace(char::is_whitespace, "")),
            "{place} missing from: {err}"
        );
    }
}
