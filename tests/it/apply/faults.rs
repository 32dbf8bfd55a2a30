//! Injected faults, lost answers of accepted submissions included: every instance still ends,
//! and none is submitted twice (the sandbox's counters).

use super::harness::{Served, Work, all, ids, read_json, run, statuses};

/// One apply of `n` instances against a sandbox serving these faults; returns its counters.
fn apply_under_faults(tag: &str, seed: u64, faults: &str, rate: &str) -> serde_json::Value {
    let served = Served::start(
        0.5,
        &[
            "--fault-rate",
            rate,
            "--faults",
            faults,
            "--slow-ms",
            "300",
            "--seed",
            &seed.to_string(),
        ],
    );
    let ids = ids(tag, 7);
    let work = Work::new(&ids, 2);
    let report = work.dir.path().join("report.json");
    let out = run({
        let mut cmd = work.apply(&served);
        cmd.arg("--report").arg(&report);
        cmd
    });
    assert_eq!(out.code, Some(0), "seed {seed}:\n{}", out.all());
    assert_eq!(
        statuses(&read_json(&report)),
        all(&ids, "succeeded"),
        "seed {seed}"
    );
    served.assert_each_accepted_once(&ids);
    served.counters()
}

#[test]
fn every_instance_succeeds_once_under_every_fault_kind_for_several_seeds() {
    let counters: Vec<serde_json::Value> = std::thread::scope(|s| {
        let runs: Vec<_> = [(11u64, "flta"), (12, "fltb"), (13, "fltc")]
            .into_iter()
            .map(|(seed, tag)| {
                s.spawn(move || apply_under_faults(tag, seed, "lost,http502,internal,slow", "0.3"))
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap_or_else(|_| panic!("a seed failed")))
            .collect()
    });
    // The faults did happen: the runs were not simply lucky.
    let injected: u64 = counters
        .iter()
        .flat_map(|c| c["faults"].as_object().cloned().unwrap_or_default())
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum();
    assert!(injected >= 5, "{counters:?}");
}

#[test]
fn lost_answers_of_accepted_submissions_are_adopted_not_resubmitted() {
    let counters: Vec<serde_json::Value> = std::thread::scope(|s| {
        let runs: Vec<_> = [(21u64, "losa"), (22, "losb")]
            .into_iter()
            .map(|(seed, tag)| s.spawn(move || apply_under_faults(tag, seed, "lost", "0.5")))
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap_or_else(|_| panic!("a seed failed")))
            .collect()
    });
    let lost_jobs: u64 = counters
        .iter()
        .map(|c| c["lost_accepted_jobs"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        lost_jobs >= 1,
        "no accepted submission lost its answer: {counters:?}"
    );
}

#[test]
fn when_no_submission_answer_ever_arrives_every_instance_is_adopted_once() {
    let served = Served::start(
        0.5,
        &[
            "--fault-rate",
            "1",
            "--faults",
            "lost",
            "--fault-actions",
            "RollbackCdbDatabaseTables",
        ],
    );
    let ids = ids("nans", 5);
    let work = Work::new(&ids, 2);
    let out = run(work.apply(&served));
    assert_eq!(out.code, Some(0), "{}", out.all());
    served.assert_each_accepted_once(&ids);
    let counters = served.counters();
    assert_eq!(counters["lost_accepted_jobs"], 3, "{counters}");
    let adopted = work
        .records()
        .iter()
        .filter(|r| r["record"] == "adopted")
        .count();
    assert_eq!(adopted, ids.len(), "{}", work.journal_text());
}
