//! `planrun new` against `planrun sandbox serve --catalog FILE` (a seeded fleet over two
//! regions), the example plans against the sandbox's default catalog, and the README's
//! walkthrough, which starts from `planrun new`.

use serde_json::Value;
use std::collections::BTreeSet;

use super::harness::{SECRET_ID, SECRET_KEY, Served, Test, Work, ids};

/// Two regions; `team=pay, env=prod` matches five instances, of which three are running
/// primaries.
const FLEET: &str = r#"{"instances": [
  {"id": "cdb-pay00001", "name": "pay-gz-1", "region": "ap-guangzhou", "tags": {"team": "pay", "env": "prod"}},
  {"id": "cdb-pay00002", "name": "pay-gz-2", "region": "ap-guangzhou", "tags": {"team": "pay", "env": "prod"}},
  {"id": "cdb-payro001", "name": "pay-gz-ro", "region": "ap-guangzhou", "type": "read_only", "tags": {"team": "pay", "env": "prod"}},
  {"id": "cdb-payiso01", "name": "pay-gz-old", "region": "ap-guangzhou", "status": 5, "tags": {"team": "pay", "env": "prod"}},
  {"id": "cdb-paystg01", "name": "pay-gz-stg", "region": "ap-guangzhou", "tags": {"team": "pay", "env": "staging"}},
  {"id": "cdb-crm00001", "name": "crm-gz-1", "region": "ap-guangzhou", "tags": {"team": "crm", "env": "prod"}},
  {"id": "cdb-pay10001", "name": "pay-sh-1", "region": "ap-shanghai", "tags": {"env": "prod", "team": "pay"}},
  {"id": "cdb-pay20001", "name": "pay-bj-1", "region": "ap-beijing", "tags": {"team": "pay", "env": "prod"}}
]}"#;

fn fleet(work: &Work) -> Served {
    let path = work.dir.path().join("fleet.json");
    std::fs::write(&path, FLEET).unwrap();
    Served::start_api("v3", 0.3, &["--catalog", &path.display().to_string()])
}

/// The clock of these tests: the fleet's plans roll back to 2026-11-20 03:15.
const NOW: &str = "2026-11-23T04:00:00Z";

/// `planrun new` with credentials for the served sandbox.
fn new(work: &Work, served: &Served, args: &[&str]) -> Test {
    Test::in_dir(work.dir.path())
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .env("PLANRUN_NOW", NOW)
        .arg("new")
        .args(["--endpoint", &served.endpoint])
        .args(args)
}

