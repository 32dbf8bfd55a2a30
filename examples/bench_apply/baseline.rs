//! The naive tracker, what a hand-written script does: submit one instance per call, then
//! poll every unfinished instance in turn, one round a second, until all have ended. It uses
//! planrun's API clients at their defaults (15 requests/s per action, 4 in flight), runs as
//! a child process of the harness (so GNU time measures it alone), and reads credentials from
//! the environment.

use std::time::{Duration, Instant};

use planrun::api::rollback::{
    DatabaseTables, InstanceRollback, RollbackSpec, Strategy, TableRename,
};
use planrun::api::v2::{Client, JobId};
use planrun::api::{ClientConfig, Credentials, v3};

use super::{Args, REGION};

enum Handle {
    V2(JobId),
    V3(v3::AsyncRequestId),
}

enum Api {
    V2(Client),
    V3(v3::Client),
}

pub fn child(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = args.endpoint.clone().ok_or("--endpoint is required")?;
    let rollback_time = args
        .rollback_time
        .clone()
        .ok_or("--rollback-time is required")?;
    let n = args.n.first().copied().ok_or("--n is required")?;
    let config = ClientConfig::new(endpoint, REGION, Credentials::from_env()?);
    let api = match args.api.first().map(String::as_str) {
        Some("v2") => Api::V2(Client::new(config)?),
        _ => Api::V3(v3::Client::new(config)?),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(track(&api, &super::instance_ids(n), &rollback_time))
}

fn spec(rollback_time: &str) -> RollbackSpec {
    let table = |t: &str| TableRename {
        tablename: t.to_owned(),
        newname: format!("{t}_bak"),
    };
    RollbackSpec {
        rollbacktime: rollback_time.to_owned(),
        strategy: Strategy::Table,
        dbs: vec![],
        tables: vec![DatabaseTables {
            db: "orders".into(),
            table: vec![table("payments"), table("refunds")],
        }],
    }
}

async fn track(
    api: &Api,
    ids: &[String],
    rollback_time: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut pending: Vec<(&String, Handle)> = Vec::with_capacity(ids.len());
    for id in ids {
        let one = [InstanceRollback {
            instance_id: id.clone(),
            spec: spec(rollback_time),
        }];
        let handle = match api {
            Api::V2(c) => Handle::V2(c.rollback(&one).await?),
            Api::V3(c) => Handle::V3(c.start_batch_rollback(&one).await?),
        };
        pending.push((id, handle));
    }
    let give_up = Instant::now() + Duration::from_secs(3600);
    while !pending.is_empty() && Instant::now() < give_up {
        let round = Instant::now();
        let mut still = Vec::with_capacity(pending.len());
        for (id, handle) in pending {
            if !finished(api, id, &handle).await {
                still.push((id, handle));
            }
        }
        pending = still;
        tokio::time::sleep_until((round + Duration::from_secs(1)).into()).await;
    }
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!("{} instances still running after an hour", pending.len()).into())
    }
}

/// One status query; an error counts as not finished (the next round asks again).
async fn finished(api: &Api, id: &str, handle: &Handle) -> bool {
    match (api, handle) {
        (Api::V2(c), Handle::V2(job)) => c
            .find_task(id, job)
            .await
            .ok()
            .flatten()
            .is_some_and(|t| t.status.is_terminal()),
        (Api::V3(c), Handle::V3(req)) => c
            .all_rollback_tasks(id, Some(req))
            .await
            .ok()
            .and_then(|tasks| tasks.into_iter().next())
            .and_then(|t| t.status)
            .is_some_and(|s| matches!(s.as_str(), "SUCCESS" | "FAILED" | "KILLED")),
        _ => true,
    }
}
