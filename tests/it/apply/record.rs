//! The incident record: `planrun report` and `apply --report FILE.html|.md`. The HTML of a
//! sandbox run with failures and a refused instance is opened in headless Chromium (driven by
//! `tests/browser/inspect.py` over the DevTools pipe): it loads with no console error and no
//! network request, holds every instance and failure, shows a `<script>` as text, and
//! renders a picture that is not blank. The Markdown has a golden; `PLANRUN_UPDATE_GOLDENS=1`
//! rewrites it and saves that picture as `docs/record.png` (the README's), which is not
//! compared: a browser draws it a little differently from run to run ([`golden::refresh`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::harness::{Output, Served, Test, ids, read_json, recent_time};
use crate::support::golden;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `planrun report ARGS` (every path in ARGS absolute) from an empty directory, on the real
/// clock (the plans' times are an hour ago).
fn report(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Test::in_dir(home.path())
        .real_clock()
        .arg("report")
        .args(args)
        .run()
}

#[test]
fn the_markdown_record_of_a_journal_matches_its_golden() {
    let journal = repo().join("tests/record/incident-42.journal");
    let expected = repo().join("tests/record/incident-42.md");
    let out = report(&[&journal.to_string_lossy(), "--format", "markdown"]);
    assert_eq!(out.code, Some(1), "a failure and a refusal: {}", out.all());
    golden::check(&expected, &out.stdout);
}

#[test]
fn report_writes_whole_files_chooses_the_format_by_extension_and_exits_as_status() {
    let journal = repo().join("tests/record/incident-42.journal");
    let journal = journal.to_string_lossy();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("record.html");
    let out = report(&[&journal, "--out", &html.to_string_lossy()]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    let page = std::fs::read_to_string(&html).unwrap_or_default();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("cdb-gone0001") && page.contains("alice@ops-1"));

    let json = dir.path().join("record.json");
    assert_eq!(
        report(&[&journal, "--out", &json.to_string_lossy()]).code,
        Some(1)
    );
    assert_eq!(read_json(&json)["totals"]["rejected"], 1);

    let unknown = dir.path().join("record.txt");
    let refused = report(&[&journal, "--out", &unknown.to_string_lossy()]);
    assert_eq!(refused.code, Some(2), "{}", refused.all());
    assert!(refused.stderr.contains("--format"), "{}", refused.stderr);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the two records, no temporary file: {left:?}"
    );

    // While the run goes on (no `complete` yet, the last instance still running): a
    // snapshot, exit 3 as `status`.
    let text = std::fs::read_to_string(repo().join("tests/record/incident-42.journal"))
        .unwrap_or_default();
    let cut: Vec<&str> = text.lines().collect();
    let running = dir.path().join("running.journal");
    std::fs::write(&running, cut[..cut.len() - 2].join("\n") + "\n").unwrap();
    let snapshot = report(&[&running.to_string_lossy(), "--format", "html"]);
    assert_eq!(snapshot.code, Some(3), "{}", snapshot.all());
    assert!(
        snapshot.stdout.contains("a snapshot as of"),
        "{}",
        snapshot.stdout
    );
    std::fs::remove_file(&running).unwrap();

    // A plan that was never applied: nothing recorded yet, as `status` says (3).
    let plan = dir.path().join("p.yaml");
    std::fs::write(&plan, plan_text(&ids("nrec", 1), "never applied")).unwrap();
    let none = report(&[&plan.to_string_lossy()]);
    assert_eq!(none.code, Some(3), "{}", none.all());
    assert!(none.stderr.contains("No apply"), "{}", none.stderr);
    let missing = report(&[&dir.path().join("nothing.yaml").to_string_lossy()]);
    assert_eq!(missing.code, Some(2), "{}", missing.all());
}

fn plan_text(ids: &[String], description: &str) -> String {
    format!(
        "version: 1\nname: drill\ndescription: '{}'\nrollback_time: \"{}\"\nstrategy: table\n\
         rename: \"{{name}}_bak\"\nregion: ap-guangzhou\nbatch_size: 4\n\
         instances:\n  - ids: [{}]\n    tables:\n      orders: [payments, refunds]\n",
        description.replace('\'', "''"),
        recent_time(),
        ids.join(", ")
    )
}

/// A sandbox run of `ids` (the 3rd fails, the 5th is refused) with `--report FILE`.
fn applied(ids: &[String], description: &str, report_file: &Path) -> (Served, tempfile::TempDir) {
    let served = Served::start_api("v3", 2.0, &["--failing", &ids[2], "--missing", &ids[4]]);
    let work = super::harness::Work::new(ids, 4);
    std::fs::write(&work.plan, plan_text(ids, description)).unwrap();
    // The refused instance must reach the submission, not stop at the preflight.
    let out = work
        .apply(&served)
        .arg("--no-preflight")
        .arg("--report")
        .arg(report_file)
        .run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    (served, work.dir)
}

