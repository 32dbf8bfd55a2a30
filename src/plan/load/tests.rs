//! Exact spans of loading: the JSON-Pointer index, structural diagnostics (unknown, duplicate,
//! wrong type, missing), parser errors, encodings, and how scalars become names and text.

use super::*;

fn at(text: &str, span: Span) -> &str {
    &text[span.offset..span.offset + span.len]
}

/// Key and value text of an indexed pointer.
fn entry<'a>(text: &'a str, loaded: &Loaded, pointer: &str) -> (Option<&'a str>, &'a str) {
    let loc = loaded
        .index
        .get(pointer)
        .unwrap_or_else(|| panic!("{pointer} not indexed"));
    (loc.key.map(|k| at(text, k)), at(text, loc.value))
}

fn only<'a>(loaded: &'a Loaded, code: &str) -> &'a Diagnostic {
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(found.len(), 1, "one {code} in {:#?}", loaded.diagnostics);
    found[0]
}

fn primary<'a>(text: &'a str, d: &Diagnostic) -> &'a str {
    at(text, d.span.unwrap_or_else(|| panic!("{d:?} has no span")))
}

const PLAN: &str = r#"version: 1
strategy: table
instances:
  - ids: [cdb-aaaaaaaa, cdb-bbbbbbbb]
    tables:
      orders: [payments, refunds]
      billing: {invoices: invoices_bak}
"#;

#[test]
fn the_index_maps_pointers_to_key_and_value_spans() {
    let loaded = load(PLAN);
    assert!(loaded.parsed && loaded.diagnostics.is_empty());
    assert_eq!(
        entry(PLAN, &loaded, "/strategy"),
        (Some("strategy"), "table")
    );
    assert_eq!(
        entry(PLAN, &loaded, "/instances/0/ids/1"),
        (None, "cdb-bbbbbbbb")
    );
    assert_eq!(
        entry(PLAN, &loaded, "/instances/0/tables/orders/1"),
        (None, "refunds")
    );
    assert_eq!(
        entry(PLAN, &loaded, "/instances/0/tables/billing"),
        (Some("billing"), "{invoices: invoices_bak}")
    );
    assert_eq!(
        entry(PLAN, &loaded, "/instances/0/tables/billing/invoices"),
        (Some("invoices"), "invoices_bak")
    );
}

#[test]
fn unindexed_pointers_fall_back_to_the_closest_ancestor() {
    let loaded = load(PLAN);
    assert_eq!(
        at(PLAN, loaded.index.value("/instances/0/ids/7")),
        "[cdb-aaaaaaaa, cdb-bbbbbbbb]"
    );
    assert_eq!(at(PLAN, loaded.index.key("/strategy")), "strategy");
    assert_eq!(loaded.index.value("/nothing/here"), loaded.index.value(""));
}

#[test]
fn the_model_holds_what_the_yaml_said() {
    let plan = load(PLAN).plan;
    assert_eq!(plan.version, 1);
    assert_eq!(plan.strategy, Some(Strategy::Table));
    let e = &plan.instances[0];
    assert_eq!(
        e.ids,
        Some(vec!["cdb-aaaaaaaa".to_owned(), "cdb-bbbbbbbb".to_owned()])
    );
    let tables = e.tables.as_ref().map(|t| t.0.clone()).unwrap_or_default();
    assert_eq!(
        tables,
        [
            (
                "orders".to_owned(),
                Names::List(vec!["payments".to_owned(), "refunds".to_owned()])
            ),
            (
                "billing".to_owned(),
                Names::Map(vec![("invoices".to_owned(), "invoices_bak".to_owned())])
            ),
        ]
    );
}

#[test]
fn an_unknown_field_suggests_the_closest_known_one() {
    let text = "version: 1\ninstances:\n  - id: cdb-aaaaaaaa\n    rollback_tim: x\n";
    let loaded = load(text);
    let d = only(&loaded, "planrun::unknown_field");
    assert_eq!(d.path, "/instances/0/rollback_tim");
    assert_eq!(primary(text, d), "rollback_tim");
    assert_eq!(d.help.as_deref(), Some("did you mean `rollback_time`?"));
    assert_eq!(
        d.message,
        "unknown field `rollback_tim` in the instance entry"
    );
}

#[test]
fn an_unknown_field_far_from_any_lists_the_known_ones() {
    let text = "version: 1\ninstances: []\nzzzzzz: 1\n";
    let d = only(&load(text), "planrun::unknown_field").clone();
    assert_eq!(d.path, "/zzzzzz");
    assert!(
        d.help
            .is_some_and(|h| h.starts_with("known fields: version, name"))
    );
}

