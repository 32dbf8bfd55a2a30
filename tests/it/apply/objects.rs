//! The object preflight through the binary, against `planrun sandbox serve --catalog FILE`
//! over API 3.0: a missing table, a missing database and an existing target are each flagged
//! at their line (and nothing is submitted); a plan applied once is caught when applied
//! again, because its successful rollbacks created the targets.

use serde_json::Value;

use std::time::{Duration, Instant};

use super::harness::{Served, Work, ids, recent_time};

/// Instance A holds `orders` {payments, refunds, payments_bak}; B holds `ledger` {entries}.
const CATALOG: &str = r#"{"default": {}, "instances": [
  {"id": "cdb-objs0001", "region": "ap-guangzhou",
   "databases": {"orders": ["payments", "refunds", "payments_bak"]}},
  {"id": "cdb-objs0002", "region": "ap-guangzhou", "databases": {"ledger": ["entries"]}}
]}"#;

/// Line 11: a taken target; line 12: a misspelt table; line 13: a database A lacks; line 17:
/// a misspelt database of B.
fn plan() -> String {
    format!(
        "version: 1\nname: objects\nrollback_time: \"{}\"\nstrategy: table\nrename: \"{{name}}_bak\"\n\
         region: ap-guangzhou\ninstances:\n  - id: cdb-objs0001\n    tables:\n      orders:\n\
         \x20       payments: payments_bak\n        refnds: refunds_bak\n      shop: [orders]\n\
         \x20 - id: cdb-objs0002\n    strategy: db\n    dbs:\n      ledgr: ledger_restored\n",
        recent_time()
    )
}

fn served_with_catalog(dir: &std::path::Path) -> Served {
    let catalog = dir.join("catalog.json");
    std::fs::write(&catalog, CATALOG).unwrap();
    Served::start_api("v3", 0.3, &["--catalog", &catalog.display().to_string()])
}

