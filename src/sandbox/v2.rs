//! The API 2.0 dialect at `/v2/index.php` (GET query or POST form body) over the shared
//! server ([`super::shared`]): its verification, then RollbackCdbDatabaseTables or
//! GetCdbRollbackJob.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use crate::api::v2::sign::HttpMethod;

use super::answer::Rejection;
use super::config::Config;
use super::conn::ConnAddr;
use super::faults::FaultKind;
use super::jobs;
use super::rules;
use super::shared::{InFlight, Inner, Shared, instance_clock, job_id_i64, prelude, record};
use super::verify::{Envelope, Params};
use super::window;

/// `GET|POST /v2/index.php`.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let http = match method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    let _in_flight = InFlight::enter(&shared);
    let params = match http {
        HttpMethod::Get => Params::decode(uri.query().unwrap_or("")),
        HttpMethod::Post => Params::decode(&String::from_utf8_lossy(&body)),
    };
    let fault = match prelude(&shared, params.get("Action").unwrap_or("")).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let envelope = Envelope {
        method: http,
        host,
        path: uri.path(),
    };
    let (answer, accepted) = answer(&shared, envelope, &params, fault);
    if accepted {
        shared.lock().received.push(super::received::Received {
            action: params.get("Action").unwrap_or("").to_owned(),
            region: params.get("Region").map(str::to_owned),
            params: params
                .0
                .iter()
                .filter(|(k, _)| k.starts_with("instances."))
                .cloned()
                .collect(),
        });
    }
    if fault == Some(FaultKind::Lost) {
        shared.lock().counters.lost(accepted);
        conn.kill();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        answer.to_string(),
    )
        .into_response()
}

/// The JSON answer, and whether a submission was accepted.
fn answer(
    shared: &Shared,
    envelope: Envelope<'_>,
    params: &Params,
    fault: Option<FaultKind>,
) -> (Value, bool) {
    let config = &shared.config;
    let mut inner = shared.lock();
    let inner = &mut *inner;
    let now = Instant::now();
    let outcome = inner
        .verifier
        .authenticate(config, envelope, params, Utc::now().timestamp(), now)
        .and_then(|action| {
            inner
                .verifier
                .admit(("", action), config.rate_per_action, now)?;
            if fault == Some(FaultKind::Internal) {
                return Err(Rejection::internal());
            }
            match action {
                "RollbackCdbDatabaseTables" => {
                    submit(config, inner, params, now).map(|d| (d, true))
                }
                "GetCdbRollbackJob" => jobs::list(config, inner, params, now).map(|d| (d, false)),
                other => Err(Rejection::unsupported_action(other)),
            }
        });
    match outcome {
        Ok((data, accepted)) => (inner.quirks.success(data), accepted),
        Err(rejection) => {
            inner.counters.rejection(rejection.code);
            (inner.quirks.error(&rejection), false)
        }
    }
}

/// RollbackCdbDatabaseTables: all instances pass or the whole call is refused.
fn submit(
    config: &Config,
    inner: &mut Inner,
    params: &Params,
    now: Instant,
) -> Result<Value, Rejection> {
    let submissions = rules::parse_instances(params)?;
    let now_utc = Utc::now().naive_utc();
    for s in &submissions {
        if !config.exists(&s.instance_id, params.get("Region")) {
            return Err(Rejection::missing_instance(&s.instance_id));
        }
        rules::check(s, config.rollback_time_check, now_utc, config.plan_rules)?;
        if window::applies(config, &s.instance_id, false) {
            window::check(
                config,
                &s.instance_id,
                &s.spec.rollbacktime,
                instance_clock(config),
            )
            .map_err(|e| {
                Rejection::invalid(format!("instances.{} ({}): {e}", s.index, s.instance_id))
            })?;
        }
        if inner.tasks.busy(&s.instance_id, now) {
            return Err(Rejection::task_running(&s.instance_id));
        }
    }
    let job_id = record(config, inner, submissions, now);
    Ok(serde_json::json!({ "jobId": inner.quirks.number(job_id_i64(job_id)) }))
}
