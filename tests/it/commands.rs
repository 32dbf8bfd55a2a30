//! CLI tests of `plan` (the dry-run diff, `--show-requests` with the seed's parameters, JSON),
//! `schema` and `completions`.

use serde_json::Value;

use crate::validate::{INVALID, VALID, folder, run};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn plan_shows_every_rename_the_summary_and_the_calls() {
    let dir = folder(&[("incident.yaml", VALID)]);
    let r = run(dir.path(), &["plan", "incident.yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for line in [
        "+ 2 instances (strategy table, to 2026-11-20 03:15:00 +08:00)",
        "      cdb-shard001, cdb-shard002\n",
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
        1,
        "the shards of one `ids:` entry share a block"
    );
    let expanded = run(dir.path(), &["plan", "incident.yaml", "--expand"]);
    assert_eq!(expanded.code, Some(0), "{}", expanded.stderr);
    assert!(expanded.stdout.contains("+ cdb-shard001 (strategy table"));
    assert_eq!(
        expanded
            .stdout
            .matches("orders.payments → orders.payments_bak")
            .count(),
        2,
        "--expand: once per shard"
    );
    assert!(
        !r.stdout.contains("instances.0.para"),
        "requests only on demand"
    );
}

#[test]
fn plan_show_requests_prints_the_seed_parameters() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(
        dir.path(),
        &["plan", "--api", "v2", "--show-requests", "p.yaml"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
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
fn plan_show_requests_prints_the_api_3_body_by_default() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(dir.path(), &["plan", "--show-requests", "p.yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("StartBatchRollback"), "{}", r.stdout);
    let body = r
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("body="))
        .unwrap_or_else(|| panic!("no body in\n{}", r.stdout));
    let body = json(body);
    assert_eq!(body["Instances"][0]["InstanceId"], "cdb-shard001");
    assert_eq!(body["Instances"][0]["RollbackTime"], "2026-11-20 03:15:00");
    assert_eq!(body["Instances"][0]["Strategy"], "table");
    assert_eq!(body["Instances"][0]["Tables"][0]["Database"], "orders");
    assert_eq!(
        body["Instances"][0]["Tables"][0]["Table"][0],
        serde_json::json!({"TableName": "payments", "NewTableName": "payments_bak"})
    );
    assert_eq!(
        body["Instances"][2]["Databases"][0],
        serde_json::json!({"DatabaseName": "ledger", "NewDatabaseName": "ledger_before"})
    );
}

#[test]
fn plan_json_parses_and_lists_instances_and_calls() {
    let dir = folder(&[("p.yaml", VALID)]);
    let r = run(
        dir.path(),
        &["plan", "--format", "json", "--batch-size", "2", "p.yaml"],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
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
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("planrun::table_with_dbs"), "{}", r.stderr);
    assert!(!r.stdout.contains("Summary:"));
    let r = run(dir.path(), &["plan", "missing.yaml"]);
    assert_eq!(r.code, Some(2));
}

#[test]
fn schema_prints_draft_07_json() {
    let dir = folder(&[]);
    let r = run(dir.path(), &["schema"]);
    assert_eq!(r.code, Some(0));
    let schema = json(&r.stdout);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["properties"]["instances"].is_object());
}

#[test]
fn completions_for_each_shell_mention_validate() {
    let dir = folder(&[]);
    for shell in ["bash", "zsh", "fish"] {
        let r = run(dir.path(), &["completions", shell]);
        assert_eq!(r.code, Some(0), "{shell}");
        assert!(r.stdout.contains("validate"), "{shell}: {}", r.stdout);
    }
    assert_eq!(
        run(dir.path(), &["completions", "nushell-ish"]).code,
        Some(2)
    );
}

#[test]
fn every_command_with_a_rate_caps_it_and_has_no_default() {
    use clap::CommandFactory;
    let cli = planrun::cli::Cli::command();
    let mut seen = Vec::new();
    for sub in cli.get_subcommands() {
        // The sandbox's `--rate` is the emulated cloud's limit, not a client's cap.
        if sub.get_name() == "sandbox" {
            continue;
        }
        for arg in sub.get_arguments().filter(|a| a.get_id() == "rate") {
            // No default: without `--rate` each action goes at its documented limit.
            assert!(
                arg.get_default_values().is_empty(),
                "`planrun {} --rate` has a default",
                sub.get_name()
            );
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                help.starts_with("At most R requests per second for every API action"),
                "`planrun {} --rate`: {help}",
                sub.get_name()
            );
            seen.push(sub.get_name().to_owned());
        }
    }
    for name in ["apply", "plan", "status", "cancel", "jobs", "new"] {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} has no --rate: {seen:?}"
        );
    }
}
