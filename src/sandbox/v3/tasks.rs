//! DescribeTasks (one item per submission: its AsyncRequestId, the instances sent together,
//! `TaskStatus` in that action's spelling; or, configured so, one item per instance's task) and DescribeAsyncRequestInfo (one request's
//! status: a submission's over its instances, a StopRollback's until its task is KILLED).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::shared::Inner;
use super::super::state::{Phase, Task, async_request_id};
use super::super::window::TIME_FORMAT;
use super::answer::ApiError;
use super::describe::NO_TIME;
use super::params::Body;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;
/// `TaskTypes` a submission of either API is listed under (batch rollback).
const BATCH_ROLLBACK: i64 = 10;

/// DescribeTasks' `TaskStatus` string: as DescribeRollbackTaskDetail's, but `SUCCEED`.
fn task_status(phase: Phase) -> &'static str {
    match phase {
        Phase::Succeeded => "SUCCEED",
        other => other.v3_status(),
    }
}

/// A list of integers, or InvalidParameter.
fn integers(body: &Body, name: &str) -> Result<Vec<i64>, ApiError> {
    match body.0.get(name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| ApiError::invalid(format!("{name} must be integers")))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(format!("{name} must be an array"))),
    }
}

/// DescribeTasks.
/// `per_instance`: one item per instance's task rather than one per submission.
pub fn describe(
    inner: &mut Inner,
    per_instance: bool,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    body.only(&[
        "InstanceId",
        "AsyncRequestId",
        "TaskTypes",
        "TaskStatus",
        "StartTimeBegin",
        "StartTimeEnd",
        "Offset",
        "Limit",
    ])?;
    let instance = body.string("InstanceId")?.filter(|s| !s.is_empty());
    let request = body.string("AsyncRequestId")?.filter(|s| !s.is_empty());
    let types = integers(body, "TaskTypes")?;
    let statuses = integers(body, "TaskStatus")?;
    let begin = body.string("StartTimeBegin")?.filter(|s| !s.is_empty());
    let end = body.string("StartTimeEnd")?.filter(|s| !s.is_empty());
    let offset = body.integer("Offset", 0, 0, u64::MAX)?;
    let limit = body.integer("Limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    if !types.is_empty() && !types.contains(&BATCH_ROLLBACK) {
        return Ok(json!({ "TotalCount": 0, "Items": [] }));
    }
    // One item per job, newest first; or, as the configuration asks, one per task of it.
    let mut jobs: BTreeMap<u64, Vec<(&str, &Task)>> = BTreeMap::new();
    for (id, task) in inner.tasks.all() {
        jobs.entry(task.job_id).or_default().push((id, task));
    }
    let mut items: Vec<Value> = Vec::new();
    for (job, mut tasks) in jobs.into_iter().rev() {
        tasks.sort_by_key(|(id, _)| *id);
        let async_id = async_request_id(job);
        if request.is_some_and(|r| r != async_id) {
            continue;
        }
        let listed: Vec<(&str, &Task)> = if per_instance {
            tasks
                .iter()
                .filter(|(id, _)| instance.is_none_or(|i| i == *id))
                .copied()
                .collect()
        } else {
            // The instance asked about, else the job's first, stands for the job.
            tasks
                .iter()
                .find(|(id, _)| instance.is_none_or(|i| i == *id))
                .copied()
                .into_iter()
                .collect()
        };
        for (id, task) in listed {
            let phase = task.phase(now);
            let started = task.started_wall.format(TIME_FORMAT).to_string();
            if begin.is_some_and(|b| started.as_str() < b)
                || end.is_some_and(|e| started.as_str() > e)
            {
                continue;
            }
            if !statuses.is_empty() && !statuses.contains(&phase.status()) {
                continue;
            }
            let ended = task
                .ended_wall(now)
                .map_or_else(|| NO_TIME.to_owned(), |t| t.format(TIME_FORMAT).to_string());
            let instances: Vec<&str> = if per_instance {
                vec![id]
            } else {
                tasks.iter().map(|(id, _)| *id).collect()
            };
            items.push(json!({
                "Code": 0,
                "Message": "",
                "JobId": job,
                "Progress": phase.progress(),
                "TaskStatus": task_status(phase),
                "TaskType": "BATCH ROLLBACK",
                "StartTime": started,
                "EndTime": ended,
                "InstanceIds": instances,
                "AsyncRequestId": async_id,
                "TaskAttachInfo": [],
            }));
        }
    }
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(json!({ "TotalCount": total, "Items": page }))
}

/// DescribeAsyncRequestInfo: a submission's status over all its instances (INITIAL while
/// all wait, RUNNING while any runs; then FAILED, KILLED or SUCCESS in that order); a
/// StopRollback's is RUNNING while its task is being stopped (PAUSED), SUCCESS after.
pub fn async_info(inner: &mut Inner, body: &Body, now: Instant) -> Result<Value, ApiError> {
    body.only(&["AsyncRequestId"])?;
    let id = body.required_string("AsyncRequestId")?;
    if let Some(instance) = inner.v3.stopped_instance(id) {
        let stopping = inner
            .tasks
            .newest_first(instance)
            .any(|t| matches!(t.phase(now), Phase::Stopping { .. }));
        let (status, info) = if stopping {
            ("RUNNING", "stopping")
        } else {
            ("SUCCESS", "rollback stopped")
        };
        return Ok(json!({ "Status": status, "Info": info }));
    }
    let job = inner
        .tasks
        .job_of_async_id(id)
        .ok_or_else(|| ApiError::unknown_async_request(id))?;
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
