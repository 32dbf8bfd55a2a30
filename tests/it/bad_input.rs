//! Bad input through the real binary: each gets a clear diagnostic and exit 1 (2 when the file
//! cannot be read), never a panic, never a hang (every run has a time limit). Then a property
//! test: `plan::check_bytes` returns on arbitrary bytes and on generated YAML-shaped plans.

use proptest::prelude::*;
use serde_json::Value;

use crate::validate::{folder, planrun, run};

/// `validate --format json FILE` on raw bytes: exit code and the file's diagnostics.
fn diagnose(bytes: &[u8]) -> (i32, Vec<Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.yaml"), bytes).expect("write");
    let r = run(dir.path(), &["validate", "--format", "json", "p.yaml"]);
    assert!(
        !r.stderr.contains("panicked"),
        "planrun panicked:\n{}",
        r.stderr
    );
    let doc: Value = serde_json::from_str(&r.stdout).expect("JSON output");
    let diagnostics = doc["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .clone();
    let code = r
        .code
        .unwrap_or_else(|| panic!("planrun was killed:\n{}", r.stderr));
    (code, diagnostics)
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or(""))
        .collect()
}

fn at(d: &Value) -> (u64, u64) {
    (
        d["line"].as_u64().unwrap_or(0),
        d["column"].as_u64().unwrap_or(0),
    )
}

#[test]
fn malformed_yaml_is_a_syntax_error_at_its_place() {
    let (code, ds) =
        diagnose(b"version: 1\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {orders: [a, b}\n");
    assert_eq!(code, 1);
    assert_eq!(codes(&ds), ["planrun::yaml_syntax"]);
    assert_eq!(at(&ds[0]).0, 4, "{ds:?}");
}

#[test]
fn tab_indentation_says_to_use_spaces() {
    let (code, ds) = diagnose(b"version: 1\ninstances:\n\t- id: cdb-aaaaaaaa\n");
    assert_eq!(code, 1);
    assert_eq!(codes(&ds), ["planrun::yaml_syntax"]);
    assert_eq!(at(&ds[0]).0, 3);
    assert!(ds[0]["help"].as_str().is_some_and(|h| h.contains("tabs")));
}

#[test]
fn every_duplicate_key_is_reported_at_every_level() {
    let plan = br#"version: 1
rollback_time: "2026-11-20 03:15:00"
strategy: table
strategy: db
instances:
  - id: cdb-aaaaaaaa
    id: cdb-bbbbbbbb
    tables:
      orders:
        payments: p_bak
        payments: p2_bak
      orders:
        refunds: r_bak
"#;
    let (code, ds) = diagnose(plan);
    assert_eq!(code, 1);
    let dups: Vec<_> = ds
        .iter()
        .filter(|d| d["code"] == "planrun::duplicate_key")
        .map(|d| (d["path"].as_str().unwrap_or(""), at(d)))
        .collect();
    assert_eq!(
        dups,
        [
            ("/strategy", (4, 1)),
            ("/instances/0/id", (7, 5)),
            ("/instances/0/tables/orders/payments", (11, 9)),
            ("/instances/0/tables/orders", (12, 7)),
        ]
    );
}

#[test]
fn wrong_types_are_each_named_with_what_was_expected() {
    let plan = br#"version: "1"
rollback_time: "2026-11-20 03:15:00"
strategy: [table]
batch_size: ten
instances:
  - id: cdb-aaaaaaaa
    dbs: 5
  - id: 42
    tables: {orders: {payments: p_bak}}
"#;
    let (code, ds) = diagnose(plan);
    assert_eq!(code, 1);
    let wrong: Vec<_> = ds
        .iter()
        .filter(|d| d["code"] == "planrun::wrong_type")
        .map(|d| {
            (
                d["path"].as_str().unwrap_or(""),
                d["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        wrong,
        [
            ("/version", "`version` should be an integer, found a string"),
            (
                "/strategy",
                "`strategy` should be one of table, db, full, found a list"
            ),
            (
                "/batch_size",
                "`batch_size` should be an integer, found a string"
            ),
            (
                "/instances/0/dbs",
                "`dbs` should be a list of names or a mapping `source: new_name`, found an integer"
            ),
            (
                "/instances/1/id",
                "`id` should be a string, found an integer"
            ),
        ]
    );
    // No follow-on noise: nothing about a missing strategy, id or version.
    assert_eq!(ds.len(), wrong.len(), "{:?}", codes(&ds));
}

#[test]
fn an_alias_bomb_fails_fast_with_a_limit_error() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(", ")
        ));
    }
    let (code, ds) = diagnose(text.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(codes(&ds), ["planrun::yaml_limit"]);
}

