//! Client behaviour against tiny in-test servers on 127.0.0.1 that return canned answers:
//! signing as sent, retries, "outcome unknown", the limiter and the bound in flight.
//! (The full emulator is `sandbox`; these servers only script what each test needs.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::api::JobId;
use crate::api::client::{Client, ClientConfig, ROLLBACK, ROLLBACK_JOBS, RetryPolicy, Timeouts};
use crate::api::credentials::Credentials;
use crate::api::error::{Error, ErrorClass};
use crate::api::rollback::{DatabaseRename, InstanceRollback, RollbackSpec, Strategy};
use crate::api::sign::{self, HttpMethod, SignatureMethod};
use crate::api::task::TaskStatus;

const KEY: &str = "fake-secret-key";
const PATH: &str = "/v2/index.php";

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    method: Method,
    action: String,
    params: Vec<(String, String)>,
    content_type: String,
    signature_ok: bool,
}

/// What to answer: HTTP status, body, and how long to wait first.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: &str) -> Reply {
    Reply {
        status: 200,
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

fn code(code: i64) -> Reply {
    ok(&format!(
        r#"{{"code":"{code}","message":"scripted","codeDesc":"Scripted"}}"#
    ))
}

/// Answers by action and by the 0-based index of the request for that action.
type Script = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Fake {
    script: Script,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Fake {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    fn count(&self, action: &str) -> usize {
        self.seen().iter().filter(|s| s.action == action).count()
    }
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    headers: HeaderMap,
    axum::Form(params): axum::Form<Vec<(String, String)>>,
) -> (StatusCode, String) {
    let now = fake.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    fake.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let http_method = if method == Method::GET {
        HttpMethod::Get
    } else {
        HttpMethod::Post
    };
    let sig_method =
        SignatureMethod::parse(&get("SignatureMethod")).unwrap_or(SignatureMethod::HmacSha1);
    let expected = sign::signature(
        KEY,
        sig_method,
        &sign::string_to_sign(http_method, &header("host"), PATH, &params),
    );
    let signature_ok = sign::signatures_match(&expected, &get("Signature"));
    let action = get("Action");
    let index = {
        let mut seen = fake.seen.lock().unwrap();
        let index = seen.iter().filter(|s| s.action == action).count();
        seen.push(Seen {
            at: Instant::now(),
            method,
            action: action.clone(),
            params: params.clone(),
            content_type: header("content-type"),
            signature_ok,
        });
        index
    };
    let reply = if signature_ok {
        (fake.script)(&action, index)
    } else {
        code(4100)
    };
    tokio::time::sleep(reply.delay).await;
    fake.in_flight.fetch_sub(1, Ordering::SeqCst);
    (StatusCode::from_u16(reply.status).unwrap(), reply.body)
}

/// Starts a scripted server; returns its endpoint URL and handle.
async fn serve(script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> (String, Fake) {
    let fake = Fake {
        script: Arc::new(script),
        seen: Arc::default(),
        in_flight: Arc::default(),
        max_in_flight: Arc::default(),
    };
    let app = axum::Router::new()
        .route(PATH, axum::routing::get(handle).post(handle))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}{PATH}"), fake)
}

/// A server that reads each request whole, then closes the connection without an answer
/// (`hang: false`) or keeps it open silently (`hang: true`). Counts requests received.
async fn raw_server(hang: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                read_request(&mut socket).await;
                counter.fetch_add(1, Ordering::SeqCst);
                if hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}{PATH}"), count)
}

async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return;
            }
        }
    }
}

fn config(endpoint: &str) -> ClientConfig {
    let mut c = ClientConfig::new(endpoint, "ap-guangzhou", Credentials::new("AKIDfake", KEY));
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    };
    c.rate_per_action = 1000.0;
    c.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    c
}

fn client(endpoint: &str) -> Client {
    Client::new(config(endpoint)).unwrap()
}

