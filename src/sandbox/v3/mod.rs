//! API 3.0 at `/` (POST, JSON body, `X-TC-*` headers, TC3-HMAC-SHA256): verification, the
//! same fault injection and rate limit as API 2.0, then StartBatchRollback,
//! DescribeRollbackTaskDetail, DescribeRollbackRangeTime, StopRollback or
//! DescribeAsyncRequestInfo — on the very tasks API 2.0 sees — and the catalog's
//! DescribeDBInstances, DescribeDatabases and DescribeTables.

mod answer;
mod auth;
mod catalog;
mod describe;
mod params;
mod submit;
mod tasks;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

pub use answer::{ApiError, Quirks};

use super::conn::ConnAddr;
use super::faults::FaultKind;
use super::shared::{InFlight, Shared};
use params::Body;

/// `POST /`.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnAddr>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&shared);
    let action = auth::header(&headers, "x-tc-action").unwrap_or("");
    let fault = match super::shared::prelude(&shared, action).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let (answer, accepted) = answer(&shared, &method, &headers, &body, fault);
    if accepted {
        shared.lock().received.push(super::received::Received {
            action: action.to_owned(),
            region: auth::header(&headers, "x-tc-region").map(str::to_owned),
            params: vec![(
                "body".to_owned(),
                String::from_utf8_lossy(&body).into_owned(),
            )],
        });
    }
    if fault == Some(FaultKind::Lost) {
        shared.lock().counters.lost(accepted);
        conn.kill();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response()
}

/// The JSON answer, and whether a submission was accepted.
fn answer(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    fault: Option<FaultKind>,
) -> (Value, bool) {
    let config = &shared.config;
    let mut inner = shared.lock();
    let inner = &mut *inner;
    let now = Instant::now();
    let request_id = inner.v3.request_id();
    let outcome = (|| {
        if method != Method::POST {
            return Err(ApiError::new(
                "UnsupportedProtocol",
                format!("API 3.0 here takes POST with a JSON body, not {method}"),
            ));
        }
        let action = auth::authenticate(config, headers, body, Utc::now().timestamp())?;
        // Counted per access region, as the cloud's regional endpoints count.
        let region = headers
            .get("X-TC-Region")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        inner
            .verifier
            .admit((region, action), config.rate_per_action, now)
            .map_err(|_| {
                ApiError::rate_limited(
                    action,
                    super::verify::action_limit(action, config.rate_per_action),
                )
            })?;
        if fault == Some(FaultKind::Internal) {
            return Err(ApiError::internal());
        }
        let params = Body::parse(body)?.in_region(auth::header(headers, "x-tc-region"));
        match action {
            "StartBatchRollback" => submit::start(config, inner, &params, now).map(|d| (d, true)),
            "StopRollback" => submit::stop(config, inner, &params, now).map(|d| (d, false)),
            "DescribeRollbackTaskDetail" => {
                describe::task_detail(config, inner, &params, now).map(|d| (d, false))
            }
            "DescribeRollbackRangeTime" => {
                describe::range_time(config, inner, &params).map(|d| (d, false))
            }
            "DescribeAsyncRequestInfo" => {
                tasks::async_info(config, inner, &params, now).map(|d| (d, false))
            }
            "DescribeTasks" => tasks::describe(inner, config, &params, now).map(|d| (d, false)),
            "DescribeDBInstances" => {
                let region = auth::header(headers, "x-tc-region").unwrap_or("");
                catalog::db_instances(config, &params, region).map(|d| (d, false))
            }
            "DescribeDatabases" => {
                catalog::databases(config, inner, &params, now).map(|d| (d, false))
            }
            "DescribeTables" => catalog::tables(config, inner, &params, now).map(|d| (d, false)),
            other => Err(ApiError::unsupported_action(other)),
        }
    })();
    let injected = (|| {
        let action = auth::header(headers, "x-tc-action")?;
        let i = config.injected.iter().position(|i| i.action == action)?;
        let used = inner.v3.inject(i);
        (used <= config.injected[i].count).then_some(config.injected[i].code)
    })();
    let outcome = match outcome {
        // The tasks exist; the answer says the back end failed.
        Ok((_, true)) if fault == Some(FaultKind::AcceptedInternal) => {
            inner.counters.accepted_then_failed();
            Err(ApiError::internal())
        }
        // An injected code: a submission's tasks exist all the same.
        Ok((_, accepted)) if injected.is_some() => {
            if accepted {
                inner.counters.accepted_then_failed();
            }
            Err(ApiError::new(
                injected.unwrap_or_default(),
                "injected by the sandbox (--inject)",
            ))
        }
        other => other,
    };
    match outcome {
        Ok((data, accepted)) => (answer::success(data, &request_id), accepted),
        Err(e) => {
            inner.counters.rejection_v3(e.code);
            (answer::error(&e, &request_id), false)
        }
    }
}

