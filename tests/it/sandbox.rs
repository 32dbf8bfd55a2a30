//! The sandbox over HTTP: every rejection, both signature methods over GET and POST, task life,
//! paging, answer quirks, each fault kind and the counters. Requests are signed with
//! `planrun::api::sign` directly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use planrun::api::sign::{self, HttpMethod, SignatureMethod};
use planrun::sandbox::{
    self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY, FaultKinds, Faults, Sandbox,
};
use serde_json::{Value, json};

const A: &str = "cdb-aaaaaaaa";
const B: &str = "cdb-bbbbbbbb";

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub async fn start(config: Config) -> Sandbox {
    sandbox::start(config, loopback())
        .await
        .unwrap_or_else(|e| panic!("sandbox start: {e}"))
}

/// Fast tasks: 100-200 ms.
fn fast() -> Config {
    Config {
        task_seconds: (1.0, 2.0),
        time_scale: 0.1,
        ..Config::demo()
    }
}

/// `code` as an integer, whether sent as a number or a string.
pub fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// A minimal signing caller; `nonce` and `timestamp` can be forced for replay tests.
struct Caller {
    http: reqwest::Client,
    endpoint: String,
    host: String,
    secret_id: String,
    secret_key: String,
    method: HttpMethod,
    signature: Option<SignatureMethod>,
    nonce: u64,
}

impl Caller {
    fn new(sb: &Sandbox) -> Self {
        Self {
            http: http(),
            endpoint: sb.endpoint_v2(),
            host: sb.addr().to_string(),
            secret_id: DEMO_SECRET_ID.into(),
            secret_key: DEMO_SECRET_KEY.into(),
            method: HttpMethod::Get,
            signature: Some(SignatureMethod::HmacSha256),
            nonce: 1000,
        }
    }

    fn params(
        &mut self,
        action: &str,
        extra: &[(String, String)],
        ts: i64,
    ) -> Vec<(String, String)> {
        self.nonce += 1;
        let mut p: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Region".into(), "ap-guangzhou".into()),
            ("Timestamp".into(), ts.to_string()),
            ("Nonce".into(), self.nonce.to_string()),
            ("SecretId".into(), self.secret_id.clone()),
        ];
        if let Some(m) = self.signature {
            p.push(("SignatureMethod".into(), m.as_str().into()));
        }
        p.extend_from_slice(extra);
        let text = sign::string_to_sign(self.method, &self.host, "/v2/index.php", &p);
        let method = self.signature.unwrap_or(SignatureMethod::HmacSha1);
        p.push((
            "Signature".into(),
            sign::signature(&self.secret_key, method, &text),
        ));
        p
    }

    async fn send(&self, p: &[(String, String)]) -> reqwest::Result<reqwest::Response> {
        match self.method {
            HttpMethod::Get => self.http.get(&self.endpoint).query(p).send().await,
            HttpMethod::Post => self.http.post(&self.endpoint).form(p).send().await,
        }
    }

    async fn raw(&self, p: &[(String, String)]) -> Value {
        let resp = self.send(p).await.unwrap_or_else(|e| panic!("send: {e}"));
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap_or_else(|e| panic!("json: {e}"))
    }

    async fn call(&mut self, action: &str, extra: &[(String, String)]) -> Value {
        let p = self.params(action, extra, now());
        self.raw(&p).await
    }

    async fn jobs(&mut self, id: &str, paging: &[(&str, &str)]) -> Value {
        let mut extra = vec![("cdbInstanceId".to_owned(), id.to_owned())];
        extra.extend(
            paging
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.call("GetCdbRollbackJob", &extra).await
    }

    async fn submit(&mut self, batch: &[(&str, Value)]) -> Value {
        let mut extra = Vec::new();
        for (n, (id, para)) in batch.iter().enumerate() {
            extra.push((format!("instances.{n}.cdbInstanceId"), (*id).to_owned()));
            extra.push((format!("instances.{n}.para"), para.to_string()));
        }
        self.call("RollbackCdbDatabaseTables", &extra).await
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn para() -> Value {
    json!({"rollbacktime": "2026-01-01 03:15:00", "strategy": "table",
           "tables": [{"db": "orders", "table": [{"tablename": "payments", "newname": "payments_bak"}]}]})
}

async fn wait_idle(c: &mut Caller, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = c.jobs(id, &[("limit", "1")]).await;
        assert_eq!(int(&v["code"]), 0, "{v}");
        let done = v["data"]["taskList"]
            .as_array()
            .is_some_and(|l| l.iter().all(|t| int(&t["status"]) >= 2));
        if done {
            return;
        }
        assert!(Instant::now() < deadline, "task never finished");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
}

#[tokio::test]
async fn both_signature_methods_are_accepted_over_get_and_post() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    for method in [HttpMethod::Get, HttpMethod::Post] {
        for sig in [
            None,
            Some(SignatureMethod::HmacSha1),
            Some(SignatureMethod::HmacSha256),
        ] {
            c.method = method;
            c.signature = sig;
            let v = c.jobs(A, &[]).await;
            assert_eq!(int(&v["code"]), 0, "{method:?} {sig:?}: {v}");
            assert!(v["data"].is_object());
        }
    }
    // Signed as GET, sent as POST: the method is part of the signed string.
    c.method = HttpMethod::Get;
    let p = c.params(
        "GetCdbRollbackJob",
        &[("cdbInstanceId".into(), A.into())],
        now(),
    );
    c.method = HttpMethod::Post;
    assert_eq!(int(&c.raw(&p).await["code"]), 4100);
    assert_eq!(sb.counters().requests_per_action["GetCdbRollbackJob"], 7);
    sb.shutdown().await;
}

#[tokio::test]
async fn signature_covers_the_host_header_with_its_port() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.host = "127.0.0.1".into();
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 4100);
    sb.shutdown().await;
}

