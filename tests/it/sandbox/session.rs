//! `--sandbox` runs the in-process sandbox with the API of `--api`: the example plan applies
//! over API 3.0 (the default) and over API 2.0, as a user's first command does.

use std::path::Path;

use crate::support::{Output, Test};

/// `planrun apply incident-42.yaml --sandbox --yes EXTRA` in `dir`, with no credentials.
fn apply(dir: &Path, extra: &[&str]) -> Output {
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/incident-42.yaml");
    let copy = dir.join("incident-42.yaml");
    std::fs::copy(&plan, &copy).unwrap_or_else(|e| panic!("copy: {e}"));
    Test::in_dir(dir)
        .arg("apply")
        .arg(&copy)
        .args(["--sandbox", "--yes"])
        .args(extra)
        .run()
}

#[test]
fn the_example_plan_applies_in_the_sandbox_over_v3_by_default_and_over_v2() {
    for (extra, endpoint_end, job_polls_v3) in [
        (&[][..], "/ (", true),
        (&["--api", "v2"][..], "/v2/index.php (", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let Output {
            code,
            stdout,
            stderr,
            ..
        } = apply(dir.path(), extra);
        assert_eq!(code, Some(0), "{extra:?}\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("11 succeeded, 0 failed"),
            "{extra:?}\n{stdout}"
        );
        let serving = stderr
            .lines()
            .find(|l| l.starts_with("sandbox: serving the emulated API at "))
            .unwrap_or_else(|| panic!("no sandbox line in\n{stderr}"));
        assert!(serving.contains(endpoint_end), "{extra:?}: {serving}");
        // API 3.0 jobs are AsyncRequestIds (four groups of 8 hex digits), API 2.0's numbers.
        let row = stdout
            .lines()
            .find(|l| l.starts_with("cdb-ord00001 "))
            .unwrap_or_else(|| panic!("no row in\n{stdout}"));
        let job = row.split_whitespace().nth(1).unwrap_or("");
        let v3_shaped = job.split('-').count() == 4;
        assert_eq!(v3_shaped, job_polls_v3, "{extra:?}: {row}");
    }
}
