//! API 3.0 client and engine adapter against a scripted in-test server on 127.0.0.1 that
//! verifies every request's TC3 signature with `planrun::api::tc3` (as the sandbox does).
//! Not the sandbox: each test scripts the answers in order (a request id it names, a state
//! per poll, an error once), and reads back every request's headers, body and time as sent;
//! the sandbox answers from its own tasks and records only the submissions it accepted.

mod apply;
mod audit;
mod cancel;
mod cli;
mod client;
mod engine;
mod preflight;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::support::{Output, Test, rollback};
use planrun::api::Credentials;
use planrun::api::config::{ClientConfig, RetryPolicy, Timeouts};
use planrun::api::rollback::InstanceRollback;
use planrun::api::tc3;
use planrun::api::v3::client::{
    DESCRIBE_ROLLBACK_RANGE_TIME, DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK,
    STOP_ROLLBACK,
};

pub(super) const ID: &str = "AKIDv3test";
pub(super) const KEY: &str = "v3-secret-key";

/// The clock of the binary runs here: the plans roll back to 2026-11-20 03:15.
const NOW: &str = "2026-11-23T04:00:00Z";

/// `planrun ARGS` in `home` with the scripted server's credentials, waited for off the
/// runtime's workers so that the in-test server can answer it.
pub(super) async fn planrun(home: &Path, args: &[&str]) -> Output {
    let test = Test::in_dir(home)
        .env("PLANRUN_NOW", NOW)
        .env("TENCENTCLOUD_SECRET_ID", ID)
        .env("TENCENTCLOUD_SECRET_KEY", KEY)
        .args(args);
    tokio::task::spawn_blocking(move || test.run())
        .await
        .unwrap()
}

/// `PLAN` written to `p.yaml` in a new temporary directory; returns both.
pub(super) fn plan_in_temp_dir(plan: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, plan).unwrap();
    (dir, path.display().to_string())
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) at: Instant,
    pub(super) action: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
    pub(super) signature_ok: bool,
}

#[derive(Default)]
pub(super) struct Script {
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

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Recomputes the signature from the received pieces, as the cloud does.
pub(super) fn verify(headers: &HeaderMap, body: &[u8]) -> bool {
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

pub(super) async fn handle(
    State(script): State<Arc<Script>>,
    headers: HeaderMap,
    body: Bytes,
) -> String {
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

pub(super) fn default_answer(action: &str) -> Value {
    match action {
        START_BATCH_ROLLBACK => json!({"AsyncRequestId": "f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7"}),
        STOP_ROLLBACK => json!({"AsyncRequestId": "stop-1"}),
        DESCRIBE_ROLLBACK_TASK_DETAIL => json!({"TotalCount": 0, "Items": null}),
        DESCRIBE_ROLLBACK_RANGE_TIME => json!({"TotalCount": 0, "Items": []}),
        // Every instance holds what these tests' plans name (the object preflight asks).
        "DescribeDatabases" => json!({"TotalCount": 3, "Items": ["db1", "orders", "shop"]}),
        "DescribeTables" => json!({"TotalCount": 3, "Items": ["orders", "payments", "refunds"]}),
        _ => error("InvalidAction", "unknown action"),
    }
}

pub(super) fn error(code: &str, message: &str) -> Value {
    json!({"Error": {"Code": code, "Message": message}})
}

pub(super) async fn serve() -> (String, Arc<Script>) {
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

pub(super) fn config(endpoint: &str) -> ClientConfig {
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

pub(super) fn tables_instance(id: &str) -> InstanceRollback {
    rollback::payments(id, "2026-11-20 03:15:00")
}

pub(super) fn db_instance(id: &str) -> InstanceRollback {
    rollback::db1(id, "2026-11-20 03:10:00")
}

/// A server that reads one whole request, then closes the connection without answering.
pub(super) async fn swallowing_server() -> (String, Arc<Mutex<usize>>) {
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
pub(super) fn complete(data: &[u8]) -> bool {
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

pub(super) fn detail(id: &str, time: &str, strategy: &str) -> Value {
    json!({"InstanceId": id, "Strategy": strategy, "RollbackTime": time,
           "Databases": [{"DatabaseName": "db1", "NewDatabaseName": "db1_bak"}],
           "Tables": null})
}
