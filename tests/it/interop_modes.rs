//! Tencent's official API 3.0 SDK (`tencentcloud-sdk-python-cdb`) as a client of the sandbox
//! in the modes issue 23 added: tasks that end REMOVED, tasks that wait (UNDEFINED, WAITING),
//! a detail listing several items without an echo, one that ignores its filter, one that says
//! nothing, tasks listed late, and documented error codes injected into each action. Every
//! answer loads into the SDK's models (no field it does not know, at any level), and the
//! documented values come back as the SDK spells them. Needs `.venv` (`.ci/python-env`).

use std::net::SocketAddr;

use planrun::sandbox::{self, Config, DetailQuirk, Injected};

const A: &str = "cdb-mode0001";
const B: &str = "cdb-mode0002";

/// A sandbox of short tasks (0.2–0.3 s) for made-up instances, shaped by `shape`.
async fn run_mode(mode: &str, shape: impl FnOnce(&mut Config)) -> String {
    let mut config = Config {
        any_instance: true,
        task_seconds: (0.2, 0.3),
        ..Config::demo()
    };
    shape(&mut config);
    let sb = sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let stdout = crate::interop::sdk_script(&sb, "v3_modes.py", &[mode, A, B]).await;
    sb.shutdown().await;
    assert!(
        stdout.lines().any(|l| l == "unknown-field warnings=0 "),
        "{mode}: an answer the SDK's models do not fit:\n{stdout}"
    );
    stdout
}

fn has(stdout: &str, line: &str) {
    assert!(
        stdout.lines().any(|l| l == line),
        "missing `{line}` in:\n{stdout}"
    );
}

#[tokio::test]
async fn the_sdk_reads_a_removed_task_in_every_listing() {
    let out = run_mode("removed", |c| {
        c.removed_instances.insert(A.into());
    })
    .await;
    has(&out, "detail status=REMOVED");
    has(&out, "DescribeTasks status=REMOVED");
    has(&out, "DescribeAsyncRequestInfo status=REMOVED");
}

#[tokio::test]
async fn the_sdk_reads_a_waiting_task_as_undefined_and_waiting() {
    let out = run_mode("waiting", |c| {
        c.initial_hold_seconds = 60.0;
        c.waiting_status = "UNDEFINED";
    })
    .await;
    has(&out, "detail status=UNDEFINED");
    has(&out, "DescribeTasks status=WAITING");
    has(&out, "DescribeAsyncRequestInfo status=UNDEFINED");
}

#[tokio::test]
async fn the_sdk_reads_ambiguous_ignored_and_silent_detail_lists() {
    let out = run_mode("ambiguous", |c| c.detail_quirk = DetailQuirk::Ambiguous).await;
    has(&out, "detail total=2 items=2 details=0,0");
    let out = run_mode("ignored-filter", |c| {
        c.detail_quirk = DetailQuirk::IgnoredFilter;
    })
    .await;
    has(&out, "detail items=2 oldest_first=True");
    let out = run_mode("silent", |c| c.detail_quirk = DetailQuirk::Silent).await;
    has(&out, "detail total=0 items=0");
    let out = run_mode("late", |c| c.visible_after_seconds = 60.0).await;
    has(&out, "detail total=0 items=0");
    has(&out, "DescribeTasks total=0 items=0");
}

#[tokio::test]
async fn the_sdk_reads_each_injected_documented_code() {
    let codes = [
        ("StartBatchRollback", "OperationDenied.WrongStatus"),
        ("DescribeRollbackTaskDetail", "CdbError.DatabaseError"),
        ("DescribeTasks", "RequestLimitExceeded.UinLimitExceeded"),
        (
            "DescribeAsyncRequestInfo",
            "UnauthorizedOperation.NotEnoughPrivileges",
        ),
    ];
    let out = run_mode("injected", |c| {
        c.injected = codes
            .iter()
            .map(|(action, code)| Injected::parse(&format!("{action}={code}x1")).unwrap())
            .collect();
    })
    .await;
    for (action, code) in codes {
        has(&out, &format!("{action} error={code} request_id=True"));
    }
    has(&out, "after the injected submission: tasks=1");
    assert!(
        out.contains("DescribeAsyncRequestInfo then status="),
        "{out}"
    );
}
