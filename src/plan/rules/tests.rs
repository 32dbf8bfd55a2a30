//! Exact spans of rule diagnostics (code, JSON pointer, the bytes each label covers), and the
//! resolved plan: `ids` expansion, list-form renames, inherited defaults.

use chrono::{DateTime, Utc};

use super::super::diagnostic::Diagnostic;
use super::super::load;
use super::super::model::Strategy;
use super::super::node::Span;
use super::super::resolved::{DbTables, Rename, ResolvedPlan};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn check(text: &str) -> (Vec<Diagnostic>, Option<ResolvedPlan>) {
    super::check(&load::load(text), "plan", &super::Context::at(now()))
}

/// The one diagnostic with `code`; fails when there is none or several.
fn only<'a>(diagnostics: &'a [Diagnostic], code: &str) -> &'a Diagnostic {
    let found: Vec<_> = diagnostics.iter().filter(|d| d.code == code).collect();
    assert_eq!(found.len(), 1, "one {code} expected in {diagnostics:#?}");
    found[0]
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<&str> {
    diagnostics.iter().map(|d| d.code).collect()
}

fn at(text: &str, span: Span) -> &str {
    &text[span.offset..span.offset + span.len]
}

/// The primary label's text.
fn primary<'a>(text: &'a str, d: &Diagnostic) -> &'a str {
    at(text, d.span.unwrap_or_else(|| panic!("{d:?} has no span")))
}

/// (label, text) of each related label.
fn related<'a>(text: &'a str, d: &'a Diagnostic) -> Vec<(&'a str, &'a str)> {
    d.related
        .iter()
        .map(|r| (r.label.as_str(), at(text, r.span)))
        .collect()
}

/// Byte offset of the `n`th (0-based) occurrence of `needle`.
fn nth(text: &str, needle: &str, n: usize) -> usize {
    text.match_indices(needle)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("{needle:?} #{n} not in text"))
}

const HEAD: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\n";

#[test]
fn table_with_inherited_strategy_labels_dbs_and_the_plan_default() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{orders: orders_bak}}\n"
    );
    let (ds, resolved) = check(&text);
    assert!(resolved.is_none());
    let d = only(&ds, "planrun::table_with_dbs");
    assert_eq!(d.path, "/instances/0/dbs");
    assert_eq!(primary(&text, d), "dbs");
    assert_eq!(d.span.map(|s| s.offset), Some(nth(&text, "dbs", 0)));
    assert_eq!(
        related(&text, d),
        [("plan-level `strategy: table` applies here", "table")]
    );
    assert_eq!(
        d.related[0].span.offset,
        nth(&text, "table", 0),
        "the plan's value"
    );
    assert!(d.message.contains("cdb-aaaaaaaa") && d.message.contains("`orders`"));
}

#[test]
fn table_with_own_strategy_labels_the_entry_value() {
    let text = format!(
        "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    strategy: table\n    dbs: [orders]\n    rename: \"{{name}}_old\"\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::table_with_dbs");
    assert_eq!(related(&text, d), [("`strategy: table` set here", "table")]);
    assert_eq!(d.related[0].span.offset, nth(&text, "table", 0));
}

#[test]
fn duplicate_instance_points_at_both_ids_across_entries() {
    let text = format!(
        "{HEAD}strategy: table\nrename: \"{{name}}_bak\"\ninstances:\n  - ids: [cdb-shard001, cdb-shard002]\n    tables: {{orders: [a]}}\n  - id: cdb-shard002\n    tables: {{orders: [b]}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::duplicate_instance");
    assert_eq!(d.path, "/instances/1/id");
    assert_eq!(primary(&text, d), "cdb-shard002");
    assert_eq!(
        d.span.map(|s| s.offset),
        Some(nth(&text, "cdb-shard002", 1))
    );
    assert_eq!(related(&text, d), [("first here", "cdb-shard002")]);
    assert_eq!(d.related[0].span.offset, nth(&text, "cdb-shard002", 0));
}

#[test]
fn missing_strategy_is_a_zero_width_label_at_the_entry() {
    let text =
        format!("{HEAD}instances:\n  - id: cdb-aaaaaaaa\n    tables: {{orders: {{t: t_bak}}}}\n");
    let (ds, _) = check(&text);
    assert_eq!(codes(&ds), ["planrun::missing_strategy"]);
    let d = &ds[0];
    assert_eq!(d.path, "/instances/0");
    assert_eq!(d.span, Some(Span::new(nth(&text, "id:", 0), 0)));
    assert_eq!(
        d.message,
        "instance cdb-aaaaaaaa has no `strategy` (none in the entry, none in the plan)"
    );
}

