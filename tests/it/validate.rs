//! CLI tests of `validate`, `plan`, `schema` and `completions`: exit codes 0/1/2, the JSON
//! shape of DESIGN §6, GitHub annotations, the dry-run diff and the exact request parameters.

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

use crate::cases::NOW;

/// `planrun` with deterministic output: no colour, 100 columns, a pinned "now", a time limit.
pub fn planrun(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("planrun").expect("binary built");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("PLANRUN_NOW", NOW)
        .timeout(Duration::from_secs(30));
    cmd
}

/// A temporary folder holding the given files.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(dir: &Path, args: &[&str]) -> Run {
    let out = planrun(dir).args(args).output().expect("planrun runs");
    Run {
        code: out.status.code().expect("exited, not killed (timeout?)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
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
const INVALID: &str = r#"version: 1
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
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stdout, "ok.yaml: valid (3 instances, 0 warnings)\n");
}

#[test]
fn validate_exits_1_for_an_invalid_plan() {
    let dir = folder(&[("bad.yaml", INVALID)]);
    let r = run(dir.path(), &["validate", "bad.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("planrun::table_with_dbs"), "{}", r.stdout);
    assert!(r.stdout.contains("bad.yaml: invalid (1 error, 0 warnings)"));
}

#[test]
fn warnings_pass_unless_denied() {
    let dir = folder(&[("warn.yaml", WARNS)]);
    let r = run(dir.path(), &["validate", "warn.yaml"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("planrun::full_strategy"));
    assert!(
        r.stdout
            .contains("warn.yaml: valid (1 instance, 1 warning)")
    );

    let r = run(dir.path(), &["validate", "--deny-warnings", "warn.yaml"]);
    assert_eq!(r.code, 1);
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
    assert_eq!(r.code, 1);
    assert_eq!(json(&r.stdout)["files"][0]["valid"], false);
}

#[test]
fn a_missing_file_exits_2_and_still_gets_a_json_entry() {
    let dir = folder(&[("ok.yaml", VALID)]);
    let r = run(
        dir.path(),
        &["validate", "--format", "json", "ok.yaml", "nope.yaml"],
    );
    assert_eq!(r.code, 2);
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
    assert_eq!(r.code, 1);
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
    assert_eq!(r.code, 1);
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
    assert_eq!(r.code, 1);
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
fn plan_shows_every_rename_the_summary_and_the_calls() {
    let dir = folder(&[("incident.yaml", VALID)]);
    let r = run(dir.path(), &["plan", "incident.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "+ cdb-shard001 (strategy table, to 2026-11-20 03:15:00 +08:00)",
        "+ cdb-ledger01 (strategy db, to 2026-11-20 03:15:00 +08:00)",
        "table    orders.payments → orders.payments_bak",
        "table    orders.refunds → orders.refunds_bak",
        "database ledger → ledger_before",
        "Summary: 3 instances, 1 database, 4 tables (table: 2, db: 1, full: 0), in 1 call.",
        "1. [default region] cdb-shard001, cdb-shard002, cdb-ledger01",
    ] {
        assert!(r.stdout.contains(line), "missing {line:?} in\n{}", r.stdout);
    }
    assert_eq!(
        r.stdout
            .matches("orders.payments → orders.payments_bak")
            .count(),
        2,
        "once per shard"
    );
    assert!(
        !r.stdout.contains("instances.0.para"),
        "requests only on demand"
    );
}

#[test]
fn plan_show_requests_prints_the_seed_parameters() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(dir.path(), &["plan", "--show-requests", "p.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let param = |name: &str| {
        r.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in\n{}", r.stdout))
            .to_owned()
    };
    assert_eq!(param("instances.0.cdbInstanceId"), "cdb-shard001");
    assert_eq!(param("instances.2.cdbInstanceId"), "cdb-ledger01");
    let para = json(&param("instances.0.para"));
    assert_eq!(para["rollbacktime"], "2026-11-20 03:15:00");
    assert_eq!(para["strategy"], "table");
    assert_eq!(para["dbs"], serde_json::json!([]));
    assert_eq!(
        para["tables"],
        serde_json::json!([{"db": "orders", "table": [
            {"tablename": "payments", "newname": "payments_bak"},
            {"tablename": "refunds", "newname": "refunds_bak"}]}])
    );
    let para = json(&param("instances.2.para"));
    assert_eq!(para["strategy"], "db");
    assert_eq!(
        para["dbs"],
        serde_json::json!([{"dbname": "ledger", "newname": "ledger_before"}])
    );
}

#[test]
fn plan_json_parses_and_lists_instances_and_calls() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(
        dir.path(),
        &["plan", "--format", "json", "--batch-size", "2", "p.yaml"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc = json(&r.stdout);
    assert_eq!(doc["plan"], "p");
    assert_eq!(doc["summary"]["instances"], 3);
    assert_eq!(doc["summary"]["tables"], 4);
    assert_eq!(doc["instances"][2]["id"], "cdb-ledger01");
    assert_eq!(doc["instances"][2]["dbs"][0]["target"], "ledger_before");
    assert_eq!(doc["calls"].as_array().map(Vec::len), Some(2));
}

#[test]
fn plan_of_an_invalid_plan_exits_1_with_the_diagnostics() {
    let dir = folder(&[("bad.yaml", INVALID)]);
    let r = run(dir.path(), &["plan", "bad.yaml"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("planrun::table_with_dbs"), "{}", r.stderr);
    assert!(!r.stdout.contains("Summary:"));
    let r = run(dir.path(), &["plan", "missing.yaml"]);
    assert_eq!(r.code, 2);
}

#[test]
fn schema_prints_draft_07_json() {
    let dir = folder(&[]);
    let r = run(dir.path(), &["schema"]);
    assert_eq!(r.code, 0);
    let schema = json(&r.stdout);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["properties"]["instances"].is_object());
}

#[test]
fn completions_for_each_shell_mention_validate() {
    let dir = folder(&[]);
    for shell in ["bash", "zsh", "fish"] {
        let r = run(dir.path(), &["completions", shell]);
        assert_eq!(r.code, 0, "{shell}");
        assert!(r.stdout.contains("validate"), "{shell}: {}", r.stdout);
    }
    assert_eq!(run(dir.path(), &["completions", "nushell-ish"]).code, 2);
}
