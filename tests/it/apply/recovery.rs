//! Issue 23, defect 2 (and defect 1's "never sent" variant) at the level users meet them:
//! recovery never takes an earlier plan's task for this one's. After a lost answer and a
//! Ctrl-C, a restart with a corrected `rollback_time`; a `kill -9` during a slow submission of
//! the corrected plan; a plan whose only submission never left: each ends with its own task,
//! whose echo is the plan's rollback time, and the record names that time.

use std::time::Duration;

use planrun::engine::journal::Journal;
use planrun::engine::journal::script::Script;
use serde_json::Value;

use super::harness::{PLAN_NAME, Served, Work, hours_ago, ids, plan_text_at, read_json, statuses};
use crate::support::LIMIT;

/// The plan of `work` rolling `ids` back to `time`.
fn write_at(work: &Work, ids: &[String], rename: &str, time: &str) {
    let text = plan_text_at(Some(PLAN_NAME), ids, 1, rename, time);
    std::fs::write(&work.plan, text).unwrap();
}

/// The instance's job in a report, and the rollback times its task echoes in the sandbox.
fn job_and_echo(served: &Served, report: &Value, instance: &str) -> (String, Vec<String>) {
    let job = report["instances"][0]["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no job in {report}"))
        .to_owned();
    let echo = served.echoed_times(instance, &job);
    (job, echo)
}

/// The HTML record of the plan's last apply.
fn record(work: &Work) -> String {
    let out = work
        .planrun()
        .arg("report")
        .arg(&work.plan)
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--format", "html"])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    out.stdout
}

/// The record names the rollback time as the plan writes it (`YYYY-MM-DD HH:MM:SS`).
fn assert_record_names(work: &Work, right: &str, wrong: &str) {
    let text = record(work);
    assert!(text.contains(right), "the record names {right}: {text}");
    assert!(
        !text.contains(wrong),
        "the record never names {wrong}: {text}"
    );
}

#[test]
fn a_lost_answer_interrupted_then_a_restart_with_a_corrected_time_never_adopts_the_earlier_task() {
    // The first submission creates its task, then answers InternalError: in doubt.
    let served = Served::start_api(
        "v3",
        2.0,
        &["--inject", "StartBatchRollback=InternalErrorx1"],
    );
    let ids = ids("rcla", 1);
    let work = Work::new(&ids, 1);
    let (wrong, right) = (hours_ago(3), hours_ago(1));
    write_at(&work, &ids, "{name}_bak", &wrong);
    // Looking for its task waits 20 s: Ctrl-C comes first.
    let mut first = work
        .apply_paced(&served, "100ms", "20s")
        .arg("--yes")
        .spawn();
    first.wait_for("outcome unknown", LIMIT);
    first.interrupt();
    let stopped = first.finish(LIMIT);
    assert_eq!(stopped.code, Some(3), "{}", stopped.all());

    // The operator sees the wrong time, corrects it, starts over.
    write_at(&work, &ids, "{name}_bak", &right);
    let path = work.dir.path().join("report.json");
    let out = work
        .apply(&served)
        .args(["--restart", "--report"])
        .arg(&path)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let report = read_json(&path);
    assert_eq!(statuses(&report)[&ids[0]], "succeeded", "{report}");
    let (job, echo) = job_and_echo(&served, &report, &ids[0]);
    assert_eq!(
        echo,
        vec![right.clone()],
        "job {job} is the corrected rollback"
    );
    // Two rollbacks of the instance: the lost one, and the corrected one, once.
    assert_eq!(served.accepted().get(&ids[0]), Some(&2));
    assert_record_names(&work, &right, &wrong);
}

