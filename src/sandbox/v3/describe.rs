//! DescribeRollbackTaskDetail (an instance's tasks, newest first, optionally of one
//! AsyncRequestId, paged with Offset / Limit ≤ 100, default 20) and DescribeRollbackRangeTime
//! (each instance's rollback windows, a non-zero `Code` for a bad or missing instance), and
//! DescribeAsyncRequestInfo (one AsyncRequestId's overall `Status`).

use std::time::Instant;

use serde_json::{Value, json};

use super::super::config::Config;
use super::super::rules::valid_instance_id;
use super::super::state::{Phase, Task, async_request_id};
use super::super::v2::{Inner, instance_clock};
use super::super::window::{self, TIME_FORMAT};
use super::answer::{ApiError, Quirks};
use super::params::Body;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;
/// What an end time looks like before it happened, as the cloud writes it.
const NO_TIME: &str = "0000-00-00 00:00:00";
/// DescribeRollbackRangeTime's per-instance codes (from the API's documentation).
const CODE_BAD_INPUT: i64 = 1_600_003;
const CODE_NO_INSTANCE: i64 = 1_600_009;

/// DescribeRollbackTaskDetail.
pub fn task_detail(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    body.only(&["InstanceId", "AsyncRequestId", "Offset", "Limit"])?;
    let id = body.instance(config, "InstanceId")?;
    let wanted = body.string("AsyncRequestId")?.filter(|s| !s.is_empty());
    let offset = body.integer("Offset", 0, 0, u64::MAX)?;
    let limit = body.integer("Limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    inner.looks.record(id, now);
    let matching: Vec<&Task> = inner
        .tasks
        .newest_first(id)
        .filter(|t| wanted.is_none_or(|w| async_request_id(t.job_id) == w))
        .collect();
    let total = matching.len();
    let page: Vec<&Task> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let quirks = &mut inner.v3;
    let items: Vec<Value> = page.iter().map(|t| render(quirks, id, t, now)).collect();
    Ok(json!({ "TotalCount": total, "Items": quirks.list(items) }))
}

fn render(quirks: &mut Quirks, instance_id: &str, task: &Task, now: Instant) -> Value {
    let phase = task.phase(now);
    let spec = &task.spec;
    let info = match phase {
        Phase::Waiting | Phase::Running { .. } => "",
        Phase::Stopping { .. } => "stopping",
        Phase::Succeeded => "rollback succeeded",
        Phase::Failed { .. } => "rollback failed",
        Phase::Killed { .. } => "rollback stopped",
    };
    let databases: Vec<Value> = spec
        .dbs
        .iter()
        .map(|d| json!({"DatabaseName": d.dbname, "NewDatabaseName": d.newname}))
        .collect();
    let tables: Vec<Value> = spec
        .tables
        .iter()
        .map(|g| {
            let list: Vec<Value> = g
                .table
                .iter()
                .map(|t| json!({"TableName": t.tablename, "NewTableName": t.newname}))
                .collect();
            json!({"Database": g.db, "Table": list})
        })
        .collect();
    let ended = task
        .ended_wall(now)
        .map_or_else(|| NO_TIME.to_owned(), |t| t.format(TIME_FORMAT).to_string());
    json!({
        "Info": quirks.text(info),
        "Status": phase.v3_status(),
        "Progress": phase.progress(),
        "StartTime": task.started_wall.format(TIME_FORMAT).to_string(),
        "EndTime": ended,
        "Detail": [{
            "InstanceId": instance_id,
            "Strategy": spec.strategy.as_str(),
            "RollbackTime": spec.rollbacktime,
            "Databases": quirks.list(databases),
            "Tables": quirks.list(tables),
        }],
    })
}

/// DescribeRollbackRangeTime.
pub fn range_time(config: &Config, inner: &mut Inner, body: &Body) -> Result<Value, ApiError> {
    body.only(&["InstanceIds", "IsRemoteZone", "BackupRegion"])?;
    let ids: Vec<&str> = match body.0.get("InstanceIds") {
        None | Some(Value::Null) => return Err(ApiError::missing("InstanceIds")),
        Some(Value::Array(list)) if list.is_empty() => {
            return Err(ApiError::missing("InstanceIds"));
        }
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ApiError::invalid("InstanceIds must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::invalid("InstanceIds must be an array")),
    };
    let now_local = instance_clock(config);
    let quirks = &mut inner.v3;
    let items: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (code, message, times) = if !valid_instance_id(id) {
                (
                    CODE_BAD_INPUT,
                    format!("`{id}` is not an instance id"),
                    vec![],
                )
            } else if config.missing_instances.contains(*id) {
                (
                    CODE_NO_INSTANCE,
                    format!("instance {id} does not exist"),
                    vec![],
                )
            } else {
                let times = window::windows(config, id, now_local)
                    .iter()
                    .map(|w| {
                        json!({
                            "Begin": w.begin.format(TIME_FORMAT).to_string(),
                            "End": w.end.format(TIME_FORMAT).to_string(),
                        })
                    })
                    .collect();
                (0, String::new(), times)
            };
            json!({
                "InstanceId": id,
                "Code": code,
                "Message": quirks.text(&message),
                "Times": quirks.list(times),
            })
        })
        .collect();
    Ok(json!({ "TotalCount": items.len(), "Items": items }))
}

/// DescribeAsyncRequestInfo: a submission's status over all its instances (running while any
/// runs; then FAILED, KILLED or SUCCESS in that order); a StopRollback's is SUCCESS (a stop
/// takes effect at once).
pub fn async_info(inner: &mut Inner, body: &Body, now: Instant) -> Result<Value, ApiError> {
    body.only(&["AsyncRequestId"])?;
    let id = body.required_string("AsyncRequestId")?;
    if inner.v3.is_stop(id) {
        return Ok(json!({ "Status": "SUCCESS", "Info": "rollback stopped" }));
    }
    let job = inner.tasks.job_of_async_id(id).ok_or_else(|| {
        ApiError::new("ResourceNotFound", format!("no asynchronous request {id}"))
    })?;
    let phases: Vec<Phase> = inner.tasks.of_job(job).map(|t| t.phase(now)).collect();
    let (status, info) = if phases.iter().all(|p| *p == Phase::Waiting) {
        ("INITIAL", "")
    } else if phases.iter().any(|p| !p.is_terminal()) {
        ("RUNNING", "")
    } else if phases.iter().any(|p| matches!(p, Phase::Failed { .. })) {
        ("FAILED", "rollback failed")
    } else if phases.iter().any(|p| matches!(p, Phase::Killed { .. })) {
        ("KILLED", "rollback stopped")
    } else {
        ("SUCCESS", "rollback succeeded")
    };
    let info = inner.v3.text(info);
    Ok(json!({ "Status": status, "Info": info }))
}
