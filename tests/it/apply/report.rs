//! `--report FILE` as `docs/contract.md` §6, `status` (human and `--format json`) and its exit
//! codes, `--timeout`, and no secret anywhere in what planrun writes or prints.

use std::collections::BTreeSet;

use serde_json::Value;

use super::harness::{Served, Test, Work, all, ids, read_json, statuses};

fn rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_report_and_status_describe_the_same_run_as_design_section_6() {
    let served = Served::start(0.5, &["--failing", "cdb-rept0002"]);
    let ids = ids("rept", 3);
    let work = Work::new(&ids, 2);
    let path = work.dir.path().join("report.json");
    let out = work.apply(&served).arg("--report").arg(&path).run();
    assert_eq!(out.code, Some(1), "a failed rollback: {}", out.all());
    let report = read_json(&path);
    assert!(
        keys(&report).is_superset(&set(&[
            "plan",
            "started_at",
            "finished_at",
            "totals",
            "instances"
        ])),
        "{report}"
    );
    assert_eq!(report["plan"], "drill");
    assert!(rfc3339(&report["started_at"]) && rfc3339(&report["finished_at"]));
    let totals = &report["totals"];
    for (key, n) in [
        ("succeeded", 2),
        ("failed", 1),
        ("rejected", 0),
        ("timed_out", 0),
        ("pending", 0),
    ] {
        assert_eq!(totals[key], n, "{key}: {totals}");
    }
    let instances = report["instances"].as_array().cloned().unwrap_or_default();
    assert_eq!(instances.len(), 3);
    for inst in &instances {
        assert_eq!(
            keys(inst),
            set(&[
                "id",
                "job_id",
                "status",
                "submitted_at",
                "finished_at",
                "progress",
                "error"
            ])
        );
        assert!(
            inst["job_id"].as_str().is_some_and(|j| !j.is_empty()),
            "{inst}"
        );
        assert!(
            rfc3339(&inst["submitted_at"]) && rfc3339(&inst["finished_at"]),
            "{inst}"
        );
        if inst["id"] == "cdb-rept0002" {
            assert_eq!(inst["status"], "failed");
            assert!(
                inst["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{inst}"
            );
        } else {
            assert_eq!(inst["status"], "succeeded");
            assert_eq!(inst["progress"], 100);
            assert_eq!(inst["error"], Value::Null);
        }
    }

    let human = work.status(&served).run();
    assert_eq!(
        human.code,
        Some(1),
        "status with a failure: {}",
        human.all()
    );
    for id in &ids {
        assert!(human.stdout.contains(id.as_str()), "{}", human.stdout);
    }
    let json = work.status(&served).args(["--format", "json"]).run();
    assert_eq!(json.code, Some(1), "{}", json.all());
    let shown: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("status json: {e}\n{}", json.stdout));
    assert_eq!(statuses(&shown), statuses(&report));
    assert_eq!(shown["totals"], report["totals"]);
    let jobs = |r: &Value| -> Vec<Value> {
        r["instances"]
            .as_array()
            .map(|a| a.iter().map(|i| i["job_id"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(jobs(&shown), jobs(&report));
}

#[test]
fn status_exits_0_when_every_instance_succeeded() {
    let served = Served::start(0.3, &[]);
    let ids = ids("stok", 2);
    let work = Work::new(&ids, 2);
    let out = work.apply(&served).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let status = work.status(&served).run();
    assert_eq!(status.code, Some(0), "{}", status.all());
    assert!(status.stdout.contains("2 succeeded"), "{}", status.stdout);
    // Applying a completed plan again submits nothing (and still writes the report).
    let path = work.dir.path().join("again.json");
    let again = work.apply(&served).arg("--report").arg(&path).run();
    assert_eq!(statuses(&read_json(&path)), all(&ids, "succeeded"));
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(
        again.stdout.contains("already applied completely"),
        "{}",
        again.stdout
    );
    // Said first: no diff to review and no preflight for a run that will do nothing.
    assert!(
        !again.stdout.contains("planrun will roll back"),
        "{}",
        again.stdout
    );
    assert!(!again.stderr.contains("preflight"), "{}", again.stderr);
    served.assert_each_accepted_once(&ids);
}

#[test]
fn timeout_marks_the_rest_timed_out_and_a_later_run_finishes_without_duplicates() {
    let served = Served::start(6.0, &[]);
    let ids = ids("tout", 4);
    let work = Work::new(&ids, 2);
    let path = work.dir.path().join("report.json");
    let out = work
        .apply(&served)
        .args(["--timeout", "1s"])
        .arg("--report")
        .arg(&path)
        .run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(out.stdout.contains("--timeout reached"), "{}", out.stdout);
    let report = read_json(&path);
    assert_eq!(statuses(&report), all(&ids, "timed_out"));
    assert_eq!(report["totals"]["timed_out"], 4);
    assert_eq!(report["finished_at"], Value::Null, "the run did not finish");
    // Tasks of 4.5-7.5 s are still running: status says unfinished.
    let status = work.status(&served).run();
    assert_eq!(status.code, Some(3), "{}", status.all());
    // With a wrong key it says it could not refresh, and still shows the journal.
    let stale = work
        .status(&served)
        .env("TENCENTCLOUD_SECRET_KEY", "wrong-key")
        .run();
    assert!(stale.stderr.contains("cannot refresh"), "{}", stale.all());
    assert!(stale.stdout.contains(ids[0].as_str()), "{}", stale.all());
    assert_eq!(stale.code, Some(3), "{}", stale.all());
    let again = work.apply(&served).arg("--report").arg(&path).run();
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert_eq!(statuses(&read_json(&path)), all(&ids, "succeeded"));
    served.assert_each_accepted_once(&ids);
}

#[test]
fn no_secret_or_token_appears_in_the_journal_the_report_or_the_output() {
    const TOKEN: &str = "temporaryTokenValue-5e6f7a8b9c0d";
    let served = Served::start(
        0.3,
        &[
            "--failing",
            "cdb-scrt0001",
            "--missing",
            "cdb-scrt0002",
            "--fault-rate",
            "0.3",
            "--faults",
            "lost,http502,internal",
            "--seed",
            "3",
        ],
    );
    let ids = ids("scrt", 4);
    let work = Work::new(&ids, 4);
    let path = work.dir.path().join("report.json");
    // Faults on 30% of the requests: refusals worth another try wait for the engine's
    // backoff (2 s doubling, with jitter, up to a minute), so a run may take a minute or two.
    let out = work
        .apply(&served)
        .env("TENCENTCLOUD_SECURITY_TOKEN", TOKEN)
        .arg("--report")
        .arg(&path)
        .timeout(std::time::Duration::from_secs(180))
        .run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let status = work
        .status(&served)
        .env("TENCENTCLOUD_SECURITY_TOKEN", TOKEN)
        .run();
    let bad_key = work
        .apply(&served)
        .env("TENCENTCLOUD_SECRET_KEY", "wrongSecretKeyValue-1a2b3c")
        .arg("--restart")
        .run();
    assert_eq!(bad_key.code, Some(2), "{}", bad_key.all());
    let written = [
        std::fs::read_to_string(&path).unwrap_or_default(),
        work.journal_text(),
        out.all(),
        status.all(),
        bad_key.all(),
    ]
    .join("\n");
    assert!(written.contains("cdb-scrt0003"), "the texts were read");
    for secret in [
        super::harness::SECRET_KEY,
        TOKEN,
        "wrongSecretKeyValue-1a2b3c",
    ] {
        assert!(!written.contains(secret), "{secret} leaked:\n{written}");
    }
    // Old journals set aside by --restart too.
    for entry in std::fs::read_dir(work.state_dir())
        .unwrap()
        .filter_map(Result::ok)
    {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert!(!text.contains(super::harness::SECRET_KEY) && !text.contains(TOKEN));
    }
}

#[test]
fn polling_adapts_to_progress_instead_of_a_fixed_beat() {
    let served = Served::start(3.0, &[]);
    let ids = ids("poll", 6);
    let work = Work::new(&ids, 2);
    let out = work.apply(&served).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let polls = served.counters()["requests_per_action"]["GetCdbRollbackJob"]
        .as_u64()
        .unwrap_or(0);
    // Tasks of 2.25-3.75 s polled on a 100 ms beat would cost about 30 polls each; the
    // estimate from progress needs a handful.
    assert!(
        polls >= ids.len() as u64 && polls <= 8 * ids.len() as u64,
        "{polls} polls"
    );
}

#[test]
fn the_sandbox_demo_applies_and_status_sandbox_shows_its_journal() {
    let served = Served::start(0.3, &[]);
    let ids = ids("demo", 2);
    let work = Work::new(&ids, 2);
    let out = work
        .apply(&served)
        .arg("--sandbox")
        .env_remove("TENCENTCLOUD_SECRET_ID")
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .env_remove("PLANRUN_ENDPOINT")
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(
        served.accepted().is_empty(),
        "the in-process emulator was used"
    );
    let hint = work
        .status(&served)
        .env_remove("TENCENTCLOUD_SECRET_KEY")
        .run();
    assert_eq!(hint.code, Some(3), "{}", hint.all());
    assert!(hint.stderr.contains("--sandbox"), "{}", hint.stderr);
    let shown = work
        .status(&served)
        .args(["--sandbox", "--format", "json"])
        .run();
    assert_eq!(shown.code, Some(0), "{}", shown.all());
    let report: Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("{e}\n{}", shown.stdout));
    assert_eq!(statuses(&report), all(&ids, "succeeded"));
}

#[test]
fn the_sandbox_demo_runs_the_instances_on_the_plans_clock() {
    // Line Islands time: a recent rollback time there is hours ahead of Beijing's clock.
    let kiritimati = chrono::FixedOffset::east_opt(14 * 3600).unwrap_or_else(|| panic!("tz"));
    let time = (chrono::Utc::now() - chrono::Duration::hours(1))
        .with_timezone(&kiritimati)
        .format(planrun::contract::TIME_FORMAT);
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("east.yaml");
    std::fs::write(
        &plan,
        format!(
            "version: 1\nrollback_time: \"{time}\"\ntimezone: \"+14:00\"\nstrategy: table\n\
             instances:\n  - id: cdb-east0001\n    tables:\n      crm:\n        contacts: contacts_bak\n"
        ),
    )
    .unwrap();
    let out = Test::in_dir(dir.path())
        .real_clock()
        .args(["apply", "--yes", "--sandbox", "--poll-interval", "100ms"])
        .arg(&plan)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stdout.contains("1 succeeded"), "{}", out.stdout);
}

/// `planrun cancel` while `apply` tracks: the apply's summary, its report and `status` all say
/// `cancelled`, and all exit 0 (a deliberate stop is not a failure).
#[test]
fn a_cancel_during_apply_is_cancelled_in_the_summary_the_report_and_status() {
    let served = Served::start_api("v3", 30.0, &[]);
    let ids = ids("cncl", 2);
    let work = Work::new(&ids, 2);
    let path = work.dir.path().join("report.json");
    let mut apply = work.apply(&served).arg("--report").arg(&path).spawn();
    apply.wait_for("accepted: job", std::time::Duration::from_secs(30));
    let cancel = work.cancel(&served).run();
    assert_eq!(cancel.code, Some(0), "{}", cancel.all());
    let out = apply.finish(super::harness::LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stdout.contains("2 cancelled"), "{}", out.stdout);
    assert!(!out.stdout.contains(" failed "), "{}", out.stdout);
    assert_eq!(statuses(&read_json(&path)), all(&ids, "cancelled"));
    let status = work.status(&served).arg("--offline").run();
    assert_eq!(status.code, Some(0), "{}", status.all());
    assert!(status.stdout.contains("2 cancelled"), "{}", status.stdout);
}

/// With API 2.0 there is no way to stop a rollback: `cancel` says so at once, without polling
/// at the journal (it never claims "no running rollback").
#[test]
fn cancel_with_api_v2_says_at_once_that_it_cannot() {
    let served = Served::start(1.0, &[]);
    let work = Work::new(&ids("cnv2", 1), 1);
    let out = work.cancel(&served).run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("API 2.0 cannot cancel a rollback"),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains("No running rollback"), "{}", out.all());
}
