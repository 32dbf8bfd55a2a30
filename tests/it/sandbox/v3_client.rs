//! planrun's own API 3.0 client (`planrun::api::v3::Client`) against the sandbox: every action
//! round-trips, and the sandbox's error codes land in the client's error classes.

use super::*;
use planrun::api::config::{ClientConfig, RetryPolicy};
use planrun::api::rollback::InstanceRollback;
use planrun::api::v3::Client;
use planrun::api::{Credentials, ErrorClass};

pub(crate) fn client(sb: &Sandbox, key: &str) -> Client {
    let mut c = ClientConfig::new(
        sb.endpoint_v3(),
        "ap-guangzhou",
        Credentials::new(DEMO_SECRET_ID, key),
    );
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
    };
    Client::new(c).unwrap_or_else(|e| panic!("client: {e}"))
}

pub(crate) fn rollback(id: &str) -> InstanceRollback {
    crate::support::rollback::payments(id, &super::v3::recent())
}

#[tokio::test]
async fn planruns_v3_client_round_trips_every_action() {
    let mut config = super::v3::steady();
    config.missing_instances.insert("cdb-gone0000".into());
    let sb = start(config).await;
    let c = client(&sb, DEMO_SECRET_KEY);

    let windows = c
        .rollback_range_time(&[A.to_owned(), "cdb-gone0000".to_owned()])
        .await
        .unwrap_or_else(|e| panic!("range: {e}"));
    assert_eq!(windows.len(), 2);
    assert!(
        windows[0].is_ok() && windows[0].times.len() == 1,
        "{windows:?}"
    );
    assert_eq!(
        (windows[1].is_ok(), windows[1].code),
        (false, Some(1_600_009))
    );

    let id = c
        .start_batch_rollback(&[rollback(A), rollback(B)])
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let busy = c.start_batch_rollback(&[rollback(A)]).await;
    let busy = busy
        .err()
        .unwrap_or_else(|| panic!("a second submission was accepted"));
    assert_eq!(busy.class(), ErrorClass::Busy, "{busy}");
    assert_eq!(
        busy.code_text().as_deref(),
        Some("FailedOperation.StatusConflict")
    );
    assert!(busy.request_id().is_some_and(|r| !r.is_empty()));

    wait_for_every(
        "the task to succeed",
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let page = c
                .rollback_tasks(A, Some(&id), 0, 10)
                .await
                .unwrap_or_else(|e| panic!("detail: {e}"));
            assert_eq!(page.total_count, Some(1));
            let task = &page.items[0];
            assert_eq!(task.detail[0].instance_id, A);
            if task.status.as_deref() != Some("SUCCESS") {
                return Err(format!("{task:?}"));
            }
            assert_eq!(task.percent(), Some(100));
            Ok(())
        },
    )
    .await;

    // B still runs (same job, its own task) until stopped.
    let stopping = c.stop_rollback(B).await;
    let all = c
        .all_rollback_tasks(B, None)
        .await
        .unwrap_or_else(|e| panic!("all: {e}"));
    assert_eq!(all.len(), 1);
    match stopping {
        Ok(_) => assert_eq!(all[0].status.as_deref(), Some("KILLED")),
        // B may have finished on its own first: then there is nothing to stop.
        Err(e) => {
            assert_eq!(e.code_text().as_deref(), Some("OperationDenied"));
            assert_eq!(all[0].status.as_deref(), Some("SUCCESS"));
        }
    }
    let s = sb.counters();
    assert_eq!((s.accepted_jobs, s.accepted_submissions[A]), (1, 1));
    sb.shutdown().await;
}

#[tokio::test]
async fn sandbox_errors_fall_into_the_clients_classes() {
    let mut config = fast();
    config.missing_instances.insert("cdb-gone0000".into());
    let sb = start(config).await;
    let wrong = client(&sb, "not-the-key");
    let e = wrong
        .rollback_range_time(&[A.to_owned()])
        .await
        .err()
        .unwrap_or_else(|| panic!("a wrong key was accepted"));
    assert_eq!(e.class(), ErrorClass::StopRun, "{e}");
    assert_eq!(
        e.code_text().as_deref(),
        Some("AuthFailure.SignatureFailure")
    );

    let c = client(&sb, DEMO_SECRET_KEY);
    let e = c
        .start_batch_rollback(&[rollback("cdb-gone0000")])
        .await
        .err()
        .unwrap_or_else(|| panic!("a missing instance was accepted"));
    assert_eq!(e.class(), ErrorClass::InstancesOnly, "{e}");
    let mut bad = rollback(A);
    bad.spec.rollbacktime = "2020-01-01 00:00:00".into();
    let e = c
        .start_batch_rollback(&[bad])
        .await
        .err()
        .unwrap_or_else(|| panic!("an out-of-window time was accepted"));
    assert_eq!(e.class(), ErrorClass::InstancesOnly, "{e}");
    assert_eq!(e.code_text().as_deref(), Some("InvalidParameterValue"));
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}

