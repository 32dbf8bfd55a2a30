//! Golden cases: one folder per diagnostic code under `tests/cases/`, each holding a plan with
//! exactly that problem and `expected.txt`, the exit code and human output of
//! `planrun validate plan.yaml` run from inside the folder (no colour, 100 columns, a pinned
//! "now"). `PLANRUN_UPDATE_GOLDENS=1 cargo test --test it cases` rewrites the goldens
//! ([`crate::support::golden`]).
//!
//! A folder may hold `size` (a byte count) instead of `plan.yaml`: the plan is then generated
//! at that size, so that a multi-megabyte input needs no checked-in file. A folder named
//! `<code>--<variant>` is a further case of that code (inherited values, aliases, ...).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::golden;

/// The "now" every golden is rendered against (see `PLANRUN_NOW`).
pub use crate::support::NOW;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn case_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A valid plan padded with comment lines up to `size` bytes.
fn padded_plan(size: usize) -> Vec<u8> {
    let mut text = String::from(
        "version: 1\nstrategy: table\nrollback_time: \"2026-11-20 03:15:00\"\ninstances:\n  - id: cdb-aaaaaaaa\n    tables: {orders: {payments: payments_bak}}\n",
    );
    let line = "# padding padding padding padding padding padding padding padding padding\n";
    while text.len() + line.len() <= size {
        text.push_str(line);
    }
    text.extend(std::iter::repeat_n('#', size - text.len()));
    text.into_bytes()
}

/// Runs `planrun validate plan.yaml` in `dir`; returns "exit: N\n" followed by stdout, and stderr.
fn run_case(dir: &Path) -> (String, String) {
    let size_file = dir.join("size");
    let (workdir, _keep) = if size_file.exists() {
        let size: usize = std::fs::read_to_string(&size_file)
            .expect("size readable")
            .trim()
            .parse()
            .expect("size is a byte count");
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::write(tmp.path().join("plan.yaml"), padded_plan(size)).expect("write plan");
        (tmp.path().to_path_buf(), Some(tmp))
    } else {
        assert!(
            dir.join("plan.yaml").exists(),
            "{} has neither plan.yaml nor size",
            dir.display()
        );
        (dir.to_path_buf(), None)
    };
    let out = crate::support::Test::in_dir(&workdir)
        .args(["validate", "plan.yaml"])
        .timeout(Duration::from_secs(20))
        .run();
    let code = out
        .code
        .map_or_else(|| "killed".to_owned(), |c| c.to_string());
    (format!("exit: {code}\n{}", out.stdout), out.stderr)
}

#[test]
fn every_case_renders_its_golden_output() {
    let mut failures = Vec::new();
    let dirs = case_dirs();
    assert!(
        dirs.len() >= 30,
        "expected a case per code, found {}",
        dirs.len()
    );
    for dir in &dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (actual, stderr) = run_case(dir);
        assert!(stderr.is_empty(), "{name}: unexpected stderr:\n{stderr}");
        // Each case is about one code: the folder's name, which its output must show.
        let code = name.split("--").next().unwrap_or(name);
        assert!(
            actual.contains(&format!("planrun::{code}\n")),
            "case {name} does not show planrun::{code}:\n{actual}"
        );
        failures.extend(golden::differs(&dir.join("expected.txt"), &actual));
    }
    assert!(
        failures.is_empty(),
        "{} golden(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every code `src/plan/` can emit has a case folder.
#[test]
fn every_code_in_src_plan_has_a_case() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan");
    let mut seen = Vec::new();
    let mut missing = Vec::new();
    for file in files_under(&src) {
        let text = std::fs::read_to_string(&file).expect("source is text");
        for piece in text.split("\"planrun::").skip(1) {
            let code: String = piece
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if code.is_empty() || seen.contains(&code) {
                continue;
            }
            if !cases_dir().join(&code).is_dir() {
                missing.push(code.clone());
            }
            seen.push(code);
        }
    }
    assert!(
        seen.len() >= 35,
        "found only {} codes: {seen:?}",
        seen.len()
    );
    assert!(missing.is_empty(), "codes without a case: {missing:?}");
}