#[test]
fn kill_9_during_a_slow_submission_of_a_corrected_plan_never_adopts_the_earlier_task() {
    // Every submission is answered 2 s late.
    let served = Served::start_api(
        "v3",
        1.0,
        &[
            "--faults",
            "slow",
            "--fault-rate",
            "1",
            "--fault-actions",
            "StartBatchRollback",
            "--slow-ms",
            "2000",
        ],
    );
    let ids = ids("rckl", 1);
    let work = Work::new(&ids, 1);
    let (wrong, right) = (hours_ago(3), hours_ago(1));
    write_at(&work, &ids, "{name}_bak", &wrong);
    let earlier = work.apply(&served).arg("--no-preflight").run();
    assert_eq!(earlier.code, Some(0), "{}", earlier.all());

    // The corrected plan (its targets taken by the earlier rollback: no preflight), killed
    // while its submission is in flight.
    write_at(&work, &ids, "{name}_bak", &right);
    let second = work.apply(&served).arg("--no-preflight").spawn();
    served.wait_until("the corrected submission in flight", LIMIT, |c| {
        c["requests_per_action"]["StartBatchRollback"].as_u64() == Some(2)
            && Served::in_flight(c) > 0
    });
    let _ = second.kill9();
    // Whatever the sandbox made of the request its client left, it is done with it.
    served.wait_until("the killed request answered", LIMIT, |c| {
        Served::in_flight(c) == 0
    });

    let path = work.dir.path().join("report.json");
    let out = work
        .apply(&served)
        .args(["--no-preflight", "--report"])
        .arg(&path)
        .timeout(Duration::from_secs(120))
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    // The killed submission was reconciled, not resent blind: the earlier plan's task (ended
    // moments ago, same instance, same names) was polled and not taken.
    assert!(
        out.stderr.contains("no job found") || out.stderr.contains("found its job"),
        "{}",
        out.stderr
    );
    let report = read_json(&path);
    let (job, echo) = job_and_echo(&served, &report, &ids[0]);
    assert_eq!(
        echo,
        vec![right.clone()],
        "job {job} is the corrected rollback"
    );
    assert_eq!(
        served.accepted().get(&ids[0]),
        Some(&2),
        "the earlier rollback and the corrected one, once: {}",
        served.counters()
    );
    assert_record_names(&work, &right, &wrong);
}

/// Defect 1's other form: plan B's journal holds an intent whose request never left (a crash
/// between the two), on an instance whose task of plan A ended moments before. B was
/// `succeeded` in 0 s on A's task; it is sent, and succeeds with its own.
#[test]
fn a_plan_never_sent_is_not_succeeded_on_another_plans_ended_task() {
    let served = Served::start_api("v3", 0.5, &[]);
    let ids = ids("rcns", 1);
    let a = Work::new(&ids, 1);
    let a_report = a.dir.path().join("a.json");
    let out = a.apply(&served).arg("--report").arg(&a_report).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let a_job = read_json(&a_report)["instances"][0]["job_id"].clone();

    let b = Work::new(&ids, 1);
    let b_time = hours_ago(2);
    write_at(&b, &ids, "{name}_b", &b_time);
    // B's hash as planrun computes it: from its saved plan.
    let saved = b.dir.path().join("b.planrun");
    let made = b
        .planrun()
        .arg("plan")
        .arg(&b.plan)
        .arg("--out")
        .arg(&saved)
        .run();
    assert_eq!(made.code, Some(0), "{}", made.all());
    let body = std::fs::read_to_string(&saved).unwrap_or_default();
    let doc: Value = serde_json::from_str(body.lines().next().unwrap_or_default()).unwrap();
    let journal = Script::new(chrono::Utc::now())
        .start(PLAN_NAME, doc["plan_hash"].as_str().unwrap_or_default())
        .intent(1, &[ids[0].as_str()])
        .records();
    let (mut file, _) = Journal::open(&b.journal()).unwrap();
    file.append_all(&journal).unwrap();

    let path = b.dir.path().join("b.json");
    let out = b.apply(&served).arg("--report").arg(&path).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(!out.stderr.contains("adopted"), "{}", out.stderr);
    let report = read_json(&path);
    assert_eq!(statuses(&report)[&ids[0]], "succeeded", "{report}");
    let (job, echo) = job_and_echo(&served, &report, &ids[0]);
    assert_ne!(Value::String(job.clone()), a_job, "B's own task, not A's");
    assert_eq!(echo, vec![b_time], "job {job} is B's rollback");
    assert_eq!(served.accepted().get(&ids[0]), Some(&2), "A's and B's");
}