#[test]
fn deep_nesting_is_a_limit_error_not_a_stack_overflow() {
    let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let (code, ds) = diagnose(text.as_bytes());
    assert_eq!(code, 1);
    assert_eq!(codes(&ds), ["planrun::yaml_limit"]);
}

#[test]
fn a_20_mb_file_is_too_large_and_says_its_real_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = vec![b'#'; 20 * 1024 * 1024];
    std::fs::write(dir.path().join("big.yaml"), &big).expect("write");
    let r = run(dir.path(), &["validate", "--format", "json", "big.yaml"]);
    assert_eq!(r.code, Some(1));
    let doc: Value = serde_json::from_str(&r.stdout).expect("JSON");
    let d = &doc["files"][0]["diagnostics"][0];
    assert_eq!(d["code"], "planrun::file_too_large");
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("20971520 bytes")),
        "{d}"
    );
}

/// A real-polling plan of about `size` bytes: many instances with map-form tables.
fn large_plan(size: usize) -> (String, usize) {
    let mut text = String::from(
        "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n",
    );
    let mut n = 0;
    while text.len() < size {
        text.push_str(&format!(
            "  - id: cdb-{n:08x}\n    tables:\n      orders_{n}:\n        payments_archive_2026: payments_archive_2026_before_incident\n        refunds_archive_2026: refunds_archive_2026_before_incident\n"
        ));
        n += 1;
    }
    (text, n)
}

