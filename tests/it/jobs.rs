//! `planrun jobs` end to end: the binary against the sandbox where it can answer (signatures,
//! unknown instances, a region required), and against a small scripted API 2.0 server where a
//! test needs what the sandbox must not give: a fixed list of hundreds of tasks with known job
//! ids, each in one of the API's number quirks, and the log of the pages asked. The sandbox's
//! tasks come only from its own submissions, one running at a time per instance, with job
//! ids and quirks of its own.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use planrun::api::v2::sign::{self, HttpMethod, SignatureMethod};
use tempfile::TempDir;

use crate::apply::harness::{SECRET_ID, SECRET_KEY, Served};
use crate::support::Test;

const ID: &str = "AKIDjobstest";
const KEY: &str = "jobs-test-secret-key";
const PATH: &str = "/v2/index.php";

/// (offset, limit) of each GetCdbRollbackJob request with a valid signature.
type PageLog = Arc<Mutex<Vec<(usize, usize)>>>;

#[derive(Clone, Default)]
struct Server {
    /// Tasks on the instance, newest first.
    tasks: usize,
    pages: PageLog,
}

async fn answer(
    State(server): State<Server>,
    headers: HeaderMap,
    axum::Form(params): axum::Form<Vec<(String, String)>>,
) -> String {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let method = SignatureMethod::parse(&get("SignatureMethod")).unwrap_or_default();
    let expected = sign::signature(
        KEY,
        method,
        &sign::string_to_sign(HttpMethod::Post, host, PATH, &params),
    );
    if get("SecretId") != ID || !planrun::api::mac::signatures_match(&expected, &get("Signature")) {
        return r#"{"code":4100,"message":"signature mismatch","codeDesc":"AuthFailure"}"#.into();
    }
    if get("Region") != "ap-guangzhou" {
        return r#"{"code":4000,"message":"missing parameter Region","codeDesc":"InvalidParameter"}"#.into();
    }
    if get("cdbInstanceId") != "cdb-mo64xu70" {
        return r#"{"code":"11041","message":"no such instance","codeDesc":"InternalError.CDBNotExist"}"#.into();
    }
    let offset: usize = get("offset").parse().unwrap_or(0);
    let limit: usize = get("limit").parse().unwrap_or(50);
    server.pages.lock().expect("page log").push((offset, limit));
    let tasks: Vec<String> = (offset..(offset + limit).min(server.tasks))
        .map(|i| {
            let job = 1000 + server.tasks - i;
            // Quirks: numbers as strings on even jobs, as numbers on odd ones.
            if job % 2 == 0 {
                format!(
                    r#"{{"jobId":"{job}","taskId":"{i}","status":"2","progress":"100","startTime":"2026-11-20 03:20:00","endTime":"2026-11-20 03:30:00","name":"orders","newName":"orders_bak","taskContext":{{"data":{{"rollbacktime":"2026-11-20 03:15:00","strategy":"db"}}}}}}"#
                )
            } else {
                format!(r#"{{"jobId":{job},"taskId":{i},"status":1,"progress":40,"brandNewField":[]}}"#)
            }
        })
        .collect();
    format!(
        r#"{{"code":"0","message":"","data":{{"taskCount":"{}","taskList":[{}]}}}}"#,
        server.tasks,
        tasks.join(",")
    )
}

/// Starts the server on its own thread and runtime; returns the endpoint and the page log.
fn start(tasks: usize) -> (String, PageLog) {
    let server = Server {
        tasks,
        pages: Arc::default(),
    };
    let pages = server.pages.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = axum::Router::new()
                .route(PATH, axum::routing::post(answer).get(answer))
                .with_state(server);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("server started");
    (format!("http://{addr}{PATH}"), pages)
}

/// `planrun jobs --api v2` in a fresh home, with credentials and `endpoint` but no region.
fn unplaced(home: &TempDir, endpoint: &str) -> Test {
    Test::in_dir(home.path())
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .env("PLANRUN_ENDPOINT", endpoint)
        .arg("jobs")
        // These servers speak API 2.0; v3 is the default since issue 5.
        .args(["--api", "v2"])
}

/// As [`unplaced`], in the region the server serves.
fn jobs(home: &TempDir, endpoint: &str) -> Test {
    unplaced(home, endpoint).env("TENCENTCLOUD_REGION", "ap-guangzhou")
}

fn home() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn jobs_lists_one_page_as_a_table_with_status_names() {
    let (endpoint, pages) = start(3);
    let out = jobs(&home(), &endpoint).arg("cdb-mo64xu70").run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = out.stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("JOB"), "{text}");
    assert!(
        lines[1].starts_with("1003") && lines[1].contains("running") && lines[1].contains("40%"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("1002")
            && lines[2].contains("succeeded")
            && lines[2].contains("orders_bak"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"tasks 1-3 of 3 for cdb-mo64xu70"));
    assert_eq!(*pages.lock().unwrap(), [(0, 50)]);
}

#[test]
fn jobs_json_honours_offset_and_limit() {
    let (endpoint, pages) = start(10);
    let out = jobs(&home(), &endpoint)
        .args([
            "cdb-mo64xu70",
            "--offset",
            "4",
            "--limit",
            "3",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1006", "1005", "1004"]);
    assert_eq!(v[0]["status"], "success");
    assert_eq!(v[0]["rollback_time"], "2026-11-20 03:15:00");
    assert_eq!(v[0]["strategy"], "db");
    assert_eq!(v[1]["status"], "running");
    assert_eq!(v[1]["status_code"], 1);
    assert_eq!(*pages.lock().unwrap(), [(4, 3)]);
}

#[test]
fn jobs_all_pages_through_every_task_100_at_a_time() {
    let (endpoint, pages) = start(230);
    let out = jobs(&home(), &endpoint)
        .args([
            "cdb-mo64xu70",
            "--all",
            "--format",
            "json",
            "--signature-method",
            "HmacSHA1",
        ])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 230);
    assert_eq!(ids.first(), Some(&"1230"));
    assert_eq!(ids.last(), Some(&"1001"));
    assert_eq!(*pages.lock().unwrap(), [(0, 100), (100, 100), (200, 100)]);
}

#[test]
fn missing_credentials_exit_2_naming_the_variables() {
    let home = home();
    let out = Test::in_dir(home.path())
        .args([
            "jobs",
            "cdb-mo64xu70",
            "--endpoint",
            "http://127.0.0.1:9/v2/index.php",
        ])
        .run();
    assert_eq!(out.code, Some(2));
    let err = out.stderr;
    for var in [
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_SECURITY_TOKEN",
    ] {
        assert!(err.contains(var), "{var} missing from: {err}");
    }
    assert!(out.stdout.is_empty());
}

/// `planrun jobs --api v2` in a fresh home against the served sandbox, with its credentials
/// and endpoint but no region.
fn unplaced_served(home: &TempDir, served: &Served) -> Test {
    unplaced(home, &served.endpoint)
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
}

/// GetCdbRollbackJob requests the served sandbox received.
fn listings(served: &Served) -> u64 {
    served.counters()["requests_per_action"]["GetCdbRollbackJob"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn api_errors_exit_2_with_the_code_and_no_secret() {
    // The scripted server: the sandbox's refusal names `SignatureFailure`, which would hide a
    // leaked `Signature` parameter from the check below.
    let (endpoint, _) = start(1);
    let out = jobs(&home(), &endpoint)
        .env("TENCENTCLOUD_SECRET_KEY", "wrong-key-value")
        .env("TENCENTCLOUD_SECURITY_TOKEN", "token-value")
        .arg("cdb-mo64xu70")
        .run();
    assert_eq!(out.code, Some(2));
    let err = out.stderr;
    assert!(err.contains("4100"), "{err}");
    assert!(err.contains("planrun::api::error"), "{err}");
    for secret in ["wrong-key-value", "token-value", "Signature"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }

    let served = Served::start(1.0, &["--missing", "cdb-00000000"]);
    let out = unplaced_served(&home(), &served)
        .env("TENCENTCLOUD_REGION", "ap-guangzhou")
        .arg("cdb-00000000")
        .run();
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("11041"), "{}", out.stderr);
}

#[test]
fn missing_region_exits_2_before_any_request() {
    let served = Served::start(1.0, &[]);
    let out = unplaced_served(&home(), &served).arg("cdb-mo64xu70").run();
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("TENCENTCLOUD_REGION"), "{}", out.stderr);
    assert_eq!(listings(&served), 0);

    let out = unplaced_served(&home(), &served)
        .args(["cdb-mo64xu70", "--region", "ap-guangzhou"])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

/// A port no one can connect to while the socket lives: bound (so nothing else is given the
/// port — no `SO_REUSEADDR`) but never listening, so a connection is refused at once.
fn refusing_port() -> tokio::net::TcpSocket {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(false).expect("no address reuse");
    socket
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    socket
}

#[test]
fn unreachable_endpoint_exits_2() {
    let socket = refusing_port();
    let endpoint = format!("http://{}{PATH}", socket.local_addr().expect("addr"));
    let out = jobs(&home(), &endpoint).arg("cdb-mo64xu70").run();
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("planrun::api::not_sent"),
        "{}",
        out.stderr
    );
    drop(socket);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["cdb-mo64xu70", "--api", "v4"][..],
        &["cdb-mo64xu70", "--limit", "101"],
        &["cdb-mo64xu70", "--all", "--limit", "5"],
        &["cdb-mo64xu70", "--format", "xml"],
        &[],
    ] {
        let out = jobs(&home(), "http://127.0.0.1:9/v2/index.php")
            .args(args)
            .run();
        assert_eq!(out.code, Some(2), "{args:?}");
    }
}
