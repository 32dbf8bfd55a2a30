//! Goldens: what `plan --show-requests` prints for every example plan, and what
//! `apply --sandbox` prints on stdout, on both APIs, byte for byte with volatile values masked
//! (`[DURATION]`). `PLANRUN_UPDATE_GOLDENS=1 cargo test --test it goldens` rewrites them after
//! a deliberate change ([`golden`]); review the diff like code.

use std::path::{Path, PathBuf};

use crate::support::{Test, both_apis, golden};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example_plans() -> Vec<PathBuf> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(root().join("plans"))
        .unwrap_or_else(|e| panic!("plans/: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    plans.sort();
    plans
}

/// The golden at `tests/goldens/<name>`.
fn goldens(name: &str) -> PathBuf {
    root().join("tests/goldens").join(name)
}

/// How long a task took is the clock's business: a duration at the end of a summary row
/// becomes `[DURATION]`.
fn mask(text: &str) -> String {
    let duration = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, 'h' | 'm' | 's'))
            && t.ends_with(['h', 'm', 's'])
            && t.starts_with(|c: char| c.is_ascii_digit())
    };
    text.lines()
        .map(|line| match line.rsplit_once(' ') {
            Some((head, last)) if line.starts_with("cdb-") && duration(last) => {
                format!("{} [DURATION]", head.trim_end())
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn plan_prints_every_example_plan_as_its_golden() {
    for plan in example_plans() {
        let stem = plan
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for api in ["v2", "v3"] {
            let dir = tempfile::tempdir().unwrap();
            let out = Test::in_dir(dir.path())
                .arg("plan")
                .arg(&plan)
                .args(["--show-requests", "--api", api])
                .run();
            assert_eq!(out.code, Some(0), "{}: {}", plan.display(), out.stderr);
            golden::check(&goldens(&format!("plan/{stem}.{api}.txt")), &out.stdout);
        }
    }
}

both_apis! {
    fn apply_sandbox_prints_its_golden(api) {
        let dir = tempfile::tempdir().unwrap();
        let out = Test::in_dir(dir.path())
            .arg("apply")
            .arg(root().join("plans/minimal.yaml"))
            .args(["--sandbox", "--yes", "--poll-interval", "100ms", "--api", api])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .run();
        assert_eq!(out.code, Some(0), "API {api}: {}", out.stderr);
        golden::check(
            &goldens(&format!("apply/minimal.sandbox.{api}.txt")),
            &mask(&out.stdout),
        );
    }
}

#[test]
fn a_duration_is_masked_and_nothing_else() {
    assert_eq!(
        mask("cdb-a j succeeded       3s\ncdb-b j failed 1m2s boom\nSummary 3s"),
        "cdb-a j succeeded [DURATION]\ncdb-b j failed 1m2s boom\nSummary 3s\n"
    );
}