#[test]
fn apply_writes_the_record_its_extension_asks_for_and_journals_who_ran_it() {
    let ids = ids("mdrc", 6);
    let dir = tempfile::tempdir().unwrap();
    let md = dir.path().join("ticket.md");
    let (_served, work) = applied(&ids, "drill", &md);
    let text = std::fs::read_to_string(&md).unwrap_or_default();
    assert!(text.starts_with("### Rollback record: drill"), "{text}");
    assert!(text.contains("#### Not restored (2)"), "{text}");
    for id in &ids {
        assert!(text.contains(id.as_str()), "{id}: {text}");
    }
    let plan = work.path().join("drill.yaml");
    let state = work.path().join("state");
    let journal =
        std::fs::read_to_string(crate::support::journal_of(&plan, "drill", &state, false))
            .unwrap_or_default();
    let start: Value = journal
        .lines()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_default();
    assert_eq!(start["record"], "start");
    assert_eq!(start["by"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(start["by"]["action"], "StartBatchRollback");
    assert!(start["by"]["host"].is_string(), "{start}");
    assert!(journal.contains("\"record\":\"planned\""));
    // The refusal kept API 3.0's RequestId.
    assert!(
        journal
            .lines()
            .any(|l| l.contains("\"record\":\"rejected\"") && l.contains("\"request_id\"")),
        "{journal}"
    );
}

/// Python for `tests/browser/inspect.py`: the project's `.venv` when there is one.
fn python() -> PathBuf {
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

#[test]
fn the_html_record_of_a_sandbox_run_loads_offline_in_chromium_and_shows_everything() {
    const DESCRIPTION: &str = "Drill: restore orders after the 03:17 DROP. Shown, never run: \
         <script>window.__planrun_injected = 1; document.title = 'pwned'</script>\
         <img src=\"http://127.0.0.1:9/x.png\">";
    let ids = ids("brws", 10);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("record.html");
    let (_served, work) = applied(&ids, DESCRIPTION, &page);
    let json = report(&[
        &work.path().join("drill.yaml").to_string_lossy(),
        "--state-dir",
        &work.path().join("state").to_string_lossy(),
        "--format",
        "json",
    ]);
    assert_eq!(json.code, Some(1), "{}", json.all());
    let record: Value = serde_json::from_str(&json.stdout).unwrap_or_default();

    let shot = dir.path().join("record.png");
    let chromium_check = Command::new(python())
        .arg(repo().join("tests/browser/inspect.py"))
        .arg(&page)
        .arg(&shot)
        .output()
        .unwrap_or_else(|e| panic!("python: {e}"));
    assert!(
        chromium_check.status.success(),
        "inspect.py failed (is chromium installed? .ci/test installs it): {}",
        String::from_utf8_lossy(&chromium_check.stderr)
    );
    let seen: Value = serde_json::from_slice(&chromium_check.stdout)
        .unwrap_or_else(|e| panic!("inspect.py output: {e}"));
    let url = seen["url"].as_str().unwrap_or_default();
    assert_eq!(
        seen["requests"],
        serde_json::json!([url]),
        "only the page itself: {seen}"
    );
    for kind in ["console_errors", "exceptions", "log_errors"] {
        assert_eq!(seen[kind], serde_json::json!([]), "{kind}: {seen}");
    }
    let dom = &seen["dom"];
    let shown: Vec<String> = serde_json::from_value(dom["instances"].clone()).unwrap_or_default();
    assert_eq!(shown, ids, "every instance, in plan order");
    assert_eq!(dom["timeline_rows"], 10);
    let not_restored = dom["not_restored"].as_str().unwrap_or_default();
    let failures: Vec<&Value> = record["instances"]
        .as_array()
        .map(|a| a.iter().filter(|i| i["status"] != "succeeded").collect())
        .unwrap_or_default();
    assert_eq!(failures.len(), 2, "{record}");
    for f in failures {
        let message = f["error"].as_str().unwrap_or_default();
        // A refusal's error reads "code: message"; the page shows both parts.
        let message = message.rsplit_once(": ").map_or(message, |(_, m)| m);
        assert!(
            !message.is_empty() && not_restored.contains(message),
            "{message:?} in {not_restored:?}"
        );
        assert!(not_restored.contains(f["id"].as_str().unwrap_or("?")));
    }
    assert!(not_restored.contains("RequestId"), "{not_restored}");
    // The description is text: its script did not run, its image was not fetched.
    assert_eq!(dom["description"], DESCRIPTION);
    assert_eq!(dom["scripts"], 1, "only the page's own print helper");
    assert_eq!(dom["injected"], false);
    assert_eq!(dom["title"], "Rollback record: drill");
    let picture = &seen["screenshot"];
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1280), Some(1000))
    );
    assert!(
        picture["distinct_colours"].as_u64().unwrap_or(0) > 50
            && picture["luma_stddev"].as_f64().unwrap_or(0.0) > 10.0,
        "a blank picture: {picture}"
    );
    golden::refresh(&repo().join("docs/record.png"), &shot);
}
