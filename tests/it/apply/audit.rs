//! Audit of the rule "succeeded means verified / evidence, not inference" against answers
//! the official SDK allows. Each test here FAILS on the code it was written against: it
//! demonstrates a defect, it does not describe wanted behaviour already in place.

use super::harness::{Served, Work, ids, read_json};

/// While reconciling a submission in doubt, DescribeRollbackTaskDetail answers
/// `ResourceNotFound` (errorcodes.py: "资源不存在", *a resource* does not exist; not
/// documented for that action at all). planrun reads it as "the instance does not exist"
/// (`Error::is_instance_missing`), turns it into `Finding::Nothing` and resubmits: the
/// instance, which exists and whose first task was created, is rolled back twice.
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
/// failed (in the sandbox it succeeds and its tables appear), yet planrun ends the instance
/// `failed` ("the instance is gone") at its first poll: a verdict without proof. It should be
/// `unknown` after the bound, as with `InvalidParameter.ResourceNotExists`
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
