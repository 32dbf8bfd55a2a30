//! `planrun::cli::run` is the whole program and keeps no global state: called twice in one
//! process, a sandboxed apply succeeds both times (as casey/just's tests prove of theirs).

use std::ffi::OsString;

#[test]
fn cli_run_applies_twice_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/minimal.yaml");
    let args = |state: &str| -> Vec<OsString> {
        vec![
            "planrun".into(),
            "apply".into(),
            plan.clone().into(),
            "--sandbox".into(),
            "--yes".into(),
            "--poll-interval".into(),
            "100ms".into(),
            "--state-dir".into(),
            dir.path().join(state).into(),
        ]
    };
    assert_eq!(planrun::cli::run(args("a")), 0);
    assert_eq!(
        planrun::cli::run(args("a")),
        0,
        "the second run over the same state"
    );
    assert_eq!(planrun::cli::run(args("b")), 0);
    let journal = crate::support::journal_of(&plan, "minimal", &dir.path().join("a"), true);
    assert!(journal.exists(), "{}", journal.display());
}
