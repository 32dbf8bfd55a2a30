//! Issue 23, defect 6: a journal belongs to one plan file (or one stdin text), never to
//! `name:` alone. Two files of one name, names that make one file name (`x/y`, `x_y`), two
//! plans piped in, a saved plan copied elsewhere: each keeps its own journal, `status` and
//! `report` show its own run, and nothing is applied twice.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::harness::{Served, Test, against, all, ids, plan_text, statuses};

/// `planrun` in `dir` with the sandbox's credentials and endpoint, on the real clock.
fn planrun(dir: &Path, served: &Served) -> Test {
    against(Test::in_dir(dir).real_clock(), served)
}

const FAST: [&str; 4] = ["--poll-interval", "100ms", "--settle", "300ms"];

fn apply(dir: &Path, served: &Served, plan: &str, extra: &[&str]) -> super::harness::Output {
    planrun(dir, served)
        .args(["apply", plan, "--yes"])
        .args(FAST)
        .args(extra)
        .run()
}

fn status_json(dir: &Path, served: &Served, plan: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let out = planrun(dir, served)
        .args(["status", plan, "--format", "json"])
        .args(extra)
        .run();
    let report = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out.code, report)
}

/// `again` (one of the plans applied again) found its run complete, and each instance of
/// both plans was submitted once.
fn each_applied_once(again: &super::harness::Output, served: &Served, plans: [&[String]; 2]) {
    assert!(
        again.stdout.contains("already applied completely"),
        "{}",
        again.all()
    );
    served.assert_each_accepted_once(&plans.concat());
}

/// Files in `dir` whose name has `.journal.` in it: journals set aside.
fn set_aside(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".journal."))
                .collect()
        })
        .unwrap_or_default()
}

