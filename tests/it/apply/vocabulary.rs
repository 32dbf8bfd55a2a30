//! Issue 27, item 1: one vocabulary from the engine to every surface. One run against the
//! sandbox ends an instance in each of `succeeded`, `failed`, `rejected`, `cancelled`,
//! `unknown` and `unverified`; the live lines, the summary, `status --format json`, the JSON
//! report and the incident record (Markdown and HTML) must each say the same word for each
//! instance, and `jobs` the task's own state. The words are the contract's
//! (`docs/contract.md` §6), written out here, never taken from planrun's code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::harness::{Output, Served, Work, ids, read_json, statuses};

/// An instance's status, as `docs/contract.md` §6 spells each.
const STATUS_WORDS: [&str; 12] = [
    "pending",
    "submitted",
    "running",
    "succeeded",
    "failed",
    "rejected",
    "timed_out",
    "stopping",
    "cancelled",
    "unknown",
    "unverified",
    "interrupted",
];

/// The word at the start of `text`, if it is one of [`STATUS_WORDS`].
fn status_word(text: &str) -> Option<&'static str> {
    let word = text
        .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .next()
        .unwrap_or_default();
    STATUS_WORDS.iter().copied().find(|w| *w == word)
}

/// The last live line of each instance that says a status: `ID: WORD ...`.
fn live(stderr: &str, ids: &[String]) -> BTreeMap<String, String> {
    ids.iter()
        .filter_map(|id| {
            let prefix = format!("{id}: ");
            let word = stderr
                .lines()
                .filter_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
                .filter_map(status_word)
                .next_back()?;
            Some((id.clone(), word.to_owned()))
        })
        .collect()
}

/// The summary table's status column: `instance job status ...` rows.
fn summary(stdout: &str, ids: &[String]) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let id = ids.iter().find(|i| cells.first() == Some(&i.as_str()))?;
            Some((id.clone(), (*cells.get(2)?).to_owned()))
        })
        .collect()
}

/// Every Markdown table row of an instance: `| ID | status | ...`, each row's status (the
/// record lists an instance in more than one table: all must agree).
fn markdown(text: &str, ids: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, id, status, ..] = cells.as_slice()
            && ids.iter().any(|i| i == id)
        {
            seen.entry((*id).to_owned())
                .or_default()
                .push((*status).to_owned());
        }
    }
    seen
}

/// Every status an instance's HTML rows show: the text of the status cell (`class="st ...`)
/// that follows the instance's id in its row.
fn html(text: &str, ids: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in text.split("<tr") {
        let row = row.split("</tr>").next().unwrap_or_default();
        let Some(id) = ids.iter().find(|i| row.contains(&format!(">{i}<"))) else {
            continue;
        };
        let Some((_, cell)) = row.split_once("class=\"st ") else {
            continue;
        };
        let Some((_, shown)) = cell.split_once('>') else {
            continue;
        };
        let word = status_word(shown).unwrap_or("(none)");
        seen.entry(id.clone()).or_default().push(word.to_owned());
    }
    seen
}

