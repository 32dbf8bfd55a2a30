//! Benchmark: a self-hosted restore of one table of `--rows` rows with `--changes` changed rows
//! in the binary-log span, by `planrun apply` (release build) against the same restore made
//! by hand: a scratch server started from the machine's binaries, the dump loaded, the span
//! replayed with `mariadb-binlog | mariadb`, the result dumped from the scratch server and
//! loaded onto production. Both results are compared by `CHECKSUM TABLE`.
//!
//! Run: `cargo build --release && cargo run --release --example bench_selfhosted -- [--rows
//! 2000000] [--changes 550000]` (MariaDB's server and client tools installed: `.ci/mariadb`).
//! It prints both wall times and their ratio, planrun's own peak memory (VmHWM), its
//! peak temporary files (its `TMPDIR`, sampled every 50 ms) beside the compressed dump plus the
//! decoded span, its scratch server's data directory apart, and whether the two results are
//! equal.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// Rows of the restored table.
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// Rows changed between the dump and the time (in statements of 10,000 rows).
    #[arg(long, default_value_t = 550_000)]
    changes: u64,
    /// Dump without `--flush-logs`: its coordinates then lie after the table's whole load in
    /// the same binary-log file, which planrun reads up to them to choose the dump.
    #[arg(long)]
    no_flush_logs: bool,
}

type Failure = Box<dyn std::error::Error>;

fn sbin(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A server in `dir`: TCP on `port` with a binary log (production), or socket only without
/// one (the hand-made scratch server).
fn server(dir: &Path, port: Option<u16>) -> Result<Child, Failure> {
    std::fs::create_dir_all(dir.join("tmp"))?;
    let mut install = Command::new(sbin("mariadb-install-db"));
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .env("TMPDIR", dir.join("tmp"));
    if root() {
        install.arg("--user=root");
    }
    let out = install.output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    let mut cmd = Command::new(sbin("mariadbd"));
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socket={}", dir.join("sock").display()))
        .arg(format!("--tmpdir={}", dir.join("tmp").display()))
        .args(["--innodb-buffer-pool-size=128M", "--max-allowed-packet=1G"]);
    match port {
        Some(p) => cmd.args([
            format!("--port={p}"),
            "--bind-address=127.0.0.1".into(),
            format!("--log-bin={}", dir.join("data/bin").display()),
            "--binlog-format=ROW".into(),
            "--server-id=1".into(),
        ]),
        None => cmd.args([
            "--skip-networking",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
        ]),
    };
    if root() {
        cmd.arg("--user=root");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("error.log"))?)
        .spawn()?;
    let mut last = String::new();
    for _ in 0..600 {
        match sh(&format!("mariadb {} -e 'SELECT 1'", conn(dir, port))) {
            Ok(_) => return Ok(child),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("the server did not answer: {last}").into())
}

fn conn(dir: &Path, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("--no-defaults --protocol=TCP --host=127.0.0.1 --port={p} --user=root"),
        None => format!(
            "--no-defaults --socket={} --user=root",
            dir.join("sock").display()
        ),
    }
}

