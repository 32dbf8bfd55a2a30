//! Interop with Tencent's own code: the legacy Python SDK (qcloudapi-sdk-python 2.0.15) signs
//! requests to an in-process sandbox. Needs `.venv` from `.ci/python-env` (or `PLANRUN_PYTHON`
//! pointing at an interpreter with the SDK); without it the test fails, it never skips.

use std::net::SocketAddr;
use std::path::PathBuf;

use planrun::sandbox::{self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("PLANRUN_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with Tencent's SDK at {}: run `.ci/python-env` first (or set PLANRUN_PYTHON)",
        venv.display()
    );
    venv
}

#[tokio::test]
async fn tencents_python_sdk_is_accepted_with_both_methods_and_rejected_with_a_wrong_key() {
    let python = python();
    let sb = sandbox::start(Config::demo(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/v2_sign.py");
    let target = sb.addr().to_string();
    let interpreter = python.clone();
    // The script blocks on HTTP; run it off the runtime's workers so the sandbox can answer.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&interpreter)
            .arg(&script)
            .args([target.as_str(), DEMO_SECRET_ID, DEMO_SECRET_KEY])
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("join: {e}"))
    .unwrap_or_else(|e| {
        panic!(
            "cannot run {}: {e}; run `.ci/python-env` first",
            python.display()
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for line in [
        "GET HmacSHA1 GetCdbRollbackJob code=0",
        "POST HmacSHA256 RollbackCdbDatabaseTables code=0",
        "POST HmacSHA1 GetCdbRollbackJob code=0",
        "GET HmacSHA256 GetCdbRollbackJob code=0",
        "GET HmacSHA1 GetCdbRollbackJob code=4100",
        "POST HmacSHA256 RollbackCdbDatabaseTables code=4100",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    // The SDK's submission created a task the later reads saw.
    assert!(stdout.contains("tasks=1"), "{stdout}");
    let counters = sb.counters();
    assert_eq!(counters.accepted_submissions.get("cdb-mo64xu70"), Some(&1));
    assert_eq!(counters.rejections_per_code.get(&4100), Some(&2));
    assert_eq!(counters.rejections_per_code.len(), 1, "{counters:?}");
    sb.shutdown().await;
}
