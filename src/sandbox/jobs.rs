//! GetCdbRollbackJob: an instance's tasks, newest first, paged with `offset` / `limit`
//! (≤ 100, default 50), in the seed's shape with numbers sent as strings or numbers.

use std::time::Instant;

use serde_json::{Value, json};

use super::answer::{Quirks, Rejection};
use super::config::Config;
use super::rules::valid_instance_id;
use super::shared::{Inner, job_id_i64};
use super::state::{Phase, Task};
use crate::contract::TIME_FORMAT;

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;
/// What a wall time looks like before it happened, as the cloud writes it.
const NO_TIME: &str = "0000-00-00 00:00:00";
const DEMO_APP_ID: &str = "1250000000";
const DEMO_UIN: &str = "100000000001";

pub fn list(
    config: &Config,
    inner: &mut Inner,
    params: &super::verify::Params,
    now: Instant,
) -> Result<Value, Rejection> {
    let id = params
        .get("cdbInstanceId")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Rejection::invalid("missing parameter cdbInstanceId"))?;
    if !valid_instance_id(id) {
        return Err(Rejection::invalid(format!(
            "cdbInstanceId `{id}` is not an instance id"
        )));
    }
    if !config.exists(id, params.get("Region")) {
        return Err(Rejection::missing_instance(id));
    }
    let offset = number(params, "offset", 0, usize::MAX)?;
    let limit = number(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    inner.polls.record(id, now);
    let total = inner.tasks.newest_first(id).count();
    let page: Vec<&Task> = inner
        .tasks
        .newest_first(id)
        .skip(offset)
        .take(limit)
        .collect();
    let quirks = &mut inner.quirks;
    let list: Vec<Value> = page.iter().map(|t| render(quirks, t, now)).collect();
    Ok(json!({
        "taskCount": quirks.number(i64::try_from(total).unwrap_or(i64::MAX)),
        "taskList": list,
    }))
}

/// An optional non-negative integer parameter, at most `max` (and at least 1 for `limit`).
fn number(
    params: &super::verify::Params,
    key: &str,
    default: usize,
    max: usize,
) -> Result<usize, Rejection> {
    let Some(text) = params.get(key).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    let min = usize::from(key == "limit");
    text.parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            Rejection::invalid(format!(
                "{key} must be an integer from {min} to {}",
                if max == usize::MAX {
                    "any".to_owned()
                } else {
                    max.to_string()
                }
            ))
        })
}

fn render(quirks: &mut Quirks, task: &Task, now: Instant) -> Value {
    let phase = task.phase(now);
    let spec = &task.spec;
    let mut names = Vec::new();
    let mut new_names = Vec::new();
    for db in &spec.dbs {
        names.push(db.dbname.clone());
        new_names.push(db.newname.clone());
    }
    for group in &spec.tables {
        for t in &group.table {
            names.push(format!("{}.{}", group.db, t.tablename));
            new_names.push(format!("{}.{}", group.db, t.newname));
        }
    }
    let (error_code, task_message) = match phase {
        Phase::Waiting => ("0", "waiting"),
        Phase::Running { .. } => ("0", "running"),
        Phase::Succeeded => ("0", "rollback succeeded"),
        Phase::Failed { .. } => ("9590", "rollback failed"),
        Phase::Killed { .. } => ("0", "rollback stopped"),
        Phase::Removed { .. } => ("0", "rollback removed"),
        Phase::Stopping { .. } => ("0", "stopping"),
    };
    let ended = task
        .ended_wall(now)
        .map_or_else(|| NO_TIME.to_owned(), |t| t.format(TIME_FORMAT).to_string());
    json!({
        "appId": DEMO_APP_ID,
        "uin": DEMO_UIN,
        "jobId": quirks.number(job_id_i64(task.job_id)),
        "taskId": task.task_id.to_string(),
        "status": quirks.number(phase.status()),
        "progress": quirks.number(i64::from(phase.progress())),
        "taskStatus": phase.status().to_string(),
        "taskProgress": phase.progress().to_string(),
        "errorCode": error_code,
        "message": "",
        "taskMessage": task_message,
        "startTime": task.started_wall.format(TIME_FORMAT).to_string(),
        "endTime": ended,
        "name": names.join(", "),
        "newName": new_names.join(", "),
        "type": "10",
        "taskContext": {"data": {
            "operator": DEMO_UIN,
            "rollbacktime": spec.rollbacktime,
            "strategy": spec.strategy.as_str(),
            "type": "nopriv",
            "dbs": spec.dbs,
            "tables": spec.tables,
        }},
    })
}