#[tokio::test]
async fn authentication_and_replay_rejections() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.secret_key = "not-the-key".into();
    let v = c.jobs(A, &[]).await;
    assert_eq!(int(&v["code"]), 4100, "{v}");
    assert!(v["message"].is_string() && v["codeDesc"].is_string());

    c.secret_key = DEMO_SECRET_KEY.into();
    c.secret_id = "AKIDsomebodyelse".into();
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 4104);

    c.secret_id = DEMO_SECRET_ID.into();
    let extra = [("cdbInstanceId".to_owned(), A.to_owned())];
    let stale = c.params("GetCdbRollbackJob", &extra, now() - 400);
    assert_eq!(int(&c.raw(&stale).await["code"]), 4500);
    let ahead = c.params("GetCdbRollbackJob", &extra, now() + 400);
    assert_eq!(int(&c.raw(&ahead).await["code"]), 4500);

    let fresh = c.params("GetCdbRollbackJob", &extra, now());
    assert_eq!(int(&c.raw(&fresh).await["code"]), 0);
    assert_eq!(
        int(&c.raw(&fresh).await["code"]),
        4500,
        "the same Nonce twice"
    );

    let mut missing = c.params("GetCdbRollbackJob", &extra, now());
    missing.retain(|(k, _)| k != "Timestamp");
    assert_eq!(int(&c.raw(&missing).await["code"]), 4000);

    let counts = sb.counters().rejections_per_code;
    assert_eq!(
        (counts[&4100], counts[&4104], counts[&4500], counts[&4000]),
        (1, 1, 3, 1)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_is_per_action_over_a_sliding_second() {
    let sb = start(Config {
        rate_per_action: 3,
        ..fast()
    })
    .await;
    let mut c = Caller::new(&sb);
    let started = Instant::now();
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(int(&c.jobs(A, &[]).await["code"]));
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "too slow to test the window"
    );
    assert_eq!(codes, [0, 0, 0, 4400]);
    // Another action still has its budget.
    assert_eq!(int(&c.submit(&[(A, para())]).await["code"]), 0);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn rule_violations_reject_the_whole_batch_naming_the_instance() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    let bad = json!({"rollbacktime": "2026-01-01 03:15:00", "strategy": "table",
                     "dbs": [{"dbname": "orders", "newname": "orders_bak"}]});
    let v = c.submit(&[(A, para()), (B, bad)]).await;
    assert_eq!(int(&v["code"]), 9003, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("instances.1 (cdb-bbbbbbbb)")),
        "{v}"
    );
    let future = json!({"rollbacktime": "2099-01-01 00:00:00", "strategy": "full",
                        "dbs": [{"dbname": "a", "newname": "a_bak"}]});
    assert_eq!(int(&c.submit(&[(A, future)]).await["code"]), 9003);
    assert_eq!(
        int(&c.call("RollbackCdbDatabaseTables", &[]).await["code"]),
        9003
    );
    assert_eq!(
        int(&c.jobs(A, &[]).await["data"]["taskCount"]),
        0,
        "nothing was created"
    );
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn missing_instances_answer_11041() {
    let mut config = fast();
    config.missing_instances.insert(B.into());
    let sb = start(config).await;
    let mut c = Caller::new(&sb);
    let v = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&v["code"]), 11041);
    assert!(v["message"].as_str().is_some_and(|m| m.contains(B)));
    assert_eq!(int(&c.jobs(B, &[]).await["code"]), 11041);
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_running_task_blocks_the_instance_with_9592_until_it_ends() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    let first = c.submit(&[(A, para())]).await;
    assert_eq!(int(&first["code"]), 0);
    let v = c.submit(&[(B, para()), (A, para())]).await;
    assert_eq!(int(&v["code"]), 9592, "{v}");
    assert_eq!(
        int(&c.jobs(B, &[]).await["data"]["taskCount"]),
        0,
        "all or nothing"
    );
    wait_idle(&mut c, A).await;
    let again = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&again["code"]), 0);
    assert!(int(&again["data"]["jobId"]) > int(&first["data"]["jobId"]));
    let s = sb.counters();
    assert_eq!(
        (
            s.accepted_submissions[A],
            s.accepted_submissions[B],
            s.accepted_jobs
        ),
        (2, 1, 2)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn tasks_wait_run_with_growing_progress_and_end() {
    let mut config = Config {
        task_seconds: (1.0, 1.0),
        time_scale: 0.6,
        ..Config::demo()
    };
    config.failing_instances.insert(B.into());
    let sb = start(config).await;
    let mut c = Caller::new(&sb);
    let submitted = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&submitted["code"]), 0, "{submitted}");
    let job = int(&submitted["data"]["jobId"]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = c.jobs(A, &[]).await["data"]["taskList"][0].clone();
        assert_eq!(int(&t["jobId"]), job);
        let (status, progress) = (int(&t["status"]), int(&t["progress"]));
        seen.push((status, progress));
        if status == 2 {
            assert_eq!(progress, 100);
            assert_ne!(t["endTime"], "0000-00-00 00:00:00");
            assert_eq!(t["type"], "10");
            assert_eq!(t["taskContext"]["data"]["strategy"], "table");
            assert_eq!(t["taskContext"]["data"]["tables"], para()["tables"]);
            assert_eq!(t["name"], "orders.payments");
            break;
        }
        assert!(Instant::now() < deadline, "{seen:?}");
        // Under the default 20 requests/s per action.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(seen[0].0, 0, "starts waiting: {seen:?}");
    let running: Vec<i64> = seen.iter().filter(|s| s.0 == 1).map(|s| s.1).collect();
    assert!(running.len() >= 3, "{seen:?}");
    assert!(
        running.windows(2).all(|w| w[0] <= w[1]) && running.last() > running.first(),
        "{seen:?}"
    );
    let failed = &c.jobs(B, &[]).await["data"]["taskList"][0];
    assert_eq!(int(&failed["status"]), 3, "{failed}");
    assert!(int(&failed["progress"]) < 100);
    sb.shutdown().await;
}

