//! API 3.0 over HTTP: the TC3 caller the other v3 tests share, then every rejection of the
//! envelope and of authentication, the rate limit, and the error envelope itself.

use super::*;
use planrun::api::tc3::{self, SignInput};

/// A minimal API 3.0 caller: TC3-signed POSTs of JSON bodies.
pub(crate) struct V3 {
    pub(crate) http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) host: String,
    pub(crate) secret_id: String,
    pub(crate) secret_key: String,
    /// Forced `X-TC-Timestamp` (expiry tests); `None` = now.
    pub(crate) timestamp: Option<i64>,
    /// `X-TC-Region`: an instance exists only in its own.
    pub(crate) region: &'static str,
}

impl V3 {
    pub(crate) fn new(sb: &Sandbox) -> Self {
        Self {
            http: http(),
            url: sb.endpoint_v3(),
            host: sb.addr().to_string(),
            secret_id: DEMO_SECRET_ID.into(),
            secret_key: DEMO_SECRET_KEY.into(),
            timestamp: None,
            region: "ap-guangzhou",
        }
    }

    pub(crate) async fn send(
        &self,
        action: &str,
        body: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        let bytes = body.to_string().into_bytes();
        let input = SignInput {
            secret_id: &self.secret_id,
            secret_key: &self.secret_key,
            host: &self.host,
            action,
            timestamp: self.timestamp.unwrap_or_else(now),
            region: self.region,
            token: None,
            body: &bytes,
        };
        let mut req = self.http.post(&self.url);
        for (name, value) in tc3::headers(&input) {
            req = req.header(name, value);
        }
        req.body(bytes).send().await
    }

    /// The `Response` object of a call that must get an HTTP 200 with a RequestId.
    pub(crate) async fn call(&self, action: &str, body: Value) -> Value {
        let resp = self
            .send(action, &body)
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap_or_else(|e| panic!("json: {e}"));
        let r = v["Response"].clone();
        assert!(
            r["RequestId"].as_str().is_some_and(|id| id.len() == 36),
            "no RequestId: {v}"
        );
        r
    }

    pub(crate) async fn detail(&self, id: &str, extra: Value) -> Value {
        let mut body = json!({ "InstanceId": id });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call("DescribeRollbackTaskDetail", body).await
    }

    pub(crate) async fn start(&self, instances: Value) -> Value {
        self.call("StartBatchRollback", json!({ "Instances": instances }))
            .await
    }
}

/// Tasks of 1-2 s: still running when a test's next requests come, even on a loaded machine.
pub(crate) fn steady() -> Config {
    Config {
        time_scale: 1.0,
        ..fast()
    }
}

/// `Error.Code` of an answer, `None` for a success.
pub(crate) fn error_code(r: &Value) -> Option<&str> {
    r["Error"]["Code"].as_str()
}

/// A rollback time one hour ago in the instances' clock (+08:00): inside the default window.
pub(crate) fn recent() -> String {
    (chrono::Utc::now().naive_utc() + chrono::TimeDelta::hours(7))
        .format(planrun::contract::TIME_FORMAT)
        .to_string()
}

/// One table rollback of `id`, API 3.0 shape.
pub(crate) fn instance(id: &str) -> Value {
    json!({"InstanceId": id, "Strategy": "table", "RollbackTime": recent(),
           "Tables": [{"Database": "orders",
                       "Table": [{"TableName": "payments", "NewTableName": "payments_bak"}]}]})
}