#[test]
fn inherited_full_strategy_warns_at_the_entry_and_the_plan() {
    let text = format!(
        "{HEAD}strategy: full\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{orders: o_bak}}\n"
    );
    let (ds, resolved) = check(&text);
    let d = only(&ds, "planrun::full_strategy");
    assert!(!d.is_error());
    assert_eq!(d.path, "/instances/0");
    assert_eq!(d.span, Some(Span::new(nth(&text, "id:", 0), 0)));
    assert_eq!(related(&text, d), [("inherited from here", "full")]);
    assert!(resolved.is_some(), "a warning does not block the plan");
}

#[test]
fn target_is_source_labels_the_new_name_and_the_source_key() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tables:\n      orders:\n        payments: refunds\n        refunds: refunds_bak\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::target_is_source");
    assert_eq!(d.path, "/instances/0/tables/orders/payments");
    assert_eq!(d.span.map(|s| s.offset), Some(nth(&text, "refunds", 0)));
    assert_eq!(primary(&text, d), "refunds");
    assert_eq!(related(&text, d), [("that source", "refunds")]);
    assert_eq!(d.related[0].span.offset, nth(&text, "refunds", 1));
}

#[test]
fn shared_target_points_at_both_new_names() {
    let text = format!(
        "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{a: same, b: same}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::shared_target");
    assert_eq!(d.path, "/instances/0/dbs/b");
    assert_eq!(d.span.map(|s| s.offset), Some(nth(&text, "same", 1)));
    assert_eq!(related(&text, d), [("first used here", "same")]);
    assert_eq!(d.related[0].span.offset, nth(&text, "same", 0));
}

#[test]
fn an_invalid_templated_name_points_at_the_item_and_the_template() {
    let text = format!(
        "{HEAD}strategy: table\nrename: \"{{name}} bak\"\ninstances:\n  - id: cdb-aaaaaaaa\n    tables:\n      orders: [payments]\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::invalid_target_name");
    assert_eq!(d.path, "/instances/0/tables/orders/0");
    assert_eq!(primary(&text, d), "payments");
    assert_eq!(d.message, "new name `payments bak` is not valid");
    assert_eq!(
        related(&text, d),
        [("template applied here", "\"{name} bak\"")]
    );
}

#[test]
fn a_source_with_a_slash_is_escaped_in_the_pointer() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {{orders: {{a/b~c: t_bak}}}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::invalid_source_name");
    assert_eq!(d.path, "/instances/0/tables/orders/a~1b~0c");
    assert_eq!(primary(&text, d), "a/b~c");
}

#[test]
fn a_table_under_a_rolled_back_db_labels_both_places() {
    let text = format!(
        "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{orders: o_bak}}\n    tables:\n      orders: {{t: t_bak}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::table_in_rolled_back_db");
    assert_eq!(d.path, "/instances/0/tables/orders");
    assert_eq!(d.span.map(|s| s.offset), Some(nth(&text, "orders", 1)));
    assert_eq!(primary(&text, d), "orders");
    assert_eq!(related(&text, d), [("whole database listed here", "dbs")]);
}

#[test]
fn an_alias_carries_its_problem_to_the_place_of_use() {
    let text = format!(
        "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: &d {{orders: o_bak, mysql: m_bak}}\n  - id: cdb-bbbbbbbb\n    dbs: *d\n"
    );
    let (ds, _) = check(&text);
    let system: Vec<_> = ds
        .iter()
        .filter(|d| d.code == "planrun::system_database")
        .collect();
    assert_eq!(system.len(), 2, "{ds:#?}");
    assert_eq!(system[0].path, "/instances/0/dbs/mysql");
    assert_eq!(primary(&text, system[0]), "mysql");
    assert!(system[0].related.is_empty());
    assert_eq!(system[1].path, "/instances/1/dbs/mysql");
    assert_eq!(primary(&text, system[1]), "*d");
    assert_eq!(
        related(&text, system[1]),
        [("written here (used through an alias)", "mysql: m_bak")]
    );
    assert_eq!(system[1].related[0].span.offset, nth(&text, "mysql", 0));
}

