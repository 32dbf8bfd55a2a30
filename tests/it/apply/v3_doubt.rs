//! The binary against a sandbox that answers as Tencent documents API 3.0: submissions in
//! doubt (a lost answer, an `InternalError` after the tasks were created), an empty `Detail`,
//! tasks held in INITIAL, the documented task-running code. The sandbox's counters prove that
//! no instance is ever submitted twice.

use super::harness::{Served, Test, Work, all, ids, read_json, statuses};
use crate::support::both_apis;

/// Applies `n` instances in calls of 2 and checks every one succeeded, submitted once.
fn applies_each_once(served: &Served, tag: &str, n: usize) -> serde_json::Value {
    let ids = ids(tag, n);
    let work = Work::new(&ids, 2);
    let report = work.dir.path().join("report.json");
    let out = work.apply(served).arg("--report").arg(&report).run();
    assert_eq!(
        out.code,
        Some(0),
        "API {}, {tag}:\n{}",
        served.api,
        out.all()
    );
    let report = read_json(&report);
    assert_eq!(statuses(&report), all(&ids, "succeeded"), "{tag}");
    served.assert_each_accepted_once(&ids);
    report
}

fn count(counters: &serde_json::Value, key: &str) -> u64 {
    counters[key].as_u64().unwrap_or(0)
}

/// Lost answers with an empty `Detail`: DescribeTasks shows tasks of exactly these
/// instances started after the attempt, but that is no proof (another plan's call of the same
/// instances would poll the same): those instances end `unknown` (exit 4), never adopted,
/// never resubmitted; the rest succeed.
#[test]
fn lost_answers_with_an_empty_detail_end_unknown_never_resubmitted() {
    let served = Served::start_api(
        "v3",
        0.5,
        &[
            "--empty-detail",
            "--fault-rate",
            "0.6",
            "--faults",
            "lost",
            "--fault-actions",
            "StartBatchRollback",
            "--seed",
            "7",
        ],
    );
    let ids = ids("vedl", 8);
    let work = Work::new(&ids, 2);
    let report = work.dir.path().join("report.json");
    let out = work.apply(&served).arg("--report").arg(&report).run();
    assert_eq!(out.code, Some(4), "{}", out.all());
    let report = read_json(&report);
    let counters = served.counters();
    let lost = count(&counters, "lost_accepted_jobs");
    assert!(lost >= 1, "{counters}");
    let instances = report["instances"].as_array().cloned().unwrap_or_default();
    let unknown: Vec<&serde_json::Value> = instances
        .iter()
        .filter(|i| i["status"] == "unknown")
        .collect();
    assert!(!unknown.is_empty(), "{report}");
    for i in &unknown {
        let error = i["error"].as_str().unwrap_or_default();
        assert!(error.contains("planrun jobs"), "{i}");
        assert!(i["job_id"].is_null(), "nothing adopted: {i}");
    }
    assert!(
        instances
            .iter()
            .all(|i| i["status"] == "unknown" || i["status"] == "succeeded"),
        "{report}"
    );
    served.assert_each_accepted_once(&ids);
}

#[test]
fn an_internal_error_after_the_tasks_were_created_is_in_doubt_not_retried() {
    for (tag, extra, code) in [("vaia", None, 0), ("vaib", Some("--empty-detail"), 4)] {
        let mut flags = vec![
            "--fault-rate",
            "1",
            "--faults",
            "accepted-internal",
            "--fault-actions",
            "StartBatchRollback",
        ];
        flags.extend(extra);
        let served = Served::start_api("v3", 0.5, &flags);
        let ids = ids(tag, 6);
        let work = Work::new(&ids, 2);
        let report = work.dir.path().join("report.json");
        let out = work.apply(&served).arg("--report").arg(&report).run();
        assert_eq!(out.code, Some(code), "{tag}:\n{}", out.all());
        let wanted = if code == 0 { "succeeded" } else { "unknown" };
        assert_eq!(statuses(&read_json(&report)), all(&ids, wanted), "{tag}");
        served.assert_each_accepted_once(&ids);
        let counters = served.counters();
        // Every submission created its tasks and was answered InternalError.
        assert_eq!(count(&counters, "accepted_then_failed"), 3, "{counters}");
        assert_eq!(
            counters["rejections_per_error"]["InternalError"].as_u64(),
            Some(3),
            "{counters}"
        );
    }
}

both_apis! {
    fn tasks_held_in_initial_are_tracked_to_their_end(api) {
        let served = Served::start_api(api, 0.3, &["--hold-initial", "1"]);
        applies_each_once(&served, "vhld", 4);
    }
}

#[test]
fn sandbox_serve_takes_only_a_documented_task_running_code() {
    let home = tempfile::tempdir().unwrap();
    let bad = Test::in_dir(home.path())
        .args(["sandbox", "serve", "--task-running-code", "Nope.Nope"])
        .run();
    assert_eq!(bad.code, Some(2), "{}", bad.all());
    assert!(bad.all().contains("--task-running-code"), "{}", bad.all());
    assert!(
        bad.all().contains("FailedOperation.StatusConflict"),
        "{}",
        bad.all()
    );
}
