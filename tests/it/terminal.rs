//! What reaches the reviewer's terminal: no control sequence from a plan, the totals restated
//! right above the question, and the bytes written checked as bytes.

use std::path::Path;

use super::apply::harness::{Served, Work, ids};
use crate::support::{Output, Test};

/// Characters that would drive a terminal: ESC, CSI (C1) and the right-to-left override.
fn assert_no_control_bytes(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{9b}', '\u{202e}', '\u{7}'] {
        assert!(!text.contains(bad), "{what} wrote {:?} raw:\n{text}", bad);
    }
}

/// `planrun ARGS` in `dir` with credentials, on the real clock (the plan's time is recent).
fn planrun(dir: &Path, args: &[&str]) -> Output {
    Test::in_dir(dir)
        .real_clock()
        .env("TENCENTCLOUD_SECRET_ID", "AKIDplanrunTEST")
        .env("TENCENTCLOUD_SECRET_KEY", "planrun-test-key")
        .args(args)
        .run()
}

/// A plan whose description, written with YAML escapes, would clear the screen and paint a
/// fake diff: refused by every command that reads it, and never echoed raw.
#[test]
fn a_plan_that_could_forge_the_screen_is_refused_and_never_echoed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let forged = format!(
        "version: 1\nname: \"incident\\u202e24\"\ndescription: \"ok\\e[2J\\e[H+ nothing to see\\x9b31m\"\n\
         rollback_time: \"{}\"\nstrategy: table\ninstances:\n  - id: cdb-forge001\n    tables:\n      orders: [payments]\n    rename: \"{{name}}_bak\"\n",
        super::apply::harness::recent_time()
    );
    std::fs::write(dir.path().join("forged.yaml"), forged).unwrap();
    for args in [
        &["validate", "forged.yaml"][..],
        &["validate", "--format", "github", "forged.yaml"],
        &["plan", "forged.yaml"],
        &["apply", "forged.yaml", "--sandbox", "--yes"],
    ] {
        let out = planrun(dir.path(), args);
        assert_eq!(out.code, Some(1), "{args:?}");
        assert_no_control_bytes(&format!("{args:?} stdout"), &out.stdout);
        assert_no_control_bytes(&format!("{args:?} stderr"), &out.stderr);
        let all = out.all();
        assert!(all.contains("control_character"), "{args:?}: {all}");
    }
    let json = planrun(dir.path(), &["validate", "--format", "json", "forged.yaml"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let paths: Vec<&str> = doc["files"][0]["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .filter(|d| d["code"] == "planrun::control_character")
        .filter_map(|d| d["path"].as_str())
        .collect();
    assert_eq!(paths, ["/name", "/description"]);
}

/// The question stands right below the totals of what is approved, on a real terminal (a
/// pseudo-terminal made by `script`).
#[test]
fn the_prompt_restates_the_totals_right_above_the_question() {
    let served = Served::start(1.0, &[]);
    let ids = ids("prmt", 5);
    let work = Work::new(&ids, 2);
    let out = work
        .apply_unconfirmed(&served)
        .on_terminal()
        .stdin("no\n")
        .run();
    let text = out.stdout.replace('\r', "");
    let question = text
        .lines()
        .position(|l| l.starts_with("Only `yes` is accepted"))
        .unwrap_or_else(|| panic!("no question in:\n{text}"));
    let above = text.lines().nth(question - 1).unwrap_or_default();
    assert_eq!(
        above, "Apply plan drill: 5 instances (table: 5, db: 0, full: 0) in 3 calls, 0 warnings?",
        "{text}"
    );
    assert!(
        text.contains("Apply cancelled; nothing was submitted."),
        "{text}"
    );
    assert!(served.accepted().is_empty(), "{}", served.counters());
}

/// `plan --format json` carries the warnings that `plan` prints for people.
#[test]
fn plan_json_carries_the_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let out = Test::in_dir(dir.path())
        .args(["plan", "--format", "json"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/incident-42.yaml"))
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let doc: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let codes: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"planrun::full_strategy"), "{codes:?}");
}