#[test]
fn a_plan_built_from_the_fleet_holds_exactly_the_matching_primaries_per_region() {
    let work = Work::new(&ids("newa", 1), 1);
    let served = fleet(&work);
    let out_file = work.dir.path().join("pay.yaml");
    let out = new(
        &work,
        &served,
        &[
            "--region",
            "ap-guangzhou,ap-shanghai",
            "--tag",
            "team=pay",
            "--tag",
            "env=prod",
            "--tables",
            "orders.payments,orders.refunds",
            "--rollback-time",
            "2026-11-20 03:15:00",
            "--out",
            &out_file.display().to_string(),
        ],
    )
    .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    assert!(
        text.contains("# Written by `planrun new --region ap-guangzhou"),
        "{text}"
    );
    assert!(
        text.contains("cdb-payro001 (pay-gz-ro, ap-guangzhou): read-only"),
        "{text}"
    );
    assert!(
        text.contains("cdb-payiso01 (pay-gz-old, ap-guangzhou): not running"),
        "{text}"
    );
    // It passes `validate`, and its JSON diff holds exactly the expected instances and regions.
    let validate = Test::in_dir(work.dir.path())
        .env("PLANRUN_NOW", NOW)
        .arg("validate")
        .arg(&out_file)
        .run();
    assert_eq!(validate.code, Some(0), "{}", validate.all());
    let diff = Test::in_dir(work.dir.path())
        .env("PLANRUN_NOW", NOW)
        .arg("plan")
        .arg(&out_file)
        .args(["--format", "json"])
        .run();
    assert_eq!(diff.code, Some(0), "{}", diff.all());
    let doc: Value = serde_json::from_str(&diff.stdout).unwrap();
    let got: BTreeSet<(String, String, String)> = doc["instances"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (s("id"), s("region"), s("strategy"))
        })
        .collect();
    let expect = |id: &str, region: &str| (id.to_owned(), region.to_owned(), "table".to_owned());
    assert_eq!(
        got,
        [
            expect("cdb-pay00001", "ap-guangzhou"),
            expect("cdb-pay00002", "ap-guangzhou"),
            expect("cdb-pay10001", "ap-shanghai"),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(doc["summary"]["tables"], 6, "{doc}");
    // One DescribeDBInstances per region (each fits one page).
    assert_eq!(
        served.counters()["requests_per_action"]["DescribeDBInstances"],
        2
    );
}

#[test]
fn names_any_ids_all_and_a_missing_instance_writes_nothing() {
    let work = Work::new(&ids("newb", 1), 1);
    let served = fleet(&work);
    let by_name = new(
        &work,
        &served,
        &[
            "--region",
            "ap-guangzhou",
            "--instance-name",
            "crm",
            "--instance-name",
            "stg",
            "--dbs",
            "crm",
            "--rollback-time",
            "2026-11-20 03:15:00",
        ],
    )
    .run();
    assert_eq!(by_name.code, Some(0), "{}", by_name.all());
    assert!(
        by_name.stdout.contains("cdb-crm00001"),
        "{}",
        by_name.stdout
    );
    assert!(
        by_name.stdout.contains("cdb-paystg01"),
        "{}",
        by_name.stdout
    );
    assert!(
        !by_name.stdout.contains("cdb-pay00001"),
        "{}",
        by_name.stdout
    );
    assert!(
        by_name.stdout.contains("strategy: db"),
        "{}",
        by_name.stdout
    );

    let out_file = work.dir.path().join("x.yaml");
    let missing = new(
        &work,
        &served,
        &[
            "--region",
            "ap-guangzhou",
            "--instance",
            "cdb-pay00001",
            "--instance",
            "cdb-nowhere1",
            "--tables",
            "orders.payments",
            "--rollback-time",
            "2026-11-20 03:15:00",
            "--out",
            &out_file.display().to_string(),
        ],
    )
    .run();
    assert_eq!(missing.code, Some(1), "{}", missing.all());
    assert!(
        missing.stderr.contains("cdb-nowhere1 not found"),
        "{}",
        missing.stderr
    );
    assert!(!out_file.exists());
    let v2 = new(
        &work,
        &served,
        &[
            "--api",
            "v2",
            "--region",
            "x",
            "--tables",
            "a.b",
            "--rollback-time",
            "2026-11-20 03:15:00",
        ],
    )
    .run();
    assert_eq!(v2.code, Some(2), "{}", v2.all());
    assert!(v2.stderr.contains("API 3.0"), "{}", v2.stderr);
}

#[test]
fn every_example_plan_passes_the_preflight_against_the_default_catalog() {
    let served = Served::start_api("v3", 0.3, &["--window-days", "3650"]);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        // The self-hosted example names servers of its reader's own: `plan --preflight`
        // asks them (their preflight is tested against real servers in tests/it/selfhosted).
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("provider: mysql") {
            continue;
        }
        let work = Work::new(&ids("expl", 1), 1);
        std::fs::copy(&path, &work.plan).unwrap();
        let out = work
            .plan_preflight_json(&served)
            .args(["--region", "ap-guangzhou"])
            .run();
        assert_eq!(out.code, Some(0), "{}: {}", path.display(), out.all());
        checked += 1;
    }
    assert!(checked >= 8, "{checked}");
    assert!(served.accepted().is_empty());
}

/// The first `sh` block under "## Walkthrough", its `\`-continued lines joined.
fn walkthrough() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Walkthrough")
        .nth(1)
        .unwrap_or_else(|| panic!("no Walkthrough section in README.md"));
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("no sh block in the walkthrough"));
    block
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Words as `sh` reads these simple lines: spaces separate, double quotes group.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn the_readme_walkthrough_starts_from_planrun_new_and_runs_clean_on_the_sandbox() {
    let lines = walkthrough();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("planrun new ")),
        "{lines:?}"
    );
    let work = Work::new(&ids("walk", 1), 1);
    std::fs::create_dir_all(work.dir.path().join("plans")).unwrap();
    for line in &lines {
        let words = words(line);
        assert_eq!(words[0], "planrun", "{line}");
        let out = Test::in_dir(work.dir.path())
            .real_clock()
            .args(&words[1..])
            .run();
        assert_eq!(out.code, Some(0), "{line}:\n{}", out.all());
        if words[1] == "apply" {
            assert!(
                out.stdout.contains("8 succeeded, 0 failed"),
                "{}",
                out.stdout
            );
        }
    }
}
