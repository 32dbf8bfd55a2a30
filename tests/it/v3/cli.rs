//! `planrun jobs` over API 3.0 and the credential chain, through the binary.

use serde_json::json;

use super::*;
use crate::support::Test;
use planrun::api::v3::client::DESCRIBE_ROLLBACK_TASK_DETAIL;

/// `planrun jobs` with the default API (v3) and credentials from a tccli profile in a
/// temporary home: the server verifies the signature made with the profile's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_command_lists_v3_tasks_with_tccli_profile_credentials() {
    let (endpoint, script) = serve().await;
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 1, "Items": [
            {"Status": "RUNNING", "Progress": 55, "StartTime": "2026-11-23 10:00:00",
             "Detail": [detail("cdb-mo64xu70", "2026-11-20 03:10:00", "db")]}]}),
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".tccli")).unwrap();
    std::fs::write(
        home.path().join(".tccli/ci.credential"),
        format!(r#"{{"secretId": "{ID}", "secretKey": "{KEY}"}}"#),
    )
    .unwrap();
    let home_dir = home.path().to_owned();
    // The child is waited for off the runtime's workers, so that the server can answer.
    let out = tokio::task::spawn_blocking(move || {
        Test::in_dir(&home_dir)
            .env("TCCLI_PROFILE", "ci")
            .args(["jobs", "cdb-mo64xu70", "--region", "ap-guangzhou"])
            .args(["--endpoint", &endpoint])
            .run()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    assert_eq!(out.code, Some(0), "{stderr}");
    assert!(stdout.starts_with("STATUS"), "{stdout}");
    assert!(
        stdout.contains("running") && stdout.contains("55%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tasks 1-1 of 1 for cdb-mo64xu70"),
        "{stdout}"
    );
    let seen = script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL);
    assert_eq!(seen.len(), 1);
    assert!(seen[0].signature_ok);
}

#[test]
fn missing_credentials_name_every_place_looked_at() {
    let home = tempfile::tempdir().unwrap();
    let out = Test::in_dir(home.path())
        .args([
            "jobs",
            "cdb-mo64xu70",
            "--profile",
            "prod",
            "--region",
            "ap-guangzhou",
        ])
        .args(["--endpoint", "http://127.0.0.1:9/"])
        .run();
    assert_eq!(out.code, Some(2));
    let err = &out.stderr;
    // miette wraps long lines (even inside paths): compare without whitespace and gutters.
    let flat: String = err
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    for place in [
        "TENCENTCLOUD_SECRET_ID".to_owned(),
        home.path()
            .join(".tencentcloud/credentials")
            .display()
            .to_string(),
        home.path()
            .join(".tccli/prod.credential")
            .display()
            .to_string(),
    ] {
        assert!(
            flat.contains(&place.replace(char::is_whitespace, "")),
            "{place} missing from: {err}"
        );
    }
}
