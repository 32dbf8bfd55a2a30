//! `kill -9` of `planrun apply` at several moments, then the same command again: every
//! instance is submitted exactly once and succeeds (the sandbox outlives the killed apply);
//! after some submissions, over both APIs.

use std::time::Duration;

use super::harness::{Served, Work, all, ids, read_json, statuses};
use crate::support::both_apis;

/// Kills the apply (over `api`) when a stderr line contains `moment`, re-runs it, and checks
/// the outcome.
fn kill_at(api: &'static str, tag: &str, moment: &str) {
    let served = Served::start_api(api, 1.5, &[]);
    let ids = ids(tag, 6);
    let work = Work::new(&ids, 2);
    let mut first = work.apply(&served).spawn();
    first.wait_for(moment, Duration::from_secs(30));
    let killed = first.kill9();
    assert_eq!(killed.code, None, "killed by a signal:\n{}", killed.all());
    let report = work.dir.path().join("report.json");
    let out = work.apply(&served).arg("--report").arg(&report).run();
    assert_eq!(
        out.code,
        Some(0),
        "API {api}, after a kill at {moment:?}:\n{}",
        out.all()
    );
    assert_eq!(
        statuses(&read_json(&report)),
        all(&ids, "succeeded"),
        "API {api}"
    );
    served.assert_each_accepted_once(&ids);
    // The re-run resumed the journal rather than starting a new one.
    let starts = work
        .records()
        .iter()
        .filter(|r| r["record"] == "start")
        .count();
    assert_eq!(starts, 2, "API {api}: {}", work.journal_text());
}

#[test]
fn kill_right_after_the_first_intent_then_rerun_submits_each_instance_once() {
    kill_at("v2", "kila", "submitting call #1");
}

both_apis! {
    fn kill_after_some_submissions_then_rerun_submits_each_instance_once(api) {
        kill_at(api, "kilb", "accepted: job");
    }
}

#[test]
fn kill_while_tracking_then_rerun_submits_each_instance_once() {
    kill_at("v2", "kilc", "running");
}

#[test]
fn kill_twice_at_random_points_then_rerun_submits_each_instance_once() {
    let served = Served::start(1.0, &[]);
    let ids = ids("kild", 8);
    let work = Work::new(&ids, 3);
    // Killed once while submitting, once while tracking: at events, not after guessed pauses.
    for at in ["submitting call #", "accepted: job"] {
        let mut child = work.apply(&served).spawn();
        child.wait_for(at, Duration::from_secs(30));
        let _ = child.kill9();
    }
    let out = work.apply(&served).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn a_restart_with_a_changed_plan_waits_for_the_tasks_still_running_then_submits_once() {
    let served = Served::start(2.0, &[]);
    let ids = ids("busy", 2);
    let work = Work::new(&ids, 2);
    let mut first = work.apply(&served).spawn();
    first.wait_for("accepted: job", Duration::from_secs(30));
    let _ = first.kill9();
    // Another rollback of the same instances while the first one's tasks run: 9592.
    work.write_plan(&ids, 2, "{name}_second");
    let out = work.apply(&served).arg("--restart").run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(
        out.stderr.contains("another task is running"),
        "{}",
        out.stderr
    );
    let twice: std::collections::BTreeMap<String, u64> =
        ids.iter().map(|i| (i.clone(), 2)).collect();
    assert_eq!(served.accepted(), twice, "once per plan, never more");
}
