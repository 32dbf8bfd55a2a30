//! Benchmark: `planrun apply` tracking N rollbacks against the sandbox configured like the
//! cloud (each action at its documented limit, 20 requests/s for most; tasks of 60–600 s times
//! `--time-scale`), beside a naive
//! tracker (one instance per submission, then every instance polled in turn once a second).
//!
//! Run: `cargo run --release --example bench_apply -- [--n 100,1000] [--api v2,v3]
//! [--time-scale 0.2] [--plot docs/bench_apply.svg] [--dump DIR]`. It builds the release
//! `planrun`, starts an in-process sandbox per run, runs the child under GNU time
//! (`/usr/bin/time`), and reads the sandbox's timeline (task ends, status queries) and
//! counters. See BENCHMARKS.md for what each column means.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

mod baseline;
mod measure;
mod plot;
mod verification;
mod waited;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use planrun::sandbox::Config;

use measure::{Measured, Who};

/// Rollback tasks last this long on the cloud, before `--time-scale` (`--task-seconds`).
const TASK_SECONDS: &str = "60,600";
/// The cloud's documented rate of a 20/s action (the others in proportion, as planrun's).
const CLOUD_RATE: u32 = 20;
/// The Region common parameter written in the plan.
const REGION: &str = "ap-guangzhou";

#[derive(Debug, Parser)]
struct Args {
    /// Instance counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    n: Vec<usize>,
    /// API generations, comma-separated (v2, v3).
    #[arg(long, value_delimiter = ',', default_value = "v2,v3")]
    api: Vec<String>,
    /// Multiplies task durations (0.2: 60–600 s become 12–120 s, and the ends of N = 1,000
    /// tasks come about 9 a second, within the rate limit).
    #[arg(long, default_value_t = 0.2)]
    time_scale: f64,
    /// Shortest and longest task, seconds before --time-scale (e.g. 12.5,37.5 for the
    /// 2.5–7.5 s tasks of the N = 200 target at 0.2).
    #[arg(long, value_delimiter = ',', default_value = TASK_SECONDS)]
    task_seconds: Vec<f64>,
    /// Serve DescribeTasks one item per instance (else one per submission, listing all its
    /// instances).
    #[arg(long)]
    tasks_per_instance: bool,
    /// planrun's `--poll-interval` [default: its 5 s default times --time-scale, at least 10 ms].
    #[arg(long)]
    poll_interval_ms: Option<u64>,
    /// Extra arguments for `planrun apply` (repeat; e.g. `--planrun-arg=--rate=20`).
    #[arg(long, allow_hyphen_values = true)]
    planrun_arg: Vec<String>,
    /// Skip the naive tracker.
    #[arg(long)]
    no_baseline: bool,
    /// Measure this `planrun` binary instead of building the release one (e.g. one built
    /// before issue 23, which did not verify successes, to compare).
    #[arg(long, value_name = "PATH")]
    planrun_binary: Option<PathBuf>,
    /// Where to write the SVG plot (of the largest N of the first API).
    #[arg(long, default_value = "docs/bench_apply.svg")]
    plot: PathBuf,
    /// Write each run's per-instance timeline (submission, end, every status query; seconds
    /// from the child's start) to DIR/<api>-<n>-<tracker>.tsv, to see where time went.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Seed of the sandbox (task durations).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Internal: run as the naive tracker (child of the harness).
    #[arg(long, hide = true)]
    baseline_child: bool,
    #[arg(long, hide = true)]
    endpoint: Option<String>,
    #[arg(long, hide = true)]
    rollback_time: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.baseline_child {
        return baseline::child(&args);
    }
    if args.task_seconds.len() != 2 {
        return Err("--task-seconds takes two values: SHORTEST,LONGEST".into());
    }
    let built = match &args.planrun_binary {
        Some(path) => path.clone(),
        None => {
            // Its own target directory: built alone, the binary's dependencies resolve other
            // features than the example's (dev-dependencies), and sharing `target/release`
            // would rebuild both each time. Up to date, this is a no-op.
            let own = target_dir()?.join("bench-planrun");
            let status = Command::new("cargo")
                .args(["build", "--release", "--quiet", "--bin", "planrun"])
                .arg("--target-dir")
                .arg(&own)
                .status()?;
            if !status.success() {
                return Err("cargo build --release failed".into());
            }
            own.join("release").join("planrun")
        }
    };
    // Private copies of both binaries: a build during a long run (another benchmark, an
    // edit) would otherwise replace them under the children still to be started.
    let frozen = tempfile::tempdir()?;
    let planrun = freeze(&built, frozen.path())?;
    let harness = freeze(&std::env::current_exe()?, frozen.path())?;
    let poll_ms = args
        .poll_interval_ms
        .unwrap_or_else(|| ((5000.0 * args.time_scale) as u64).max(10));
    println!(
        "tasks {}-{} s x {} ; sandbox {} requests/s per 20/s action (each action at its documented limit) ; planrun --poll-interval {} ms ; load {}",
        args.task_seconds[0],
        args.task_seconds[1],
        args.time_scale,
        CLOUD_RATE,
        poll_ms,
        load_average()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut rows: Vec<(Measured, Option<Measured>)> = Vec::new();
    for api in &args.api {
        for &n in &args.n {
            let run = |who: Who| -> Result<Measured, Box<dyn std::error::Error>> {
                runtime.block_on(measure::run(&measure::Setup {
                    who,
                    api: api.clone(),
                    n,
                    config: cloud_like(&args),
                    planrun: planrun.clone(),
                    harness: harness.clone(),
                    poll_ms,
                    extra: args.planrun_arg.clone(),
                    dump: args.dump.clone(),
                }))
            };
            let ours = run(Who::Planrun)?;
            println!("{}", ours.line());
            let base = if args.no_baseline {
                None
            } else {
                let b = run(Who::Baseline)?;
                println!("{}", b.line());
                Some(b)
            };
            rows.push((ours, base));
        }
    }
    println!("\n{}", measure::table(&rows));
    println!("{}", measure::targets(&rows));
    println!("{}", verification::table(&rows));
    println!("{}", waited::targets(&rows));
    let plotted = args.api.first().and_then(|api| {
        rows.iter()
            .filter(|(m, _)| &m.api == api)
            .max_by_key(|(m, _)| m.n)
    });
    if let Some((ours, base)) = plotted {
        if let Some(dir) = args.plot.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&args.plot, plot::svg(ours, base.as_ref()))?;
        println!("plot: {}", args.plot.display());
    }
    Ok(())
}

