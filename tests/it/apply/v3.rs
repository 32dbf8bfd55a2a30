//! The engine's promises over API 3.0, against the sandbox's API 3.0 side: faults with lost
//! answers and no duplicate, kill -9 and resume, a refused batch split, and a preflight that
//! refuses an out-of-window instance before anything is sent.

use std::time::Duration;

use super::harness::{Served, Work, all, ids, read_json, run, spawn, statuses};

#[test]
fn v3_every_instance_succeeds_once_under_faults_with_lost_answers() {
    let mut injected = 0;
    for (seed, tag) in [(31u64, "vfla"), (32, "vflb")] {
        let served = Served::start_api(
            "v3",
            0.5,
            &[
                "--fault-rate",
                "0.3",
                "--faults",
                "lost,http502,internal,slow",
                "--slow-ms",
                "300",
                "--seed",
                &seed.to_string(),
            ],
        );
        let ids = ids(tag, 6);
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
        let counters = served.counters();
        assert!(
            counters["requests_per_action"]["StartBatchRollback"]
                .as_u64()
                .unwrap_or(0)
                >= 1,
            "{counters}"
        );
        injected += counters["faults"].as_object().map_or(0, |f| {
            f.values().map(|n| n.as_u64().unwrap_or(0)).sum::<u64>()
        });
    }
    // The faults did happen: the runs were not simply lucky.
    assert!(injected >= 3, "only {injected} faults were injected");
}

#[test]
fn v3_kill_9_then_rerun_submits_each_instance_once() {
    let served = Served::start_api("v3", 1.5, &[]);
    let ids = ids("vkil", 6);
    let work = Work::new(&ids, 2);
    let mut first = spawn(work.apply(&served));
    first.wait_for("accepted: job", Duration::from_secs(30));
    let killed = first.kill9();
    assert_eq!(killed.code, None, "killed by a signal:\n{}", killed.all());
    let out = run(work.apply(&served));
    assert_eq!(out.code, Some(0), "{}", out.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn v3_a_batch_with_one_missing_instance_is_split_and_the_others_succeed() {
    let ids = ids("vbad", 5);
    let served = Served::start_api("v3", 0.5, &["--missing", &ids[2]]);
    let work = Work::new(&ids, 5);
    let report = work.dir.path().join("report.json");
    let out = run({
        let mut cmd = work.apply(&served);
        // Preflight would refuse the missing instance before any submission; this test is
        // about the split.
        cmd.arg("--no-preflight").arg("--report").arg(&report);
        cmd
    });
    assert_eq!(out.code, Some(1), "{}", out.all());
    let report = read_json(&report);
    for inst in report["instances"].as_array().unwrap_or(&Vec::new()) {
        if inst["id"] == ids[2].as_str() {
            assert_eq!(inst["status"], "rejected");
            let error = inst["error"].as_str().unwrap_or_default();
            assert!(
                error.starts_with("InvalidParameter.InstanceNotFound"),
                "{error}"
            );
        } else {
            assert_eq!(inst["status"], "succeeded", "{inst}");
        }
    }
    let mut others = ids.clone();
    others.remove(2);
    served.assert_each_accepted_once(&others);
    assert!(out.stderr.contains("splitting"), "{}", out.stderr);
}

#[test]
fn v3_preflight_refuses_an_out_of_window_instance_and_submits_nothing() {
    let ids = ids("vwin", 3);
    // The second instance's backups only cover an old week: the plan's time (an hour ago) is
    // outside it.
    let window = format!("{}=2026-01-01 00:00:00..2026-01-08 00:00:00", ids[1]);
    let served = Served::start_api("v3", 0.5, &["--window", &window]);
    let work = Work::new(&ids, 3);
    let out = run(work.apply(&served));
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        out.stderr.contains("planrun::outside_rollback_window"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&ids[1]), "{}", out.stderr);
    assert!(
        out.stderr.contains("nothing was submitted"),
        "{}",
        out.stderr
    );
    assert!(
        served.accepted().is_empty(),
        "a submission was accepted: {}",
        served.counters()
    );
}
