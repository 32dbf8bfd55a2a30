//! `planrun cancel` of self-hosted restores running in another process's `apply`: the one
//! waiting for its slot never starts; the running one's child process is killed, its scratch
//! dropped, no target made; the journal, `status` and apply's summary say `cancelled`.
//! The restore is held deterministically: its dump reads a named pipe the test made
//! (`LOAD DATA INFILE` of a FIFO nobody writes), so its loader blocks on the scratch server
//! for as long as the test needs (after its first database, so that its progress shows a
//! phase and bytes).

use std::time::Duration;

use planrun::engine::journal::Journal;
use planrun::engine::journal::script::Script;
use planrun::mysql::TEMP_PREFIX;

use super::restore::story;
use super::run::{defaults_file, held, journal, planrun, spawn_apply, write_plan};
use super::server::Server;
use crate::support::wait_for;

/// The restores whose loaders are blocked: `mariadb` children of `apply` that run on.
fn loaders(apply: u32) -> Vec<u32> {
    children(apply, "mariadb")
}

/// The last state the journal recorded for `instance` (`progress` records).
fn last_state(dir: &std::path::Path, instance: &str) -> Option<String> {
    journal(dir)
        .iter()
        .rev()
        .find(|r| r["record"] == "progress" && r["instance"] == instance)
        .and_then(|r| r["state"].as_str().map(str::to_owned))
}

/// Child processes of `pid` named `name`, from /proc.
fn children(pid: u32, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after its `)`.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map_or("", |(_, c)| c);
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if comm == name && ppid == Some(pid) {
            out.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The scratch servers of the plan's restores (their directories in planrun's temporary
/// directory).
fn scratch_servers(dir: &std::path::Path) -> usize {
    std::fs::read_dir(super::run::tmp(dir))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("planrun-scratch-")
                })
                .count()
        })
        .unwrap_or(0)
}

/// Gone, or a zombie nobody reaped yet: it runs no more.
fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
    })
}

fn cancel(
    dir: &std::path::Path,
    time: chrono::NaiveDateTime,
    plan: &std::path::Path,
    only: &[&str],
) -> crate::support::Output {
    let mut t = planrun(dir, time)
        .args(["cancel", "--yes", "--wait", "60s"])
        .arg(plan)
        .arg("--defaults-file")
        .arg(dir.join("client.cnf"));
    for id in only {
        t = t.args(["--instance", id]);
    }
    t.run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_running_restore_and_the_waiting_one_never_starts() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let backups = dir.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    let (time, _) = story(&server, &backups, "full.sql", "").await;
    // The loader of database `shop` blocks on the test's pipe.
    held(&backups.join("full.sql"), dir.path());
    let originals = server.snapshot("shop.orders").await;

    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop-a\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: db\n    dbs: [audit]\n    tables:\n      shop: [orders]\n\
             \x20 - id: shop-b\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: db\n    rename: \"{{name}}_b\"\n    dbs: [audit]\n    tables:\n      shop: [orders]\n",
            p = server.port
        ),
        time,
    );
    let apply = spawn_apply(
        &plan,
        dir.path(),
        time,
        &["--concurrency", "1", "--poll-interval", "100ms"],
        "apply.log",
    );
    let log = || std::fs::read_to_string(dir.path().join("apply.log")).unwrap_or_default();

    // One restore runs (its loader is blocked on the pipe), the other waits for the slot.
    wait_for(
        "a loader blocked on the pipe",
        Duration::from_secs(60),
        async || loaders(apply.id()).len() == 1 && log().contains("loading dump"),
    )
    .await;
    let states = async || {
        let (a, b) = (
            last_state(dir.path(), "shop-a"),
            last_state(dir.path(), "shop-b"),
        );
        matches!(
            (a.as_deref(), b.as_deref()),
            (Some("running"), Some("waiting")) | (Some("waiting"), Some("running"))
        )
    };
    wait_for(
        "one running, one waiting, journalled",
        Duration::from_secs(60),
        states,
    )
    .await;
    let (running, waiting) = if last_state(dir.path(), "shop-a").as_deref() == Some("running") {
        ("shop-a", "shop-b")
    } else {
        ("shop-b", "shop-a")
    };
    // Its progress is drawn like a cloud task's, with its phase and how far into it: it
    // loaded `audit` (the dump's first database) and is loading `shop`.
    let drawn = format!("{running}: running ");
    // Some line drew more than nothing of the dump loaded (`loading dump 12.3 kB of ...`).
    let loading = || -> bool {
        log()
            .lines()
            .filter(|l| l.contains(&drawn))
            .filter_map(|l| l.split("(loading dump ").nth(1))
            .any(|rest| rest.contains(" of ") && !rest.starts_with("0 B of"))
    };
    wait_for(
        "the phase and bytes drawn",
        Duration::from_secs(60),
        async || loading(),
    )
    .await;
    // The journal keeps the phase too, and `status` (another process) shows it.
    let journalled = || {
        journal(dir.path()).iter().any(|r| {
            r["record"] == "progress"
                && r["instance"] == running
                && r["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("loading dump ") && d.contains(" of "))
        })
    };
    wait_for(
        "the phase journalled",
        Duration::from_secs(60),
        async || journalled(),
    )
    .await;
    let status = planrun(dir.path(), time)
        .args(["status", "--offline", "--format", "json"])
        .arg(&plan)
        .run();
    let report: serde_json::Value =
        serde_json::from_str(&status.stdout).unwrap_or_else(|e| panic!("{e}: {}", status.stderr));
    let shown = report["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["id"] == running))
        .map(|i| (i["status"].clone(), i["detail"].clone()));
    assert!(
        shown
            .as_ref()
            .is_some_and(|(s, d)| s == "running"
                && d.as_str().is_some_and(|d| d.starts_with("loading dump "))),
        "{report}"
    );
    let loaders = loaders(apply.id());
    assert_eq!(loaders.len(), 1, "one loader runs: {loaders:?}\n{}", log());

    // The waiting one: it never starts.
    let out = cancel(dir.path(), time, &plan, &[waiting]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("{waiting}: cancelled")),
        "{}",
        out.stdout
    );
    assert_eq!(
        scratch_servers(dir.path()),
        1,
        "the cancelled waiting restore started no scratch server"
    );
    assert!(!stopped(loaders[0]), "the other restore goes on");

    // The running one: its loader is killed, its scratch server gone, no target made.
    let out = cancel(dir.path(), time, &plan, &[running]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("{running}: cancelled")),
        "{}",
        out.stdout
    );
    assert!(stopped(loaders[0]), "the loader still runs");
    assert_eq!(scratch_servers(dir.path()), 0, "its scratch server is gone");
    assert!(server.databases_like(TEMP_PREFIX).await.is_empty());
    assert_eq!(
        server
            .count("SELECT COUNT(*) FROM information_schema.TABLES WHERE (TABLE_NAME LIKE '%\\_bak' OR TABLE_NAME LIKE '%\\_b')")
            .await,
        0,
        "no target was made"
    );
    assert!(
        server.databases_like("audit_").await.is_empty(),
        "no target database"
    );
    let status = tokio::task::spawn_blocking(move || apply.finish(Duration::from_secs(120)))
        .await
        .expect("join");
    let log = log();
    assert_eq!(status.code, Some(0), "{log}");
    assert!(log.contains("2 cancelled"), "{log}");
    assert_eq!(
        server.snapshot("shop.orders").await,
        originals,
        "the original was not touched"
    );

    let shown = planrun(dir.path(), time)
        .args(["status", "--format", "json"])
        .arg(&plan)
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    let report: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}: {}", shown.stderr));
    assert_eq!(report["totals"]["cancelled"], 2, "{report}");
    let human = planrun(dir.path(), time)
        .arg("status")
        .arg(&plan)
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    assert_eq!(
        human
            .stdout
            .matches("cancelled with `planrun cancel`")
            .count(),
        2,
        "{}",
        human.stdout
    );

    let again = cancel(dir.path(), time, &plan, &[]);
    assert_eq!(again.code, Some(0));
    assert!(
        again
            .stdout
            .contains("shop-a: already cancelled; nothing to cancel"),
        "{}",
        again.stdout
    );
}

