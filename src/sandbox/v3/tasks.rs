//! DescribeTasks (one item per submission: its AsyncRequestId, the instances sent together,
//! `TaskStatus` in that action's spelling; or, configured so, one item per instance's task) and DescribeAsyncRequestInfo (one request's
//! status: a submission's over its instances, a StopRollback's until its task is KILLED).

use std::time::Instant;

use serde_json::{Value, json};

use super::super::config::Config;
use super::super::shared::Inner;
use super::super::state::{Phase, Task, Tasks, async_request_id};
use super::answer::ApiError;
use super::describe::NO_TIME;
use super::params::Body;
use crate::contract::TIME_FORMAT;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;
/// `TaskTypes` a submission of either API is listed under (batch rollback).
const BATCH_ROLLBACK: i64 = 10;

/// DescribeTasks' `TaskStatus` string: as DescribeRollbackTaskDetail's, but `SUCCEED`.
fn task_status(phase: Phase) -> &'static str {
    match phase {
        Phase::Succeeded => "SUCCEED",
        Phase::Waiting => "WAITING",
        other => other.v3_status(),
    }
}

/// A list of integers, or InvalidParameter (DescribeTasks' filters, DescribeDBInstances').
pub(super) fn integers(body: &Body, name: &str) -> Result<Vec<i64>, ApiError> {
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
    config: &Config,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    let per_instance = config.tasks_per_instance;
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
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let tasks = &inner.tasks;
    // What the engine's surveys ask (every task since a time): a page costs its items.
    if instance.is_none() && request.is_none() && statuses.is_empty() && end.is_none() {
        let (total, page) = recent_page(tasks, per_instance, begin, offset, limit, now);
        return Ok(json!({ "TotalCount": total, "Items": page }));
    }
    // Any other filter: the candidate jobs (one, an instance's, or all), newest first.
    let jobs: Vec<u64> = match (request, instance) {
        (Some(r), _) => tasks.job_of_async_id(r).into_iter().collect(),
        (None, Some(i)) => {
            let mut jobs: Vec<u64> = tasks.newest_first(i).map(|t| t.job_id).collect();
            jobs.sort_unstable_by(|a, b| b.cmp(a));
            jobs.dedup();
            jobs
        }
        (None, None) => tasks.jobs().iter().rev().map(|j| j.job_id).collect(),
    };
    let mut items: Vec<Value> = Vec::new();
    for job in jobs {
        let all: Vec<(&str, &Task)> = tasks.job_tasks(job).collect();
        let listed: Vec<(&str, &Task)> = if per_instance {
            all.iter()
                .filter(|(id, _)| instance.is_none_or(|i| i == *id))
                .copied()
                .collect()
        } else {
            // The instance asked about, else the job's first, stands for the job.
            all.iter()
                .find(|(id, _)| instance.is_none_or(|i| i == *id))
                .copied()
                .into_iter()
                .collect()
        };
        for (id, task) in listed {
            if !super::super::shared::listed(config, task, now) {
                continue;
            }
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
            items.push(item(job, id, task, &all, per_instance, now));
        }
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    Ok(json!({ "TotalCount": total, "Items": page }))
}

/// One page of every task started at or after `begin` (newest job first; a job's tasks by
/// instance id), and how many there are in all, from the jobs' index: a binary search for
/// where the page starts, then its items only.
fn recent_page(
    tasks: &Tasks,
    per_instance: bool,
    begin: Option<&str>,
    offset: usize,
    limit: usize,
    now: Instant,
) -> (usize, Vec<Value>) {
    let jobs = tasks.jobs();
    // Start times compare as the listing's text (whole seconds), like the filter above.
    let first = begin.map_or(0, |b| {
        jobs.partition_point(|j| j.started_wall.format(TIME_FORMAT).to_string().as_str() < b)
    });
    let through = |p: usize| tasks.tasks_of_first(p);
    let (total, mut p, mut skip) = if per_instance {
        let last = through(jobs.len());
        // Items of the jobs newer than job `p` (they come first).
        let newer = |p: usize| last - through(p + 1);
        // The oldest job whose newer jobs hold no more than `offset` items holds the first.
        let (mut lo, mut hi) = (first, jobs.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if newer(mid) > offset {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let skip = if lo < jobs.len() {
            offset - newer(lo)
        } else {
            0
        };
        (last - through(first), lo, skip)
    } else {
        let total = jobs.len() - first;
        (total, jobs.len().saturating_sub(offset + 1), 0)
    };
    let mut page = Vec::new();
    if offset >= total {
        return (total, page);
    }
    loop {
        let job = &jobs[p];
        let all: Vec<(&str, &Task)> = tasks.job_tasks(job.job_id).collect();
        let listed = if per_instance {
            &all[..]
        } else {
            &all[..all.len().min(1)]
        };
        for (id, task) in listed.iter().skip(skip) {
            if page.len() == limit {
                return (total, page);
            }
            page.push(item(job.job_id, id, task, &all, per_instance, now));
        }
        skip = 0;
        if p == first || page.len() == limit {
            return (total, page);
        }
        p -= 1;
    }
}

/// One DescribeTasks item: `id`'s task of `job` (the job's `all` tasks), or the whole job.
fn item(
    job: u64,
    id: &str,
    task: &Task,
    all: &[(&str, &Task)],
    per_instance: bool,
    now: Instant,
) -> Value {
    let phase = task.phase(now);
    let ended = task
        .ended_wall(now)
        .map_or_else(|| NO_TIME.to_owned(), |t| t.format(TIME_FORMAT).to_string());
    let instances: Vec<&str> = if per_instance {
        vec![id]
    } else {
        all.iter().map(|(id, _)| *id).collect()
    };
    json!({
        "Code": 0,
        "Message": "",
        "JobId": job,
        "Progress": phase.progress(),
        "TaskStatus": task_status(phase),
        "TaskType": "BATCH ROLLBACK",
        "StartTime": task.started_wall.format(TIME_FORMAT).to_string(),
        "EndTime": ended,
        "InstanceIds": instances,
        "AsyncRequestId": async_request_id(job),
        "TaskAttachInfo": [],
    })
}

/// DescribeAsyncRequestInfo: a submission's status over all its instances (INITIAL while
/// all wait, RUNNING while any runs; then FAILED, KILLED or SUCCESS in that order); a
/// StopRollback's is RUNNING while its task is being stopped (PAUSED), SUCCESS after.
/// DescribeAsyncRequestInfo: a StartBatchRollback request's state over its tasks (waiting is
/// `INITIAL`, or `UNDEFINED` where tasks wait as `--waiting-status UNDEFINED` says, as the
/// documentation has requests that wait for the maintenance window), or a StopRollback's.
pub fn async_info(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
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
        (config.waiting_status, "")
    } else if phases.iter().any(|p| !p.is_terminal()) {
        ("RUNNING", "")
    } else if phases.iter().any(|p| matches!(p, Phase::Failed { .. })) {
        ("FAILED", "rollback failed")
    } else if phases.iter().any(|p| matches!(p, Phase::Killed { .. })) {
        ("KILLED", "rollback stopped")
    } else if phases.iter().any(|p| matches!(p, Phase::Removed { .. })) {
        ("REMOVED", "rollback removed")
    } else {
        ("SUCCESS", "rollback succeeded")
    };
    let info = inner.v3.text(info);
    Ok(json!({ "Status": status, "Info": info }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{RollbackSpec, Strategy};
    use crate::sandbox::state::NewTask;
    use chrono::TimeDelta;
    use std::time::Duration;

    /// Jobs of 1 to 4 instances, one second apart on the instances' clock.
    fn tasks() -> Tasks {
        let mut tasks = Tasks::default();
        let wall = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .unwrap();
        let now = Instant::now();
        for job in 0..12i64 {
            let size = 1 + (job * 7 % 4) as usize;
            let new = (0..size)
                .map(|k| NewTask {
                    instance_id: format!("cdb-{job:02}{k}"),
                    spec: RollbackSpec {
                        rollbacktime: "2026-11-20 03:00:00".into(),
                        strategy: Strategy::Full,
                        dbs: vec![],
                        tables: vec![],
                    },
                    duration: Duration::from_secs(60),
                    fails: false,
                    removed: false,
                    hollow: false,
                })
                .collect();
            tasks.submit(new, now, wall + TimeDelta::seconds(job));
        }
        tasks
    }

    /// The listing the index serves, item by item, as a scan of every job would give it.
    fn scanned(tasks: &Tasks, per_instance: bool, begin: &str) -> Vec<(u64, String)> {
        let mut all = Vec::new();
        for job in tasks.jobs().iter().rev() {
            if job.started_wall.format(TIME_FORMAT).to_string().as_str() < begin {
                continue;
            }
            let ids = if per_instance {
                &job.instances[..]
            } else {
                &job.instances[..1]
            };
            all.extend(ids.iter().map(|id| (job.job_id, id.clone())));
        }
        all
    }

    #[test]
    fn pages_from_the_index_are_those_of_a_scan() {
        let tasks = tasks();
        let now = Instant::now();
        for per_instance in [true, false] {
            for begin in ["2026-12-01 08:00:00", "2026-12-01 09:00:05"] {
                let want = scanned(&tasks, per_instance, begin);
                for limit in [1, 3, 100] {
                    let mut got = Vec::new();
                    let mut offset = 0;
                    loop {
                        let (total, page) =
                            recent_page(&tasks, per_instance, Some(begin), offset, limit, now);
                        assert_eq!(total, want.len());
                        if page.is_empty() {
                            break;
                        }
                        offset += page.len();
                        got.extend(page.iter().map(|v| {
                            let first = v["InstanceIds"][0].as_str().unwrap_or_default();
                            (v["JobId"].as_u64().unwrap_or_default(), first.to_owned())
                        }));
                    }
                    assert_eq!(
                        got, want,
                        "per_instance {per_instance}, {begin}, limit {limit}"
                    );
                }
            }
        }
    }
}