#[tokio::test]
async fn jobs_page_newest_first_with_offset_and_limit() {
    let sb = start(Config {
        task_seconds: (0.01, 0.01),
        ..Config::demo()
    })
    .await;
    let mut c = Caller::new(&sb);
    let mut ids = Vec::new();
    for _ in 0..5 {
        wait_idle(&mut c, A).await;
        ids.push(int(&c.submit(&[(A, para())]).await["data"]["jobId"]));
    }
    ids.reverse();
    let page = |v: &Value| -> Vec<i64> {
        v["data"]["taskList"]
            .as_array()
            .map_or(vec![], |l| l.iter().map(|t| int(&t["jobId"])).collect())
    };
    let all = c.jobs(A, &[]).await;
    assert_eq!(int(&all["data"]["taskCount"]), 5);
    assert_eq!(page(&all), ids);
    assert_eq!(page(&c.jobs(A, &[("limit", "2")]).await), ids[..2]);
    assert_eq!(
        page(&c.jobs(A, &[("offset", "2"), ("limit", "2")]).await),
        ids[2..4]
    );
    let tail = c.jobs(A, &[("offset", "4"), ("limit", "100")]).await;
    assert_eq!(
        (page(&tail), int(&tail["data"]["taskCount"])),
        (ids[4..].to_vec(), 5)
    );
    assert!(page(&c.jobs(A, &[("offset", "9")]).await).is_empty());
    assert_eq!(int(&c.jobs(A, &[("limit", "101")]).await["code"]), 9003);
    assert_eq!(int(&c.jobs(A, &[("offset", "-1")]).await["code"]), 9003);
    sb.shutdown().await;
}