#[cfg(test)]
mod region_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::tc3::{self, SignInput};
    use crate::sandbox::config::{Config, DEMO_SECRET_ID, DEMO_SECRET_KEY};
    use proptest::prelude::*;

    fn signed(action: &str, body: &[u8]) -> HeaderMap {
        signed_in("ap-guangzhou", action, body)
    }

    /// Headers of a request of `action` signed for `region`.
    pub(super) fn signed_in(region: &str, action: &str, body: &[u8]) -> HeaderMap {
        let input = SignInput {
            secret_id: DEMO_SECRET_ID,
            secret_key: DEMO_SECRET_KEY,
            host: "127.0.0.1:9",
            action,
            timestamp: Utc::now().timestamp(),
            region,
            token: None,
            body,
        };
        let mut map = HeaderMap::new();
        for (name, value) in tc3::headers(&input) {
            if let (Ok(n), Ok(v)) = (
                axum::http::HeaderName::try_from(name),
                axum::http::HeaderValue::try_from(value),
            ) {
                map.insert(n, v);
            }
        }
        map
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z0-9_ :.-]{0,12}".prop_map(Value::from),
            Just(Value::from("cdb-aaaaaaaa")),
            Just(Value::from("2026-11-20 03:00:00")),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let keys = prop_oneof![
                Just("Instances".to_owned()),
                Just("InstanceId".to_owned()),
                Just("InstanceIds".to_owned()),
                Just("Strategy".to_owned()),
                Just("RollbackTime".to_owned()),
                Just("Databases".to_owned()),
                Just("Tables".to_owned()),
                Just("Table".to_owned()),
                Just("Limit".to_owned()),
                Just("Offset".to_owned()),
                Just("AsyncRequestId".to_owned()),
                Just("Tags".to_owned()),
                Just("Key".to_owned()),
                Just("Database".to_owned()),
                Just("InstanceNames".to_owned()),
                "[A-Za-z]{1,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the body, every action answers an envelope with a RequestId and either a
        /// result or an `Error{Code, Message}`; nothing panics.
        #[test]
        fn any_body_gets_an_envelope(body in json_value(), which in 0usize..10) {
            let action = [
                "StartBatchRollback",
                "DescribeRollbackTaskDetail",
                "DescribeRollbackRangeTime",
                "StopRollback",
                "DescribeAsyncRequestInfo",
                "DescribeTasks",
                "DescribeDBInstances",
                "DescribeDatabases",
                "DescribeTables",
                "Nope",
            ][which];
            let shared = Shared::new(Config::demo());
            let bytes = body.to_string().into_bytes();
            let (answer, _) = answer(&shared, &Method::POST, &signed(action, &bytes), &bytes, None);
            let r = &answer["Response"];
            prop_assert!(r["RequestId"].is_string());
            let error = &r["Error"];
            prop_assert!(
                error.is_null() || (error["Code"].is_string() && error["Message"].is_string()),
                "{answer}"
            );
            prop_assert!(
                !error.is_null() || action != "Nope",
                "an unknown action succeeded"
            );
        }
    }
}