#[test]
fn duplicate_keys_label_the_repeat_and_the_first() {
    let text = "version: 1\ninstances:\n  - id: cdb-aaaaaaaa\n    tables:\n      orders: {t: a}\n      orders: {u: b}\n    id: cdb-bbbbbbbb\n";
    let loaded = load(text);
    let dups: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "planrun::duplicate_key")
        .collect();
    assert_eq!(dups.len(), 2, "{:#?}", loaded.diagnostics);
    let orders = dups
        .iter()
        .find(|d| d.path == "/instances/0/tables/orders")
        .unwrap_or_else(|| panic!("orders duplicate"));
    assert_eq!(orders.span.map(|s| s.offset), text.rfind("orders"));
    assert_eq!(
        orders.related[0].span.offset,
        text.find("orders").unwrap_or(0)
    );
    assert_eq!(orders.related[0].label, "first given here");
    let id = dups
        .iter()
        .find(|d| d.path == "/instances/0/id")
        .unwrap_or_else(|| panic!("id duplicate"));
    assert_eq!(id.span.map(|s| s.offset), text.rfind("id:"));
    assert_eq!(id.message, "`id` is given twice");
    // The first value wins.
    assert_eq!(loaded.plan.instances[0].id.as_deref(), Some("cdb-aaaaaaaa"));
}

#[test]
fn a_wrong_type_labels_the_value() {
    let text = "version: 1\nstrategy: [table]\ninstances: {}\n";
    let loaded = load(text);
    let spans: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "planrun::wrong_type")
        .map(|d| (d.path.as_str(), primary(text, d), d.label.as_str()))
        .collect();
    assert_eq!(
        spans,
        [
            ("/strategy", "[table]", "this is a list"),
            ("/instances", "{}", "this is a mapping"),
        ]
    );
}

#[test]
fn an_unknown_strategy_suggests_a_known_one() {
    let text = "version: 1\nstrategy: tabel\ninstances: []\n";
    let loaded = load(text);
    let d = only(&loaded, "planrun::invalid_strategy");
    assert_eq!((d.path.as_str(), primary(text, d)), ("/strategy", "tabel"));
    assert_eq!(
        d.help.as_deref(),
        Some("did you mean `table`? (table, db or full)")
    );
}

#[test]
fn missing_version_and_instances_are_zero_width_at_the_start() {
    let text = "# comment\nstrategy: db\n";
    let loaded = load(text);
    let missing: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "planrun::missing_field")
        .map(|d| (d.message.as_str(), d.span))
        .collect();
    let start = Some(Span::new(text.find("strategy").unwrap_or(0), 0));
    assert_eq!(
        missing,
        [
            ("the plan has no `version`", start),
            ("the plan has no `instances`", start),
        ]
    );
}

#[test]
fn syntax_errors_point_at_the_parsers_line_and_column() {
    // Multi-byte characters before the error on its line: columns are characters.
    let text = "version: 1\nname: \"ü\"\ninstances: [\"ééé\", {a: 1]\n";
    let loaded = load(text);
    assert!(!loaded.parsed);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, "planrun::yaml_syntax");
    let offset = d.span.map_or(0, |s| s.offset);
    assert!(offset > text.find("instances").unwrap_or(0), "{d:?}");
    assert!(text.is_char_boundary(offset));
    assert!(
        !d.message.contains(" at line "),
        "the label shows the place: {}",
        d.message
    );
}

#[test]
fn a_tab_in_the_indentation_is_named() {
    let text = "version: 1\ninstances:\n\t- id: x\n";
    let d = load(text).diagnostics[0].clone();
    assert_eq!(d.code, "planrun::yaml_syntax");
    assert_eq!(
        d.help.as_deref(),
        Some("YAML indentation uses spaces, never tabs")
    );
    assert_eq!(d.span.map(|s| &text[s.offset..s.offset + 1]), Some("-"));
}

#[test]
fn several_documents_are_one_clear_error() {
    let text = "version: 1\n---\nversion: 2\n";
    let d = load(text).diagnostics[0].clone();
    assert_eq!(
        d.message,
        "invalid YAML: the file holds several YAML documents"
    );
    assert_eq!(
        d.span.map(|s| s.offset),
        Some(text.find("---").unwrap_or(0))
    );
}

#[test]
fn invalid_utf8_is_labelled_at_the_first_bad_byte() {
    let bytes = b"version: 1\nname: caf\xe9\n";
    let (text, loaded) = load_bytes(bytes);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, "planrun::not_utf8");
    assert_eq!(d.span, Some(Span::new(20, 3)));
    assert_eq!(primary(&text, d), "\u{fffd}");
    assert!(d.message.ends_with("at byte 20"));
}

