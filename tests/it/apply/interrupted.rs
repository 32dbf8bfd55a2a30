//! Issue 27, item 2: a dead apply is shown `interrupted` (with the command that resumes it),
//! never `running`. Its lock is the kernel's: `kill -9` frees it, and `status` and `report`
//! tell a live apply from a dead one by it (`docs/contract.md` §2, §6).

use std::time::Duration;

use serde_json::Value;

use super::harness::{Served, Work, all, ids, statuses};

#[test]
fn status_shows_a_killed_apply_interrupted_with_its_resume_command() {
    // Tasks outlive the test's polls: the sandbox is another process and they run on in it.
    let served = Served::start_api("v3", 60.0, &[]);
    let ids = ids("intr", 2);
    let work = Work::new(&ids, 2);
    let mut apply = work.apply(&served).spawn();
    apply.wait_for("accepted: job", Duration::from_secs(30));

    // Alive: the journal's unfinished instances are what they are, not interrupted.
    let alive = work.status(&served).args(["--format", "json"]).run();
    let alive_report: Value = serde_json::from_str(&alive.stdout).unwrap_or(Value::Null);
    assert_eq!(alive.code, Some(3), "{}", alive.all());
    assert!(
        statuses(&alive_report)
            .values()
            .all(|s| s == "submitted" || s == "running"),
        "{}",
        alive.all()
    );

    let killed = apply.kill9();
    assert_eq!(killed.code, None, "killed by a signal:\n{}", killed.all());

    // Dead: nothing tracks the tasks (though the cloud still runs them).
    let json = work.status(&served).args(["--format", "json"]).run();
    assert_eq!(json.code, Some(3), "not finished: {}", json.all());
    let report: Value = serde_json::from_str(&json.stdout).unwrap_or(Value::Null);
    assert_eq!(
        statuses(&report),
        all(&ids, "interrupted"),
        "{}",
        json.all()
    );
    assert_eq!(report["totals"]["interrupted"], 2, "{report}");
    assert_eq!(report["totals"]["running"], 0, "{report}");

    let human = work.status(&served).run();
    assert_eq!(human.code, Some(3), "{}", human.all());
    let resume = format!("planrun apply {}", work.plan.display());
    assert!(
        human.stdout.contains("Resume it with:") && human.stdout.contains(&resume),
        "{}",
        human.all()
    );
    assert!(!human.stdout.contains(" running "), "{}", human.stdout);
    for id in &ids {
        assert!(
            human
                .stdout
                .lines()
                .any(|l| l.starts_with(id.as_str()) && l.contains(" interrupted")),
            "{id}:\n{}",
            human.stdout
        );
    }

    // The record says the same.
    let record = work
        .command(&served)
        .arg("report")
        .arg(&work.plan)
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--format", "json"])
        .run();
    assert_eq!(record.code, Some(3), "{}", record.all());
    let record: Value = serde_json::from_str(&record.stdout).unwrap_or(Value::Null);
    assert_eq!(statuses(&record), all(&ids, "interrupted"), "{record}");
    let markdown = work
        .command(&served)
        .arg("report")
        .arg(&work.plan)
        .arg("--state-dir")
        .arg(work.state_dir())
        .args(["--format", "markdown"])
        .run();
    for id in &ids {
        assert!(
            markdown.stdout.contains(&format!("| {id} | interrupted |")),
            "{id}:\n{}",
            markdown.stdout
        );
    }
}
