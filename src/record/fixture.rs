//! Journals for the record's tests: a run of `n` instances in calls of `batch`, with fixed
//! times, one refused call, failures and an unfinished instance when asked.

use chrono::{DateTime, Utc};

use crate::api::rollback::{DatabaseTables, RollbackSpec, Strategy, TableRename};
use crate::engine::journal::{PlannedInstance, Record, RunContext};
use crate::engine::protocol::{JobHandle, TaskState};

pub const HASH: &str = "5d41402abc4b2a76b9719d911017c592";

/// Seconds after 2026-11-20 03:20:00 +08:00.
pub fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_116_000 + s, 0).unwrap_or_default()
}

pub fn id(i: usize) -> String {
    format!("cdb-{i:08}")
}

pub fn spec() -> RollbackSpec {
    RollbackSpec {
        rollbacktime: "2026-11-20 03:15:00".into(),
        strategy: Strategy::Table,
        dbs: Vec::new(),
        tables: vec![DatabaseTables {
            db: "orders".into(),
            table: ["payments", "refunds"]
                .iter()
                .map(|t| TableRename {
                    tablename: (*t).into(),
                    newname: format!("{t}_bak"),
                })
                .collect(),
        }],
    }
}

pub fn planned(n: usize, description: &str) -> Record {
    Record::Planned {
        plan_hash: HASH.into(),
        description: Some(description.into()),
        timezone: "+08:00".into(),
        instances: (0..n)
            .map(|i| PlannedInstance {
                id: id(i),
                region: Some("ap-guangzhou".into()),
                spec: spec(),
            })
            .collect(),
    }
}

pub fn start(at: DateTime<Utc>) -> Record {
    Record::Start {
        plan: "drill".into(),
        plan_hash: HASH.into(),
        at,
        by: Some(RunContext {
            user: Some("alice".into()),
            host: Some("ops-1".into()),
            version: "0.1.0".into(),
            api: "v3".into(),
            action: "StartBatchRollback".into(),
            sandbox: false,
        }),
    }
}

/// A finished run: the first call is refused (9003 with a RequestId), every 7th instance
/// fails, the others succeed. With `unfinished`, the last instance is still running and the
/// run is not complete.
pub fn journal(n: usize, batch: usize, unfinished: bool) -> Vec<Record> {
    let mut records = vec![start(t(0)), planned(n, "drill of orders")];
    let ids: Vec<String> = (0..n).map(id).collect();
    for (k, chunk) in ids.chunks(batch).enumerate() {
        let b = k as u64 + 1;
        let sent = t(k as i64);
        records.push(Record::Intent {
            batch: b,
            instances: chunk.to_vec(),
            at: sent,
        });
        if k == 0 {
            records.push(Record::Rejected {
                batch: b,
                instances: chunk.to_vec(),
                code: Some("InvalidParameterValue".into()),
                message: "instance <cdb> is not in a state to roll back".into(),
                request_id: Some("req-0001".into()),
                at: t(k as i64 + 1),
            });
            continue;
        }
        records.push(Record::Accepted {
            batch: b,
            job: JobHandle(format!("job-{b}")),
            at: t(k as i64 + 1),
        });
        for (j, instance) in chunk.iter().enumerate() {
            let i = k * batch + j;
            records.push(Record::Progress {
                instance: instance.clone(),
                state: TaskState::Running,
                progress: Some(10),
                at: t(k as i64 + 5),
            });
            if unfinished && i == n - 1 {
                continue;
            }
            let (status, message) = if i % 7 == 3 {
                (
                    TaskState::Failed,
                    Some(format!("task of {instance} failed: disk full")),
                )
            } else {
                (TaskState::Succeeded, None)
            };
            records.push(Record::Finished {
                instance: instance.clone(),
                status,
                message,
                at: t(k as i64 + 60 + (i % 30) as i64),
            });
        }
    }
    if !unfinished {
        records.push(Record::Complete {
            at: t((n / batch) as i64 + 100),
        });
    }
    records
}
