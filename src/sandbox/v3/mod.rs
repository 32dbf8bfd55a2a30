//! API 3.0 at `/` (POST, JSON body, `X-TC-*` headers, TC3-HMAC-SHA256): verification, the
//! same fault injection and rate limit as API 2.0, then StartBatchRollback,
//! DescribeRollbackTaskDetail, DescribeRollbackRangeTime or StopRollback — on the very tasks
//! API 2.0 sees.

mod answer;
mod auth;
mod describe;
mod params;
mod submit;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

pub use answer::{ApiError, Quirks};

use super::conn::ConnAddr;
use super::faults::FaultKind;
use super::v2::{InFlight, Shared};
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
    let fault = {
        let mut inner = shared.lock();
        inner.counters.request(action);
        let fault = inner.faults.draw(action);
        if let Some(kind) = fault {
            inner.counters.fault(kind.as_str());
        }
        fault
    };
    match fault {
        Some(FaultKind::Http502) => {
            return (StatusCode::BAD_GATEWAY, "502 Bad Gateway").into_response();
        }
        Some(FaultKind::Slow) => {
            tokio::time::sleep(Duration::from_millis(shared.config.faults.slow_ms)).await;
        }
        _ => {}
    }
    let (answer, accepted) = answer(&shared, &method, &headers, &body, fault);
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
        inner
            .verifier
            .admit(action, config.rate_per_action, now)
            .map_err(|_| ApiError::rate_limited(action, config.rate_per_action))?;
        if fault == Some(FaultKind::Internal) {
            return Err(ApiError::internal());
        }
        let params = Body::parse(body)?;
        match action {
            "StartBatchRollback" => submit::start(config, inner, &params, now).map(|d| (d, true)),
            "StopRollback" => submit::stop(config, inner, &params, now).map(|d| (d, false)),
            "DescribeRollbackTaskDetail" => {
                describe::task_detail(config, inner, &params, now).map(|d| (d, false))
            }
            "DescribeRollbackRangeTime" => {
                describe::range_time(config, inner, &params).map(|d| (d, false))
            }
            other => Err(ApiError::unsupported_action(other)),
        }
    })();
    match outcome {
        Ok((data, accepted)) => (answer::success(data, &request_id), accepted),
        Err(e) => {
            inner.counters.rejection_v3(e.code);
            (answer::error(&e, &request_id), false)
        }
    }
}