/// `planrun jobs ID --format json`: each task's state.
fn jobs(work: &Work, served: &Served, id: &str) -> Vec<String> {
    let out = work
        .command(served)
        .args(["jobs", id, "--format", "json", "--api", served.api])
        .args(["--region", "ap-guangzhou"])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let tasks: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    tasks
        .as_array()
        .unwrap_or_else(|| panic!("jobs {id}: {}", out.stdout))
        .iter()
        .map(|t| t["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn report(work: &Work, served: &Served, format: &str) -> Output {
    let out = work
        .command(served)
        .arg("report")
        .arg(&work.plan)
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--format", format])
        .run();
    // Failures among the outcomes: 1 (contract §2, as `status`).
    assert_eq!(out.code, Some(1), "report {format}: {}", out.all());
    out
}

#[test]
fn every_surface_says_the_same_word_for_each_instance() {
    // In plan order, one per call, one call at a time: the first call (`unknown`'s) creates
    // its task and answers InternalError, and with no echo in Detail nothing proves the task
    // is its own; `failed`'s tasks fail, `rejected`'s instance does not exist (the preflight
    // is skipped to let it be sent), `unverified`'s success creates nothing, and `cancelled`
    // is stopped by `planrun cancel` while the apply tracks it.
    let ids = ids("vcab", 6);
    let expected: BTreeMap<String, String> = [
        "unknown",
        "succeeded",
        "failed",
        "rejected",
        "unverified",
        "cancelled",
    ]
    .iter()
    .zip(&ids)
    .map(|(word, id)| (id.clone(), (*word).to_owned()))
    .collect();
    let of = |word: &str| {
        expected
            .iter()
            .find(|(_, w)| *w == word)
            .map(|(id, _)| id.clone())
            .unwrap_or_default()
    };
    let served = Served::start_api(
        "v3",
        // Long enough that the cancelled one is seen running before it could end.
        4.0,
        &[
            "--failing",
            &of("failed"),
            "--missing",
            &of("rejected"),
            "--hollow",
            &of("unverified"),
            "--empty-detail",
            "--inject",
            "StartBatchRollback=InternalErrorx1",
            // A stopped task stays PAUSED a moment: the cancel journals its stop first.
            "--stop-seconds",
            "2",
        ],
    );
    let work = Work::new(&ids, 1);
    let report_path = work.dir.path().join("report.json");
    let mut apply = work
        .apply(&served)
        .args(["--concurrency", "1", "--no-preflight", "--report"])
        .arg(&report_path)
        .spawn();
    let stopped = of("cancelled");
    apply.wait_for(&format!("{stopped}: running"), Duration::from_secs(60));
    let cancel = work.cancel(&served).args(["--instance", &stopped]).run();
    assert_eq!(cancel.code, Some(0), "{}", cancel.all());
    let applied = apply.finish(Duration::from_secs(120));
    assert_eq!(applied.code, Some(1), "failures first: {}", applied.all());

    assert_eq!(
        live(&applied.stderr, &ids),
        expected,
        "live lines:\n{}",
        applied.stderr
    );
    assert_eq!(
        summary(&applied.stdout, &ids),
        expected,
        "summary:\n{}",
        applied.stdout
    );
    assert_eq!(
        statuses(&read_json(&report_path)),
        expected,
        "apply --report"
    );

    let status = work.status(&served).args(["--format", "json"]).run();
    assert_eq!(status.code, Some(1), "{}", status.all());
    let status_json: Value = serde_json::from_str(&status.stdout).unwrap_or(Value::Null);
    assert_eq!(statuses(&status_json), expected, "status --format json");

    let human = work.status(&served).run();
    assert_eq!(
        summary(&human.stdout, &ids),
        expected,
        "status:\n{}",
        human.stdout
    );

    let json = report(&work, &served, "json");
    let json: Value = serde_json::from_str(&json.stdout).unwrap_or(Value::Null);
    assert_eq!(statuses(&json), expected, "report --format json");

    let every = |seen: BTreeMap<String, Vec<String>>, what: &str, text: &str| {
        for (id, word) in &expected {
            let shown = seen.get(id).cloned().unwrap_or_default();
            assert!(
                !shown.is_empty() && shown.iter().all(|s| s == word),
                "{what}: {id} should be {word}, shows {shown:?}:\n{text}"
            );
        }
    };
    let md = report(&work, &served, "markdown").stdout;
    every(markdown(&md, &ids), "record (Markdown)", &md);
    let page = report(&work, &served, "html").stdout;
    every(html(&page, &ids), "record (HTML)", &page);

    // `jobs` shows each task's own state (contract §6): the stopped one ended killed.
    for (word, state) in [
        ("succeeded", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "killed"),
        ("unverified", "succeeded"),
    ] {
        assert_eq!(
            jobs(&work, &served, &of(word)),
            [state],
            "jobs of the {word} one"
        );
    }
}