/// Plans `a.yaml` (named `name_a`) and `b.yaml` (named `name_b`) in one directory (`tag`: 3
/// letters), other
/// instances and targets, both applied; each is then seen as its own run. `state`: a shared
/// `--state-dir`, else `.planrun/` beside both.
fn two_plans_keep_their_own_journals(tag: &str, name_a: &str, name_b: &str, state: bool) {
    let served = Served::start_api("v3", 0.3, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (ids_a, ids_b) = (ids(&format!("{tag}a"), 2), ids(&format!("{tag}b"), 2));
    let write = |file: &str, name: &str, ids: &[String], rename: &str| {
        let text = plan_text(Some(name), ids, 2, rename);
        std::fs::write(dir.path().join(file), text).unwrap();
    };
    write("a.yaml", name_a, &ids_a, "{name}_a");
    write("b.yaml", name_b, &ids_b, "{name}_b");
    let state_dir = dir.path().join("state");
    let flags: Vec<&str> = if state {
        vec!["--state-dir", state_dir.to_str().unwrap_or_default()]
    } else {
        vec![]
    };
    for plan in ["a.yaml", "b.yaml"] {
        let out = apply(dir.path(), &served, plan, &flags);
        assert_eq!(out.code, Some(0), "{plan}: {}", out.all());
    }
    for (plan, ids) in [("a.yaml", &ids_a), ("b.yaml", &ids_b)] {
        let (code, report) = status_json(dir.path(), &served, plan, &flags);
        assert_eq!(code, Some(0), "status {plan}: {report}");
        assert_eq!(statuses(&report), all(ids, "succeeded"), "status {plan}");
        let mut args = vec!["report", plan, "--format", "json"];
        args.extend(&flags);
        let out = planrun(dir.path(), &served).args(&args).run();
        assert_eq!(out.code, Some(0), "report {plan}: {}", out.all());
        let record: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(statuses(&record), all(ids, "succeeded"), "report {plan}");
    }
    // A's run is complete in its own journal: applying A again submits nothing.
    let again = apply(dir.path(), &served, "a.yaml", &flags);
    assert_eq!(again.code, Some(0), "{}", again.all());
    each_applied_once(&again, &served, [&ids_a, &ids_b]);
    let journals = if state {
        state_dir
    } else {
        dir.path().join(".planrun")
    };
    assert_eq!(
        set_aside(&journals),
        Vec::<String>::new(),
        "nothing set aside"
    );
}

#[test]
fn two_plan_files_with_the_same_name_keep_their_own_journals() {
    two_plans_keep_their_own_journals("jsn", "incident-7", "incident-7", false);
}

#[test]
fn plans_named_x_slash_y_and_x_underscore_y_keep_their_own_journals() {
    two_plans_keep_their_own_journals("jsx", "x/y", "x_y", true);
}

#[test]
fn two_plans_on_stdin_keep_their_own_journals() {
    let served = Served::start_api("v3", 0.3, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (ids_a, ids_b) = (ids("jsia", 2), ids("jsib", 2));
    // No `name:`: both are named `stdin`.
    let text_a = plan_text(None, &ids_a, 2, "{name}_a");
    let text_b = plan_text(None, &ids_b, 2, "{name}_b");
    for text in [&text_a, &text_b] {
        let out = planrun(dir.path(), &served)
            .args(["apply", "-", "--yes"])
            .args(FAST)
            .stdin(text.as_bytes())
            .run();
        assert_eq!(out.code, Some(0), "{}", out.all());
    }
    for (text, ids) in [(&text_a, &ids_a), (&text_b, &ids_b)] {
        let out = planrun(dir.path(), &served)
            .args(["status", "-", "--format", "json"])
            .stdin(text.as_bytes())
            .run();
        assert_eq!(out.code, Some(0), "{}", out.all());
        let report: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(statuses(&report), all(ids, "succeeded"));
    }
    let again = planrun(dir.path(), &served)
        .args(["apply", "-", "--yes"])
        .stdin(text_a.as_bytes())
        .run();
    each_applied_once(&again, &served, [&ids_a, &ids_b]);
    assert_eq!(
        set_aside(&dir.path().join(".planrun")),
        Vec::<String>::new()
    );
}

/// `plan drill.yaml --out drill.planrun` in the plan's directory (relative paths, as users
/// type them), applied there; then the saved file, copied to another directory, applied from
/// there: refused, nothing submitted twice. With `state`, a `--state-dir` the copy is applied
/// without.
fn a_copied_saved_plan_is_not_applied_again(tag: &str, state: bool) {
    let served = Served::start_api("v3", 0.3, &[]);
    let home = tempfile::tempdir().unwrap();
    let ids = ids(tag, 2);
    std::fs::write(
        home.path().join("drill.yaml"),
        plan_text(Some("drill"), &ids, 2, "{name}_bak"),
    )
    .unwrap();
    let state_dir = home.path().join("shared-state");
    let flags: Vec<&str> = if state {
        vec!["--state-dir", state_dir.to_str().unwrap_or_default()]
    } else {
        vec![]
    };
    let saved = planrun(home.path(), &served)
        .args(["plan", "drill.yaml", "--out", "drill.planrun"])
        .args(&flags)
        .run();
    assert_eq!(saved.code, Some(0), "{}", saved.all());
    let first = apply(home.path(), &served, "drill.planrun", &flags);
    assert_eq!(first.code, Some(0), "{}", first.all());
    let elsewhere = tempfile::tempdir().unwrap();
    let copy: PathBuf = elsewhere.path().join("approved.planrun");
    std::fs::copy(home.path().join("drill.planrun"), &copy).unwrap();
    let again = apply(elsewhere.path(), &served, "approved.planrun", &[]);
    assert_eq!(again.code, Some(2), "{}", again.all());
    assert!(again.stderr.contains("has moved on"), "{}", again.stderr);
    served.assert_each_accepted_once(&ids);
    // Nothing was written where the copy is.
    assert!(!elsewhere.path().join(".planrun").exists());
}

#[test]
fn a_saved_plan_copied_to_another_directory_is_never_applied_twice() {
    a_copied_saved_plan_is_not_applied_again("jscp", false);
}

#[test]
fn a_saved_plan_made_with_a_state_dir_and_copied_is_never_applied_twice() {
    a_copied_saved_plan_is_not_applied_again("jscs", true);
}
