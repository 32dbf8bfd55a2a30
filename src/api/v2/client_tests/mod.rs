//! Client behaviour against tiny in-test servers on 127.0.0.1 that return canned answers:
//! signing as sent, retries, "outcome unknown", the limiter and the bound in flight.
//! Not the sandbox: it is built on `api` (so `api` does not import it), and these tests need
//! answers the sandbox must not give on cue — a redirect, a reply held past the client's
//! timeout, a connection dropped after the request — and every request as it arrived.

mod pacing;
mod query;
mod submit;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use crate::api::credentials::Credentials;
use crate::api::error::{Error, ErrorClass};
use crate::api::rollback::{DatabaseRename, InstanceRollback, RollbackSpec, Strategy};
use crate::api::v2::JobId;
use crate::api::v2::client::{
    Client, ClientConfig, ROLLBACK, ROLLBACK_JOBS, RetryPolicy, Timeouts,
};
use crate::api::v2::sign::{self, HttpMethod, SignatureMethod};
use crate::api::v2::tasks::TaskStatus;

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
) -> axum::response::Response {
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
    let signature_ok = crate::api::mac::signatures_match(&expected, &get("Signature"));
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
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = axum::response::IntoResponse::into_response((status, reply.body));
    if status.is_redirection() {
        // Back to the endpoint itself: a client following it would be seen twice.
        response.headers_mut().insert(
            axum::http::header::LOCATION,
            axum::http::HeaderValue::from_static(PATH),
        );
    }
    response
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
