//! GetCdbRollbackJob: GET signing, quirky answers, retries with backoff, re-signing, paging.

use super::*;

#[tokio::test]
async fn get_requests_carry_signed_parameters_in_the_query() {
    let (endpoint, fake) = serve(|_, _| ok(PAGE_OK)).await;
    let mut c = config(&endpoint);
    c.http_method = HttpMethod::Get;
    c.signature_method = SignatureMethod::HmacSha1;
    let client = Client::new(c).unwrap();
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 500).await.unwrap();
    assert_eq!(page.tasks[0].status, TaskStatus::Running);

    let s = &fake.seen()[0];
    assert!(s.signature_ok);
    assert_eq!(s.method, Method::GET);
    let get = |k: &str| {
        s.params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("SignatureMethod"), Some("HmacSHA1"));
    assert_eq!(get("limit"), Some("100"), "limit is capped at 100");
    assert_eq!(get("Token"), None);
}

#[tokio::test]
async fn wrong_key_is_rejected_and_stops_the_run() {
    let (endpoint, fake) = serve(|_, _| ok(PAGE_OK)).await;
    let mut c = config(&endpoint);
    c.credentials = Credentials::new("AKIDfake", "wrong");
    let err = Client::new(c)
        .unwrap()
        .rollback_jobs("cdb-mo64xu70", 0, 10)
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(4100));
    assert_eq!(err.class(), ErrorClass::StopRun);
    assert_eq!(
        fake.count(ROLLBACK_JOBS),
        1,
        "auth failures are not retried"
    );
}

#[tokio::test]
async fn quirky_numbers_are_decoded() {
    let body = r#"{"code":0,"data":[{"taskCount":2,"taskList":[
        {"jobId":5,"taskId":9,"status":2,"progress":100,"unknownField":[1]},
        {"jobId":"4","status":"3","progress":"100"}]}]}"#;
    let (endpoint, _) = serve(move |_, _| ok(body)).await;
    let page = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap();
    assert_eq!(page.task_count, 2);
    assert_eq!(page.tasks[0].job_id, Some(JobId("5".into())));
    assert_eq!(page.tasks[0].status, TaskStatus::Success);
    assert_eq!(page.tasks[1].status, TaskStatus::Failed);
}

#[tokio::test]
async fn server_errors_are_retried_for_job_queries() {
    let (endpoint, fake) = serve(|_, n| match n {
        0 => Reply {
            status: 502,
            body: "Bad Gateway".into(),
            delay: Duration::ZERO,
        },
        1 => code(6000),
        _ => ok(PAGE_OK),
    })
    .await;
    let client = client(&endpoint);
    let page = client.rollback_jobs("cdb-mo64xu70", 0, 50).await.unwrap();
    assert_eq!(page.tasks.len(), 1);
    assert_eq!(fake.count(ROLLBACK_JOBS), 3);
    assert_eq!(client.attempts(ROLLBACK_JOBS), 3);
}

#[tokio::test]
async fn job_query_retries_stop_after_max_attempts() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 503,
        body: "<html>busy</html>".into(),
        delay: Duration::ZERO,
    })
    .await;
    let err = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(fake.count(ROLLBACK_JOBS), 3);
}

#[tokio::test]
async fn replay_rejection_is_resigned_once_with_a_fresh_nonce() {
    let (endpoint, fake) = serve(|_, _| code(4500)).await;
    let err = client(&endpoint)
        .rollback_jobs("cdb-mo64xu70", 0, 50)
        .await
        .unwrap_err();
    assert_eq!(err.api_code(), Some(4500));
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "one re-signed retry, no more");
    let nonce = |s: &Seen| {
        s.params
            .iter()
            .find(|(k, _)| k == "Nonce")
            .map(|(_, v)| v.clone())
    };
    assert_ne!(nonce(&seen[0]), nonce(&seen[1]));
}

#[tokio::test]
async fn all_pages_are_fetched_by_offset() {
    // 250 tasks, served 100 at a time by offset.
    let (endpoint, fake) = serve(|_, n| {
        let start = (n % 3) * 100; // pages are asked in order, twice
        let tasks: Vec<String> = (start..(start + 100).min(250))
            .map(|i| format!(r#"{{"jobId":"{i}","status":"2"}}"#))
            .collect();
        ok(&format!(
            r#"{{"code":0,"data":{{"taskCount":"250","taskList":[{}]}}}}"#,
            tasks.join(",")
        ))
    })
    .await;
    let client = client(&endpoint);
    let all = client.all_rollback_jobs("cdb-mo64xu70").await.unwrap();
    assert_eq!(all.tasks.len(), 250);
    assert_eq!(all.task_count, 250);
    let offsets: Vec<String> = fake
        .seen()
        .iter()
        .filter_map(|s| {
            s.params
                .iter()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(offsets, ["0", "100", "200"]);
    let found = client
        .find_task("cdb-mo64xu70", &JobId("249".into()))
        .await
        .unwrap();
    assert_eq!(found.and_then(|t| t.job_id), Some(JobId("249".into())));
}

#[tokio::test]
async fn without_a_task_count_pages_are_read_while_they_come_back_full() {
    // 150 tasks, no taskCount: the first page is full (100), so the second is asked for.
    let (endpoint, fake) = serve(|_, n| {
        let start = n * 100;
        let tasks: Vec<String> = (start..(start + 100).min(150))
            .map(|i| format!(r#"{{"jobId":"{i}","status":"2"}}"#))
            .collect();
        ok(&format!(
            r#"{{"code":0,"data":{{"taskList":[{}]}}}}"#,
            tasks.join(",")
        ))
    })
    .await;
    let all = client(&endpoint)
        .all_rollback_jobs("cdb-mo64xu70")
        .await
        .unwrap();
    assert_eq!(all.tasks.len(), 150);
    assert!(!all.counted);
    assert_eq!(fake.seen().len(), 2);
}

#[tokio::test]
async fn a_list_that_never_ends_is_incomplete_not_whole() {
    // Every page full, no count: the bound is reached and nothing is concluded.
    let (endpoint, _fake) = serve(|_, _| {
        let tasks: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"jobId":"x{i}","status":"2"}}"#))
            .collect();
        ok(&format!(
            r#"{{"code":0,"data":{{"taskList":[{}]}}}}"#,
            tasks.join(",")
        ))
    })
    .await;
    let err = client(&endpoint)
        .all_rollback_jobs("cdb-mo64xu70")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Incomplete { .. }), "{err}");
}
