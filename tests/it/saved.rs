//! Saved plans: `plan PLAN --out FILE` writes what is reviewed, `apply FILE` sends exactly
//! that (even after the YAML changed, and says so), and refuses a file that was edited,
//! truncated, made by another planrun or made before the journal moved on — submitting
//! nothing. `show FILE` renders it like `plan`; `report FILE` finds its plan's journal.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::apply::harness::{self, Output, SECRET_ID, SECRET_KEY, Served, Work};
use crate::prepared::{calls_in, received, sorted};
use crate::support::both_apis;

fn saved_path(work: &Work) -> PathBuf {
    work.dir.path().join("drill.planrun")
}

/// `plan PLAN --out FILE` for `api`, with the state directory apply will use.
fn save(work: &Work, api: &str) -> PathBuf {
    let out = saved_path(work);
    let done = work
        .planrun()
        .arg("plan")
        .arg(&work.plan)
        .arg("--out")
        .arg(&out)
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--api", api])
        .run();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("Saved the plan to"));
    out
}

fn apply(work: &Work, saved: &Path, served: &Served) -> Output {
    work.planrun()
        .arg("apply")
        .arg(saved)
        .args(["--yes", "--no-preflight", "--endpoint", &served.endpoint])
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--poll-interval", "100ms", "--settle", "300ms"])
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .run()
}

fn show_json(work: &Work, saved: &Path) -> Value {
    let done = work
        .planrun()
        .arg("show")
        .arg(saved)
        .args(["--show-requests", "--format", "json"])
        .run();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    serde_json::from_str(&done.stdout).unwrap()
}

/// Rewrites the saved plan's JSON line with `edit` and a digest that matches again.
fn reseal(saved: &Path, edit: impl Fn(&str) -> String) {
    let all = std::fs::read_to_string(saved).unwrap();
    let body = edit(all.lines().next().unwrap_or_default());
    let digest = hex::encode(Sha256::digest(body.as_bytes()));
    std::fs::write(saved, format!("{body}\nsha256 {digest}\n")).unwrap();
}

both_apis! {
    fn a_saved_plan_is_applied_exactly_even_after_its_yaml_changed(api) {
        let ids = harness::ids("svpl", 3);
        let work = Work::new(&ids, 2);
        let saved = save(&work, api);
        let approved = calls_in(&show_json(&work, &saved));
        // After the review, someone edits the YAML: the saved plan is what is applied.
        work.write_plan(&harness::ids("svpx", 5), 1, "{name}_new");
        let served = Served::start_api(api, 0.2, &[]);
        let out = apply(&work, &saved, &served);
        assert_eq!(out.code, Some(0), "API {api}: {}", out.all());
        assert!(out.stderr.contains("has changed since"), "API {api}: {}", out.stderr);
        assert_eq!(sorted(received(&served)), sorted(approved), "API {api}");
        served.assert_each_accepted_once(&ids);
    }
}

#[test]
fn an_edited_or_truncated_saved_plan_submits_nothing_and_exits_2() {
    let ids = harness::ids("svtm", 2);
    let work = Work::new(&ids, 10);
    let saved = save(&work, "v3");
    let good = std::fs::read(&saved).unwrap();
    let served = Served::start_api("v3", 0.2, &[]);
    let edited = String::from_utf8_lossy(&good)
        .replacen("payments_bak", "payments_bax", 1)
        .into_bytes();
    for (what, bytes) in [
        ("edited", edited),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("without its last byte", good[..good.len() - 1].to_vec()),
    ] {
        std::fs::write(&saved, bytes).unwrap();
        let out = apply(&work, &saved, &served);
        assert_eq!(out.code, Some(2), "{what}: {}", out.all());
        assert!(
            out.stderr.contains("nothing was submitted"),
            "{what}: {}",
            out.stderr
        );
    }
    assert!(served.accepted().is_empty(), "{}", served.counters());
    assert!(!work.journal().exists());
}

#[test]
fn a_saved_plan_of_another_planrun_version_is_refused() {
    let work = Work::new(&harness::ids("svvr", 1), 10);
    let saved = save(&work, "v3");
    let ours = format!("\"planrun\":\"{}\"", env!("CARGO_PKG_VERSION"));
    reseal(&saved, |body| {
        body.replacen(&ours, "\"planrun\":\"0.0.1\"", 1)
    });
    let served = Served::start_api("v3", 0.2, &[]);
    let out = apply(&work, &saved, &served);
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(
        out.stderr.contains("made by planrun 0.0.1"),
        "{}",
        out.stderr
    );
    assert!(served.accepted().is_empty());
}

#[test]
fn a_saved_plan_whose_journal_moved_on_is_refused() {
    let ids = harness::ids("svjr", 2);
    let work = Work::new(&ids, 10);
    let saved = save(&work, "v3");
    let served = Served::start_api("v3", 0.2, &[]);
    let first = apply(&work, &saved, &served);
    assert_eq!(first.code, Some(0), "{}", first.all());
    // The same approval again: the journal it was made over is not the journal now.
    let again = apply(&work, &saved, &served);
    assert_eq!(again.code, Some(2), "{}", again.all());
    assert!(again.stderr.contains("has moved on"), "{}", again.stderr);
    served.assert_each_accepted_once(&ids);
}

#[test]
fn show_renders_a_saved_plan_as_plan_renders_its_plan() {
    let work = Work::new(&harness::ids("svsh", 3), 2);
    let saved = save(&work, "v3");
    let planned = work
        .planrun()
        .arg("plan")
        .arg(&work.plan)
        .arg("--show-requests")
        .run();
    let shown = work
        .planrun()
        .arg("show")
        .arg(&saved)
        .arg("--show-requests")
        .run();
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let (header, rest) = shown.stdout.split_once('\n').unwrap_or_default();
    assert!(header.starts_with("Saved plan "), "{header}");
    assert!(header.contains("for API 3"), "{header}");
    assert_eq!(rest, planned.stdout);
}

#[test]
fn report_of_a_saved_plan_reads_its_plans_journal() {
    let ids = harness::ids("svrp", 2);
    let work = Work::new(&ids, 10);
    let saved = save(&work, "v3");
    let served = Served::start_api("v3", 0.2, &[]);
    assert_eq!(apply(&work, &saved, &served).code, Some(0));
    let done = work
        .planrun()
        .arg("report")
        .arg(&saved)
        .args(["--format", "json", "--state-dir"])
        .arg(work.state_dir())
        .run();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(harness::statuses(&report), harness::all(&ids, "succeeded"));
}

#[test]
fn a_saved_plan_holds_no_secret() {
    let work = Work::new(&harness::ids("svsc", 1), 10);
    let done = work
        .planrun()
        .arg("plan")
        .arg(&work.plan)
        .arg("--out")
        .arg(saved_path(&work))
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .run();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let all = std::fs::read_to_string(saved_path(&work)).unwrap_or_default();
    assert!(!all.contains(SECRET_KEY) && !all.contains(SECRET_ID));
}
