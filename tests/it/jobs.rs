//! `planrun jobs` end to end: the binary against a small scripted API 2.0 server on
//! 127.0.0.1 that checks signatures and pages a fixed task list by offset/limit.

use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use axum::extract::State;
use axum::http::HeaderMap;
use planrun::api::v2::sign::{self, HttpMethod, SignatureMethod};

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

fn jobs(endpoint: &str) -> Command {
    let mut cmd = Command::cargo_bin("planrun").expect("binary");
    cmd.env_clear()
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .env("PLANRUN_ENDPOINT", endpoint)
        .env("TENCENTCLOUD_REGION", "ap-guangzhou")
        .env("NO_COLOR", "1")
        .arg("jobs")
        // These servers speak API 2.0; v3 is the default since issue 5.
        .args(["--api", "v2"]);
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn jobs_lists_one_page_as_a_table_with_status_names() {
    let (endpoint, pages) = start(3);
    let out = jobs(&endpoint).arg("cdb-mo64xu70").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("JOB"), "{text}");
    assert!(
        lines[1].starts_with("1003") && lines[1].contains("running") && lines[1].contains("40%"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("1002")
            && lines[2].contains("success")
            && lines[2].contains("orders_bak"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"tasks 1-3 of 3 for cdb-mo64xu70"));
    assert_eq!(*pages.lock().unwrap(), [(0, 50)]);
}

#[test]
fn jobs_json_honours_offset_and_limit() {
    let (endpoint, pages) = start(10);
    let out = jobs(&endpoint)
        .args([
            "cdb-mo64xu70",
            "--offset",
            "4",
            "--limit",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
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
    let out = jobs(&endpoint)
        .args([
            "cdb-mo64xu70",
            "--all",
            "--format",
            "json",
            "--signature-method",
            "HmacSHA1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
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
    let out = Command::cargo_bin("planrun")
        .unwrap()
        .env_clear()
        .env("NO_COLOR", "1")
        .args([
            "jobs",
            "cdb-mo64xu70",
            "--endpoint",
            "http://127.0.0.1:9/v2/index.php",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for var in [
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TENCENTCLOUD_SECURITY_TOKEN",
    ] {
        assert!(err.contains(var), "{var} missing from: {err}");
    }
    assert!(stdout(&out).is_empty());
}

#[test]
fn api_errors_exit_2_with_the_code_and_no_secret() {
    let (endpoint, _) = start(1);
    let out = jobs(&endpoint)
        .env("TENCENTCLOUD_SECRET_KEY", "wrong-key-value")
        .env("TENCENTCLOUD_SECURITY_TOKEN", "token-value")
        .arg("cdb-mo64xu70")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("4100"), "{err}");
    assert!(err.contains("planrun::api::error"), "{err}");
    for secret in ["wrong-key-value", "token-value", "Signature"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }

    let out = jobs(&endpoint).arg("cdb-00000000").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("11041"), "{}", stderr(&out));
}

#[test]
fn missing_region_exits_2_before_any_request() {
    let (endpoint, pages) = start(1);
    let out = jobs(&endpoint)
        .env_remove("TENCENTCLOUD_REGION")
        .arg("cdb-mo64xu70")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("TENCENTCLOUD_REGION"),
        "{}",
        stderr(&out)
    );
    assert!(pages.lock().unwrap().is_empty());

    let out = jobs(&endpoint)
        .env_remove("TENCENTCLOUD_REGION")
        .args(["cdb-mo64xu70", "--region", "ap-guangzhou"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn unreachable_endpoint_exits_2() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}{PATH}", listener.local_addr().unwrap());
    drop(listener);
    let out = jobs(&endpoint).arg("cdb-mo64xu70").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("planrun::api::not_sent"),
        "{}",
        stderr(&out)
    );
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
        let out = jobs("http://127.0.0.1:9/v2/index.php")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