#[test]
fn a_file_over_the_limit_is_refused_before_parsing() {
    let bytes = vec![b'#'; MAX_PLAN_BYTES + 1];
    let (text, loaded) = load_bytes(&bytes);
    assert!(text.is_empty() && !loaded.parsed);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.code, "planrun::file_too_large");
    assert_eq!(d.span, None);
    assert!(d.message.contains(&(MAX_PLAN_BYTES + 1).to_string()));
}

#[test]
fn an_empty_document_is_an_empty_plan() {
    for text in ["", "# nothing yet\n", "~\n"] {
        let loaded = load(text);
        assert!(loaded.parsed);
        let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["planrun::empty_plan"], "{text:?}");
    }
}

#[test]
fn numbers_used_as_names_keep_their_text() {
    let text = "version: 1\ninstances:\n  - id: cdb-aaaaaaaa\n    tables:\n      2024: {007: 2024.11, t: &x 0x1f, u: *x}\n";
    let loaded = load(text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let tables = loaded.plan.instances[0]
        .tables
        .as_ref()
        .map(|t| t.0.clone())
        .unwrap_or_default();
    let pairs = |v: &[(&str, &str)]| {
        Names::Map(
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    };
    assert_eq!(tables[0].0, "2024");
    assert_eq!(
        tables[0].1,
        pairs(&[("007", "2024.11"), ("t", "0x1f"), ("u", "0x1f")])
    );
}

#[test]
fn unquoted_times_and_offsets_are_read_as_written() {
    let text = "version: 1\nrollback_time: 2026-11-20 03:15:00\ntimezone: +08:00\ninstances: []\n";
    let plan = load(text).plan;
    assert_eq!(plan.rollback_time.as_deref(), Some("2026-11-20 03:15:00"));
    assert_eq!(plan.timezone.as_deref(), Some("+08:00"));
}

#[test]
fn merged_keys_are_indexed_at_the_merge() {
    let text = "version: 1\ninstances:\n  - &e\n    id: cdb-aaaaaaaa\n    tables: {orders: [a]}\n  - <<: *e\n    id: cdb-bbbbbbbb\n";
    let loaded = load(text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(
        entry(text, &loaded, "/instances/1/tables/orders"),
        (Some("*e"), "*e")
    );
    assert_eq!(
        entry(text, &loaded, "/instances/1/id"),
        (Some("id"), "cdb-bbbbbbbb")
    );
    let second = &loaded.plan.instances[1];
    assert_eq!(second.id.as_deref(), Some("cdb-bbbbbbbb"));
    assert_eq!(second.tables, loaded.plan.instances[0].tables);
}

#[test]
fn aliased_nodes_remember_where_they_were_written() {
    let text = "version: 1\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: &t {orders: [a, b]}\n  - id: cdb-bbbbbbbb\n    tables: *t\n";
    let loaded = load(text);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let orders = loaded
        .index
        .get("/instances/1/tables/orders")
        .unwrap_or_else(|| panic!("indexed"));
    assert_eq!(orders.key.map(|k| at(text, k)), Some("*t"));
    assert_eq!(orders.key_defined.map(|k| at(text, k)), Some("orders"));
    assert_eq!(orders.value_defined.map(|v| at(text, v)), Some("[a, b]"));
    // Key and value are both at the alias: the whole written entry is meant.
    assert_eq!(
        orders.defined(orders.value).map(|v| at(text, v)),
        Some("orders: [a, b]")
    );
    let tables = loaded
        .index
        .get("/instances/1/tables")
        .unwrap_or_else(|| panic!("indexed"));
    assert_eq!(at(text, tables.value), "*t");
    assert_eq!(
        tables.value_defined.map(|v| at(text, v)),
        Some("{orders: [a, b]}")
    );
    let first = loaded
        .index
        .get("/instances/0/tables")
        .unwrap_or_else(|| panic!("indexed"));
    assert_eq!(first.value_defined, None, "written where it is used");
}

#[test]
fn a_wrong_type_through_an_alias_shows_where_it_was_written() {
    let text = "version: 1\ndescription: &x [1]\nname: *x\ninstances: []\n";
    let loaded = load(text);
    let d = loaded
        .diagnostics
        .iter()
        .find(|d| d.path == "/name")
        .unwrap_or_else(|| panic!("{:#?}", loaded.diagnostics));
    assert_eq!(primary(text, d), "*x");
    assert_eq!(d.related.len(), 1);
    assert_eq!(at(text, d.related[0].span), "[1]");
    assert_eq!(d.related[0].label, "written here (used through an alias)");
}

#[test]
fn a_negative_integer_says_which_value() {
    let text = "version: 1\nbatch_size: -3\ninstances: []\n";
    let d = only(&load(text), "planrun::wrong_type").clone();
    assert_eq!(d.path, "/batch_size");
    assert_eq!(
        d.message,
        "`batch_size` should be a positive integer, found -3"
    );
    assert_eq!(primary(text, &d), "-3");
}
