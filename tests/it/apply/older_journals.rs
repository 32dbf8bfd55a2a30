//! Journals written before journals belonged to plan files (`NAME.journal`, the plan's name
//! alone): the same plan's is found (read in place by `status`, adopted by `apply`, with a
//! note); another plan's is never read as this one's, never moved, never set aside — and an
//! unfinished one whose plan cannot be told stops `apply` unless `--restart`.

use std::path::Path;

use super::harness::{PLAN_NAME, Served, Work, all, ids, plan_text, statuses};

/// The name an earlier planrun gave the journal of plan `drill`.
fn older(work: &Work) -> std::path::PathBuf {
    work.state_dir().join(format!("{PLAN_NAME}.journal"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Another plan file of the same name in `work`'s directory, rolling back `ids`.
fn namesake(work: &Work, file: &str, ids: &[String]) -> std::path::PathBuf {
    let path = work.dir.path().join(file);
    std::fs::write(&path, plan_text(Some(PLAN_NAME), ids, 2, "{name}_other")).unwrap();
    path
}

fn apply_file(work: &Work, served: &Served, plan: &Path) -> super::harness::Output {
    work.command(served)
        .arg("apply")
        .arg(plan)
        .arg("--yes")
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--poll-interval", "100ms", "--settle", "300ms"])
        .run()
}

#[test]
fn an_older_journal_of_the_same_plan_is_read_in_place_then_adopted() {
    let served = Served::start_api("v3", 0.3, &[]);
    let ids = ids("oldj", 2);
    let work = Work::new(&ids, 2);
    let first = work.apply(&served).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    // As an earlier planrun would have left it.
    std::fs::rename(work.journal(), older(&work)).unwrap();
    let before = read(&older(&work));
    let status = work.status(&served).args(["--format", "json"]).run();
    assert_eq!(status.code, Some(0), "{}", status.all());
    let report: serde_json::Value = serde_json::from_str(&status.stdout).unwrap_or_default();
    assert_eq!(statuses(&report), all(&ids, "succeeded"));
    assert!(status.stderr.contains("note: reading"), "{}", status.stderr);
    assert!(older(&work).exists(), "status moves nothing");
    let again = work.apply(&served).run();
    assert_eq!(again.code, Some(0), "{}", again.all());
    assert!(again.stderr.contains("adopted"), "{}", again.stderr);
    assert!(
        again.stdout.contains("already applied completely"),
        "{}",
        again.all()
    );
    assert!(!older(&work).exists());
    assert_eq!(read(&work.journal()), before, "moved whole");
    served.assert_each_accepted_once(&ids);
}

#[test]
fn an_older_journal_of_another_plan_of_the_same_name_is_never_touched() {
    let served = Served::start_api("v3", 0.3, &[]);
    let ids_a = ids("otha", 2);
    let work = Work::new(&ids_a, 2);
    let first = work.apply(&served).run();
    assert_eq!(first.code, Some(0), "{}", first.all());
    // Plan A's complete journal, under the name an earlier planrun gave it.
    std::fs::copy(work.journal(), older(&work)).unwrap();
    let kept = read(&older(&work));
    let ids_b = ids("othb", 2);
    let b = namesake(&work, "b.yaml", &ids_b);
    let out = apply_file(&work, &served, &b);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(out.stderr.contains("left as it is"), "{}", out.stderr);
    assert_eq!(read(&older(&work)), kept, "never moved nor changed");

    // Unfinished, of another plan: whose it is cannot be told. Refused, then --restart
    // leaves it where it is.
    let unfinished: Vec<u8> = String::from_utf8_lossy(&kept)
        .lines()
        .filter(|l| !l.contains("\"record\":\"complete\""))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    std::fs::write(older(&work), &unfinished).unwrap();
    let ids_c = ids("othc", 2);
    let c = namesake(&work, "c.yaml", &ids_c);
    let refused = apply_file(&work, &served, &c);
    assert_eq!(refused.code, Some(2), "{}", refused.all());
    assert!(refused.stderr.contains("--restart"), "{}", refused.stderr);
    assert!(
        served.accepted().keys().all(|i| !ids_c.contains(i)),
        "nothing of C submitted: {}",
        served.counters()
    );
    let restarted = work
        .command(&served)
        .arg("apply")
        .arg(&c)
        .args(["--yes", "--restart", "--state-dir"])
        .arg(work.state_dir())
        .args(["--poll-interval", "100ms"])
        .run();
    assert_eq!(restarted.code, Some(0), "{}", restarted.all());
    assert_eq!(read(&older(&work)), unfinished, "left where it is");
    let mut every = ids_a.clone();
    every.extend(ids_b.iter().chain(&ids_c).cloned());
    served.assert_each_accepted_once(&every);
}
