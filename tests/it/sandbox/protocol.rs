//! Signatures (both methods, GET and POST, Host with port), authentication and replay
//! rejections, the per-action rate limit and the numbers-as-strings quirk.

use super::*;

#[tokio::test]
async fn both_signature_methods_are_accepted_over_get_and_post() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    for method in [HttpMethod::Get, HttpMethod::Post] {
        for sig in [
            None,
            Some(SignatureMethod::HmacSha1),
            Some(SignatureMethod::HmacSha256),
        ] {
            c.method = method;
            c.signature = sig;
            let v = c.jobs(A, &[]).await;
            assert_eq!(int(&v["code"]), 0, "{method:?} {sig:?}: {v}");
            assert!(v["data"].is_object());
        }
    }
    // Signed as GET, sent as POST: the method is part of the signed string.
    c.method = HttpMethod::Get;
    let p = c.params(
        "GetCdbRollbackJob",
        &[("cdbInstanceId".into(), A.into())],
        now(),
    );
    c.method = HttpMethod::Post;
    assert_eq!(int(&c.raw(&p).await["code"]), 4100);
    assert_eq!(sb.counters().requests_per_action["GetCdbRollbackJob"], 7);
    sb.shutdown().await;
}

#[tokio::test]
async fn signature_covers_the_host_header_with_its_port() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.host = "127.0.0.1".into();
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 4100);
    sb.shutdown().await;
}

#[tokio::test]
async fn authentication_and_replay_rejections() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.secret_key = "not-the-key".into();
    let v = c.jobs(A, &[]).await;
    assert_eq!(int(&v["code"]), 4100, "{v}");
    assert!(v["message"].is_string() && v["codeDesc"].is_string());

    c.secret_key = DEMO_SECRET_KEY.into();
    c.secret_id = "AKIDsomebodyelse".into();
    assert_eq!(int(&c.jobs(A, &[]).await["code"]), 4104);

    c.secret_id = DEMO_SECRET_ID.into();
    let extra = [("cdbInstanceId".to_owned(), A.to_owned())];
    let stale = c.params("GetCdbRollbackJob", &extra, now() - 400);
    assert_eq!(int(&c.raw(&stale).await["code"]), 4500);
    let ahead = c.params("GetCdbRollbackJob", &extra, now() + 400);
    assert_eq!(int(&c.raw(&ahead).await["code"]), 4500);

    let fresh = c.params("GetCdbRollbackJob", &extra, now());
    assert_eq!(int(&c.raw(&fresh).await["code"]), 0);
    assert_eq!(
        int(&c.raw(&fresh).await["code"]),
        4500,
        "the same Nonce twice"
    );

    let mut missing = c.params("GetCdbRollbackJob", &extra, now());
    missing.retain(|(k, _)| k != "Timestamp");
    assert_eq!(int(&c.raw(&missing).await["code"]), 4000);

    let counts = sb.counters().rejections_per_code;
    assert_eq!(
        (counts[&4100], counts[&4104], counts[&4500], counts[&4000]),
        (1, 1, 3, 1)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn numbers_come_as_strings_and_as_numbers_across_answers() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.submit(&[(A, para())]).await;
    let (mut strings, mut numbers) = (0, 0);
    for _ in 0..15 {
        let v = c.jobs(A, &[]).await;
        let t = &v["data"]["taskList"][0];
        for field in [
            &v["code"],
            &v["data"]["taskCount"],
            &t["status"],
            &t["progress"],
            &t["jobId"],
        ] {
            if field.is_string() {
                strings += 1;
            } else if field.is_number() {
                numbers += 1;
            } else {
                panic!("neither: {field}");
            }
        }
    }
    assert!(
        strings > 10 && numbers > 10,
        "{strings} strings, {numbers} numbers"
    );
    sb.shutdown().await;
}