#[tokio::test]
async fn numbers_come_as_strings_and_as_numbers_across_answers() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.submit(&[(A, para())]).await;
    let (mut strings, mut numbers) = (0, 0);
    for _ in 0..15 {
        let v = c.jobs(A, &[]).await;
        let t = &v["data"]["taskList"][0];
        for field in [
            &v["code"],
            &v["data"]["taskCount"],
            &t["status"],
            &t["progress"],
            &t["jobId"],
        ] {
            if field.is_string() {
                strings += 1;
            } else if field.is_number() {
                numbers += 1;
            } else {
                panic!("neither: {field}");
            }
        }
    }
    assert!(
        strings > 10 && numbers > 10,
        "{strings} strings, {numbers} numbers"
    );
    sb.shutdown().await;
}

fn faulty(kind: FaultKinds) -> Config {
    Config {
        faults: Faults {
            rate: 1.0,
            kinds: kind,
            seed: 5,
            slow_ms: 300,
        },
        ..fast()
    }
}

#[tokio::test]
async fn http502_fault_answers_bad_gateway_and_does_nothing() {
    let sb = start(faulty(FaultKinds {
        http502: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    let p = c.params(
        "RollbackCdbDatabaseTables",
        &[
            ("instances.0.cdbInstanceId".into(), A.into()),
            ("instances.0.para".into(), para().to_string()),
        ],
        now(),
    );
    let resp = c.send(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), 502);
    let s = sb.counters();
    assert_eq!((s.faults["http502"], s.accepted_jobs), (1, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn internal_fault_answers_9006_and_does_nothing() {
    let sb = start(faulty(FaultKinds {
        internal: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    let v = c.submit(&[(A, para())]).await;
    assert_eq!(
        (int(&v["code"]), v["codeDesc"].as_str()),
        (9006, Some("InternalError"))
    );
    let s = sb.counters();
    assert_eq!((s.rejections_per_code[&9006], s.accepted_jobs), (1, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn slow_fault_delays_the_answer() {
    let sb = start(faulty(FaultKinds {
        slow: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    let started = Instant::now();
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
    sb.shutdown().await;
}

#[tokio::test]
async fn lost_fault_accepts_the_job_then_drops_the_connection() {
    let sb = start(faulty(FaultKinds {
        lost: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    c.method = HttpMethod::Post;
    let p = c.params(
        "RollbackCdbDatabaseTables",
        &[
            ("instances.0.cdbInstanceId".into(), A.into()),
            ("instances.0.para".into(), para().to_string()),
        ],
        now(),
    );
    let err = c
        .send(&p)
        .await
        .err()
        .unwrap_or_else(|| panic!("an answer arrived"));
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    let s = sb.counters();
    assert_eq!(s.accepted_submissions[A], 1, "the job was accepted");
    assert_eq!((s.lost_responses, s.lost_accepted_jobs), (1, 1));

    // A read is dropped too; and at the socket level not one byte comes back.
    c.method = HttpMethod::Get;
    let p = c.params(
        "GetCdbRollbackJob",
        &[("cdbInstanceId".into(), A.into())],
        now(),
    );
    let query = p
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "GET /v2/index.php?{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        sb.addr()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(sb.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    socket
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(sb.counters().lost_responses, 2);
    assert_eq!(sb.counters().requests_per_action["GetCdbRollbackJob"], 1);
    sb.shutdown().await;
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn faults_follow_the_seed() {
    let mut config = fast();
    config.faults = Faults {
        rate: 0.5,
        kinds: FaultKinds {
            http502: true,
            ..FaultKinds::default()
        },
        seed: 11,
        slow_ms: 0,
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = start(config.clone()).await;
        let mut c = Caller::new(&sb);
        let mut statuses = Vec::new();
        for _ in 0..12 {
            let p = c.params(
                "GetCdbRollbackJob",
                &[("cdbInstanceId".into(), A.into())],
                now(),
            );
            statuses.push(c.send(&p).await.map(|r| r.status().as_u16()).unwrap_or(0));
        }
        runs.push(statuses);
        sb.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].contains(&502),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn counters_endpoint_serves_the_snapshot_as_json() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.submit(&[(A, para()), (B, para())]).await;
    c.secret_key = "wrong".into();
    c.jobs(A, &[]).await;
    let url = sb.counters_url();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/_sandbox/counters"));
    let v: Value = http()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["accepted_submissions"], json!({A: 1, B: 1}));
    assert_eq!(v["accepted_jobs"], 1);
    assert_eq!(v["requests_per_action"]["RollbackCdbDatabaseTables"], 1);
    assert_eq!(v["requests_per_action"]["GetCdbRollbackJob"], 1);
    assert_eq!(v["rejections_per_code"]["4100"], 1);
    assert_eq!(v, serde_json::to_value(sb.counters()).unwrap_or_default());
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_refuses_non_loopback_addresses_and_stops_on_shutdown() {
    let err = sandbox::start(Config::demo(), SocketAddr::from(([0, 0, 0, 0], 0))).await;
    assert!(err.is_err());
    let sb = start(fast()).await;
    let addr = sb.addr();
    assert!(sb.endpoint_v2().starts_with("http://127.0.0.1:"));
    sb.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// `planrun sandbox serve` prints where it listens and what it accepts, serves, and stops on
/// SIGINT (the process is ours: started here, signalled by its id).
#[test]
fn sandbox_serve_prints_its_endpoint_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let bin = assert_cmd::cargo::cargo_bin("planrun");
    let mut child = Command::new(bin)
        .args(["sandbox", "serve", "--port", "0", "--job-seconds", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap_or_default();
        let done = line.starts_with("Ctrl-C");
        banner.push(line);
        if done || banner.len() > 20 {
            break;
        }
    }
    let find = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no `{prefix}` in {banner:?}"))
    };
    let endpoint = find("endpoint: ");
    let counters = find("counters: ");
    assert!(endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/v2/index.php"));
    assert_eq!(find("secret id: "), DEMO_SECRET_ID);
    assert_eq!(find("secret key: "), DEMO_SECRET_KEY);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = runtime.block_on(async {
        http()
            .get(&counters)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!(v["accepted_jobs"], 0);

    let pid = child.id().to_string();
    let signalled = Command::new("kill").args(["-INT", &pid]).status();
    assert!(signalled.is_ok_and(|s| s.success()));
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(0));
    assert!(lines.any(|l| l.is_ok_and(|l| l == "stopping")));
}