/// The sandbox like the cloud: each action at its documented limit (20/s for most), tasks of 60–600 s (scaled), a
/// month-wide rollback window, no faults.
fn cloud_like(args: &Args) -> Config {
    let mut config = Config::demo();
    config.any_instance = true;
    config.task_seconds = (args.task_seconds[0], args.task_seconds[1]);
    config.time_scale = args.time_scale;
    config.rate_per_action = CLOUD_RATE;
    config.default_window_seconds = 30 * 86_400;
    config.seed = args.seed;
    config.tasks_per_instance = args.tasks_per_instance;
    config
}

/// Copies `binary` into `dir` (keeping its name) and returns the copy.
fn freeze(binary: &Path, dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let name = binary.file_name().ok_or("a binary without a name")?;
    let copy = dir.join(name);
    std::fs::copy(binary, &copy)?;
    Ok(copy)
}

/// The target directory this example was built in (`target/release/examples/..` → `target`).
fn target_dir() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .ok_or("cannot locate the target directory")?;
    Ok(dir.to_path_buf())
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// An address the sandbox binds: loopback, any free port.
fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A rollback time an hour ago in the instances' clock (+08:00), inside the window.
fn recent_rollback_time() -> String {
    (chrono::Utc::now() + chrono::TimeDelta::hours(8) - chrono::TimeDelta::hours(1))
        .format(planrun::contract::TIME_FORMAT)
        .to_string()
}

/// `cdb-00000042`-style ids.
fn instance_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("cdb-{i:08}")).collect()
}

/// Waits so that a sandbox counter read after a child exits sees its last request.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}
