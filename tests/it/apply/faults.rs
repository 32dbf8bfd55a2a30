//! Injected faults, lost answers of accepted submissions included, over both APIs: every
//! instance still ends, and none is submitted twice (the sandbox's counters).

use serde_json::Value;

use super::harness::{Served, Work, all, ids, read_json, statuses};
use crate::support::both_apis;

/// The action that submits rollbacks in `api`.
fn submit_action(api: &str) -> &'static str {
    if api == "v3" {
        "StartBatchRollback"
    } else {
        "RollbackCdbDatabaseTables"
    }
}

/// One apply of 7 instances over `api` against a sandbox serving these faults; returns its
/// counters.
fn apply_under_faults(api: &'static str, tag: &str, seed: u64, faults: &str, rate: &str) -> Value {
    let served = Served::start_api(
        api,
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
    // Faults on every action would also hit API 3.0's preflight reads, which refuses to go on
    // when it cannot check (its own tests are in `objects`); what is tested here is the run.
    let out = work
        .apply(&served)
        .args(["--no-preflight", "--report"])
        .arg(&report)
        .run();
    assert_eq!(out.code, Some(0), "API {api}, seed {seed}:\n{}", out.all());
    assert_eq!(
        statuses(&read_json(&report)),
        all(&ids, "succeeded"),
        "API {api}, seed {seed}"
    );
    served.assert_each_accepted_once(&ids);
    served.counters()
}

/// The same for several seeds at once.
fn apply_under_faults_seeds(
    api: &'static str,
    seeds: &[(u64, &'static str)],
    faults: &'static str,
    rate: &'static str,
) -> Vec<Value> {
    std::thread::scope(|s| {
        let runs: Vec<_> = seeds
            .iter()
            .map(|&(seed, tag)| s.spawn(move || apply_under_faults(api, tag, seed, faults, rate)))
            .collect();
        runs.into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| panic!("API {api}: a seed failed"))
            })
            .collect()
    })
}

both_apis! {
    fn every_instance_succeeds_once_under_every_fault_kind_for_several_seeds(api) {
        let seeds = [(11, "flta"), (12, "fltb"), (13, "fltc")];
        let counters = apply_under_faults_seeds(api, &seeds, "lost,http502,internal,slow", "0.3");
        for c in &counters {
            let submitted = c["requests_per_action"][submit_action(api)].as_u64();
            assert!(submitted >= Some(1), "API {api}: {c}");
        }
        // The faults did happen: the runs were not simply lucky.
        let injected: u64 = counters
            .iter()
            .flat_map(|c| c["faults"].as_object().cloned().unwrap_or_default())
            .map(|(_, n)| n.as_u64().unwrap_or(0))
            .sum();
        assert!(injected >= 5, "API {api}: {counters:?}");
    }
}

both_apis! {
    fn lost_answers_of_accepted_submissions_are_adopted_not_resubmitted(api) {
        let counters = apply_under_faults_seeds(api, &[(21, "losa"), (22, "losb")], "lost", "0.5");
        let lost_jobs: u64 = counters
            .iter()
            .map(|c| c["lost_accepted_jobs"].as_u64().unwrap_or(0))
            .sum();
        assert!(
            lost_jobs >= 1,
            "API {api}: no accepted submission lost its answer: {counters:?}"
        );
    }
}

both_apis! {
    fn when_no_submission_answer_ever_arrives_every_instance_is_adopted_once(api) {
        let served = Served::start_api(
            api,
            0.5,
            &[
                "--fault-rate",
                "1",
                "--faults",
                "lost",
                "--fault-actions",
                submit_action(api),
            ],
        );
        let ids = ids("nans", 5);
        let work = Work::new(&ids, 2);
        let out = work.apply(&served).run();
        assert_eq!(out.code, Some(0), "API {api}: {}", out.all());
        served.assert_each_accepted_once(&ids);
        let counters = served.counters();
        assert_eq!(counters["lost_accepted_jobs"], 3, "API {api}: {counters}");
        let adopted = work
            .records()
            .iter()
            .filter(|r| r["record"] == "adopted")
            .count();
        assert_eq!(adopted, ids.len(), "API {api}: {}", work.journal_text());
    }
}
