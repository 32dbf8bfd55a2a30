//! The per-action rate limiter (and its slow-down on 4400) and the bound on requests in flight.

use super::*;

#[tokio::test]
async fn rate_limit_answer_is_retried_and_slows_the_action_down() {
    let (endpoint, fake) = serve(|_, n| if n == 0 { code(4400) } else { ok(PAGE_OK) }).await;
    let client = client(&endpoint);
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 50).await.unwrap();
    assert_eq!(page.task_count, 1);
    assert_eq!(fake.count(ROLLBACK_JOBS), 2);
    let (slowed, other) = (
        client.current_rate(ROLLBACK_JOBS),
        client.current_rate(ROLLBACK),
    );
    assert!(slowed <= other / 2.0, "{slowed} against {other}");
    assert!(other > 900.0, "other actions keep their rate: {other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_rate_requests_per_second_reach_the_server_per_action() {
    let (endpoint, fake) = serve(|action, _| {
        if action == ROLLBACK {
            ok(JOB_OK)
        } else {
            ok(PAGE_OK)
        }
    })
    .await;
    let mut c = config(&endpoint);
    c.rate_per_action = 8.0;
    c.concurrency = 8;
    let client = Client::new(c).unwrap();
    let start = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..12 {
        let c = client.clone();
        calls.push(tokio::spawn(async move {
            c.rollback_jobs("cdb-mo64xu70", 0, 10).await.map(|_| ())
        }));
        let c = client.clone();
        calls.push(tokio::spawn(async move {
            c.rollback(&one_instance()).await.map(|_| ())
        }));
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let elapsed = start.elapsed();
    // 12 requests at 8/s: 8 in the first second, the other 4 once the first leave the
    // window; both actions run side by side.
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(2600),
        "actions must not share one limiter: {elapsed:?}"
    );
    let seen = fake.seen();
    for action in [ROLLBACK, ROLLBACK_JOBS] {
        let times: Vec<Instant> = seen
            .iter()
            .filter(|s| s.action == action)
            .map(|s| s.at)
            .collect();
        assert_eq!(times.len(), 12);
        for (i, t) in times.iter().enumerate() {
            // Any one-second window (less a little network jitter) holds at most 8.
            let in_window = times[i..]
                .iter()
                .filter(|u| **u - *t < Duration::from_millis(900))
                .count();
            assert!(
                in_window <= 8,
                "{action}: {in_window} requests within a second"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_the_concurrency() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 200,
        body: PAGE_OK.into(),
        delay: Duration::from_millis(150),
    })
    .await;
    let mut c = config(&endpoint);
    c.concurrency = 2;
    let client = Client::new(c).unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.rollback_jobs("cdb-mo64xu70", 0, 10).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(fake.count(ROLLBACK_JOBS), 8);
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 2);
}
