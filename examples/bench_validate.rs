//! Benchmark: `planrun validate` of a 10,000-instance plan (about 1 MB).
//!
//! Run: `cargo run --release --example bench_validate` (builds the release binary first).
//! It writes a generated plan to a temporary directory, runs the release `planrun validate`
//! on it several times under GNU time, and reports wall and CPU time (min/median/max), the peak
//! resident memory, and the machine's load average (other work on this 2-core machine inflates
//! wall time; CPU time is the steadier figure).

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

const INSTANCES: usize = 10_000;
const RUNS: usize = 15;

/// A plan mixing every form: map and list `tables`, `dbs`, per-entry overrides, `ids` groups.
fn generate(instances: usize) -> String {
    let mut out = String::from(
        "version: 1\nname: bench\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nrename: \"{name}_bak\"\nbatch_size: 50\ninstances:\n",
    );
    let mut n = 0;
    while n < instances {
        match n % 4 {
            0 => {
                let _ = write!(
                    out,
                    "  - id: cdb-{n:08}\n    tables:\n      orders:\n        payments: payments_bak\n        refunds: refunds_bak\n      users: [sessions, tokens]\n"
                );
                n += 1;
            }
            1 => {
                let _ = write!(
                    out,
                    "  - id: cdb-{n:08}\n    strategy: db\n    rollback_time: \"2026-11-20 03:10:00\"\n    dbs: [ledger, audit]\n"
                );
                n += 1;
            }
            _ => {
                let ids: Vec<String> = (n..(n + 2).min(instances))
                    .map(|i| format!("cdb-{i:08}"))
                    .collect();
                let _ = write!(
                    out,
                    "  - ids: [{}]\n    region: ap-shanghai\n    tables: {{shop: [orders, order_items, invoices]}}\n",
                    ids.join(", ")
                );
                n += ids.len();
            }
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet", "--bin", "planrun"])
        .status()?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/planrun");
    let dir = tempfile::tempdir()?;
    let plan = dir.path().join("bench-10k.yaml");
    let text = generate(INSTANCES);
    std::fs::write(&plan, &text)?;

    let mut wall = Vec::with_capacity(RUNS);
    let mut cpu = Vec::with_capacity(RUNS);
    let mut peak_kib = 0u64;
    for _ in 0..RUNS {
        let run = measure(&binary, &plan)?;
        wall.push(run.wall_ms);
        cpu.push(run.cpu_ms);
        peak_kib = peak_kib.max(run.peak_kib);
    }
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    println!(
        "planrun validate, {INSTANCES} instances, {} bytes, {RUNS} runs",
        text.len()
    );
    println!(
        "wall ms: min {:.1}  median {:.1}  max {:.1}",
        wall[0],
        wall[RUNS / 2],
        wall[RUNS - 1]
    );
    println!(
        "cpu ms (user+sys): min {:.1}  median {:.1}  max {:.1}",
        cpu[0],
        cpu[RUNS / 2],
        cpu[RUNS - 1]
    );
    println!("peak RSS: {:.1} MiB", peak_kib as f64 / 1024.0);
    println!(
        "load average during the runs: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    Ok(())
}

struct Run {
    wall_ms: f64,
    cpu_ms: f64,
    peak_kib: u64,
}

/// One run under GNU time (`/usr/bin/time -f "%U %S %M"`): wall measured here, CPU and peak
/// resident memory as the kernel accounted them for the child.
fn measure(
    binary: &std::path::Path,
    plan: &std::path::Path,
) -> Result<Run, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M"])
        .arg(binary)
        .arg("validate")
        .arg(plan)
        .env("PLANRUN_NOW", "2026-11-23T12:00:00Z")
        .output()
        .map_err(|e| format!("/usr/bin/time is needed (apt-get install time): {e}"))?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        return Err(format!("validate failed:\n{}", String::from_utf8_lossy(&out.stdout)).into());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fields: Vec<f64> = stderr
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [user, sys, kib] = fields[..] else {
        return Err(format!("unexpected output of /usr/bin/time: {stderr}").into());
    };
    Ok(Run {
        wall_ms,
        cpu_ms: (user + sys) * 1000.0,
        peak_kib: kib as u64,
    })
}
