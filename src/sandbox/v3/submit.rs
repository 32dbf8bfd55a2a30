//! StartBatchRollback (all instances pass or the whole call is refused, like API 2.0's
//! RollbackCdbDatabaseTables, with API 3.0 codes) and StopRollback.

use std::time::Instant;

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::rollback::{DatabaseRename, DatabaseTables, RollbackSpec, Strategy, TableRename};

use super::super::config::Config;
use super::super::rules::{self, Submission};
use super::super::shared::{Inner, instance_clock, record};
use super::super::state::async_request_id;
use super::super::window;
use super::answer::ApiError;
use super::params::{Body, instance_shape};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceIn {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Strategy")]
    strategy: Option<String>,
    #[serde(rename = "RollbackTime")]
    rollback_time: Option<String>,
    #[serde(rename = "Databases", default)]
    databases: Option<Vec<DatabaseIn>>,
    #[serde(rename = "Tables", default)]
    tables: Option<Vec<TablesIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseIn {
    #[serde(rename = "DatabaseName")]
    name: String,
    #[serde(rename = "NewDatabaseName")]
    new_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TablesIn {
    #[serde(rename = "Database")]
    database: String,
    #[serde(rename = "Table", default)]
    table: Option<Vec<TableIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableIn {
    #[serde(rename = "TableName")]
    name: String,
    #[serde(rename = "NewTableName")]
    new_name: String,
}

/// Reads `Instances[]` into the submissions API 2.0 uses too.
fn parse(body: &Body) -> Result<Vec<Submission>, ApiError> {
    body.only(&["Instances"])?;
    let list = match body.0.get("Instances") {
        None | Some(Value::Null) => return Err(ApiError::missing("Instances")),
        Some(Value::Array(list)) if list.is_empty() => return Err(ApiError::missing("Instances")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ApiError::invalid("Instances must be an array")),
    };
    let mut out: Vec<Submission> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let at = |what: &str| format!("Instances.{i}.{what}");
        let item: InstanceIn = serde_json::from_value(item.clone())
            .map_err(|e| ApiError::invalid(format!("Instances.{i}: {e}")))?;
        let id = item
            .instance_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(&at("InstanceId")))?;
        // A missing instance is reported after the shape checks of every instance.
        instance_shape(&at("InstanceId"), &id)?;
        if out.iter().any(|s| s.instance_id == id) {
            return Err(ApiError::invalid_value(format!(
                "Instances.{i} ({id}): the instance appears twice in one call"
            )));
        }
        let strategy = item
            .strategy
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(&at("Strategy")))?;
        let strategy = Strategy::parse(&strategy).ok_or_else(|| {
            ApiError::invalid_value(format!(
                "Instances.{i} ({id}): Strategy `{strategy}` is not one of table, db, full"
            ))
        })?;
        let rollbacktime = item
            .rollback_time
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing(&at("RollbackTime")))?;
        let dbs = item
            .databases
            .unwrap_or_default()
            .into_iter()
            .map(|d| DatabaseRename {
                dbname: d.name,
                newname: d.new_name,
            })
            .collect();
        let tables = item
            .tables
            .unwrap_or_default()
            .into_iter()
            .map(|t| DatabaseTables {
                db: t.database,
                table: t
                    .table
                    .unwrap_or_default()
                    .into_iter()
                    .map(|x| TableRename {
                        tablename: x.name,
                        newname: x.new_name,
                    })
                    .collect(),
            })
            .collect();
        out.push(Submission {
            index,
            instance_id: id,
            spec: RollbackSpec {
                rollbacktime,
                strategy,
                dbs,
                tables,
            },
        });
    }
    Ok(out)
}

/// StartBatchRollback → `AsyncRequestId`.
pub fn start(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    let submissions = parse(body)?;
    if submissions.len() > config.max_call_instances {
        return Err(ApiError::invalid(format!(
            "Instances: {} instances in one call; at most {}",
            submissions.len(),
            config.max_call_instances
        )));
    }
    let now_utc = Utc::now().naive_utc();
    let now_local = instance_clock(config);
    for s in &submissions {
        if !config.exists(&s.instance_id, body.region()) {
            return Err(ApiError::missing_instance(&s.instance_id));
        }
        // Primary instances only (the product documents it): the documented refusal.
        if let Some(m) = config.catalog.member(&s.instance_id)
            && m.kind != super::super::catalog::Kind::Primary
        {
            return Err(ApiError::new(
                "OperationDenied",
                format!(
                    "Instances.{} ({}): a {} instance cannot be rolled back; roll back its primary",
                    s.index,
                    s.instance_id,
                    if m.kind == super::super::catalog::Kind::ReadOnly {
                        "read-only"
                    } else {
                        "disaster-recovery"
                    }
                ),
            ));
        }
        rules::check(s, config.rollback_time_check, now_utc, config.plan_rules)
            .map_err(|r| ApiError::invalid_value(v3_words(&r.message)))?;
        if window::applies(config, &s.instance_id, true) {
            window::check(config, &s.instance_id, &s.spec.rollbacktime, now_local).map_err(
                |e| {
                    ApiError::invalid_value(format!(
                        "Instances.{} ({}): {e}",
                        s.index, s.instance_id
                    ))
                },
            )?;
        }
        if inner.tasks.busy(&s.instance_id, now) {
            return Err(ApiError::task_running(
                config.task_running_code,
                &s.instance_id,
            ));
        }
    }
    let job_id = record(config, inner, submissions, now);
    Ok(json!({ "AsyncRequestId": async_request_id(job_id) }))
}

/// A plan-rule message in API 3.0's parameter names (the rules speak API 2.0's `para`).
fn v3_words(message: &str) -> String {
    let message = match message.strip_prefix("instances.") {
        Some(rest) => format!("Instances.{rest}"),
        None => message.to_owned(),
    };
    [
        ("rollbacktime", "RollbackTime"),
        ("dbs and tables", "Databases and Tables"),
        ("requires dbs", "requires Databases"),
        ("under dbs", "under Databases"),
    ]
    .iter()
    .fold(message, |m, (from, to)| m.replace(from, to))
}

/// StopRollback: the instance's running task is PAUSED for `stop_seconds`, then KILLED.
pub fn stop(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    body.only(&["InstanceId"])?;
    let id = body.instance(config, "InstanceId")?;
    let secs = config.stop_seconds * config.time_scale;
    let delay = if secs.is_finite() && secs > 0.0 {
        std::time::Duration::try_from_secs_f64(secs).unwrap_or(std::time::Duration::MAX)
    } else {
        std::time::Duration::ZERO
    };
    let stopped = inner.tasks.kill(id, now, delay);
    if stopped == 0 {
        return Err(ApiError::nothing_to_stop(id));
    }
    inner.counters.stopped(stopped);
    Ok(json!({ "AsyncRequestId": inner.v3.stop_id(id) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_messages_use_v3_names() {
        assert_eq!(
            v3_words("instances.1 (cdb-bbbbbbbb): strategy table requires dbs to be empty"),
            "Instances.1 (cdb-bbbbbbbb): strategy table requires Databases to be empty"
        );
        assert_eq!(
            v3_words("instances.0 (cdb-aaaaaaaa): rollbacktime `x` is in the future"),
            "Instances.0 (cdb-aaaaaaaa): RollbackTime `x` is in the future"
        );
        assert_eq!(
            v3_words("instances.0 (cdb-aaaaaaaa): nothing to roll back: dbs and tables are empty"),
            "Instances.0 (cdb-aaaaaaaa): nothing to roll back: Databases and Tables are empty"
        );
    }
}