#[tokio::test]
async fn authentication_failures_have_the_clouds_codes_and_are_counted() {
    let sb = start(fast()).await;
    let mut c = V3::new(&sb);
    let body = json!({"InstanceIds": [A]});
    let r = c.call("DescribeRollbackRangeTime", body.clone()).await;
    assert_eq!(error_code(&r), None, "{r}");

    c.secret_key = "wrong".into();
    let r = c.call("DescribeRollbackRangeTime", body.clone()).await;
    assert_eq!(error_code(&r), Some("AuthFailure.SignatureFailure"));
    assert!(
        r["Error"]["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    c.secret_key = DEMO_SECRET_KEY.into();
    c.secret_id = "AKIDnobody".into();
    let r = c.call("DescribeRollbackRangeTime", body.clone()).await;
    assert_eq!(error_code(&r), Some("AuthFailure.SecretIdNotFound"));

    c.secret_id = DEMO_SECRET_ID.into();
    c.timestamp = Some(now() - 400);
    let r = c.call("DescribeRollbackRangeTime", body.clone()).await;
    assert_eq!(error_code(&r), Some("AuthFailure.SignatureExpire"));
    c.timestamp = Some(now() - 200);
    let r = c.call("DescribeRollbackRangeTime", body).await;
    assert_eq!(
        error_code(&r),
        None,
        "200 s of skew is within the window: {r}"
    );

    let s = sb.counters();
    assert_eq!(s.requests_per_action["DescribeRollbackRangeTime"], 5);
    for code in [
        "AuthFailure.SignatureFailure",
        "AuthFailure.SecretIdNotFound",
        "AuthFailure.SignatureExpire",
    ] {
        assert_eq!(s.rejections_per_error.get(code), Some(&1), "{code}: {s:?}");
    }
    assert!(
        s.rejections_per_code.is_empty(),
        "v3 errors are not v2 codes"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_body_changed_after_signing_fails_the_signature() {
    let sb = start(fast()).await;
    let c = V3::new(&sb);
    let signed = json!({"InstanceIds": [A]}).to_string().into_bytes();
    let input = SignInput {
        secret_id: DEMO_SECRET_ID,
        secret_key: DEMO_SECRET_KEY,
        host: &c.host,
        action: "DescribeRollbackRangeTime",
        timestamp: now(),
        region: "ap-guangzhou",
        token: None,
        body: &signed,
    };
    let mut req = c.http.post(&c.url);
    for (name, value) in tc3::headers(&input) {
        req = req.header(name, value);
    }
    let resp = req
        .body(json!({"InstanceIds": [B]}).to_string())
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        error_code(&v["Response"]),
        Some("AuthFailure.SignatureFailure")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_parameter_and_protocol_codes() {
    let sb = start(fast()).await;
    let c = V3::new(&sb);
    let r = c.call("DescribeRollbackTaskDetail", json!({})).await;
    assert_eq!(error_code(&r), Some("MissingParameter"));
    let r = c
        .call(
            "DescribeRollbackTaskDetail",
            json!({"InstanceId": A, "Bogus": 1}),
        )
        .await;
    assert_eq!(error_code(&r), Some("UnknownParameter"));
    let r = c
        .call(
            "DescribeRollbackTaskDetail",
            json!({"InstanceId": A, "Limit": 101}),
        )
        .await;
    assert_eq!(error_code(&r), Some("InvalidParameterValue"));
    let r = c
        .call("DescribeRollbackTaskDetail", json!({"InstanceId": 7}))
        .await;
    assert_eq!(error_code(&r), Some("InvalidParameter"));
    let r = c.call("DescribeRollbackTaskDetail", json!([1])).await;
    assert_eq!(error_code(&r), Some("InvalidParameter"));
    // DescribeDBInstances is served now (issue 14); an action it never emulates is not.
    let r = c.call("CreateDBInstance", json!({})).await;
    assert_eq!(error_code(&r), Some("InvalidAction"));

    // Unsigned and non-POST requests.
    let v: Value = c
        .http
        .post(&c.url)
        .header("X-TC-Action", "DescribeRollbackRangeTime")
        .header("X-TC-Version", tc3::VERSION)
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", now().to_string())
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        error_code(&v["Response"]),
        Some("AuthFailure.InvalidAuthorization")
    );
    let v: Value = c
        .http
        .get(&c.url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(error_code(&v["Response"]), Some("UnsupportedProtocol"));
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}