#[test]
fn a_merged_value_is_labelled_at_the_merge_key() {
    let text = format!(
        "{HEAD}instances:\n  - &e\n    id: cdb-aaaaaaaa\n    strategy: db\n    dbs: {{orders: o_bak}}\n  - <<: *e\n    id: cdb-bbbbbbbb\n    strategy: table\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::table_with_dbs");
    assert_eq!(d.path, "/instances/1/dbs");
    assert_eq!(primary(&text, d), "*e");
    assert_eq!(
        related(&text, d),
        [
            ("`strategy: table` set here", "table"),
            (
                "written here (used through an alias)",
                "dbs: {orders: o_bak}"
            ),
        ]
    );
}

#[test]
fn future_is_judged_in_the_plans_timezone() {
    // 12:00Z is 07:00 at -05:00 and 20:00 at +08:00.
    let plan = |tz: &str| {
        format!(
            "version: 1\nrollback_time: \"2026-11-23 08:00:00\"\ntimezone: \"{tz}\"\nstrategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {{orders: {{t: t_bak}}}}\n"
        )
    };
    let text = plan("-05:00");
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::future_rollback_time");
    assert_eq!(d.path, "/rollback_time");
    assert_eq!(primary(&text, d), "\"2026-11-23 08:00:00\"");
    let (ds, resolved) = check(&plan("+08:00"));
    assert!(ds.is_empty(), "{ds:#?}");
    assert!(resolved.is_some());
}

#[test]
fn an_entry_rollback_time_is_checked_at_the_entry() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    rollback_time: \"2026-11-01 00:00:00\"\n    tables: {{orders: {{t: t_bak}}}}\n  - id: cdb-bbbbbbbb\n    rollback_time: 2026-13-01 00:00:00\n    tables: {{orders: {{t: t_bak}}}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::old_rollback_time");
    assert_eq!(d.path, "/instances/0/rollback_time");
    assert_eq!(primary(&text, d), "\"2026-11-01 00:00:00\"");
    let d = only(&ds, "planrun::invalid_rollback_time");
    assert_eq!(d.path, "/instances/1/rollback_time");
    assert_eq!(primary(&text, d), "2026-13-01 00:00:00");
    assert_eq!(
        d.message,
        "`2026-13-01 00:00:00` is not a real calendar time"
    );
}

#[test]
fn no_follow_on_errors_after_a_type_error() {
    let text = String::from(
        "version: \"1\"\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n  - ids: [123]\n    tables: [a]\n  - id: 42\n    dbs: 5\n",
    );
    let (ds, _) = check(&text);
    assert!(
        ds.iter().all(|d| d.code == "planrun::wrong_type"),
        "{:?}",
        codes(&ds)
    );
    assert_eq!(ds.len(), 5);
}

#[test]
fn resolution_expands_ids_renames_lists_and_inherits_defaults() {
    let text = r#"version: 1
name: incident
rollback_time: "2026-11-20 03:15:00"
timezone: "+09:00"
strategy: table
rename: "{name}_bak"
region: ap-guangzhou
batch_size: 3
instances:
  - ids: [cdb-shard001, cdb-shard002]
    tables:
      orders: [payments]
  - id: cdb-ledger01
    strategy: db
    rollback_time: "2026-11-20 03:10:00"
    rename: "old_{name}"
    region: ap-shanghai
    dbs: [ledger]
    tables:
      audit: {events: events_before}
"#;
    let (ds, resolved) = check(text);
    assert!(ds.is_empty(), "{ds:#?}");
    let plan = resolved.unwrap_or_else(|| panic!("valid"));
    assert_eq!(
        (plan.name.as_str(), plan.timezone.as_str(), plan.batch_size),
        ("incident", "+09:00", 3)
    );
    let ids: Vec<_> = plan
        .instances
        .iter()
        .map(|i| (i.id.as_str(), i.path.as_str(), i.entry))
        .collect();
    assert_eq!(
        ids,
        [
            ("cdb-shard001", "/instances/0/ids/0", 0),
            ("cdb-shard002", "/instances/0/ids/1", 0),
            ("cdb-ledger01", "/instances/1/id", 1),
        ]
    );
    let rename = |s: &str, t: &str| Rename {
        source: s.to_owned(),
        target: t.to_owned(),
    };
    let shard = &plan.instances[1];
    assert_eq!(shard.strategy, Strategy::Table);
    assert_eq!(shard.rollback_time, "2026-11-20 03:15:00");
    assert_eq!(shard.region.as_deref(), Some("ap-guangzhou"));
    assert!(shard.dbs.is_empty());
    assert_eq!(
        shard.tables,
        [DbTables {
            db: "orders".to_owned(),
            tables: vec![rename("payments", "payments_bak")]
        }]
    );
    let ledger = &plan.instances[2];
    assert_eq!(ledger.strategy, Strategy::Db);
    assert_eq!(ledger.rollback_time, "2026-11-20 03:10:00");
    assert_eq!(ledger.region.as_deref(), Some("ap-shanghai"));
    assert_eq!(ledger.dbs, [rename("ledger", "old_ledger")]);
    assert_eq!(ledger.tables[0].tables, [rename("events", "events_before")]);
}

