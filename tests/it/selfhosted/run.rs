//! Running `planrun` on self-hosted plans in tests: the option file, the plan, the commands
//! (through [`crate::support::Test`], with `PATH` kept: the restores need the server's
//! client tools), and reading what the runs journalled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone, Utc};

use super::server::{PASSWORD, USER};
use crate::support::{Running, Test};

/// A 0600 option file as MySQL's tools read it, `client.cnf` in `dir`.
pub fn defaults_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("client.cnf");
    std::fs::write(
        &path,
        format!(
            "[client]\nuser={USER}\npassword=\"{}\"\n",
            PASSWORD.replace('"', "\\\"")
        ),
    )
    .expect("defaults file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// "Now" for the plan's rules: just after the stories' (future-stamped) point in time.
pub fn now_after(time: NaiveDateTime) -> String {
    Utc.from_utc_datetime(&(time + chrono::Duration::seconds(30)))
        .to_rfc3339()
}

/// `plan.yaml` in `dir`: plan `shops`, provider mysql, UTC, `{name}_bak`, these entries.
pub fn write_plan(dir: &Path, entries: &str, time: NaiveDateTime) -> PathBuf {
    let path = dir.join("plan.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\nname: shops\nprovider: mysql\ntimezone: \"+00:00\"\nrollback_time: \"{}\"\nrename: \"{{name}}_bak\"\ninstances:\n{entries}",
            time.format(planrun::contract::TIME_FORMAT)
        ),
    )
    .expect("plan");
    path
}

fn path_var() -> String {
    std::env::var("PATH").unwrap_or_default()
}

/// The temporary directory planrun gets in `dir` (its scratch servers and working files go
/// there, so that a test sees what is left).
pub fn tmp(dir: &Path) -> PathBuf {
    let t = dir.join("tmp");
    std::fs::create_dir_all(&t).expect("tmp dir");
    t
}

/// `planrun ARGS` in `dir`, its clock just after `time`.
pub fn planrun(dir: &Path, time: NaiveDateTime) -> Test {
    Test::in_dir(dir)
        .env("PATH", path_var())
        .env("TMPDIR", tmp(dir))
        .env("PLANRUN_NOW", now_after(time))
        .timeout(Duration::from_secs(120))
}

/// `planrun apply PLAN --yes --defaults-file DIR/client.cnf`.
pub fn apply(plan: &Path, dir: &Path, time: NaiveDateTime) -> Test {
    planrun(dir, time)
        .arg("apply")
        .arg(plan)
        .arg("--yes")
        .arg("--defaults-file")
        .arg(dir.join("client.cnf"))
}

/// The same apply, spawned (stdout and stderr to `DIR/<log>`).
pub fn spawn_apply(
    plan: &Path,
    dir: &Path,
    time: NaiveDateTime,
    extra: &[&str],
    log: &str,
) -> Running {
    let log = std::fs::File::create(dir.join(log)).expect("log");
    apply(plan, dir, time)
        .args(extra)
        .stdout_to(log.try_clone().expect("log"))
        .stderr_to(log)
        .spawn()
}

/// Where the journal of plan `shops` (`plan.yaml` in `dir`) is.
pub fn journal_path(dir: &Path) -> std::path::PathBuf {
    crate::support::journal_of(
        &dir.join("plan.yaml"),
        "shops",
        &dir.join(".planrun"),
        false,
    )
}

/// The journal of plan `shops` beside the plan in `dir`, one JSON value per record.
pub fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(journal_path(dir))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A dump whose `shop` section blocks its loader: it reads the FIFO `dir/hold`.
pub fn held(dump: &std::path::Path, dir: &std::path::Path) {
    let fifo = dir.join("hold");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let hold = format!(
        "USE `shop`;\nCREATE TABLE hold_t (x INT);\nLOAD DATA INFILE '{}' INTO TABLE hold_t;\n",
        fifo.display()
    );
    let text = std::fs::read_to_string(dump).expect("dump");
    let text = text.replacen("USE `shop`;\n", &hold, 1);
    assert!(text.contains("LOAD DATA INFILE"));
    std::fs::write(dump, text).expect("dump");
}
