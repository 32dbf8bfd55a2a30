//! Benchmark: `planrun compare`'s walk of a restored copy against its source, on a table of
//! `--rows` rows (default 1,000,000) with `--differences` differences (default 1,000: a third
//! deleted, a third changed, a third inserted; 17 keys apart in the last 17,000 rows, as an
//! incident's rows are near each other, or with `--spread` one every `rows / differences`
//! rows, so that every range differs), next to
//! `pt-table-sync --print` (Percona Toolkit: Debian's `percona-toolkit`) on the same two
//! tables of the same throwaway MariaDB server.
//!
//! Run: `bash examples/bench_compare.sh` (installs MariaDB and percona-toolkit with apt when
//! missing, then runs this with `--release`). Each tool runs `--runs` times (default 3) under
//! `/usr/bin/time`, after one untimed pass that warms the buffer pool for both; the report
//! gives each run's wall time and peak memory (the tool's own process: planrun's comparison
//! runs in a child process of this example, the same code as `planrun compare`), the rows the
//! server read (`Rows_read`) and sent (`Rows_sent`) for it, and the differences it found.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on stdout

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use mysql_async::prelude::Queryable;
use planrun::compare::{self, Pair};
use planrun::mysql::Credentials;

#[derive(Debug, Parser)]
struct Args {
    /// Rows of the restored copy.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Rows that differ between the copy and the source.
    #[arg(long, default_value_t = 1_000)]
    differences: u64,
    /// planrun's `--chunk-rows`.
    #[arg(long, default_value_t = compare::walk::DEFAULT_CHUNK_ROWS)]
    chunk_rows: u64,
    /// Spread the differences evenly over the whole key (one per `rows / differences` rows)
    /// instead of 17 keys apart at its end.
    #[arg(long)]
    spread: bool,
    /// Timed runs of each tool.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Internal: compare on the server at this port and report (the timed child).
    #[arg(long, hide = true)]
    child: Option<u16>,
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(port) = args.child {
        runtime.block_on(child(port, args.chunk_rows));
        return;
    }
    runtime.block_on(bench(&args));
}

/// The timed child: one comparison, its counts as one JSON line.
async fn child(port: u16, chunk_rows: u64) {
    let at = compare::Endpoint {
        host: "127.0.0.1".into(),
        port,
    };
    let creds = Credentials {
        user: Some("root".into()),
        ..Credentials::default()
    };
    let mut conn = compare::connect(&at, &creds).await.expect("connect");
    let pair = Pair {
        db: "bench".into(),
        source: "t".into(),
        restored_db: "bench".into(),
        restored: "t_bak".into(),
    };
    let shape = compare::shape_of(&mut conn, &pair)
        .await
        .expect("describe")
        .expect("comparable");
    let mut sampler = compare::outcome::Sampler::new(&shape, 10);
    let options = compare::Options {
        chunk_rows,
        ..compare::Options::default()
    };
    let mut helper = compare::connect(&at, &creds).await.expect("connect");
    let counts = compare::walk(
        &mut conn,
        Some(&mut helper),
        &pair,
        &shape,
        &options,
        &mut sampler,
        &mut |_| {},
    )
    .await
    .expect("compare");
    println!("{}", serde_json::to_string(&counts).expect("json"));
}

