//! RollbackCdbDatabaseTables: signing as sent, certain rejections retried, ambiguous failures
//! reported as "outcome unknown" and never resent.

use super::*;

#[tokio::test]
async fn post_requests_are_form_encoded_and_signed_with_host_port_and_token() {
    let (endpoint, fake) = serve(|_, _| ok(JOB_OK)).await;
    let mut c = config(&endpoint);
    c.credentials = Credentials::new("AKIDfake", KEY).with_token("temp-token");
    c.signature_method = SignatureMethod::HmacSha256;
    let client = Client::new(c).unwrap();
    let job = client.rollback(&one_instance()).await.unwrap();
    assert_eq!(job, JobId("111".into()));

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert!(
        s.signature_ok,
        "signature must match the Host header with its port"
    );
    assert_eq!(s.method, Method::POST);
    assert_eq!(s.content_type, "application/x-www-form-urlencoded");
    let get = |k: &str| {
        s.params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("Token"), Some("temp-token"));
    assert_eq!(get("Region"), Some("ap-guangzhou"));
    assert_eq!(get("SignatureMethod"), Some("HmacSHA256"));
    assert_eq!(get("instances.0.cdbInstanceId"), Some("cdb-mo64xu70"));
    assert_eq!(
        get("instances.0.para"),
        Some(
            r#"{"rollbacktime":"2026-11-20 03:15:00","strategy":"db","dbs":[{"dbname":"db1","newname":"db1_bak"}],"tables":[]}"#
        )
    );
}

#[tokio::test]
async fn dropped_connection_after_submission_is_outcome_unknown_and_not_resent() {
    let (endpoint, count) = raw_server(false).await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
    assert!(
        matches!(&err, Error::OutcomeUnknown { source, .. } if matches!(**source, Error::MaybeSent { .. }))
    );
    // No pause needed: the server counts a request before it drops the connection, and the
    // client answers only once its last attempt met the drop, so every request it sent is
    // counted by now.
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "exactly one request reached the server"
    );
}

#[tokio::test]
async fn timeout_after_submission_is_outcome_unknown() {
    let (endpoint, count) = raw_server(true).await;
    let mut c = config(&endpoint);
    c.timeouts.request = Duration::from_millis(300);
    let err = Client::new(c)
        .unwrap()
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_gateway_on_submission_is_outcome_unknown_and_not_resent() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 502,
        body: "Bad Gateway".into(),
        delay: Duration::ZERO,
    })
    .await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(fake.count(ROLLBACK), 1);
}

#[tokio::test]
async fn accepted_answer_without_job_id_is_outcome_unknown() {
    let (endpoint, _) = serve(|_, _| ok(r#"{"code":0,"data":{}}"#)).await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
}

#[tokio::test]
async fn certain_rejections_of_a_submission_are_retried() {
    let (endpoint, fake) = serve(|_, n| match n {
        0 => code(4400),
        1 => code(4500),
        _ => ok(JOB_OK),
    })
    .await;
    let job = client(&endpoint).rollback(&one_instance()).await.unwrap();
    assert_eq!(job.as_str(), "111");
    assert_eq!(fake.count(ROLLBACK), 3);
}

#[tokio::test]
async fn other_submission_errors_are_returned_at_once_with_their_class() {
    for (api_code, class) in [
        (9592, ErrorClass::Busy),
        (9003, ErrorClass::InstancesOnly),
        (9006, ErrorClass::Retry),
        (4104, ErrorClass::StopRun),
    ] {
        let (endpoint, fake) = serve(move |_, _| code(api_code)).await;
        let err = client(&endpoint)
            .rollback(&one_instance())
            .await
            .unwrap_err();
        assert_eq!(err.api_code(), Some(api_code));
        assert_eq!(err.class(), class);
        assert!(!err.is_outcome_unknown());
        assert_eq!(
            fake.count(ROLLBACK),
            1,
            "code {api_code} is left to the engine"
        );
    }
}

#[tokio::test]
async fn refused_connection_is_not_sent_and_never_outcome_unknown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = config(&format!("http://{addr}{PATH}"));
    c.http_method = HttpMethod::Get;
    c.credentials = Credentials::new("AKIDfake", KEY).with_token("temp-token");
    let client = Client::new(c).unwrap();
    let err = client.rollback(&one_instance()).await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    assert_eq!(
        client.attempts(ROLLBACK),
        3,
        "not-sent submissions may be retried"
    );
    let text = format!("{err} {err:?}");
    for secret in ["Signature", "temp-token", KEY] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (endpoint, fake) = serve(|_, _| Reply {
        status: 302,
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let err = client(&endpoint)
        .rollback(&one_instance())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(fake.count(ROLLBACK), 1);
}

#[tokio::test]
async fn an_empty_submission_is_refused_without_a_request() {
    let (endpoint, fake) = serve(|_, _| ok(JOB_OK)).await;
    let err = client(&endpoint).rollback(&[]).await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(fake.seen().is_empty());
}
