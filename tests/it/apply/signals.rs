//! Ctrl-C (SIGINT): no new submissions, in-flight ones finish and are journaled, the resume
//! command is printed, exit 3; running that command completes with no duplicate.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::harness::{LIMIT, Served, Test, Work, ids};
use crate::support::{STEP, wait_for_blocking};

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
    // One call at a time, so that the interrupt finds calls still queued.
    let mut child = work
        .apply(&served)
        .args(["--concurrency", "1", "--rate", "1"])
        .spawn();
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
    let out = Test::in_dir(work.dir.path())
        .real_clock()
        .env("TENCENTCLOUD_SECRET_ID", super::harness::SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", super::harness::SECRET_KEY)
        .env("PLANRUN_ENDPOINT", &served.endpoint)
        .args(&words[1..])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    served.assert_each_accepted_once(&ids);
}

#[test]
fn a_second_sigint_quits_at_once_with_exit_3_and_the_journal_stays_resumable() {
    // Every answer takes ten minutes: the first Ctrl-C has a submission in flight to wait for,
    // and a run that waited for it could not finish within `finish`'s limit.
    let served = Served::start(
        1.0,
        &[
            "--fault-rate",
            "1",
            "--faults",
            "slow",
            "--slow-ms",
            "600000",
        ],
    );
    let ids = ids("sigj", 2);
    let work = Work::new(&ids, 2);
    let mut child = work.apply(&served).spawn();
    child.wait_for("submitting call #1", Duration::from_secs(30));
    // The submission is on the wire (its answer is minutes away) before the first Ctrl-C.
    served.wait_until("a request in flight", Duration::from_secs(10), |c| {
        Served::in_flight(c) >= 1
    });
    child.interrupt();
    child.wait_for("Interrupt", Duration::from_secs(10));
    child.interrupt();
    let out = child.finish(Duration::from_secs(20));
    assert_eq!(out.code, Some(3), "{}", out.all());
    assert!(out.stderr.contains("Quit. Resume with"), "{}", out.stderr);
    // The submission is in doubt in the journal: a resume will look for it first.
    let records = work.records();
    assert!(records.iter().any(|r| r["record"] == "intent"));
    assert!(!records.iter().any(|r| r["record"] == "accepted"));
    // No apply carries it on now: `interrupted`, with the way back (issue 27).
    let offline = work.status(&served).arg("--offline").run();
    assert_eq!(offline.code, Some(3), "unfinished: {}", offline.all());
    assert!(
        offline.stdout.contains("interrupted") && offline.stdout.contains("Resume it with"),
        "{}",
        offline.stdout
    );
}

/// SIGTERM (CI runners, `timeout`) and SIGHUP (a closed terminal) wind the run down like the
/// first Ctrl-C: no new submissions, exit 3, the resume command.
#[test]
fn sigterm_and_sighup_stop_submitting_and_exit_3_with_the_resume_command() {
    for signal in ["TERM", "HUP"] {
        let served = Served::start(1.5, &[]);
        let ids = ids(if signal == "TERM" { "sgtm" } else { "sghp" }, 8);
        let work = Work::new(&ids, 1);
        let mut child = work
            .apply(&served)
            .args(["--concurrency", "1", "--rate", "1"])
            .spawn();
        child.wait_for("accepted: job", Duration::from_secs(30));
        child.signal(signal);
        let out = child.finish(LIMIT);
        assert_eq!(out.code, Some(3), "SIG{signal}: {}", out.all());
        assert!(
            out.stderr
                .contains(&format!("SIG{signal}: no new submissions")),
            "{}",
            out.stderr
        );
        assert!(resume_line(&out.stdout).starts_with("planrun apply "));
        // Its summary never says a rollback it leaves behind is running or submitted: nothing
        // tracks it once this apply has exited (issue 27).
        let left: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| ids.iter().any(|i| l.starts_with(i.as_str())))
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|s| ["running", "submitted"].contains(s))
            .collect();
        assert!(left.is_empty(), "SIG{signal}: {left:?}\n{}", out.stdout);
        assert!(
            served.accepted().len() < ids.len(),
            "SIG{signal} did not stop the submissions: {}",
            served.counters()
        );
        assert_intents_have_outcomes(&work.records());
    }
}

/// Waits until the file at `path` holds `needle` (a log written by another process).
fn wait_for_text(path: &Path, needle: &str, limit: Duration) {
    wait_for_blocking(
        &format!("{needle:?} in {}", path.display()),
        limit,
        STEP,
        || std::fs::read_to_string(path).is_ok_and(|t| t.contains(needle)),
    );
}

/// `planrun apply PLAN --yes 2>&1 | tee apply.log`, then Ctrl-C: the terminal signals the
/// whole pipeline, `tee` dies, and planrun's every write meets a broken pipe. It must still
/// stop submitting, keep the journal consistent, never panic, and exit 3.
#[test]
fn ctrl_c_to_a_pipeline_whose_tee_dies_stops_submitting_and_exits_3() {
    let served = Served::start(1.5, &[]);
    let ids = ids("pipe", 12);
    let work = Work::new(&ids, 1);
    let log = work.dir.path().join("apply.log");
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    let planrun = work
        .apply(&served)
        .args(["--concurrency", "1", "--rate", "2"])
        .stdout_to(writer.try_clone().unwrap())
        .stderr_to(writer)
        // A job of its own, as a shell makes one for a pipeline.
        .process_group(0)
        .spawn();
    let pgid = planrun.id();
    let mut tee = Command::new("tee")
        .arg(&log)
        .stdin(reader)
        .stdout(Stdio::null())
        .process_group(i32::try_from(pgid).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn tee: {e}"));
    wait_for_text(&log, "accepted: job", Duration::from_secs(30));
    let status = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
    let tee_status = tee.wait().unwrap();
    assert!(!tee_status.success(), "tee should have died of the signal");
    let code = planrun.finish(LIMIT).code;
    assert_eq!(code, Some(3), "a panic would be 101");
    assert!(
        served.accepted().len() < ids.len(),
        "planrun kept submitting after Ctrl-C: {}",
        served.counters()
    );
    let records = work.records();
    assert!(records.iter().all(|r| r["record"] != "complete"));
    assert_intents_have_outcomes(&records);
}

/// `planrun plan PLAN | head -1`: the reader leaves early; planrun ends with its own exit code
/// (0: the plan is valid), not a panic's 101.
#[test]
fn plan_into_a_pipe_closed_early_exits_with_its_own_code() {
    let ids = ids("head", 300);
    let work = Work::new(&ids, 1);
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    // The reader is closed before planrun writes a byte: every write fails.
    drop(reader);
    let out = Test::in_dir(work.dir.path())
        .real_clock()
        .args(["plan", "--show-requests"])
        .arg(&work.plan)
        .stdout_to(writer)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}
