//! The example plans and the checked-in JSON Schema: every plan is valid for `planrun validate`
//! and for the schema, and the schema file is exactly what `planrun schema` prints.

use std::path::{Path, PathBuf};

use crate::support::Test;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example_plans() -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(root().join("plans"))
        .expect("plans/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    plans.sort();
    plans
}

fn schema() -> serde_json::Value {
    let text =
        std::fs::read_to_string(root().join("schemas/plan.schema.json")).expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("plan is YAML")
}

#[test]
fn schema_file_is_what_planrun_schema_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Test::in_dir(dir.path()).arg("schema").run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let printed: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("schema output is JSON");
    assert_eq!(
        printed,
        schema(),
        "schemas/plan.schema.json is stale: regenerate it with `cargo run -- schema > schemas/plan.schema.json`"
    );
}

#[test]
fn there_is_a_realistic_incident_plan_and_examples() {
    let plans = example_plans();
    assert!(plans.iter().any(|p| p.ends_with("incident-42.yaml")));
    assert!(plans.len() >= 5, "one example per feature: {plans:?}");
}

#[test]
fn every_example_plan_passes_validate() {
    for plan in example_plans() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The real clock: an example plan must stay valid as time passes, warnings aside.
        let out = Test::in_dir(dir.path())
            .real_clock()
            .arg("validate")
            .arg(&plan)
            .run();
        assert_eq!(
            out.code,
            Some(0),
            "{} is not valid:\n{}",
            plan.display(),
            out.stdout
        );
    }
}

#[test]
fn every_example_plan_passes_the_json_schema() {
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    for plan in example_plans() {
        let text = std::fs::read_to_string(&plan).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/plan.schema.json"),
            "{} lacks the yaml-language-server modeline",
            plan.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&yaml_to_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", plan.display());
    }
}

#[test]
fn the_schema_rejects_what_validate_rejects() {
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    let cases = [
        (
            "unknown field",
            "version: 1\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\nstratgy: table\n",
        ),
        (
            "bad instance id",
            "version: 1\ninstances: [{id: CDB-1, tables: {a: {b: c}}}]\n",
        ),
        (
            "a self-hosted id with spaces",
            "version: 1\ninstances: [{id: a b, server: \"h:1\", backups: d, tables: {a: {b: c}}}]\n",
        ),
        (
            "a TencentDB region on a self-hosted entry",
            "version: 1\ninstances: [{id: db1, server: \"h:1\", backups: d, region: r, tables: {a: {b: c}}}]\n",
        ),
        (
            "both id and ids",
            "version: 1\ninstances: [{id: cdb-aaaaaaaa, ids: [cdb-bbbbbbbb], tables: {a: {b: c}}}]\n",
        ),
        (
            "bad strategy",
            "version: 1\nstrategy: fast\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\n",
        ),
        (
            "batch too big",
            "version: 1\nbatch_size: 51\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\n",
        ),
        (
            "wrong version",
            "version: 2\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\n",
        ),
        (
            "bad rollback time",
            "version: 1\nrollback_time: yesterday\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\n",
        ),
    ];
    for (what, text) in cases {
        assert!(
            !validator.is_valid(&yaml_to_json(text)),
            "schema accepted a plan with {what}"
        );
    }
    let ok = "version: 1\ninstances: [{id: cdb-aaaaaaaa, tables: {a: {b: c}}}]\n";
    assert!(validator.is_valid(&yaml_to_json(ok)));
    let selfhosted = "version: 1\nprovider: mysql\ninstances: [{id: orders-db.1, server: \"h:1\", backups: d, tables: {a: {b: c}}}]\n";
    assert!(validator.is_valid(&yaml_to_json(selfhosted)));
}
