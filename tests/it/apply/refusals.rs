//! What `apply` refuses or stops on: bad credentials (exit 2, fast, nothing submitted), a
//! second concurrent apply (the lock), a changed plan over an unfinished journal, no TTY
//! without `--yes`; a batch with one bad instance, split so that the others go through (both
//! APIs); and API 3.0's preflight refusing an instance outside its rollback window.

use std::time::Duration;

use super::harness::{Served, Work, ids, read_json};
use crate::support::both_apis;

#[test]
fn an_authentication_failure_stops_fast_with_exit_2_and_submits_nothing() {
    let served = Served::start(1.0, &[]);
    let ids = ids("auth", 6);
    let work = Work::new(&ids, 2);
    let out = work
        .apply(&served)
        .env("TENCENTCLOUD_SECRET_KEY", "not-the-right-key-at-all")
        .run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    // Fast means no retry: each of the three calls reached the sandbox at most once.
    let counters = served.counters();
    let sent: u64 = counters["requests_per_action"]
        .as_object()
        .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
        .unwrap_or_default();
    assert!((1..=3).contains(&sent), "{counters}");
    assert!(out.stderr.contains("4100"), "{}", out.stderr);
    assert!(out.stderr.contains("credentials"), "{}", out.stderr);
    assert!(served.accepted().is_empty());
    assert!(!out.all().contains("not-the-right-key-at-all"));
}