#[test]
fn the_plan_name_defaults_to_the_file_stem_and_the_timezone_to_cdb_default() {
    let text = format!("{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{a: b}}\n");
    let plan = check(&text).1.unwrap_or_else(|| panic!("valid"));
    assert_eq!(plan.name, "plan");
    assert_eq!(plan.timezone, "+08:00");
    assert_eq!(plan.batch_size, 10);
}

#[test]
fn merged_entries_resolve_with_their_overrides() {
    let text = format!(
        "{HEAD}strategy: table\nrename: \"{{name}}_bak\"\ninstances:\n  - &e\n    id: cdb-eu000001\n    region: eu-frankfurt\n    tables: {{orders: [payments]}}\n  - <<: *e\n    id: cdb-eu000002\n    rollback_time: \"2026-11-20 03:05:00\"\n"
    );
    let (ds, resolved) = check(&text);
    assert!(ds.is_empty(), "{ds:#?}");
    let plan = resolved.unwrap_or_else(|| panic!("valid"));
    let second = &plan.instances[1];
    assert_eq!(second.id, "cdb-eu000002");
    assert_eq!(second.region.as_deref(), Some("eu-frankfurt"));
    assert_eq!(second.rollback_time, "2026-11-20 03:05:00");
    assert_eq!(second.tables[0].tables[0].target, "payments_bak");
}

#[test]
fn diagnostics_come_in_document_order() {
    let text = String::from(
        "version: 2\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\nbatch_size: 0\ninstances:\n  - id: cdb-BAD\n    tables: {orders: {t: t}}\n",
    );
    let (ds, _) = check(&text);
    assert_eq!(
        codes(&ds),
        [
            "planrun::unsupported_version",
            "planrun::invalid_batch_size",
            "planrun::invalid_instance_id",
            "planrun::target_equals_source",
        ]
    );
}

#[test]
fn an_entry_that_is_not_a_mapping_is_one_error() {
    let text = format!("{HEAD}strategy: table\ninstances:\n  - cdb-aaaaaaaa\n  -\n");
    let (ds, _) = check(&text);
    let found: Vec<_> = ds
        .iter()
        .map(|d| (d.code, d.path.as_str(), primary(&text, d)))
        .collect();
    assert_eq!(
        found,
        [
            ("planrun::wrong_type", "/instances/0", "cdb-aaaaaaaa"),
            ("planrun::wrong_type", "/instances/1", ""),
        ]
    );
    assert_eq!(
        ds[0].help.as_deref(),
        Some("an entry is a mapping: write `- id: cdb-aaaaaaaa` and what to roll back under it")
    );
    let (ds, _) = check(&format!("{HEAD}strategy: table\ninstances:\n"));
    assert_eq!(
        codes(&ds),
        ["planrun::wrong_type"],
        "not also empty_instances"
    );
}

#[test]
fn a_non_string_key_is_pointed_at_as_json_spells_it() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    7: x\n    tables: {{orders: {{t: t_bak}}}}\n"
    );
    let (ds, resolved) = check(&text);
    assert_eq!(codes(&ds), ["planrun::wrong_type"]);
    assert_eq!(
        (ds[0].path.as_str(), primary(&text, &ds[0])),
        ("/instances/0/7", "7")
    );
    assert!(resolved.is_none());
}

#[test]
fn a_misspelt_field_is_not_also_reported_missing() {
    let text = "version: 1\nrollback_tim: \"2026-11-20 03:15:00\"\nstratgy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tabels: {orders: {t: t_bak}}\n  - idd: cdb-bbbbbbbb\n    dbs: {a: a_bak}\n    strategy: db\n";
    let (ds, _) = check(text);
    let found: Vec<_> = ds.iter().map(|d| (d.code, d.path.as_str())).collect();
    assert_eq!(
        found,
        [
            ("planrun::unknown_field", "/rollback_tim"),
            ("planrun::unknown_field", "/stratgy"),
            ("planrun::unknown_field", "/instances/0/tabels"),
            ("planrun::unknown_field", "/instances/1/idd"),
        ]
    );
    // An unrelated unknown field does not hide a real omission.
    let text = format!(
        "{HEAD}instances:\n  - id: cdb-aaaaaaaa\n    regionn: x\n    tables: {{orders: {{t: t_bak}}}}\n"
    );
    let (ds, _) = check(&text);
    assert_eq!(
        codes(&ds),
        ["planrun::missing_strategy", "planrun::unknown_field"]
    );
}

