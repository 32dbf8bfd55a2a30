//! CLI tests of `validate`: exit codes 0/1/2, the JSON shape of `docs/contract.md` §6, GitHub
//! annotations, colour, the pinned clock. Helpers here are shared by the other plan-language test
//! modules.

use std::path::Path;

use serde_json::Value;

use crate::support::Test;

/// `planrun` in `dir` with deterministic output ([`Test`]: a cleared environment, no colour,
/// 100 columns, a pinned "now", a time limit).
pub fn planrun(dir: &Path) -> Test {
    Test::in_dir(dir)
}

/// A temporary folder holding the given files.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

pub use crate::support::Output as Run;

pub fn run(dir: &Path, args: &[&str]) -> Run {
    Test::in_dir(dir).args(args).run()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

pub const VALID: &str = r#"version: 1
rollback_time: "2026-11-20 03:15:00"
strategy: table
rename: "{name}_bak"
instances:
  - ids: [cdb-shard001, cdb-shard002]
    tables:
      orders: [payments, refunds]
  - id: cdb-ledger01
    strategy: db
    dbs:
      ledger: ledger_before
"#;

/// `table_with_dbs` on line 6, column 5 (the `dbs` key), inheriting the plan's strategy.
pub const INVALID: &str = r#"version: 1
rollback_time: "2026-11-20 03:15:00"
strategy: table
instances:
  - id: cdb-aaaaaaaa
    dbs:
      orders: orders_bak
"#;

/// Valid, with one warning (`full`).
const WARNS: &str = r#"version: 1
rollback_time: "2026-11-20 03:15:00"
instances:
  - id: cdb-aaaaaaaa
    strategy: full
    dbs: {orders: orders_bak}
"#;

#[test]
fn validate_exits_0_for_a_valid_plan_and_says_so() {
    let dir = folder(&[("ok.yaml", VALID)]);
    let r = run(dir.path(), &["validate", "ok.yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    assert_eq!(r.stdout, "ok.yaml: valid (3 instances, 0 warnings)\n");
}

#[test]
fn validate_exits_1_for_an_invalid_plan() {
    let dir = folder(&[("bad.yaml", INVALID)]);
    let r = run(dir.path(), &["validate", "bad.yaml"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("planrun::table_with_dbs"), "{}", r.stdout);
    assert!(r.stdout.contains("bad.yaml: invalid (1 error, 0 warnings)"));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = folder(&[("warn.yaml", WARNS)]);
    let r = run(dir.path(), &["validate", "warn.yaml"]);
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.contains("planrun::full_strategy"));
    assert!(
        r.stdout
            .contains("warn.yaml: valid (1 instance, 1 warning)")
    );

    let r = run(dir.path(), &["validate", "--deny-warnings", "warn.yaml"]);
    assert_eq!(r.code, Some(1));
    let r = run(
        dir.path(),
        &[
            "validate",
            "--deny-warnings",
            "--format",
            "json",
            "warn.yaml",
        ],
    );
    assert_eq!(r.code, Some(1));
    assert_eq!(json(&r.stdout)["files"][0]["valid"], false);
}

#[test]
fn a_missing_file_exits_2_and_still_gets_a_json_entry() {
    let dir = folder(&[("ok.yaml", VALID)]);
    let r = run(
        dir.path(),
        &["validate", "--format", "json", "ok.yaml", "nope.yaml"],
    );
    assert_eq!(r.code, Some(2));
    let doc = json(&r.stdout);
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["valid"], true);
    assert_eq!(files[1]["path"], "nope.yaml");
    assert_eq!(files[1]["valid"], false);
    let d = &files[1]["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "planrun::io");
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("nope.yaml"))
    );
}

#[test]
fn several_files_in_one_run_report_every_problem() {
    let two_problems = INVALID.replace("cdb-aaaaaaaa", "cdb-BAD");
    let dir = folder(&[
        ("a.yaml", INVALID),
        ("b.yaml", &two_problems),
        ("c.yaml", VALID),
    ]);
    let r = run(dir.path(), &["validate", "a.yaml", "b.yaml", "c.yaml"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.contains("planrun::invalid_instance_id"));
    assert_eq!(r.stdout.matches("planrun::table_with_dbs").count(), 2);
    assert!(r.stdout.contains("a.yaml: invalid (1 error, 0 warnings)"));
    assert!(r.stdout.contains("b.yaml: invalid (2 errors, 0 warnings)"));
    assert!(r.stdout.contains("c.yaml: valid (3 instances, 0 warnings)"));

    let r = run(
        dir.path(),
        &["validate", "--format", "json", "a.yaml", "b.yaml", "c.yaml"],
    );
    let doc = json(&r.stdout);
    let counts: Vec<usize> = doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["diagnostics"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(counts, [1, 2, 0]);
}

#[test]
fn json_output_has_the_design_shape_with_one_based_positions() {
    let dir = folder(&[("bad.yaml", INVALID)]);
    let r = run(dir.path(), &["validate", "--format", "json", "bad.yaml"]);
    assert_eq!(r.code, Some(1));
    let doc = json(&r.stdout);
    let obj = doc.as_object().expect("an object");
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["files"]);
    let file = &doc["files"][0];
    let mut keys: Vec<_> = file.as_object().expect("file object").keys().collect();
    keys.sort();
    assert_eq!(keys, ["diagnostics", "path", "valid"]);
    assert_eq!(file["path"], "bad.yaml");
    assert_eq!(file["valid"], false);
    let d = &file["diagnostics"][0];
    let mut keys: Vec<_> = d.as_object().expect("diagnostic").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "code", "column", "help", "line", "message", "path", "severity"
        ]
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "planrun::table_with_dbs");
    assert_eq!(d["path"], "/instances/0/dbs");
    // Line 6 is `    dbs:`: the key starts in column 5.
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(6), Some(5))
    );
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("cdb-aaaaaaaa"))
    );
    assert!(
        d["help"]
            .as_str()
            .is_some_and(|h| h.contains("strategy: db"))
    );
}

