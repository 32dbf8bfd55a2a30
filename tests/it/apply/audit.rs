//! The rule "evidence, not inference" held against answers the official SDK allows and an
//! audit (2026-12-05) found planrun misread: each test pins the behaviour that replaced a
//! verdict without proof.

use super::harness::{Served, Work, ids, read_json};

/// While reconciling a submission in doubt, DescribeRollbackTaskDetail answers
/// `ResourceNotFound` (errorcodes.py: "资源不存在", *a resource* does not exist; not
/// documented for that action at all). planrun read it as "the instance does not exist"
/// (`Error::is_instance_missing`), concluded nothing had started and resubmitted: the
/// instance, whose first task was created, was rolled back twice. It is no proof of
/// anything: the submission stays in doubt and is never sent again.
#[test]
fn a_resource_not_found_while_reconciling_is_no_proof_that_nothing_started() {
    let served = Served::start_api(
        "v3",
        1.0,
        &[
            "--inject",
            "StartBatchRollback=InternalError.UnknownErrorx1",
            "--inject",
            "DescribeRollbackTaskDetail=ResourceNotFoundx100000",
        ],
    );
    let ids = ids("aurn", 1);
    let work = Work::new(&ids, 1);
    let path = work.dir.path().join("report.json");
    let out = work
        .apply(&served)
        .args(["--timeout", "40s", "--report"])
        .arg(&path)
        .run();
    let report = read_json(&path);
    let counters = served.counters();
    assert_eq!(
        served.accepted().get(&ids[0]),
        Some(&1),
        "the instance was submitted again after an answer that proves nothing:\n{report}\n{counters}\n{}",
        out.all()
    );
}

/// Tracking an accepted submission, DescribeRollbackTaskDetail answers `ResourceNotFound`
/// ("a resource does not exist") and DescribeTasks cannot be read. Nothing says the task
/// failed (in the sandbox it succeeds and its tables appear); planrun ended the instance
/// `failed` ("the instance is gone") at its first poll. It is `unknown` after the bound, as
/// with `InvalidParameter.ResourceNotExists`
/// (`evidence::a_task_that_cannot_be_seen_ends_unknown_with_the_last_error_shown`).
#[test]
fn a_resource_not_found_while_tracking_is_no_proof_of_failure() {
    let served = Served::start_api(
        "v3",
        1.0,
        &[
            "--inject",
            "DescribeRollbackTaskDetail=ResourceNotFoundx100000",
            "--inject",
            "DescribeTasks=InternalError.DatabaseAccessErrorx100000",
        ],
    );
    let ids = ids("aurf", 1);
    let work = Work::new(&ids, 1);
    let path = work.dir.path().join("report.json");
    let out = work
        .apply_paced(&served, "20ms", "300ms")
        .args(["--yes", "--report"])
        .arg(&path)
        .run();
    let report = read_json(&path);
    let instance = &report["instances"][0];
    assert_ne!(
        instance["status"],
        "failed",
        "a task nobody saw fail is reported failed:\n{report}\n{}",
        out.all()
    );
}