#[test]
fn a_legal_5_mb_plan_validates() {
    let (text, n) = large_plan(5 * 1024 * 1024);
    let dir = folder(&[("big.yaml", &text)]);
    let r = run(dir.path(), &["validate", "big.yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    assert_eq!(
        r.stdout,
        format!("big.yaml: valid ({n} instances, 0 warnings)\n")
    );
}

#[test]
fn the_same_typo_in_20_000_entries_is_reported_once_each() {
    let mut text = String::from(
        "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n",
    );
    for n in 0..20_000 {
        text.push_str(&format!(
            "  - id: cdb-{n:08x}\n    tabels: {{orders: {{payments: p_bak}}}}\n"
        ));
    }
    let checked = planrun::plan::check_bytes(
        "typo.yaml",
        text.as_bytes(),
        &planrun::plan::Context::at(now()),
    );
    let count = |code: &str| {
        checked
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .count()
    };
    assert_eq!(count("planrun::unknown_field"), 20_000);
    // `tabels` is taken for `tables`: no "rolls back nothing" on top of each.
    assert_eq!(checked.diagnostics.len(), 20_000);
}

/// Deterministic pseudo-random bytes (with NULs and high bytes).
fn garbage() -> Vec<u8> {
    (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn binary_garbage_is_binary_and_other_encodings_are_not_utf8() {
    let (code, ds) = diagnose(&garbage());
    assert_eq!(code, 1);
    assert_eq!(codes(&ds), ["planrun::binary_file"]);
    let latin1 = b"version: 1\ndescription: caf\xe9\n";
    let utf16 = b"\xff\xfev\x00e\x00r\x00";
    for bytes in [&latin1[..], &utf16[..]] {
        let (code, ds) = diagnose(bytes);
        assert_eq!(code, 1);
        assert_eq!(codes(&ds), ["planrun::not_utf8"]);
    }
    let (_, ds) = diagnose(latin1);
    assert_eq!(at(&ds[0]), (2, 17), "points at the bad byte");
    let (_, ds) = diagnose(utf16);
    assert!(
        ds[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("UTF-16"))
    );
}

/// `validate FILE` as a person sees it (human output, no colour, 100 columns).
fn shown(bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.yaml"), bytes).expect("write");
    let r = run(dir.path(), &["validate", "p.yaml"]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    (
        r.code.expect("exit code"),
        format!("{}{}", r.stdout, r.stderr),
    )
}

#[test]
fn a_binary_file_is_refused_in_one_line_without_its_bytes() {
    let (code, out) = shown(&garbage());
    assert_eq!(code, 1);
    let message: Vec<&str> = out.lines().filter(|l| l.contains('×')).collect();
    assert_eq!(message.len(), 1, "{out}");
    assert!(message[0].contains("binary data"), "{out}");
    assert!(out.len() < 400, "{} bytes:\n{out}", out.len());
    assert!(!out.contains('\u{fffd}'), "no garbage shown:\n{out}");
}

#[test]
fn a_200_kb_line_shows_a_bounded_window_with_markers() {
    let mut plan = b"version: 1\ninstances: ".to_vec();
    plan.extend(std::iter::repeat_n(b'[', 100_000));
    plan.push(b'\n');
    let (code, out) = shown(&plan);
    assert_eq!(code, 1);
    assert!(out.contains("planrun::yaml_limit"), "{out}");
    assert!(out.len() < 2_000, "{} bytes of diagnostics", out.len());
    let line = out
        .lines()
        .find(|l| l.contains("2 │"))
        .unwrap_or_else(|| panic!("the line is shown:\n{out}"));
    assert!(line.contains("[[[") && line.contains('…'), "{line}");
    // The position is the file's own (column 267 of line 2: where the limit was hit), not the
    // window's.
    assert!(out.contains("p.yaml:2:"), "{out}");
}

#[test]
fn a_long_bad_value_is_cut_in_the_message_and_the_snippet() {
    // YAML keys stop at 1,024 characters; a value quoted by its message does not.
    let value = "x".repeat(50_000);
    let plan = format!("version: 1\nstrategy: {value}\ninstances: []\n");
    let (code, out) = shown(plan.as_bytes());
    assert_eq!(code, 1);
    assert!(out.contains("planrun::invalid_strategy"), "{out}");
    assert!(out.len() < 4_000, "{} bytes of diagnostics", out.len());
    assert!(out.contains("more characters"), "{out}");
}

#[test]
fn nul_bytes_in_utf8_text_are_control_characters_and_a_yaml_error() {
    let (code, ds) = diagnose(b"version: 1\n\0\0\0\n");
    assert_eq!(code, 1);
    assert_eq!(
        codes(&ds),
        ["planrun::control_character", "planrun::yaml_syntax"]
    );
    assert_eq!(at(&ds[0]), (2, 1));
    assert_eq!(at(&ds[1]), (2, 1));
}

#[test]
fn an_empty_file_is_an_empty_plan() {
    for bytes in [&b""[..], b"# just a comment\n", b"~\n"] {
        let (code, ds) = diagnose(bytes);
        assert_eq!(code, 1);
        assert_eq!(codes(&ds), ["planrun::empty_plan"]);
    }
}

#[test]
fn a_utf8_bom_is_accepted() {
    let plan = "\u{feff}version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {orders: {payments: p_bak}}\n";
    let (code, ds) = diagnose(plan.as_bytes());
    assert_eq!((code, ds.len()), (0, 0), "{ds:?}");
}

#[test]
fn a_directory_or_missing_file_exits_2() {
    let dir = folder(&[]);
    std::fs::create_dir(dir.path().join("plans.yaml")).expect("mkdir");
    for name in ["plans.yaml", "missing.yaml"] {
        let out = planrun(dir.path())
            .args(["validate", "--format", "json", name])
            .run();
        assert_eq!(out.code, Some(2), "{name}");
        let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
        assert_eq!(doc["files"][0]["path"], name);
        assert_eq!(doc["files"][0]["diagnostics"][0]["code"], "planrun::io");
    }
    let r = run(dir.path(), &["validate", "missing.yaml"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stdout.contains("cannot read missing.yaml"),
        "{}",
        r.stdout
    );
}

const SMALL: &str = "version: 1\nrollback_time: \"2026-11-20 03:15:00\"\nstrategy: table\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {orders: {payments: p_bak}}\n";

#[test]
fn a_fifo_is_refused_at_once_instead_of_blocking_on_open() {
    let dir = folder(&[]);
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("plan.yaml"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    // No writer ever comes: opening it would block until the 30 s limit kills planrun.
    let r = run(dir.path(), &["validate", "plan.yaml"]);
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert!(r.stdout.contains("not a regular file"), "{}", r.stdout);
}

#[test]
fn a_dash_reads_the_plan_from_standard_input() {
    let dir = folder(&[]);
    let out = planrun(dir.path())
        .args(["validate", "--format", "json", "-"])
        .stdin(SMALL)
        .run();
    assert_eq!(out.code, Some(0));
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["files"][0]["path"], "<stdin>");
    assert_eq!(doc["files"][0]["valid"], true);
    let plan = planrun(dir.path()).args(["plan", "-"]).stdin(SMALL).run();
    assert_eq!(plan.code, Some(0));
    assert!(plan.stdout.contains("Plan: stdin"));
}

#[test]
fn a_plan_named_by_a_250_character_file_applies_without_name_too_long() {
    let name = format!("{}.yaml", "n".repeat(250));
    let dir = folder(&[(&name, SMALL)]);
    let r = run(
        dir.path(),
        &[
            "apply",
            &name,
            "--sandbox",
            "--yes",
            "--poll-interval",
            "100ms",
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("too long"), "{}", r.stderr);
    let journals: Vec<String> = std::fs::read_dir(dir.path().join(".planrun"))
        .expect("state dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(journals.iter().all(|j| j.len() < 200), "{journals:?}");
}

// ---- property test over the library entry point ----

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(crate::cases::NOW)
        .expect("NOW is RFC 3339")
        .with_timezone(&chrono::Utc)
}

/// Scalars a plan might hold, right and wrong.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_owned()),
        Just("table".to_owned()),
        Just("db".to_owned()),
        Just("full".to_owned()),
        Just("\"2026-11-20 03:15:00\"".to_owned()),
        Just("\"+08:00\"".to_owned()),
        Just("\"{name}_bak\"".to_owned()),
        Just("cdb-aaaaaaaa".to_owned()),
        Just("cdb-bbbbbbbb".to_owned()),
        Just("~".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("mysql".to_owned()),
        "[a-z_]{1,8}",
        "-?[0-9]{1,20}",
        "\"[^\"\\\\]{0,8}\"",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("version"),
        Just("rollback_time"),
        Just("timezone"),
        Just("strategy"),
        Just("rename"),
        Just("region"),
        Just("batch_size"),
        Just("instances"),
        Just("id"),
        Just("ids"),
        Just("dbs"),
        Just("tables"),
        Just("orders"),
        Just("payments"),
        Just("<<"),
    ]
    .prop_map(str::to_owned)
}

/// YAML-shaped text: nested block maps and flow lists, with anchors and aliases sprinkled in.
fn document() -> impl Strategy<Value = String> {
    let leaf = scalar();
    let tree = leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    });
    (
        prop::collection::vec((key(), tree, any::<u8>()), 1..8),
        any::<bool>(),
    )
        .prop_map(|(entries, with_instances)| {
            let mut text = String::new();
            for (i, (k, v, flags)) in entries.iter().enumerate() {
                let value = match flags % 4 {
                    0 => format!("&a{i} {v}"),
                    1 if i > 0 => format!("*a{}", i - 1),
                    _ => v.clone(),
                };
                text.push_str(&format!("{k}: {value}\n"));
            }
            if with_instances {
                text.push_str("instances:\n  - &e {id: cdb-aaaaaaaa, tables: {orders: [payments]}}\n  - {<<: *e, id: cdb-bbbbbbbb}\n");
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn check_bytes_returns_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let checked = planrun::plan::check_bytes("p.yaml", &bytes, &planrun::plan::Context::at(now()));
        // Something that is not a valid plan always says why.
        prop_assert!(checked.resolved.is_some() || !checked.diagnostics.is_empty());
    }

    #[test]
    fn check_bytes_returns_on_yaml_shaped_plans(text in document()) {
        let checked = planrun::plan::check_bytes("p.yaml", text.as_bytes(), &planrun::plan::Context::at(now()));
        prop_assert!(checked.resolved.is_some() || checked.has_errors(), "{}", text);
        for d in &checked.diagnostics {
            // Every label lies inside the text and on character boundaries.
            if let Some(span) = d.span {
                prop_assert!(span.offset + span.len <= checked.text.len(), "{:?} in {}", d, text);
                prop_assert!(checked.text.is_char_boundary(span.offset), "{:?} in {}", d, text);
            }
            prop_assert!(d.code.starts_with("planrun::"));
        }
    }
}