#[test]
fn each_missing_source_and_taken_target_is_flagged_at_its_line_in_plan_preflight_json() {
    let work = Work::new(&ids("objs", 2), 2);
    std::fs::write(&work.plan, plan()).unwrap();
    let served = served_with_catalog(work.dir.path());
    let out = work.plan_preflight_json(&served).run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let found: Vec<(String, String, u64, u64)> = doc["preflight"]["files"][0]["diagnostics"]
        .as_array()
        .unwrap_or_else(|| panic!("no preflight in {doc}"))
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_owned(),
                d["path"].as_str().unwrap_or_default().to_owned(),
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expect = |code: &str, path: &str, line: u64, column: u64| {
        (code.to_owned(), path.to_owned(), line, column)
    };
    assert_eq!(
        found,
        [
            // `payments: payments_bak`: the new name, which exists.
            expect(
                "planrun::target_exists",
                "/instances/0/tables/orders/payments",
                11,
                19
            ),
            // `refnds: refunds_bak`: the source, which does not.
            expect(
                "planrun::source_missing",
                "/instances/0/tables/orders/refnds",
                12,
                9
            ),
            // `shop: [orders]`: the database.
            expect("planrun::source_missing", "/instances/0/tables/shop", 13, 7),
            // `ledgr: ledger_restored`.
            expect("planrun::source_missing", "/instances/1/dbs/ledgr", 17, 7),
        ],
        "{doc}"
    );
    let messages: Vec<&str> = doc["preflight"]["files"][0]["diagnostics"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["help"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        messages[1].starts_with("did you mean `refunds`?"),
        "{messages:?}"
    );
    assert!(
        messages[3].starts_with("did you mean `ledger`?"),
        "{messages:?}"
    );
    assert!(served.accepted().is_empty());
}

#[test]
fn apply_shows_the_problems_on_the_plan_and_submits_nothing() {
    for first in [false, true] {
        problems_shown_and_nothing_submitted(first);
    }
}

/// Both instances have problems: with the preflight first nothing is submitted; overlapping
/// the run (the default), both are held back, refused by the preflight.
fn problems_shown_and_nothing_submitted(first: bool) {
    let work = Work::new(&ids("objs", 2), 2);
    std::fs::write(&work.plan, plan()).unwrap();
    let served = served_with_catalog(work.dir.path());
    let apply = work.apply(&served);
    let out = if first {
        apply.arg("--preflight-first").run()
    } else {
        apply.run()
    };
    assert_eq!(out.code, Some(1), "{}", out.all());
    for needle in [
        "planrun::target_exists",
        "cdb-objs0001: new table `orders.payments_bak` already exists",
        "cdb-objs0001: table `orders.refnds` does not exist",
        "help: did you mean `refunds`?",
        "cdb-objs0002: database `ledgr` does not exist",
        "drill.yaml:17:7",
        if first {
            "nothing was submitted"
        } else {
            "held back (rejected, never submitted)"
        },
    ] {
        assert!(
            out.stderr.contains(needle),
            "no {needle:?} in\n{}",
            out.stderr
        );
    }
    assert!(served.accepted().is_empty(), "{}", served.counters());
    let counters = served.counters();
    // A names only `tables`: DescribeTables for orders (whose tables prove it exists) and
    // shop (empty: one DescribeDatabases settles that it is missing, with its suggestions).
    // B names `dbs`: one DescribeDatabases, and no tables.
    assert_eq!(calls(&counters, "DescribeTables"), 2, "{counters}");
    assert_eq!(calls(&counters, "DescribeDatabases"), 2, "{counters}");
}

#[test]
fn an_authentication_failure_in_the_preflight_exits_2_and_no_hint_skips_a_check() {
    let work = Work::new(&ids("objs", 2), 2);
    std::fs::write(&work.plan, plan()).unwrap();
    let served = served_with_catalog(work.dir.path());
    let out = work
        .apply(&served)
        .env("TENCENTCLOUD_SECRET_KEY", "not-the-key-the-sandbox-knows")
        .run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    assert!(out.stderr.contains("AuthFailure"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("those it had not passed were not submitted"),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains("--no-preflight"), "{}", out.all());
    assert!(served.accepted().is_empty(), "{}", served.counters());
}

/// How many requests of `action` the sandbox received (none: 0).
fn calls(counters: &Value, action: &str) -> u64 {
    counters["requests_per_action"][action]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_tables_only_plan_is_checked_with_one_describe_tables_per_instance_and_no_describe_databases() {
    let ids = ids("tonl", 3);
    let work = Work::new(&ids, 3);
    // The demo catalog holds orders.payments and orders.refunds on every instance.
    let served = Served::start_api("v3", 0.3, &[]);
    let out = work.plan_preflight_json(&served).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    assert_eq!(
        doc["preflight"]["files"][0]["diagnostics"]
            .as_array()
            .map(Vec::len),
        Some(0),
        "{doc}"
    );
    let counters = served.counters();
    assert_eq!(calls(&counters, "DescribeTables"), 3, "{counters}");
    assert_eq!(calls(&counters, "DescribeDatabases"), 0, "{counters}");
}

#[test]
fn a_plan_applied_once_is_caught_by_the_preflight_when_applied_again() {
    let ids = ids("twce", 2);
    let work = Work::new(&ids, 2);
    // The demo catalog: every instance holds the house schema (orders.payments, refunds).
    let served = Served::start_api("v3", 0.3, &[]);
    let first = work.apply(&served).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    assert!(
        first
            .stderr
            .contains("every source exists and no target does"),
        "{}",
        first.stderr
    );
    let again = work.apply(&served).arg("--restart").run();
    assert_eq!(again.code, Some(1), "{}", again.all());
    assert!(
        again.stderr.contains(&format!(
            "{}: new table `orders.payments_bak` already exists",
            ids[0]
        )),
        "{}",
        again.stderr
    );
    served.assert_each_accepted_once(&ids);
}

#[test]
fn a_resumed_apply_does_not_flag_the_targets_its_own_rollbacks_created() {
    let ids = ids("rsum", 3);
    // One call for all three, so that once it is accepted nothing is left to submit.
    let work = Work::new(&ids, 3);
    let served = Served::start_api("v3", 0.5, &[]);
    let mut first = work.apply(&served).spawn();
    first.wait_for("accepted: job", Duration::from_secs(30));
    let _ = first.kill9();
    // Ask until every task has ended (and so created its targets).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = work.status(&served).run();
        if status.code == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "{}", status.all());
    }
    // The targets exist now: a fresh poll the plan says so...
    let fresh = work.plan_preflight_json(&served).run();
    assert_eq!(fresh.code, Some(1), "{}", fresh.all());
    assert!(
        fresh.stdout.contains("planrun::target_exists"),
        "{}",
        fresh.stdout
    );
    // ...but resuming the apply that created them does not stop at them.
    let resumed = work.apply(&served).run();
    assert_eq!(resumed.code, Some(0), "{}", resumed.all());
    assert!(
        resumed.stderr.contains("preflight: nothing to check"),
        "{}",
        resumed.stderr
    );
    served.assert_each_accepted_once(&ids);
}

#[test]
fn an_instance_the_window_check_finds_missing_is_reported_once_and_not_asked_what_it_holds() {
    let ids = ids("gone", 3);
    let served = Served::start_api("v3", 0.3, &["--missing", &ids[1]]);
    let work = Work::new(&ids, 3);
    let out = work.plan_preflight_json(&served).run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let codes: Vec<&str> = doc["preflight"]["files"][0]["diagnostics"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(codes, ["planrun::instance_unavailable"], "{doc}");
    // The two others are asked (tables only: DescribeTables, no DescribeDatabases).
    let counters = served.counters();
    assert_eq!(calls(&counters, "DescribeTables"), 2, "{counters}");
    assert_eq!(calls(&counters, "DescribeDatabases"), 0, "{counters}");
}

/// The preflight overlapping the run (the default): of one call's two instances, the one
/// whose checks passed is submitted without the other, which is held back (refused by the
/// preflight, with its diagnostic) and never reaches the API.
#[test]
fn a_held_back_instance_is_never_submitted_and_the_rest_of_its_call_is() {
    let work = Work::new(&ids("objs", 2), 2);
    let plan = format!(
        "version: 1\nname: objects\nrollback_time: \"{}\"\nstrategy: table\nbatch_size: 2\n\
         region: ap-guangzhou\ninstances:\n  - id: cdb-objs0001\n    tables:\n      orders:\n\
         \x20       refunds: refunds_restored\n  - id: cdb-objs0002\n    strategy: db\n    dbs:\n\
         \x20     ledgr: ledger_restored\n",
        recent_time()
    );
    std::fs::write(&work.plan, plan).unwrap();
    let served = served_with_catalog(work.dir.path());
    let out = work.apply(&served).run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let accepted: Vec<String> = served.accepted().into_keys().collect();
    assert_eq!(accepted, ["cdb-objs0001"], "{}", served.counters());
    for needle in [
        "cdb-objs0002: database `ledgr` does not exist",
        "held back (rejected, never submitted)",
    ] {
        assert!(
            out.stderr.contains(needle),
            "no {needle:?} in\n{}",
            out.all()
        );
    }
    assert!(out.stdout.contains("rejected"), "{}", out.all());
}

/// The overlapping preflight ends on an API error (every DescribeTables answers
/// InternalError) after it held back an instance of an earlier call: the held instance's
/// diagnostic is still shown, then the error; nothing is submitted, exit 2.
#[test]
fn an_api_error_ending_the_preflight_keeps_what_it_held_back_before() {
    let ids = ids("half", 2);
    let served = Served::start_api(
        "v3",
        0.3,
        &[
            "--missing",
            &ids[0],
            "--fault-rate",
            "1",
            "--faults",
            "internal",
            "--fault-actions",
            "DescribeTables",
        ],
    );
    // One instance a call: the missing one's call is checked (and held) before the other's.
    let work = Work::new(&ids, 1);
    let out = work.apply(&served).run();
    assert_eq!(out.code, Some(2), "{}", out.all());
    // The diagnostic as `plan --preflight` gives it, at the plan's line, not only the
    // summary's one line.
    for needle in [
        "drill.yaml:9:11",
        "preflight found 1 problem(s) with the plan",
        "InternalError",
        "those it had not passed were not submitted",
    ] {
        assert!(
            out.stderr.contains(needle),
            "no {needle:?} in\n{}",
            out.all()
        );
    }
    assert!(served.accepted().is_empty(), "{}", served.counters());
}
