//! DescribeRollbackTaskDetail (an instance's tasks, newest first, optionally of one
//! AsyncRequestId, paged with Offset / Limit ≤ 100, default 20) and DescribeRollbackRangeTime
//! (each instance's rollback windows, a non-zero `Code` for a bad or missing instance, or a
//! transient one when configured).

use std::time::Instant;

use serde_json::{Value, json};

use super::super::config::{Config, DetailQuirk};
use super::super::rules::valid_instance_id;
use super::super::shared::{Inner, instance_clock};
use super::super::state::{Phase, Task, async_request_id};
use super::super::window;
use super::answer::{ApiError, Quirks};
use super::params::Body;
use crate::contract::TIME_FORMAT;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;
/// What an end time looks like before it happened, as the cloud writes it.
pub(super) const NO_TIME: &str = "0000-00-00 00:00:00";
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
    inner.polls.record(id, now);
    let visible = |t: &&Task| super::super::shared::listed(config, t, now);
    let quirk = config.detail_quirk;
    let wanted_job = wanted.and_then(|w| inner.tasks.job_of_async_id(w));
    let matching: Vec<&Task> = match (quirk, wanted) {
        // Asked for a request: nothing listed.
        (DetailQuirk::Silent, Some(_)) => Vec::new(),
        // Asked for a request: all its instances' tasks, which is whose not said.
        (DetailQuirk::Ambiguous, Some(_)) => wanted_job
            .map(|job| inner.tasks.of_job(job).filter(visible).collect())
            .unwrap_or_default(),
        // The filter ignored: every task of the instance, oldest first.
        (DetailQuirk::IgnoredFilter, Some(_)) => {
            let mut all: Vec<&Task> = inner.tasks.newest_first(id).filter(visible).collect();
            all.reverse();
            all
        }
        _ => inner
            .tasks
            .newest_first(id)
            .filter(visible)
            .filter(|t| wanted.is_none_or(|w| async_request_id(t.job_id) == w))
            .collect(),
    };
    let empty = config.empty_detail || (quirk == DetailQuirk::Ambiguous && wanted.is_some());
    let total = matching.len();
    let page: Vec<&Task> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let quirks = &mut inner.v3;
    let waiting = config.waiting_status;
    let items: Vec<Value> = page
        .iter()
        .map(|t| render(quirks, id, t, now, (empty, waiting)))
        .collect();
    Ok(json!({ "TotalCount": total, "Items": quirks.list(items) }))
}

fn render(
    quirks: &mut Quirks,
    instance_id: &str,
    task: &Task,
    now: Instant,
    (empty_detail, waiting): (bool, &'static str),
) -> Value {
    let phase = task.phase(now);
    let spec = &task.spec;
    let info = match phase {
        Phase::Waiting | Phase::Running { .. } => "",
        Phase::Stopping { .. } => "stopping",
        Phase::Succeeded => "rollback succeeded",
        Phase::Failed { .. } => "rollback failed",
        Phase::Killed { .. } => "rollback stopped",
        Phase::Removed { .. } => "rollback removed",
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
    let detail = if empty_detail {
        quirks.list(vec![])
    } else {
        json!([{
            "InstanceId": instance_id,
            "Strategy": spec.strategy.as_str(),
            "RollbackTime": spec.rollbacktime,
            "Databases": quirks.list(databases),
            "Tables": quirks.list(tables),
        }])
    };
    json!({
        "Info": quirks.text(info),
        "Status": if phase == Phase::Waiting { waiting } else { phase.v3_status() },
        "Progress": phase.progress(),
        "StartTime": task.started_wall.format(TIME_FORMAT).to_string(),
        "EndTime": ended,
        "Detail": detail,
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
            let transient = quirks.transient_range(id, config.transient_range_answers);
            let (code, message, times) = if let Some(code) = transient {
                (
                    code,
                    format!("transient error {code} for {id}; try again"),
                    vec![],
                )
            } else if !valid_instance_id(id) {
                (
                    CODE_BAD_INPUT,
                    format!("`{id}` is not an instance id"),
                    vec![],
                )
            } else if !config.exists(id, body.region()) {
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