/// The engine's preflight (DescribeRollbackRangeTime in batches of 20) and the sandbox agree:
/// what preflight calls inside the window is accepted, what it calls outside or refused is not.
#[tokio::test]
async fn engine_preflight_agrees_with_what_the_sandbox_accepts() {
    use planrun::engine::v3::{PREFLIGHT_BATCH, V3 as Adapter};
    use planrun::engine::window::{Window, window};

    let at = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, planrun::contract::TIME_FORMAT).unwrap_or_default()
    };
    let mut config = fast();
    config.missing_instances.insert("cdb-gone0000".into());
    config.rollback_windows.insert(
        B.into(),
        vec![planrun::sandbox::RollbackWindow {
            begin: at("2026-11-01 00:00:00"),
            end: at("2026-11-02 00:00:00"),
        }],
    );
    let sb = start(config).await;
    let c = client(&sb, DEMO_SECRET_KEY);
    let adapter = Adapter::new(c.clone());
    // More instances than one preflight call takes.
    let mut ids: Vec<String> = (0..PREFLIGHT_BATCH + 3)
        .map(|i| format!("cdb-{i:08}"))
        .collect();
    ids.extend([A.to_owned(), B.to_owned(), "cdb-gone0000".to_owned()]);
    let items = adapter
        .preflight(None, &ids)
        .await
        .unwrap_or_else(|e| panic!("preflight: {e}"));
    assert_eq!(items.len(), ids.len());
    assert_eq!(
        sb.counters().requests_per_action["DescribeRollbackRangeTime"],
        2
    );

    let recent = super::v3::recent();
    let cases = [
        (A, recent.as_str(), "inside"),
        (B, "2026-11-01 12:00:00", "inside"),
        (B, recent.as_str(), "outside"),
        ("cdb-gone0000", recent.as_str(), "missing"),
    ];
    for (id, time, expected) in cases {
        let verdict = window(&items, id, time);
        let kind = match &verdict {
            Window::Inside => "inside",
            Window::Outside(_) => "outside",
            Window::Refused { .. } => "refused",
            // 1600009: the SDK documents it as "the instance does not exist".
            Window::Missing { code, .. } => {
                assert_eq!(*code, 1_600_009);
                "missing"
            }
            Window::Unlisted => "unlisted",
            Window::Inconclusive { .. } => "inconclusive",
        };
        assert_eq!(kind, expected, "{id} at {time}: {verdict}");
        let mut r = rollback(id);
        r.spec.rollbacktime = time.to_owned();
        let accepted = c.start_batch_rollback(&[r]).await;
        assert_eq!(
            accepted.is_ok(),
            expected == "inside",
            "{id} at {time}: {accepted:?}"
        );
    }
    sb.shutdown().await;
}

/// DescribeRollbackRangeTime's transient per-instance codes (1600001, 1624001) are asked
/// again with backoff; only when they persist past the bound is the verdict "inconclusive",
/// never "refused", and it carries the API's code and message.
#[tokio::test]
async fn preflight_asks_again_on_transient_instance_codes_within_a_bound() {
    use planrun::engine::v3::V3 as Adapter;
    use planrun::engine::window::{Window, window};
    let recent = super::v3::recent();
    let ids = [A.to_owned(), B.to_owned()];

    let sb = start(Config {
        transient_range_answers: 2,
        ..fast()
    })
    .await;
    let adapter = Adapter::new(client(&sb, DEMO_SECRET_KEY));
    let items = adapter.preflight(None, &ids).await.unwrap();
    for id in &ids {
        assert_eq!(
            window(&items, id, &recent),
            Window::Inside,
            "{id}: {items:?}"
        );
    }
    // Two transient answers, then the real one; both instances asked together each time.
    assert_eq!(
        sb.counters().requests_per_action["DescribeRollbackRangeTime"],
        3
    );
    sb.shutdown().await;

    let sb = start(Config {
        transient_range_answers: 100,
        ..fast()
    })
    .await;
    let adapter = Adapter::new(client(&sb, DEMO_SECRET_KEY));
    let items = adapter.preflight(None, &ids).await.unwrap();
    let verdict = window(&items, A, &recent);
    assert!(
        matches!(&verdict, Window::Inconclusive { code, message }
            if [1_600_001, 1_624_001].contains(code) && message.contains("try again")),
        "{verdict:?}"
    );
    assert!(verdict.to_string().contains("code 16"), "{verdict}");
    // The client's policy allows 3 attempts in all.
    assert_eq!(
        sb.counters().requests_per_action["DescribeRollbackRangeTime"],
        3
    );
    sb.shutdown().await;
}