#[test]
fn json_positions_count_characters_not_bytes() {
    // Multi-byte characters before the bad value on the same line.
    let plan = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n  - {tables: {ééé: {t: t_bak}}, id: cdb-BAD}\n";
    let dir = folder(&[("p.yaml", plan)]);
    let r = run(dir.path(), &["validate", "--format", "json", "p.yaml"]);
    let doc = json(&r.stdout);
    let diagnostics = doc["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    let d = diagnostics
        .iter()
        .find(|d| d["code"] == "planrun::invalid_instance_id")
        .expect("instance id diagnostic");
    assert_eq!(d["path"], "/instances/0/id");
    // `cdb-BAD` is the 37th character of line 5 (its 40th byte).
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(37))
    );
    let d = diagnostics
        .iter()
        .find(|d| d["code"] == "planrun::invalid_source_name")
        .expect("source name diagnostic");
    assert_eq!(d["path"], "/instances/0/tables/ééé");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(15))
    );
}

#[test]
fn github_annotations_escape_properties_and_messages() {
    // A file name with `:`, `,` and `%`, and an unknown field whose name holds `%`.
    let plan = format!("50%off: 1\n{VALID}");
    let dir = folder(&[("a:b,c%d.yaml", &plan), ("warn.yaml", WARNS)]);
    let r = run(
        dir.path(),
        &[
            "validate",
            "--format",
            "github",
            "a:b,c%d.yaml",
            "warn.yaml",
        ],
    );
    assert_eq!(r.code, Some(1));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    let (props, message) = lines[0]
        .strip_prefix("::error ")
        .and_then(|l| l.split_once("::"))
        .expect("an ::error line");
    assert_eq!(
        props,
        "file=a%3Ab%2Cc%25d.yaml,line=1,col=1,title=planrun%3A%3Aunknown_field"
    );
    assert!(message.contains("`50%25off`"), "{message}");
    assert!(!message.contains('\n'));
    assert!(
        message.contains("%0Ahelp: "),
        "help joined by an escaped newline"
    );
    assert!(
        lines[1].starts_with(
            "::warning file=warn.yaml,line=5,col=15,title=planrun%3A%3Afull_strategy::"
        ),
        "{}",
        lines[1]
    );
}

