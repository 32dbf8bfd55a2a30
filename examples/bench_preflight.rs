//! Benchmark: the object preflight of N instances, each naming two tables of `orders` (one
//! DescribeTables per instance; no DescribeDatabases unless a database's existence is left
//! open), against an in-process sandbox that limits each action like the cloud (20
//! requests/s), with the client at planrun's defaults: each action at its documented limit
//! and `--concurrency 4`. This benchmark's own `--rate R` (default 20) is the rate of a 20/s
//! action, the others in proportion, for the sandbox and the client alike (planrun's `--rate`
//! is a cap instead).
//!
//! Run: `cargo run --release --example bench_preflight -- [--n 1000] [--rate 20]
//! [--concurrency 4] [--missing K]`; `--missing K` makes every K-th instance also name a
//! database it does not hold, which costs that instance one DescribeDatabases more. The run
//! is bound by the rate limit, not by CPU. It prints the wall time, the rate bound (the
//! busiest action's calls ÷ `--rate`), calls per instance per action, and the sandbox's
//! rate-limit rejections (which must be 0).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

use clap::Parser;
use planrun::api::Credentials;
use planrun::api::config::ClientConfig;
use planrun::api::rollback::{
    DatabaseTables, InstanceRollback, RollbackSpec, Strategy, TableRename,
};
use planrun::engine::any::AnyProtocol;
use planrun::engine::objects;
use planrun::engine::v3::V3;
use planrun::sandbox::{self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY};

#[derive(Debug, Parser)]
struct Args {
    /// Instances to check.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Client requests per second per action (planrun's default).
    #[arg(long, default_value_t = planrun::api::limiter::CLOUD_RATE)]
    rate: f64,
    /// Client requests in flight (planrun's default).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Every K-th instance also names a database it does not hold (0: none does).
    #[arg(long, default_value_t = 0)]
    missing: usize,
}

/// The plan's rollback of one shard: two tables of `orders`, as in incident 42, and with
/// `missing` one table of a database that no instance holds.
fn request(id: String, missing: bool) -> InstanceRollback {
    let table = |name: &str| TableRename {
        tablename: name.to_owned(),
        newname: format!("{name}_bak"),
    };
    let mut tables = vec![DatabaseTables {
        db: "orders".into(),
        table: vec![table("payments"), table("refunds")],
    }];
    if missing {
        tables.push(DatabaseTables {
            db: "no_such_db".into(),
            table: vec![table("payments")],
        });
    }
    InstanceRollback {
        instance_id: id,
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Table,
            dbs: vec![],
            tables,
        },
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let sb = sandbox::start(
        Config {
            any_instance: true,
            ..Config::demo()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await?;
    let mut config = ClientConfig::new(
        sb.endpoint_v3(),
        "ap-guangzhou",
        Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
    );
    config.rate_per_action = args.rate;
    config.concurrency = args.concurrency;
    let protocol = AnyProtocol::V3(V3::new(planrun::api::v3::Client::new(config)?));
    let requests: Vec<InstanceRollback> = (0..args.n)
        .map(|i| {
            request(
                format!("cdb-{i:08}"),
                args.missing > 0 && i % args.missing == 0,
            )
        })
        .collect();
    let pairs: Vec<(Option<&str>, &InstanceRollback)> =
        requests.iter().map(|r| (None, r)).collect();
    let started = Instant::now();
    let findings = objects::check(&protocol, &pairs, &BTreeSet::new()).await?;
    let wall = started.elapsed().as_secs_f64();
    let counters = sb.counters();
    let calls = |action: &str| {
        counters
            .requests_per_action
            .get(action)
            .copied()
            .unwrap_or(0)
    };
    let (dbs, tables) = (calls("DescribeDatabases"), calls("DescribeTables"));
    let bound = dbs.max(tables) as f64 / args.rate;
    let throttled: u64 = counters.rejections_per_error.values().sum();
    println!(
        "instances {} | wall {wall:.1} s | rate bound {bound:.1} s (wall/bound {:.2}) | \
         DescribeDatabases {:.2}/inst, DescribeTables {:.2}/inst | sandbox rejections {throttled} | \
         problems found {}",
        args.n,
        wall / bound.max(1e-9),
        dbs as f64 / args.n.max(1) as f64,
        tables as f64 / args.n.max(1) as f64,
        findings.map_or(0, |f| f.len()),
    );
    sb.shutdown().await;
    Ok(())
}