fn one_instance() -> Vec<InstanceRollback> {
    vec![InstanceRollback {
        instance_id: "cdb-mo64xu70".into(),
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "db1".into(),
                newname: "db1_bak".into(),
            }],
            tables: vec![],
        },
    }]
}

const JOB_OK: &str = r#"{"code":"0","message":"","codeDesc":"Success","data":{"jobId":"111"}}"#;
const PAGE_OK: &str = r#"{"code":0,"message":"","data":{"taskCount":"1","taskList":[{"jobId":"111","status":"1","progress":"40"}]}}"#;

#[tokio::test]
async fn post_requests_are_form_encoded_and_signed_with_host_port_and_token() {
    let (endpoint, fake) = serve(|_, _| ok(JOB_OK)).await;
    let mut c = config(&endpoint);
    c.credentials = Credentials::new("AKIDfake", KEY).with_token("temp-token");
    c.signature_method = SignatureMethod::HmacSha256;
    let client = Client::new(c).unwrap();
    let job = client.rollback(&one_instance()).await.unwrap();
    assert_eq!(job, JobId("111".into()));

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert!(
        s.signature_ok,
        "signature must match the Host header with its port"
    );
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.content_type, "application/x-www-form-urlencoded");
    let get = |k: &str| {
        s.params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Token"), Some("temp-token"));
    assert_eq!(get("Region"), Some("ap-guangzhou"));
    assert_eq!(get("SignatureMethod"), Some("HmacSHA256"));
    assert_eq!(get("instances.0.cdbInstanceId"), Some("cdb-mo64xu70"));
    assert_eq!(
        get("instances.0.para"),
        Some(
            r#"{"rollbacktime":"2026-11-20 03:15:00","strategy":"db","dbs":[{"dbname":"db1","newname":"db1_bak"}],"tables":[]}"#
        )
    );
}

#[tokio::test]
async fn get_requests_carry_signed_parameters_in_the_query() {
    let (endpoint, fake) = serve(|_, _| ok(PAGE_OK)).await;
    let mut c = config(&endpoint);
    c.http_method = HttpMethod::Get;
    c.signature_method = SignatureMethod::HmacSha1;
    let client = Client::new(c).unwrap();
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 500).await.unwrap();
    assert_eq!(page.tasks[0].status, TaskStatus::Running);

    let s = &fake.seen()[0];
    assert!(s.signature_ok);
    assert_eq!(s.method, Method::GET);
    let get = |k: &str| {
        s.params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("SignatureMethod"), Some("HmacSHA1"));
    assert_eq!(get("limit"), Some("100"), "limit is capped at 100");
    assert_eq!(get("Token"), None);
}

#[tokio::test]
async fn wrong_key_is_rejected_and_stops_the_run() {
    let (endpoint, fake) = serve(|_, _| ok(PAGE_OK)).await;
    let mut c = config(&endpoint);
    c.credentials = Credentials::new("AKIDfake", "wrong");
    let err = Client::new(c)
        .unwrap()
        .rollback_jobs("cdb-mo64xu70", 0, 10)
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(4100));
    assert_eq!(err.class(), ErrorClass::StopRun);
    assert_eq!(
        fake.count(ROLLBACK_JOBS),
        1,
        "auth failures are not retried"
    );
}

#[tokio::test]
async fn quirky_numbers_are_decoded() {
    let body = r#"{"code":0,"data":[{"taskCount":2,"taskList":[
        {"jobId":5,"taskId":9,"status":2,"progress":100,"unknownField":[1]},
        {"jobId":"4","status":"3","progress":"100"}]}]}"#;
    let (endpoint, _) = serve(move |_, _| ok(body)).await;
    let page = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap();
    assert_eq!(page.task_count, 2);
    assert_eq!(page.tasks[0].job_id, Some(JobId("5".into())));
    assert_eq!(page.tasks[0].status, TaskStatus::Success);
    assert_eq!(page.tasks[1].status, TaskStatus::Failed);
}

