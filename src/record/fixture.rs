//! Journals for the record's tests: a run of `n` instances in calls of `batch`, with fixed
//! times, one refused call, failures and an unfinished instance when asked.

use chrono::{DateTime, Utc};

use crate::api::rollback::{DatabaseTables, RollbackSpec, Strategy, TableRename};
use crate::engine::journal::script::Script;
use crate::engine::journal::{PlannedInstance, Record, RunContext};
use crate::engine::protocol::TaskState;

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
    let mut run = Script::new(t(0))
        .push(start(t(0)))
        .push(planned(n, "drill of orders"));
    let ids: Vec<String> = (0..n).map(id).collect();
    for (k, chunk) in ids.chunks(batch).enumerate() {
        let b = k as u64 + 1;
        let sent = t(k as i64);
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        run = run.at(sent).intent(b, &chunk);
        if k == 0 {
            // Refused with its RequestId, as API 3.0 answers.
            run = run.push(Record::Rejected {
                batch: b,
                instances: chunk.iter().map(|i| (*i).to_owned()).collect(),
                code: Some("InvalidParameterValue".into()),
                message: "instance <cdb> is not in a state to roll back".into(),
                request_id: Some("req-0001".into()),
                at: t(k as i64 + 1),
            });
            continue;
        }
        run = run.at(t(k as i64 + 1)).accepted(b, &format!("job-{b}"));
        for (j, instance) in chunk.iter().enumerate() {
            let i = k * batch + j;
            run = run
                .at(t(k as i64 + 5))
                .progress(instance, TaskState::Running, Some(10));
            if unfinished && i == n - 1 {
                continue;
            }
            let failure = format!("task of {instance} failed: disk full");
            let (status, message) = if i % 7 == 3 {
                (TaskState::Failed, Some(failure.as_str()))
            } else {
                (TaskState::Succeeded, None)
            };
            run = run
                .at(t(k as i64 + 60 + (i % 30) as i64))
                .finished(instance, status, message);
        }
    }
    if !unfinished {
        run = run.at(t((n / batch) as i64 + 100)).complete();
    }
    run.records()
}
