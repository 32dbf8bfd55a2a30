//! The sandbox over HTTP: every rejection, both signature methods over GET and POST, task life,
//! paging, answer quirks, each fault kind and the counters. Requests are signed with
//! `planrun::api::v2::sign` directly; this file holds the shared caller.

mod client;
mod faults;
mod limits;
mod protocol;
mod rollback;
mod serve;
mod session;
mod speaker;
mod timeline;
mod v3;
mod v3_client;
mod v3_documented;
mod v3_faults;
mod v3_tasks;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use planrun::api::v2::sign::{self, HttpMethod, SignatureMethod};
use planrun::sandbox::{
    self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY, FaultKinds, Faults, Sandbox,
};
use serde_json::{Value, json};

use crate::support::wait_for_every;

pub(crate) const A: &str = "cdb-aaaaaaaa";
pub(crate) const B: &str = "cdb-bbbbbbbb";

pub(crate) fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub(crate) async fn start(config: Config) -> Sandbox {
    sandbox::start(config, loopback())
        .await
        .unwrap_or_else(|e| panic!("sandbox start: {e}"))
}

/// Fast tasks: 300-600 ms (long enough to still run when the next request comes).
pub(crate) fn fast() -> Config {
    Config {
        task_seconds: (1.0, 2.0),
        time_scale: 0.3,
        any_instance: true,
        ..Config::demo()
    }
}

/// `code` as an integer, whether sent as a number or a string.
pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// A minimal signing caller; `nonce` and `timestamp` can be forced for replay tests.
pub(crate) struct Caller {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: String,
    pub(crate) host: String,
    pub(crate) secret_id: String,
    pub(crate) secret_key: String,
    pub(crate) method: HttpMethod,
    pub(crate) signature: Option<SignatureMethod>,
    pub(crate) nonce: u64,
}

impl Caller {
    pub(crate) fn new(sb: &Sandbox) -> Self {
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

    pub(crate) fn params(
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

    pub(crate) async fn send(&self, p: &[(String, String)]) -> reqwest::Result<reqwest::Response> {
        match self.method {
            HttpMethod::Get => self.http.get(&self.endpoint).query(p).send().await,
            HttpMethod::Post => self.http.post(&self.endpoint).form(p).send().await,
        }
    }

    pub(crate) async fn raw(&self, p: &[(String, String)]) -> Value {
        let resp = self.send(p).await.unwrap_or_else(|e| panic!("send: {e}"));
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap_or_else(|e| panic!("json: {e}"))
    }

    pub(crate) async fn call(&mut self, action: &str, extra: &[(String, String)]) -> Value {
        let p = self.params(action, extra, now());
        self.raw(&p).await
    }

    pub(crate) async fn jobs(&mut self, id: &str, paging: &[(&str, &str)]) -> Value {
        let mut extra = vec![("cdbInstanceId".to_owned(), id.to_owned())];
        extra.extend(
            paging
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.call("GetCdbRollbackJob", &extra).await
    }

    pub(crate) async fn submit(&mut self, batch: &[(&str, Value)]) -> Value {
        let mut extra = Vec::new();
        for (n, (id, para)) in batch.iter().enumerate() {
            extra.push((format!("instances.{n}.cdbInstanceId"), (*id).to_owned()));
            extra.push((format!("instances.{n}.para"), para.to_string()));
        }
        self.call("RollbackCdbDatabaseTables", &extra).await
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn para() -> Value {
    json!({"rollbacktime": "2026-01-01 03:15:00", "strategy": "table",
           "tables": [{"db": "orders", "table": [{"tablename": "payments", "newname": "payments_bak"}]}]})
}

pub(crate) async fn wait_idle(c: &mut Caller, id: &str) {
    // Under the default 20 requests/s per action.
    wait_for_every(
        "the task to finish",
        Duration::from_secs(10),
        Duration::from_millis(60),
        async || {
            let v = c.jobs(id, &[("limit", "1")]).await;
            assert_eq!(int(&v["code"]), 0, "{v}");
            v["data"]["taskList"]
                .as_array()
                .is_some_and(|l| l.iter().all(|t| int(&t["status"]) >= 2))
        },
    )
    .await;
}