#[tokio::test]
async fn rate_limit_answer_is_retried_and_slows_the_action_down() {
    let (endpoint, fake) = serve(|_, n| if n == 0 { code(4400) } else { ok(PAGE_OK) }).await;
    let client = client(&endpoint);
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 50).await.unwrap();
    assert_eq!(page.task_count, 1);
    assert_eq!(fake.count(ROLLBACK_JOBS), 2);
    assert!(
        client.current_rate(ROLLBACK_JOBS) < 1000.0,
        "{}",
        client.current_rate(ROLLBACK_JOBS)
    );
    assert_eq!(
        client.current_rate(ROLLBACK),
        1000.0,
        "other actions keep their rate"
    );
}

#[tokio::test]
async fn server_errors_are_retried_for_job_queries() {
    let (endpoint, fake) = serve(|_, n| match n {
        0 => Reply {
            status: 502,
            body: "Bad Gateway".into(),
            delay: Duration::ZERO,
        },
        1 => code(6000),
        _ => ok(PAGE_OK),
    })
    .await;
    let client = client(&endpoint);
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 50).await.unwrap();
    assert_eq!(page.tasks.len(), 1);
    assert_eq!(fake.count(ROLLBACK_JOBS), 3);
    assert_eq!(client.attempts(ROLLBACK_JOBS), 3);
}

#[tokio::test]
async fn job_query_retries_stop_after_max_attempts() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 503,
        body: "<html>busy</html>".into(),
        delay: Duration::ZERO,
    })
    .await;
    let err = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(fake.count(ROLLBACK_JOBS), 3);
}

#[tokio::test]
async fn replay_rejection_is_resigned_once_with_a_fresh_nonce() {
    let (endpoint, fake) = serve(|_, _| code(4500)).await;
    let err = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(4500));
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "one re-signed retry, no more");
    let nonce = |s: &Seen| {
        s.params
            .iter()
            .find(|(k, _)| k == "Nonce")
            .map(|(_, v)| v.clone())
    };
    assert_ne!(nonce(&seen[0]), nonce(&seen[1]));
}

#[tokio::test]
async fn dropped_connection_after_submission_is_outcome_unknown_and_not_resent() {
    let (endpoint, count) = raw_server(false).await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    assert!(
        matches!(&err, Error::OutcomeUnknown { source, .. } if matches!(**source, Error::MaybeSent { .. }))
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "exactly one request reached the server"
    );
}

#[tokio::test]
async fn timeout_after_submission_is_outcome_unknown() {
    let (endpoint, count) = raw_server(true).await;
    let mut c = config(&endpoint);
    c.timeouts.request = Duration::from_millis(300);
    let err = Client::new(c)
        .unwrap()
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_gateway_on_submission_is_outcome_unknown_and_not_resent() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 502,
        body: "Bad Gateway".into(),
        delay: Duration::ZERO,
    })
    .await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(fake.count(ROLLBACK), 1);
}