#[test]
fn a_new_database_name_must_not_be_an_existing_or_system_database() {
    let text = format!(
        "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{ledger: orders, audit: MySQL}}\n    tables:\n      orders: {{t: t_bak}}\n"
    );
    let (ds, _) = check(&text);
    let d = only(&ds, "planrun::target_is_source");
    assert_eq!(d.path, "/instances/0/dbs/ledger");
    assert_eq!(d.span.map(|s| s.offset), Some(nth(&text, "orders", 0)));
    assert_eq!(related(&text, d), [("that database", "orders")]);
    assert_eq!(d.related[0].span.offset, nth(&text, "orders", 1));
    let d = only(&ds, "planrun::system_database");
    assert_eq!(d.path, "/instances/0/dbs/audit");
    assert_eq!(primary(&text, d), "MySQL");
    assert_eq!(d.message, "new name `MySQL` is a system database");
}

#[test]
fn long_lists_find_the_same_conflicts_as_short_ones() {
    // More than 8 names takes the hashed path; the findings must not change.
    for filler in [0, 12] {
        let extra: String = (0..filler).map(|i| format!(", f{i}: f{i}_bak")).collect();
        let text = format!(
            "{HEAD}strategy: db\ninstances:\n  - id: cdb-aaaaaaaa\n    dbs: {{a: same, b: same, c: c, d: a{extra}}}\n"
        );
        let (ds, _) = check(&text);
        let found: Vec<_> = ds.iter().map(|d| (d.code, d.path.as_str())).collect();
        assert_eq!(
            found,
            [
                ("planrun::shared_target", "/instances/0/dbs/b"),
                ("planrun::target_equals_source", "/instances/0/dbs/c"),
                ("planrun::target_is_source", "/instances/0/dbs/d"),
            ],
            "with {filler} more names"
        );
        let list: String = (0..filler).map(|i| format!(", t{i}")).collect();
        let text = format!(
            "{HEAD}strategy: table\nrename: \"{{name}}_bak\"\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {{orders: [x, y, x{list}]}}\n"
        );
        let (ds, _) = check(&text);
        let found: Vec<_> = ds.iter().map(|d| (d.code, d.path.as_str())).collect();
        assert_eq!(
            found,
            [("planrun::duplicate_name", "/instances/0/tables/orders/2")],
            "with {filler} more names"
        );
    }
}

#[test]
fn connect_names_one_cloud_instances_address() {
    let text = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    connect: 10.0.0.12:3306\n    tables: {{orders: {{payments: payments_bak}}}}\n"
    );
    let (diagnostics, resolved) = check(&text);
    assert!(codes(&diagnostics).is_empty(), "{diagnostics:#?}");
    let plan = resolved.unwrap_or_else(|| panic!("valid"));
    assert_eq!(plan.instances[0].connect.as_deref(), Some("10.0.0.12:3306"));

    let many = format!(
        "{HEAD}strategy: table\ninstances:\n  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]\n    connect: db:3306\n    tables: {{orders: {{payments: payments_bak}}}}\n"
    );
    let (diagnostics, _) = check(&many);
    let d = only(&diagnostics, "planrun::connect_with_ids");
    assert_eq!(primary(&many, d), "connect");

    let bad = format!(
        "{HEAD}strategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    connect: db\n    tables: {{orders: {{payments: payments_bak}}}}\n"
    );
    let (diagnostics, _) = check(&bad);
    assert_eq!(
        primary(&bad, only(&diagnostics, "planrun::invalid_connect")),
        "db"
    );

    let mysql = format!(
        "{HEAD}strategy: table\nprovider: mysql\ninstances:\n  - id: shop\n    server: db:3306\n    backups: d\n    connect: db:3306\n    tables: {{orders: {{payments: payments_bak}}}}\n"
    );
    let (diagnostics, _) = check(&mysql);
    let d = only(&diagnostics, "planrun::tencentcloud_field_on_mysql");
    assert_eq!(primary(&mysql, d), "connect");
}