#[test]
fn piped_output_has_no_colour_even_without_no_color() {
    let dir = folder(&[("bad.yaml", INVALID), ("ok.yaml", VALID)]);
    for args in [&["validate", "bad.yaml"][..], &["plan", "ok.yaml"][..]] {
        let out = planrun(dir.path()).env_remove("NO_COLOR").args(args).run();
        let text = &out.stdout;
        assert!(!text.is_empty(), "{args:?}");
        assert!(
            !text.contains('\u{1b}'),
            "{args:?} printed ANSI escapes:\n{text}"
        );
    }
}

#[test]
fn an_unreadable_planrun_now_is_a_usage_error() {
    let dir = folder(&[("ok.yaml", VALID)]);
    let out = planrun(dir.path())
        .env("PLANRUN_NOW", "yesterday")
        .args(["validate", "ok.yaml"])
        .run();
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("PLANRUN_NOW"));
}

#[test]
fn the_rules_judge_time_against_planrun_now() {
    // 2026-11-20 03:15 (+08:00) is 3 days before NOW: fine. Seen from 2026-11-01 it is future.
    let dir = folder(&[("ok.yaml", VALID)]);
    let out = planrun(dir.path())
        .env("PLANRUN_NOW", "2026-11-01T00:00:00Z")
        .args(["validate", "--format", "json", "ok.yaml"])
        .run();
    assert_eq!(out.code, Some(1));
    let doc = json(&out.stdout);
    assert_eq!(
        doc["files"][0]["diagnostics"][0]["code"],
        "planrun::future_rollback_time"
    );
}

#[test]
fn an_unknown_region_is_refused_unless_allowed_by_name() {
    let plan = VALID.replace(
        "rollback_time: \"2026-11-20 03:15:00\"\n",
        "rollback_time: \"2026-11-20 03:15:00\"\nregion: ap-newcity\n",
    );
    let dir = folder(&[("p.yaml", &plan)]);
    let r = run(dir.path(), &["validate", "--format", "json", "p.yaml"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    let doc = json(&r.stdout);
    let d = &doc["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "planrun::unknown_region", "{doc}");
    assert_eq!(d["path"], "/region", "{doc}");
    let allowed = run(
        dir.path(),
        &["validate", "--allow-region", "ap-newcity", "p.yaml"],
    );
    assert_eq!(allowed.code, Some(0), "{}", allowed.stdout);
    // apply refuses it before anything else (no confirmation, no sandbox call).
    let applied = run(dir.path(), &["apply", "p.yaml", "--sandbox", "--yes"]);
    assert_eq!(applied.code, Some(1), "{}", applied.stderr);
    assert!(
        applied.stderr.contains("planrun::unknown_region"),
        "{}",
        applied.stderr
    );
    assert!(!applied.stdout.contains("succeeded"), "{}", applied.stdout);
}

#[test]
fn an_unknown_region_flag_is_a_usage_error_with_the_nearest_name() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(
        dir.path(),
        &[
            "apply",
            "p.yaml",
            "--sandbox",
            "--yes",
            "--region",
            "ap-guangzou",
        ],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean `ap-guangzhou`?"),
        "{}",
        r.stderr
    );
    let new = run(
        dir.path(),
        &[
            "new",
            "--sandbox",
            "--region",
            "xx-nowhere",
            "--tables",
            "orders.payments",
            "--rollback-time",
            "2026-11-20 03:15:00",
        ],
    );
    assert_eq!(new.code, Some(2), "{}", new.stderr);
    assert!(
        new.stderr.contains("not a TencentDB for MySQL region"),
        "{}",
        new.stderr
    );
}