#[tokio::test]
async fn accepted_answer_without_job_id_is_outcome_unknown() {
    let (endpoint, _) = serve(|_, _| ok(r#"{"code":0,"data":{}}"#)).await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn certain_rejections_of_a_submission_are_retried() {
    let (endpoint, fake) = serve(|_, n| match n {
        0 => code(4400),
        1 => code(4500),
        _ => ok(JOB_OK),
    })
    .await;
    let job = client(&endpoint).rollback(&one_instance()).await.unwrap();
    assert_eq!(job.as_str(), "111");
    assert_eq!(fake.count(ROLLBACK), 3);
}

#[tokio::test]
async fn other_submission_errors_are_returned_at_once_with_their_class() {
    for (api_code, class) in [
        (9592, ErrorClass::Busy),
        (9003, ErrorClass::InstancesOnly),
        (9006, ErrorClass::Retry),
        (4104, ErrorClass::StopRun),
    ] {
        let (endpoint, fake) = serve(move |_, _| code(api_code)).await;
        let err = client(&endpoint)
            .rollback(&one_instance())
            .await
            .unwrap_err();
        assert_eq!(err.api_code(), Some(api_code));
        assert_eq!(err.class(), class);
        assert!(!err.is_outcome_unknown());
        assert_eq!(
            fake.count(ROLLBACK),
            1,
            "code {api_code} is left to the engine"
        );
    }
}

#[tokio::test]
async fn refused_connection_is_not_sent_and_never_outcome_unknown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = config(&format!("http://{addr}{PATH}"));
    c.http_method = HttpMethod::Get;
    c.credentials = Credentials::new("AKIDfake", KEY).with_token("temp-token");
    let client = Client::new(c).unwrap();
    let err = client.rollback(&one_instance()).await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    assert_eq!(
        client.attempts(ROLLBACK),
        3,
        "not-sent submissions may be retried"
    );
    let text = format!("{err} {err:?}");
    for secret in ["Signature", "temp-token", KEY] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_rate_requests_per_second_reach_the_server_per_action() {
    let (endpoint, fake) = serve(|action, _| {
        if action == ROLLBACK {
            ok(JOB_OK)
        } else {
            ok(PAGE_OK)
        }
    })
    .await;
    let mut c = config(&endpoint);
    c.rate_per_action = 8.0;
    c.concurrency = 8;
    let client = Client::new(c).unwrap();
    let start = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..12 {
        let c = client.clone();
        calls.push(tokio::spawn(async move {
            c.rollback_jobs("cdb-mo64xu70", 0, 10).await.map(|_| ())
        }));
        let c = client.clone();
        calls.push(tokio::spawn(async move {
            c.rollback(&one_instance()).await.map(|_| ())
        }));
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let elapsed = start.elapsed();
    // 12 evenly spaced requests at 8/s take at least 11/8 s; both actions run side by side.
    assert!(elapsed >= Duration::from_millis(1350), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(2600),
        "actions must not share one limiter: {elapsed:?}"
    );
    let seen = fake.seen();
    for action in [ROLLBACK, ROLLBACK_JOBS] {
        let times: Vec<Instant> = seen
            .iter()
            .filter(|s| s.action == action)
            .map(|s| s.at)
            .collect();
        assert_eq!(times.len(), 12);
        for (i, t) in times.iter().enumerate() {
            // Any one-second window (less a little network jitter) holds at most 8.
            let in_window = times[i..]
                .iter()
                .filter(|u| **u - *t < Duration::from_millis(950))
                .count();
            assert!(
                in_window <= 8,
                "{action}: {in_window} requests within a second"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_the_concurrency() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 200,
        body: PAGE_OK.into(),
        delay: Duration::from_millis(150),
    })
    .await;
    let mut c = config(&endpoint);
    c.concurrency = 2;
    let client = Client::new(c).unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.rollback_jobs("cdb-mo64xu70", 0, 10).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(fake.count(ROLLBACK_JOBS), 8);
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn all_pages_are_fetched_by_offset() {
    // 250 tasks, served 100 at a time by offset.
    let (endpoint, fake) = serve(|_, n| {
        let start = (n % 3) * 100; // pages are asked in order, twice
        let tasks: Vec<String> = (start..(start + 100).min(250))
            .map(|i| format!(r#"{{"jobId":"{i}","status":"2"}}"#))
            .collect();
        ok(&format!(
            r#"{{"code":0,"data":{{"taskCount":"250","taskList":[{}]}}}}"#,
            tasks.join(",")
        ))
    })
    .await;
    let client = client(&endpoint);
    let all = client.all_rollback_jobs("cdb-mo64xu70").await.unwrap();
    assert_eq!(all.tasks.len(), 250);
    assert_eq!(all.task_count, 250);
    let offsets: Vec<String> = fake
        .seen()
        .iter()
        .filter_map(|s| {
            s.params
                .iter()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(offsets, ["0", "100", "200"]);
    let found = client
        .find_task("cdb-mo64xu70", &JobId("249".into()))
        .await
        .unwrap();
    assert_eq!(found.and_then(|t| t.job_id), Some(JobId("249".into())));
}