/// With no apply running (killed -9 mid-restore), cancel cleans up itself; a stop journalled
/// for an apply that died before acting on it is carried out by the next apply, which drops
/// what the interrupted restore left instead of restoring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_after_a_kill_drops_what_the_interrupted_restores_left() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let backups = dir.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    let (time, _) = story(&server, &backups, "full.sql", "").await;
    held(&backups.join("full.sql"), dir.path());
    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop-a\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: db\n    dbs: [audit]\n    tables:\n      shop: [orders]\n\
             \x20 - id: shop-b\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: table\n    tables:\n      shop: [refunds]\n",
            p = server.port
        ),
        time,
    );
    let apply = spawn_apply(
        &plan,
        dir.path(),
        time,
        &["--concurrency", "2", "--poll-interval", "100ms"],
        "apply.log",
    );
    let pid = apply.id();
    wait_for(
        "both loaders blocked on the pipe",
        Duration::from_secs(60),
        async || loaders(pid).len() == 2,
    )
    .await;
    apply.kill9();
    // Killed with -9, it could clean nothing; its servers' watchdogs did.
    wait_for(
        "the scratch servers gone with their apply",
        Duration::from_secs(30),
        async || scratch_servers(dir.path()) == 0,
    )
    .await;
    // Nothing of theirs is left in the temporary directory: no copy of the dump or the span.
    super::oracle::no_temp_files(&super::run::tmp(dir.path()));

    // shop-b: a stop that the killed apply journalled too late to act on.
    let (mut file, _) = Journal::open(&super::run::journal_path(dir.path())).expect("journal");
    let stop = Script::new(chrono::Utc::now())
        .stopping("shop-b", None)
        .records();
    file.append_all(&stop).expect("append");
    drop(file);

    // shop-a: no apply runs, so cancel cleans up itself.
    let out = cancel(dir.path(), time, &plan, &["shop-a"]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("shop-a: cancelled (no apply was running it"),
        "{}",
        out.stdout
    );
    assert!(
        server.databases_like("audit_bak").await.is_empty(),
        "no target database"
    );

    // The next apply carries out shop-b's stop: it cleans up instead of restoring.
    let again = super::run::apply(&plan, dir.path(), time).run();
    let text = format!("{}{}", again.stdout, again.stderr);
    assert_eq!(again.code, Some(0), "{text}");
    assert!(text.contains("2 cancelled"), "{text}");
    assert!(
        server.databases_like(TEMP_PREFIX).await.is_empty(),
        "{text}"
    );
    super::oracle::no_temp_files(&super::run::tmp(dir.path()));
    assert_eq!(
        server
            .count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME LIKE '%\\_bak'")
            .await,
        0,
        "no target was made"
    );
}
