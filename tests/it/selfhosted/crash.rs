//! A restore killed between its `RENAME TABLE` and the marker that records it done: the
//! re-run must know the targets for the ones this very restore made (and finish), never take
//! them for someone else's and fail, and never redo them.

use planrun::mysql::TEMP_PREFIX;

use super::restore::{expected_of, story};
use super::run::{apply, defaults_file, journal, write_plan};
use super::server::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_killed_right_after_its_rename_is_finished_by_the_rerun() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let backups = dir.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    let (time, expected) = story(&server, &backups, "full.sql", "").await;
    let _ = defaults_file(dir.path());
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop\n    server: 127.0.0.1:{}\n    backups: dumps\n    strategy: db\n    dbs: [audit]\n    tables:\n      shop: [orders]\n",
            server.port
        ),
        time,
    );

    // The debug build's crash point: the process kills itself right after the RENAME.
    let first = apply(&plan, dir.path(), time)
        .env("PLANRUN_TEST_CRASH_AT", "after-rename")
        .run();
    assert_eq!(
        first.signal,
        Some(6),
        "apply did not stop itself at the crash point: {}",
        first.all()
    );
    // Exactly between the two: the targets are there, the restore is not recorded done.
    assert_eq!(
        &server.snapshot("audit_bak.events").await,
        expected_of(&expected, "audit.events")
    );
    let markers = |dir: &std::path::Path| {
        std::fs::read_dir(dir.join(".planrun"))
            .expect("state dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".done"))
            })
            .count()
    };
    assert_eq!(markers(dir.path()), 0, "no done marker yet");
    assert!(
        !journal(dir.path())
            .iter()
            .any(|r| r["record"] == "finished"),
        "nothing journalled the end"
    );
    // The kill came before the ledger could say "renamed": what proves the targets this
    // restore's own is the checksums its ledger verified before the rename. Counted below:
    // the copies it made on production (a redo would make more).
    let copies_made = |log: &[String]| {
        log.iter()
            .filter(|s| s.contains(&format!("CREATE TABLE `{TEMP_PREFIX}")))
            .count()
    };
    let made_first = copies_made(&server.binlog_statements().await);
    assert!(made_first > 0);

    // Nothing runs the restore now: `status` says `interrupted`, never `running`, with the
    // command that resumes it; 3, not finished (docs/contract.md §2, §6; issue 27).
    let status = super::run::planrun(dir.path(), time)
        .arg("status")
        .arg(&plan)
        .args(["--format", "json"])
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    assert_eq!(status.code, Some(3), "{}", status.all());
    let report: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(report["instances"][0]["status"], "interrupted", "{report}");
    assert!(
        status.stderr.contains("Resume it with:") && status.stderr.contains("planrun apply"),
        "{}",
        status.all()
    );

    let again = apply(&plan, dir.path(), time).run();
    let text = format!("{}{}", again.stdout, again.stderr);
    assert_eq!(again.code, Some(0), "{text}");
    assert!(text.contains("succeeded"), "{text}");
    // Not redone, not refused: the targets are the ones the first run made, row for row.
    assert_eq!(
        &server.snapshot("audit_bak.events").await,
        expected_of(&expected, "audit.events")
    );
    assert_eq!(
        &server.snapshot("shop.orders_bak").await,
        expected_of(&expected, "shop.orders")
    );
    let finished: Vec<_> = journal(dir.path())
        .into_iter()
        .filter(|r| r["record"] == "finished")
        .collect();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["status"], "succeeded", "{finished:?}");
    assert_eq!(
        copies_made(&server.binlog_statements().await),
        made_first,
        "the re-run copied nothing: it restored nothing again"
    );
    assert_eq!(markers(dir.path()), 1);
    assert!(server.databases_like(TEMP_PREFIX).await.is_empty());
    let ledgers = std::fs::read_dir(dir.path().join(".planrun"))
        .expect("state dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".land"))
        .count();
    assert_eq!(ledgers, 0, "the ledger goes once the marker is written");
    super::oracle::no_temp_files(&super::run::tmp(dir.path()));

    // Done is done: cancel says so.
    let cancel = super::run::planrun(dir.path(), time)
        .args(["cancel", "--yes"])
        .arg(&plan)
        .arg("--defaults-file")
        .arg(dir.path().join("client.cnf"))
        .run();
    assert_eq!(cancel.code, Some(0), "{}{}", cancel.stdout, cancel.stderr);
    assert!(
        cancel
            .stdout
            .contains("shop: already succeeded; nothing to cancel"),
        "{}",
        cancel.stdout
    );
}
