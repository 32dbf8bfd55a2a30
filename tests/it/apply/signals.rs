//! Ctrl-C (SIGINT): no new submissions, in-flight ones finish and are journaled, the resume
//! command is printed, exit 3; running that command completes with no duplicate.

use std::process::Command;
use std::time::Duration;

use super::harness::{LIMIT, Served, Work, bin, ids, run, spawn};

/// The command after "Resume with:" in the output.
fn resume_line(stdout: &str) -> String {
    let mut lines = stdout.lines().skip_while(|l| !l.contains("Resume with:"));
    lines.next();
    lines
        .next()
        .unwrap_or_else(|| panic!("no resume command in:\n{stdout}"))
        .trim()
        .to_owned()
}

/// Every intent in the journal has an outcome (accepted, rejected, unknown or abandoned).
fn assert_intents_have_outcomes(records: &[serde_json::Value]) {
    for intent in records.iter().filter(|r| r["record"] == "intent") {
        let batch = &intent["batch"];
        let answered = records.iter().any(|r| {
            r["batch"] == *batch
                && ["accepted", "rejected", "unknown", "abandoned"]
                    .contains(&r["record"].as_str().unwrap_or(""))
        });
        assert!(answered, "intent without outcome: {intent}");
    }
}

#[test]
fn sigint_exits_3_with_the_resume_command_and_the_resume_finishes_without_duplicates() {
    let served = Served::start(1.5, &[]);
    let ids = ids("sigi", 8);
    let work = Work::new(&ids, 2);
    let mut child = spawn({
        let mut cmd = work.apply(&served);
        // One call at a time, so that the interrupt finds calls still queued.
        cmd.args(["--concurrency", "1", "--rate", "1"]);
        cmd
    });
    child.wait_for("accepted: job", Duration::from_secs(30));
    child.interrupt();
    let out = child.finish(LIMIT);
    assert_eq!(out.code, Some(3), "{}", out.all());
    assert!(out.stderr.contains("Interrupt"), "{}", out.stderr);
    let resume = resume_line(&out.stdout);
    assert!(
        resume.starts_with("planrun apply ") && resume.contains("--yes"),
        "{resume}"
    );
    assert!(
        resume.contains(&format!("--state-dir {}", work.state_dir().display())),
        "the resume command must find the journal: {resume}"
    );
    let records = work.records();
    assert!(records.iter().all(|r| r["record"] != "complete"));
    assert_intents_have_outcomes(&records);
    let accepted_before = served.accepted().len();
    assert!(
        accepted_before < ids.len(),
        "the interrupt came after every submission: nothing left to resume"
    );
    // Run the printed command (the binary under test for `planrun`).
    let words: Vec<&str> = resume.split_whitespace().collect();
    let mut again = Command::new(bin());
    again
        .args(&words[1..])
        .env("TENCENTCLOUD_SECRET_ID", super::harness::SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", super::harness::SECRET_KEY)
        .env("PLANRUN_ENDPOINT", &served.endpoint)
        .env_remove("TENCENTCLOUD_SECURITY_TOKEN")
        .env_remove("TENCENTCLOUD_REGION")
        .current_dir(work.dir.path())
        .stdin(std::process::Stdio::null());
    let out = run(again);
    assert_eq!(out.code, Some(0), "{}", out.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn a_second_sigint_quits_at_once_with_exit_3_and_the_journal_stays_resumable() {
    // Every answer takes 8 s: the first Ctrl-C has a submission in flight to wait for.
    let served = Served::start(
        1.0,
        &["--fault-rate", "1", "--faults", "slow", "--slow-ms", "8000"],
    );
    let ids = ids("sigj", 2);
    let work = Work::new(&ids, 2);
    let mut child = spawn(work.apply(&served));
    child.wait_for("submitting call #1", Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    child.interrupt();
    child.wait_for("Interrupt", Duration::from_secs(10));
    let second = std::time::Instant::now();
    child.interrupt();
    let out = child.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(3), "{}", out.all());
    assert!(
        second.elapsed() < Duration::from_secs(4),
        "did not quit at once: {:?}",
        second.elapsed()
    );
    assert!(out.stderr.contains("Quit. Resume with"), "{}", out.stderr);
    // The submission is in doubt in the journal: a resume will look for it first.
    let records = work.records();
    assert!(records.iter().any(|r| r["record"] == "intent"));
    assert!(!records.iter().any(|r| r["record"] == "accepted"));
    let offline = run({
        let mut cmd = work.status(&served);
        cmd.arg("--offline");
        cmd
    });
    assert_eq!(offline.code, Some(3), "unfinished: {}", offline.all());
    assert!(offline.stdout.contains("submitted"), "{}", offline.stdout);
}