/// A throwaway MariaDB: its own data directory and loopback port, killed on drop.
struct Server {
    port: u16,
    _dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("none of {names:?} is installed: run examples/bench_compare.sh")
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut install = Command::new(tool(&["mariadb-install-db", "mysql_install_db"]));
    install.args([
        "--no-defaults".to_owned(),
        format!("--datadir={}", data.display()),
        "--auth-root-authentication-method=normal".to_owned(),
        "--skip-test-db".to_owned(),
    ]);
    if root {
        install.arg("--user=root");
    }
    assert!(install.output().expect("install-db").status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut server = Command::new(tool(&["mariadbd", "mysqld"]));
    server.args([
        "--no-defaults".to_owned(),
        format!("--datadir={}", data.display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_owned(),
        format!("--socket={}", dir.path().join("sock").display()),
        "--innodb-buffer-pool-size=1G".to_owned(),
        "--skip-name-resolve".to_owned(),
    ]);
    if root {
        server.arg("--user=root");
    }
    let child = server
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd");
    let s = Server {
        port,
        _dir: dir,
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while mysql_async::Conn::new(opts(port)).await.is_err() {
        assert!(Instant::now() < deadline, "mariadbd not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s
}

fn opts(port: u16) -> mysql_async::Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .prefer_socket(false)
        .into()
}

/// The copy (`t_bak`, even keys 2..=2N) and the source (`t`) with the differences: key
/// `2·(1 + k·999,983 mod N)` (for N = 1,000,000: 17 keys apart, downwards from the end), or
/// with `spread` `2·(1 + k·⌊N/D⌋)`, deleted (k mod 3 = 0), changed (1), or its odd
/// neighbour inserted (2).
async fn load(conn: &mut mysql_async::Conn, rows: u64, differences: u64, spread: bool) {
    conn.query_drop(format!(
        "CREATE DATABASE bench; \
         CREATE TABLE bench.t_bak (id BIGINT PRIMARY KEY, a INT NOT NULL, b VARCHAR(32), \
           c DECIMAL(12,2), d DATETIME) ENGINE=InnoDB; \
         INSERT INTO bench.t_bak SELECT 2 * seq, seq % 1000, MD5(seq), seq / 100, \
           '2026-01-01' + INTERVAL seq SECOND FROM bench.seq_1_to_{rows}; \
         CREATE TABLE bench.t LIKE bench.t_bak; \
         INSERT INTO bench.t SELECT * FROM bench.t_bak"
    ))
    .await
    .expect("load");
    let mut deleted = Vec::new();
    let mut changed = Vec::new();
    let mut inserted = Vec::new();
    for k in 0..differences {
        let id = if spread {
            2 * (1 + k * (rows / differences.max(1)).max(1))
        } else {
            2 * (1 + (k * 999_983) % rows)
        };
        match k % 3 {
            0 => deleted.push(id.to_string()),
            1 => changed.push(id.to_string()),
            _ => inserted.push(format!("({}, 1, 'new', 1, NULL)", id + 1)),
        }
    }
    let mut sql = Vec::new();
    if !deleted.is_empty() {
        sql.push(format!(
            "DELETE FROM bench.t WHERE id IN ({})",
            deleted.join(",")
        ));
    }
    if !changed.is_empty() {
        sql.push(format!(
            "UPDATE bench.t SET a = a + 1 WHERE id IN ({})",
            changed.join(",")
        ));
    }
    if !inserted.is_empty() {
        sql.push(format!("INSERT INTO bench.t VALUES {}", inserted.join(",")));
    }
    conn.query_drop(sql.join("; ")).await.expect("differences");
}

/// `Rows_read` and `Rows_sent` of the server so far.
async fn rows_status(conn: &mut mysql_async::Conn) -> (u64, u64) {
    let rows: Vec<(String, u64)> = conn
        .query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rows_read', 'Rows_sent')")
        .await
        .expect("status");
    let get = |n: &str| rows.iter().find(|r| r.0 == n).map_or(0, |r| r.1);
    (get("Rows_read"), get("Rows_sent"))
}

/// One timed run: wall seconds, peak RSS (KiB), stdout.
fn timed(cmd: Command) -> (f64, u64, String) {
    let stats = tempfile::NamedTempFile::new().expect("temp");
    let mut time = Command::new("/usr/bin/time");
    time.arg("-o").arg(stats.path()).args(["-f", "%e %M"]);
    time.arg(cmd.get_program()).args(cmd.get_args());
    let out = time.output().expect("/usr/bin/time runs");
    // pt-table-sync exits 2 when it found differences (and printed them).
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{:?} {}: {}",
        cmd.get_program(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(stats.path()).unwrap_or_default();
    // GNU time puts "Command exited with non-zero status N" before its own line.
    let mut parts = text.lines().last().unwrap_or_default().split_whitespace();
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let kib = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (secs, kib, String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Run {
    secs: f64,
    kib: u64,
    read: u64,
    sent: u64,
    found: u64,
}

async fn measure(
    conn: &mut mysql_async::Conn,
    cmd: impl Fn() -> Command,
    found: impl Fn(&str) -> u64,
) -> Run {
    let before = rows_status(conn).await;
    let (secs, kib, out) = timed(cmd());
    let after = rows_status(conn).await;
    Run {
        secs,
        kib,
        // The two status queries themselves are a handful of rows.
        read: after.0 - before.0,
        sent: after.1 - before.1,
        found: found(&out),
    }
}

async fn bench(args: &Args) {
    let pt = tool(&["pt-table-sync"]);
    let server = start().await;
    let mut conn = mysql_async::Conn::new(opts(server.port))
        .await
        .expect("connect");
    let t = Instant::now();
    load(&mut conn, args.rows, args.differences, args.spread).await;
    println!(
        "Loaded 2 tables of {} rows with {} differences ({}) in {:.1} s (MariaDB {}, port {}).",
        args.rows,
        args.differences,
        if args.spread {
            "one every rows / differences"
        } else {
            "keys 2·(1 + k·999,983 mod rows)"
        },
        t.elapsed().as_secs_f64(),
        conn.query_first::<String, _>("SELECT VERSION()")
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
        server.port
    );
    // The truth, by SQL of this benchmark's own: anti-joins and a join on the key.
    let truth: Option<u64> = conn
        .query_first(
            "SELECT (SELECT COUNT(*) FROM bench.t_bak b LEFT JOIN bench.t s ON s.id = b.id WHERE s.id IS NULL) \
             + (SELECT COUNT(*) FROM bench.t s LEFT JOIN bench.t_bak b ON b.id = s.id WHERE b.id IS NULL) \
             + (SELECT COUNT(*) FROM bench.t s JOIN bench.t_bak b ON b.id = s.id \
                WHERE NOT (s.a <=> b.a AND s.b <=> b.b AND s.c <=> b.c AND s.d <=> b.d))",
        )
        .await
        .expect("truth");
    println!("Rows that differ, by SQL: {}.", truth.unwrap_or_default());
    // Both tools find the buffer pool warm.
    conn.query_drop(
        "SELECT COUNT(*), SUM(a) FROM bench.t_bak; SELECT COUNT(*), SUM(a) FROM bench.t",
    )
    .await
    .expect("warm");
    let me = std::env::current_exe().expect("exe");
    let port = server.port;
    let chunk = args.chunk_rows;
    let planrun = || {
        let mut c = Command::new(&me);
        c.args([
            "--child",
            &port.to_string(),
            "--chunk-rows",
            &chunk.to_string(),
        ]);
        c
    };
    let planrun_found = |out: &str| {
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
        ["deleted", "inserted", "changed"]
            .iter()
            .map(|k| v[k].as_u64().unwrap_or(0))
            .sum()
    };
    let pt_cmd = || {
        let mut c = Command::new(&pt);
        c.args([
            "--print",
            &format!("h=127.0.0.1,P={port},u=root,D=bench,t=t_bak"),
            "t=t",
        ]);
        c
    };
    let pt_found = |out: &str| {
        out.lines()
            .filter(|l| {
                ["INSERT", "UPDATE", "DELETE", "REPLACE"]
                    .iter()
                    .any(|s| l.starts_with(s))
            })
            .count() as u64
    };
    let mut results: Vec<(&str, Vec<Run>)> = vec![
        ("planrun compare", Vec::new()),
        ("pt-table-sync --print", Vec::new()),
    ];
    for _ in 0..args.runs {
        let r = measure(&mut conn, planrun, planrun_found).await;
        results[0].1.push(r);
        let r = measure(&mut conn, pt_cmd, pt_found).await;
        results[1].1.push(r);
    }
    println!(
        "\n| tool | run | wall (s) | peak memory (MB) | rows read by the server | rows sent to the tool | differences found |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, runs) in &results {
        for (i, r) in runs.iter().enumerate() {
            println!(
                "| {name} | {} | {:.2} | {:.1} | {} | {} | {} |",
                i + 1,
                r.secs,
                r.kib as f64 / 1024.0,
                r.read,
                r.sent,
                r.found
            );
        }
    }
    let median = |runs: &[Run]| {
        let mut s: Vec<f64> = runs.iter().map(|r| r.secs).collect();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let (a, b) = (median(&results[0].1), median(&results[1].1));
    println!(
        "\nMedian wall: planrun {a:.2} s, pt-table-sync {b:.2} s: {:.2}× its time (target ≤ 0.5×).",
        a / b
    );
}
