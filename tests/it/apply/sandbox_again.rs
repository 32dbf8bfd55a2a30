//! Issue 27, item 6: a complete journal is never applied again without `--restart`, that of
//! `apply --sandbox` included (`docs/contract.md` §3, Journal). The second `apply --sandbox`
//! submits nothing, says so and how to run again; `--restart` starts over.

use std::path::Path;

use super::harness::Test;

/// The journal's `intent` records: one per submission that left.
fn intents(journal: &Path) -> usize {
    std::fs::read_to_string(journal)
        .unwrap_or_else(|e| panic!("{}: {e}", journal.display()))
        .lines()
        .filter(|l| l.contains(r#""record":"intent""#))
        .count()
}

#[test]
fn a_complete_sandbox_journal_is_not_applied_again_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans/minimal.yaml");
    let state = dir.path().join("state");
    let apply = |extra: &[&str]| {
        Test::in_dir(dir.path())
            .arg("apply")
            .arg(&plan)
            .args(["--sandbox", "--yes", "--poll-interval", "100ms"])
            .arg("--state-dir")
            .arg(&state)
            .args(extra)
            .run()
    };
    let journal = crate::support::journal_of(&plan, "minimal", &state, true);

    let first = apply(&[]);
    assert_eq!(first.code, Some(0), "{}", first.all());
    assert_eq!(intents(&journal), 1, "one submission");

    // Applied completely: nothing is sent, the same journal stays, and the way to run it
    // again is said. Exit 0: every instance is done (contract §2).
    let again = apply(&[]);
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(
        again.stdout.contains("already applied completely")
            && again.stdout.contains("Nothing was submitted")
            && again.stdout.contains("--sandbox --restart"),
        "{}",
        again.all()
    );
    assert!(!again.all().contains("submitting call"), "{}", again.all());
    assert_eq!(intents(&journal), 1, "nothing more was submitted");

    // `--restart` starts over: a new journal, the rollback submitted again.
    let restarted = apply(&["--restart"]);
    assert_eq!(restarted.code, Some(0), "{}", restarted.all());
    assert!(
        restarted.all().contains("submitting call #1"),
        "{}",
        restarted.all()
    );
    assert_eq!(
        intents(&journal),
        1,
        "a fresh journal with its one submission"
    );
}
