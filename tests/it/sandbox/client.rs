//! planrun's own API client against the sandbox: both actions round trip with both signature
//! methods over GET and POST, a lost submission is "outcome unknown" (never resent) and its
//! job can be found (API 3.0's client too), injected 502/9006 on reads are retried, and the default limiter stays
//! under the sandbox's 20 requests/s per action.

use super::*;
use crate::support::both_apis;
use planrun::api::rollback::{InstanceRollback, Strategy};
use planrun::api::v2::{Client, TaskStatus};
use planrun::api::{ClientConfig, Credentials, ErrorClass, RetryPolicy};

fn client(sb: &Sandbox, http: HttpMethod, sig: SignatureMethod) -> Client {
    let mut config = ClientConfig::new(
        sb.endpoint_v2(),
        "ap-guangzhou",
        Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
    );
    config.http_method = http;
    config.signature_method = sig;
    config.retry = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    Client::new(config).unwrap_or_else(|e| panic!("client: {e}"))
}

fn rollback(id: &str) -> InstanceRollback {
    crate::support::rollback::payments(id, "2026-01-01 03:15:00")
}

#[tokio::test]
async fn client_submits_and_tracks_with_both_methods_over_get_and_post() {
    let sb = start(Config {
        task_seconds: (0.2, 0.3),
        any_instance: true,
        ..Config::demo()
    })
    .await;
    let ids = [
        "cdb-aaaa0001",
        "cdb-aaaa0002",
        "cdb-aaaa0003",
        "cdb-aaaa0004",
    ];
    let mut n = 0;
    for http in [HttpMethod::Get, HttpMethod::Post] {
        for sig in [SignatureMethod::HmacSha1, SignatureMethod::HmacSha256] {
            let c = client(&sb, http, sig);
            let id = ids[n];
            n += 1;
            let job = c
                .rollback(&[rollback(id)])
                .await
                .unwrap_or_else(|e| panic!("{http:?} {sig:?}: {e}"));
            wait_for_every(
                "the task to succeed",
                Duration::from_secs(5),
                Duration::from_millis(70),
                async || {
                    let task = c
                        .find_task(id, &job)
                        .await
                        .unwrap()
                        .unwrap_or_else(|| panic!("job {job} not listed"));
                    assert_eq!(task.strategy, Some(Strategy::Table));
                    assert_eq!(task.rollback_time.as_deref(), Some("2026-01-01 03:15:00"));
                    if task.status == TaskStatus::Success {
                        assert_eq!(task.progress, Some(100));
                        Ok(())
                    } else {
                        Err(format!("{task:?}"))
                    }
                },
            )
            .await;
        }
    }
    assert_eq!(sb.counters().accepted_jobs, 4);
    assert!(sb.counters().rejections_per_code.is_empty());
    sb.shutdown().await;
}

both_apis! {
    async fn a_lost_submission_is_outcome_unknown_never_resent_and_its_task_is_found(api) {
        let submit = if api == "v3" {
            "StartBatchRollback"
        } else {
            "RollbackCdbDatabaseTables"
        };
        let mut config = fast();
        config.faults = Faults {
            rate: 1.0,
            kinds: FaultKinds {
                lost: true,
                ..FaultKinds::default()
            },
            seed: 1,
            slow_ms: 0,
            actions: [submit.to_owned()].into(),
        };
        let sb = start(config).await;
        let (err, found) = if api == "v3" {
            let c = super::v3_client::client(&sb, DEMO_SECRET_KEY);
            let err = c
                .start_batch_rollback(&[super::v3_client::rollback(A)])
                .await
                .err();
            let tasks = c
                .all_rollback_tasks(A, None)
                .await
                .unwrap_or_else(|e| panic!("detail: {e}"));
            (err, tasks.len())
        } else {
            let c = client(&sb, HttpMethod::Post, SignatureMethod::HmacSha256);
            let err = c.rollback(&[rollback(A)]).await.err();
            let page = c
                .all_rollback_jobs(A)
                .await
                .unwrap();
            let tables: Vec<_> = page.tasks.iter().map(|t| &t.tables).collect();
            assert_eq!(tables, [&rollback(A).spec.tables]);
            (err, page.tasks.len())
        };
        let err = err.unwrap_or_else(|| panic!("API {api}: an answer came through a dropped connection"));
        assert!(err.is_outcome_unknown(), "API {api}: {err:?}");
        assert_eq!(err.class(), ErrorClass::OutcomeUnknown, "API {api}: {err}");
        assert_eq!(found, 1, "API {api}: the task is there to be found");
        let s = sb.counters();
        assert_eq!(s.requests_per_action[submit], 1, "API {api}: never resent");
        assert_eq!(
            (s.accepted_submissions[A], s.lost_accepted_jobs),
            (1, 1),
            "API {api}"
        );
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn reads_are_retried_through_injected_502_and_9006() {
    let mut config = fast();
    config.faults = Faults {
        rate: 0.5,
        kinds: FaultKinds {
            http502: true,
            internal: true,
            ..FaultKinds::default()
        },
        seed: 21,
        slow_ms: 0,
        actions: ["GetCdbRollbackJob".to_owned()].into(),
    };
    // Retries come fast and the client uses the sandbox's whole rate: room above it keeps a
    // rate-limit answer (a late-counted request on a loaded machine) out of the count.
    config.rate_per_action = 100;
    let sb = start(config).await;
    let c = client(&sb, HttpMethod::Get, SignatureMethod::HmacSha256);
    for _ in 0..6 {
        let page = c.rollback_jobs(A, 0, 10).await.unwrap();
        assert_eq!(page.task_count, 0);
    }
    let s = sb.counters();
    let faults: u64 = s.faults.values().sum();
    assert!(faults > 0, "{s:?}");
    assert_eq!(s.requests_per_action["GetCdbRollbackJob"], 6 + faults);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_default_limiter_never_trips_the_sandboxs_rate_limit() {
    let sb = start(fast()).await;
    let c = client(&sb, HttpMethod::Post, SignatureMethod::HmacSha256);
    let calls = (0..30).map(|_| c.rollback_jobs(A, 0, 1));
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    let s = sb.counters();
    assert_eq!(s.requests_per_action["GetCdbRollbackJob"], 30);
    assert!(s.rejections_per_code.is_empty(), "{s:?}");
    assert!(s.max_in_flight <= 4, "{s:?}");
    sb.shutdown().await;
}