#[test]
fn a_second_concurrent_apply_of_the_same_plan_is_refused_with_exit_2() {
    let served = Served::start(3.0, &[]);
    let ids = ids("lock", 2);
    let work = Work::new(&ids, 2);
    let mut first = work.apply(&served).spawn();
    first.wait_for("accepted: job", Duration::from_secs(30));
    let second = work.apply(&served).run();
    assert_eq!(second.code, Some(2), "{}", second.all());
    assert!(
        second.stderr.contains("another `planrun apply`"),
        "{}",
        second.stderr
    );
    let first = first.finish(super::harness::LIMIT);
    assert_eq!(first.code, Some(0), "{}", first.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn a_changed_plan_over_an_unfinished_journal_is_refused_unless_restart() {
    let served = Served::start(1.0, &[]);
    let ids = ids("chng", 4);
    let work = Work::new(&ids, 2);
    let mut first = work.apply(&served).spawn();
    first.wait_for("accepted: job", Duration::from_secs(30));
    let _ = first.kill9();
    // A request the killed apply had already sent is answered before we count.
    served.wait_until("every request answered", Duration::from_secs(10), |c| {
        Served::in_flight(c) == 0
    });
    let accepted = served.accepted();
    work.write_plan(&ids, 2, "{name}_before_42");
    let refused = work.apply(&served).run();
    assert_eq!(refused.code, Some(2), "{}", refused.all());
    assert!(refused.stderr.contains("changed"), "{}", refused.stderr);
    // Refused before the diff and the preflight: nothing to review in a run that cannot start.
    assert!(
        !refused.stdout.contains("planrun will roll back"),
        "{}",
        refused.stdout
    );
    assert!(!refused.stderr.contains("preflight"), "{}", refused.stderr);
    assert_eq!(
        served.accepted(),
        accepted,
        "nothing submitted when refused"
    );
    let restarted = work.apply(&served).arg("--restart").run();
    assert_eq!(restarted.code, Some(0), "{}", restarted.all());
    // The old journal is kept beside the new one, and the run says where.
    let journal = work.journal();
    let name = journal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kept: Vec<String> = std::fs::read_dir(work.state_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{name}.")))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        restarted.stderr.contains("is kept as") && restarted.stderr.contains(&kept[0]),
        "{}",
        restarted.stderr
    );
}

#[test]
fn without_a_tty_and_without_yes_apply_refuses_with_exit_2_and_submits_nothing() {
    let served = Served::start(1.0, &[]);
    let ids = ids("ntty", 2);
    let work = Work::new(&ids, 2);
    // stdin is /dev/null: not a terminal.
    let out = work.apply_unconfirmed(&served).run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert_eq!(
        served.counters()["requests_per_action"],
        serde_json::json!({})
    );
    assert!(!work.journal().exists());
}

both_apis! {
    fn a_batch_with_one_missing_instance_is_split_and_the_others_succeed(api) {
        let ids = ids("badi", 5);
        let served = Served::start_api(api, 0.5, &["--missing", &ids[2]]);
        let work = Work::new(&ids, 5);
        let report = work.dir.path().join("report.json");
        // API 3.0's preflight would refuse the missing instance before any submission; this
        // test is about the split.
        let out = work
            .apply(&served)
            .arg("--no-preflight")
            .arg("--report")
            .arg(&report)
            .run();
        assert_eq!(out.code, Some(1), "API {api}: {}", out.all());
        let report = read_json(&report);
        for inst in report["instances"].as_array().unwrap_or(&Vec::new()) {
            if inst["id"] == ids[2].as_str() {
                assert_eq!(inst["status"], "rejected", "API {api}");
                let error = inst["error"].as_str().unwrap_or_default();
                if api == "v3" {
                    assert!(error.starts_with("InvalidParameter.InstanceNotFound"), "{error}");
                } else {
                    assert!(error.starts_with("11041"), "{error}");
                    assert!(error.contains(&ids[2]), "the API's message: {error}");
                }
            } else {
                assert_eq!(inst["status"], "succeeded", "API {api}: {inst}");
            }
        }
        let mut others = ids.clone();
        others.remove(2);
        served.assert_each_accepted_once(&others);
        assert!(out.stderr.contains("splitting"), "API {api}: {}", out.stderr);
    }
}

#[test]
fn the_v3_preflight_refuses_an_out_of_window_instance_and_submits_nothing() {
    for first in [true, false] {
        out_of_window(first);
    }
}

/// With `--preflight-first` nothing is submitted; overlapping the run (the default), the
/// instance out of its window is held back and the rest of its call goes without it.
fn out_of_window(first: bool) {
    let ids = ids("vwin", 3);
    // The second instance's backups only cover an old week: the plan's time (an hour ago) is
    // outside it.
    let window = format!("{}=2026-01-01 00:00:00..2026-01-08 00:00:00", ids[1]);
    let served = Served::start_api("v3", 0.5, &["--window", &window]);
    let work = Work::new(&ids, 3);
    let apply = work.apply(&served);
    let out = if first {
        apply.arg("--preflight-first").run()
    } else {
        apply.run()
    };
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        out.stderr.contains("planrun::outside_rollback_window"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&ids[1]), "{}", out.stderr);
    let said = if first {
        "nothing was submitted"
    } else {
        "held back (rejected, never submitted)"
    };
    assert!(out.stderr.contains(said), "{}", out.stderr);
    let accepted: Vec<String> = served.accepted().into_keys().collect();
    let expected: Vec<String> = if first {
        Vec::new()
    } else {
        vec![ids[0].clone(), ids[2].clone()]
    };
    assert_eq!(accepted, expected, "{}", served.counters());
}

#[test]
fn a_corrupt_journal_is_refused_with_exit_2_and_restart_sets_it_aside() {
    let served = Served::start(0.3, &[]);
    let ids = ids("crpt", 2);
    let work = Work::new(&ids, 2);
    std::fs::create_dir_all(work.state_dir()).unwrap();
    std::fs::write(work.journal(), "not json\n{\"record\":\"complete\"}\n").unwrap();
    let refused = work.apply(&served).run();
    assert_eq!(refused.code, Some(2), "{}", refused.all());
    assert!(refused.stderr.contains("--restart"), "{}", refused.stderr);
    assert!(served.accepted().is_empty());
    let restarted = work.apply(&served).arg("--restart").run();
    assert_eq!(restarted.code, Some(0), "{}", restarted.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn instances_without_a_region_are_refused_before_anything_is_sent_unless_region_is_given() {
    let served = Served::start(0.3, &[]);
    let ids = ids("nreg", 2);
    let work = Work::new(&ids, 2);
    let text = std::fs::read_to_string(&work.plan).unwrap_or_default();
    std::fs::write(&work.plan, text.replace("region: ap-guangzhou\n", "")).unwrap();
    let refused = work.apply(&served).run();
    assert_eq!(refused.code, Some(2), "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains("no region for cdb-nreg0001, cdb-nreg0002"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        served.counters()["requests_per_action"],
        serde_json::json!({})
    );
    let with_flag = work.apply(&served).args(["--region", "ap-shanghai"]).run();
    assert_eq!(with_flag.code, Some(0), "{}", with_flag.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn missing_credentials_are_a_clear_exit_2_naming_the_variables() {
    let served = Served::start(0.3, &[]);
    let ids = ids("nocr", 1);
    let work = Work::new(&ids, 1);
    let out = work
        .apply(&served)
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("TENCENTCLOUD_SECRET_KEY"),
        "{}",
        out.stderr
    );
    assert_eq!(
        served.counters()["requests_per_action"],
        serde_json::json!({})
    );
}
