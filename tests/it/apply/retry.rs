//! `apply --retry-failed`: in the same journal, without `--restart`, only the instances that
//! ended failed, rejected or unknown are sent again — an unknown one only once the rule of
//! evidence finds no task of it — and everything else stays as it is.

use std::collections::BTreeMap;

use serde_json::Value;

use super::harness::{Served, Work, all, ids, read_json, statuses};

/// `apply --retry-failed --report FILE` against `served`: its output and report.
fn retry(work: &Work, served: &Served, extra: &[&str]) -> (super::harness::Output, Value) {
    let path = work.dir.path().join("retry.json");
    let out = work
        .apply(served)
        .arg("--retry-failed")
        .args(extra)
        .arg("--report")
        .arg(&path)
        .run();
    assert!(path.exists(), "no report: {}", out.all());
    let report = read_json(&path);
    (out, report)
}

fn records_named(work: &Work, name: &str) -> usize {
    work.records()
        .iter()
        .filter(|r| r["record"] == name)
        .count()
}

#[test]
fn retry_failed_sends_again_only_what_failed_was_refused_or_is_proven_unsent() {
    // In plan order, one per call, one call at a time: the first call (d's) creates its task
    // and answers InternalError; with no echo in Detail, nothing proves the task is d's.
    let ids = ids("rtry", 4);
    let (d, a, b, c) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let first = Served::start_api(
        "v3",
        0.3,
        &[
            "--failing",
            b,
            "--missing",
            c,
            "--empty-detail",
            "--inject",
            "StartBatchRollback=InternalErrorx1",
        ],
    );
    let work = Work::new(&ids, 1);
    let path = work.dir.path().join("first.json");
    let out = work
        .apply(&first)
        .args(["--concurrency", "1", "--no-preflight", "--report"])
        .arg(&path)
        .run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let expected: BTreeMap<String, String> = [
        (d, "unknown"),
        (a, "succeeded"),
        (b, "failed"),
        (c, "rejected"),
    ]
    .into_iter()
    .map(|(i, s)| (i.clone(), s.to_owned()))
    .collect();
    assert_eq!(statuses(&read_json(&path)), expected);
    let accepted_first = first.accepted();

    // Against the same cloud: b is sent again (and fails again), c is sent again (and is
    // refused again); d's possible task is looked for, still proves nothing, and d is not
    // sent again; a is left alone. (The preflight would refuse c, which does not exist.)
    let (out, report) = retry(&work, &first, &["--no-preflight"]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(out.stderr.contains("--retry-failed"), "{}", out.stderr);
    assert_eq!(statuses(&report), expected);
    let mut twice = accepted_first.clone();
    *twice.entry(b.clone()).or_default() += 1;
    assert_eq!(first.accepted(), twice, "only b accepted again");
    assert_eq!(first.accepted().get(d), Some(&1), "d never sent twice");
    let rejections = &first.counters()["rejections_per_error"];
    assert_eq!(
        rejections["InvalidParameter.InstanceNotFound"].as_u64(),
        Some(2),
        "c sent again: {rejections}"
    );

    // Against a cloud where d has no task at all (two polls find none), where b no longer
    // fails and c exists: each of b, c, d is sent once; a is never asked about.
    let second = Served::start_api("v3", 0.3, &[]);
    let (out, report) = retry(&work, &second, &[]);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert_eq!(statuses(&report), all(&ids, "succeeded"));
    second.assert_each_accepted_once(&[d.clone(), b.clone(), c.clone()]);
    // One journal, resumed three times, two retries journaled before anything was sent.
    assert_eq!(records_named(&work, "start"), 3, "{}", work.journal_text());
    assert_eq!(records_named(&work, "retry"), 2, "{}", work.journal_text());
    let status = work.status(&second).args(["--offline"]).run();
    assert_eq!(status.code, Some(0), "{}", status.all());
}

#[test]
fn retry_failed_refuses_a_plan_never_applied_or_changed_and_has_nothing_to_do_after_success() {
    let served = Served::start_api("v3", 0.3, &[]);
    let ids = ids("rtno", 2);
    let work = Work::new(&ids, 2);
    let never = work.apply(&served).arg("--retry-failed").run();
    assert_eq!(never.code, Some(2), "{}", never.all());
    assert!(
        never.stderr.contains("nothing to retry"),
        "{}",
        never.stderr
    );
    assert!(!work.journal().exists());

    let done = work.apply(&served).run();
    assert_eq!(done.code, Some(0), "{}", done.all());
    let nothing = work.apply(&served).arg("--retry-failed").run();
    assert_eq!(nothing.code, Some(0), "{}", nothing.all());
    assert!(
        nothing.stdout.contains("Nothing to retry"),
        "{}",
        nothing.all()
    );

    work.write_plan(&ids, 2, "{name}_changed");
    let changed = work.apply(&served).arg("--retry-failed").run();
    assert_eq!(changed.code, Some(2), "{}", changed.all());
    assert!(changed.stderr.contains("changed"), "{}", changed.stderr);
    let restart = work
        .apply(&served)
        .args(["--retry-failed", "--restart"])
        .run();
    assert_eq!(
        restart.code,
        Some(2),
        "clap refuses both: {}",
        restart.all()
    );
    served.assert_each_accepted_once(&ids);
}