/// Runs a shell pipeline; its stdout, or its stderr as the error.
fn sh(script: &str) -> Result<String, Failure> {
    let out = Command::new("bash")
        .args(["-c", &format!("set -eo pipefail; {script}")])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "{script}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn free_port() -> Result<u16, Failure> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The bytes under `dir` (files only), 0 when it is gone.
fn size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn main() -> Result<(), Failure> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    let dir = work.path();
    let port = free_port()?;
    let mut prod = server(&dir.join("prod"), Some(port))?;
    let p = conn(&dir.join("prod"), Some(port));
    let setup = Instant::now();
    sh(&format!(
        "mariadb {p} -e \"CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40), at DATETIME); \
         INSERT INTO shop.orders SELECT seq, seq % 1000, CONCAT('note ', seq), '2026-01-01 00:00:00' FROM shop.seq_1_to_{}\"",
        args.rows
    ))?;
    std::fs::create_dir(dir.join("dumps"))?;
    let dump = dir.join("dumps/full.sql.gz");
    sh(&format!(
        "mariadb-dump {p} --single-transaction --master-data=2 {} --databases shop | gzip -1 > {}",
        if args.no_flush_logs {
            ""
        } else {
            "--flush-logs"
        },
        dump.display()
    ))?;
    let coords = {
        // The coordinates comment is in the dump's first lines.
        use std::io::Read;
        let mut head = vec![0; 1 << 16];
        let n = flate2::read::GzDecoder::new(std::fs::File::open(&dump)?).read(&mut head)?;
        let head = String::from_utf8_lossy(&head[..n]).into_owned();
        head.lines()
            .find(|l| l.contains("MASTER_LOG_FILE='"))
            .ok_or("no coordinates in the dump")?
            .to_owned()
    };
    let file = coords.split('\'').nth(1).unwrap_or_default().to_owned();
    let pos = coords
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .trim_end_matches(';')
        .to_owned();
    let t0 = chrono::Utc::now().timestamp() + 1000;
    let mut changes = String::from("SET TIMESTAMP = ");
    changes.push_str(&t0.to_string());
    changes.push(';');
    let mut at = 0;
    while at < args.changes {
        let to = (at + 10_000).min(args.changes);
        changes.push_str(&format!(
            " UPDATE shop.orders SET amount = amount + 1, note = 'changed' WHERE id > {at} AND id <= {to};"
        ));
        at = to;
    }
    sh(&format!("mariadb {p} -e \"{changes}\""))?;
    sh(&format!(
        "mariadb {p} -e \"SET TIMESTAMP = {}; DELETE FROM shop.orders WHERE id % 2 = 0\"",
        t0 + 100
    ))?;
    let time = chrono::DateTime::from_timestamp(t0 + 50, 0)
        .ok_or("time")?
        .naive_utc();
    let stop = time.format(planrun::contract::TIME_FORMAT).to_string();
    let span = format!(
        "TZ=UTC mariadb-binlog {p} --read-from-remote-server --to-last-log --start-position={pos} --stop-datetime='{stop}' {file}"
    );
    let decoded: u64 = sh(&format!("{span} | wc -c"))?.parse()?;
    println!(
        "setup: {} rows, {} changed, in {:.1} s; dump {} (gzip), decoded span {}",
        args.rows,
        args.changes,
        setup.elapsed().as_secs_f64(),
        mb(std::fs::metadata(&dump)?.len()),
        mb(decoded)
    );

    // By hand: a scratch server, the dump, the span, the result onto production.
    let manual = Instant::now();
    let scratch_dir = dir.join("scratch");
    let mut scratch = server(&scratch_dir, None)?;
    let s = conn(&scratch_dir, None);
    sh(&format!("gunzip -c {} | mariadb {s}", dump.display()))?;
    sh(&format!("{span} | mariadb {s}"))?;
    sh(&format!(
        "mariadb {s} -e 'RENAME TABLE shop.orders TO shop.orders_manual' && \
         mariadb-dump {s} --skip-add-drop-table --skip-add-locks --skip-lock-tables --skip-triggers --hex-blob shop orders_manual | mariadb {p} --database=shop"
    ))?;
    let manual = manual.elapsed();
    let _ = scratch.kill();
    let _ = scratch.wait();
    std::fs::remove_dir_all(&scratch_dir)?;

    // planrun.
    std::fs::write(dir.join("client.cnf"), "[client]\nuser=root\n")?;
    std::fs::write(
        dir.join("plan.yaml"),
        format!(
            "version: 1\nname: bench\nprovider: mysql\ntimezone: \"+00:00\"\nrollback_time: \"{stop}\"\nrename: \"{{name}}_bak\"\n\
             instances:\n  - id: shop\n    server: 127.0.0.1:{port}\n    backups: dumps\n    strategy: table\n    tables:\n      shop: [orders]\n"
        ),
    )?;
    let tmp = dir.join("tmp");
    std::fs::create_dir(&tmp)?;
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/planrun");
    // planrun's own temporary files (`planrun-work-*`: the span) apart from its scratch
    // server's data directory (`planrun-scratch-*`, as large as the hand-made one's).
    let peak_files = Arc::new(AtomicU64::new(0));
    let peak_server = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (files, server, done, tmp) = (
            peak_files.clone(),
            peak_server.clone(),
            done.clone(),
            tmp.clone(),
        );
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let of = |prefix: &str, sub: Option<&str>| -> u64 {
                    std::fs::read_dir(&tmp).map_or(0, |d| {
                        d.flatten()
                            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                            .map(|e| match sub {
                                Some(sub) => size(&e.path().join(sub)),
                                None => size(&e.path()),
                            })
                            .sum()
                    })
                };
                // The working directory lives in the scratch server's directory.
                let work = of("planrun-scratch-", Some("work")) + of("planrun-work-", None);
                files.fetch_max(work, Ordering::Relaxed);
                server.fetch_max(
                    of("planrun-scratch-", None).saturating_sub(work),
                    Ordering::Relaxed,
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let now = chrono::DateTime::from_timestamp(t0 + 60, 0)
        .ok_or("time")?
        .to_rfc3339();
    let started = Instant::now();
    let mut run = Command::new(&binary)
        .args([
            "apply",
            "plan.yaml",
            "--yes",
            "--defaults-file",
            "client.cnf",
        ])
        .current_dir(dir)
        .env("TMPDIR", &tmp)
        .env("PLANRUN_NOW", now)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // planrun's own peak memory (VmHWM), not its children's (the scratch server is one).
    let status = format!("/proc/{}/status", run.id());
    let mut rss_kb = 0u64;
    let (mut out, mut err) = (
        run.stdout.take().ok_or("stdout")?,
        run.stderr.take().ok_or("stderr")?,
    );
    let outputs = std::thread::spawn(move || {
        use std::io::Read;
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    while run.try_wait()?.is_none() {
        if let Some(kb) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            rss_kb = rss_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit = run.wait()?;
    let planrun = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let (stdout, stderr) = outputs.join().map_err(|_| "output reader")?;
    if !exit.success() {
        return Err(format!("planrun apply: {stdout}{stderr}").into());
    }
    let sums = sh(&format!(
        "mariadb {p} -N -e 'CHECKSUM TABLE shop.orders_manual, shop.orders_bak' | cut -f2"
    ))?;
    let sums: Vec<&str> = sums.lines().collect();
    println!(
        "by hand (scratch server, dump, span, dump-and-load): {:.1} s",
        manual.as_secs_f64()
    );
    println!(
        "planrun apply: {:.1} s ({:.2}× by hand)",
        planrun.as_secs_f64(),
        planrun.as_secs_f64() / manual.as_secs_f64()
    );
    println!("planrun peak memory: {:.1} MB", rss_kb as f64 / 1000.0);
    println!(
        "planrun peak temporary files: {} (compressed dump + decoded span: {}); its scratch server's data directory at most {}",
        mb(peak_files.load(Ordering::Relaxed)),
        mb(std::fs::metadata(&dump)?.len() + decoded),
        mb(peak_server.load(Ordering::Relaxed))
    );
    println!(
        "results equal: {} (CHECKSUM {:?})",
        sums.len() == 2 && sums[0] == sums[1],
        sums
    );
    let _ = prod.kill();
    let _ = prod.wait();
    Ok(())
}
