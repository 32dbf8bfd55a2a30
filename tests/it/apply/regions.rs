//! An instance listed under a region it does not live in, against `planrun sandbox serve
//! --catalog FILE` that places each instance in one region as the cloud does: `validate`
//! cannot know (offline), `plan --preflight` says where it was not found at its line, and
//! `apply` never sends it (with `--preflight-first`, sends nothing at all).

use serde_json::Value;

use super::harness::{Served, Work, read_json, recent_time, statuses};

/// Both hold `orders.payments`; the second lives in ap-shanghai.
const CATALOG: &str = r#"{"default": {"orders": ["payments"]}, "instances": [
  {"id": "cdb-rgns0001", "region": "ap-guangzhou"},
  {"id": "cdb-rgns0002", "region": "ap-shanghai"}
]}"#;

/// Both under ap-guangzhou; line 11 names the one of ap-shanghai.
fn plan() -> String {
    format!(
        "version: 1\nname: drill\nrollback_time: \"{}\"\nstrategy: table\nrename: \"{{name}}_bak\"\n\
         region: ap-guangzhou\ninstances:\n  - id: cdb-rgns0001\n    tables:\n      orders: [payments]\n\
         \x20 - id: cdb-rgns0002\n    tables:\n      orders: [payments]\n",
        recent_time()
    )
}

fn served_in(dir: &std::path::Path) -> Served {
    let catalog = dir.join("catalog.json");
    std::fs::write(&catalog, CATALOG).unwrap();
    Served::start_api("v3", 0.3, &["--catalog", &catalog.display().to_string()])
}

#[test]
fn an_instance_of_another_region_passes_validate_and_is_found_missing_by_the_preflight() {
    let work = Work::new(&[], 1);
    std::fs::write(&work.plan, plan()).unwrap();
    let validated = work.planrun().arg("validate").arg(&work.plan).run();
    assert_eq!(validated.code, Some(0), "{}", validated.all());

    let served = served_in(work.dir.path());
    let out = work.plan_preflight_json(&served).run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let diagnostics = doc["preflight"]["files"][0]["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no preflight in {doc}"));
    assert_eq!(diagnostics.len(), 1, "{doc}");
    let d = &diagnostics[0];
    assert_eq!(
        (
            d["message"].as_str(),
            d["path"].as_str(),
            d["line"].as_u64(),
            d["column"].as_u64()
        ),
        (
            Some("instance cdb-rgns0002 was not found in ap-guangzhou (is it in another region?)"),
            Some("/instances/1/id"),
            Some(11),
            Some(9)
        ),
        "{doc}"
    );

    // `apply --preflight-first` stops at the same finding: nothing is sent, for either
    // instance.
    let first = work.apply(&served).arg("--preflight-first").run();
    assert_eq!(first.code, Some(1), "{}", first.all());
    assert!(
        first
            .stderr
            .contains("instance cdb-rgns0002 was not found in ap-guangzhou"),
        "{}",
        first.stderr
    );
    // The human form also points at the region it was looked for in (line 6).
    assert!(
        first.stderr.contains("region: ap-guangzhou")
            && first.stderr.contains("the region it was looked for in"),
        "{}",
        first.stderr
    );
    assert!(served.accepted().is_empty(), "{}", served.counters());

    // By default the preflight overlaps the work: the instance that passed is sent, the one
    // not found is held back (never sent) and reported with the same finding.
    let report = work.dir.path().join("report.json");
    let overlapped = work.apply(&served).arg("--report").arg(&report).run();
    assert_eq!(overlapped.code, Some(1), "{}", overlapped.all());
    assert!(
        overlapped
            .stderr
            .contains("instance cdb-rgns0002 was not found in ap-guangzhou"),
        "{}",
        overlapped.stderr
    );
    let accepted = served.accepted();
    assert_eq!(accepted.get("cdb-rgns0001"), Some(&1), "{accepted:?}");
    assert_eq!(accepted.get("cdb-rgns0002"), None, "{accepted:?}");
    let statuses_now = statuses(&read_json(&report));
    assert_eq!(
        statuses_now["cdb-rgns0001"], "succeeded",
        "{statuses_now:?}"
    );
    assert_eq!(statuses_now["cdb-rgns0002"], "rejected", "{statuses_now:?}");

    // Without the preflight (a fresh journal, a fresh sandbox) the sandbox itself refuses it,
    // as the cloud would; the other is sent and succeeds.
    let work = Work::new(&[], 1);
    std::fs::write(&work.plan, plan()).unwrap();
    let served = served_in(work.dir.path());
    let report = work.dir.path().join("report.json");
    let unchecked = work
        .apply(&served)
        .args(["--no-preflight", "--report"])
        .arg(&report)
        .run();
    assert_ne!(unchecked.code, Some(0), "{}", unchecked.all());
    let accepted = served.accepted();
    assert_eq!(accepted.get("cdb-rgns0001"), Some(&1), "{accepted:?}");
    assert_eq!(accepted.get("cdb-rgns0002"), None, "{accepted:?}");
    let statuses = statuses(&read_json(&report));
    assert_eq!(statuses["cdb-rgns0002"], "rejected", "{statuses:?}");
    let rejections = &served.counters()["rejections_per_error"];
    assert!(
        rejections["InvalidParameter.InstanceNotFound"].as_u64() >= Some(1),
        "{rejections}"
    );
}
