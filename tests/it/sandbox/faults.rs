//! Injected faults on both APIs: HTTP 502, the internal error, slow answers and the lost
//! response after acceptance; requests in flight and the seed (API 2.0's caller).

use super::speaker::Speaker;
use super::v3::error_code;
use super::*;
use crate::support::both_apis;

/// Every request of `api` faulted with `kinds` (API 3.0's: only its submissions, so that a
/// read can show what the fault left behind).
fn faulty(api: &str, kinds: FaultKinds) -> Config {
    let actions = if api == "v3" {
        ["StartBatchRollback".to_owned()].into()
    } else {
        Default::default()
    };
    Config {
        faults: Faults {
            rate: 1.0,
            kinds,
            seed: 5,
            slow_ms: 300,
            actions,
        },
        ..fast()
    }
}

both_apis! {
    async fn an_http502_fault_answers_bad_gateway_and_does_nothing(api) {
        let kinds = FaultKinds {
            http502: true,
            ..FaultKinds::default()
        };
        let sb = start(faulty(api, kinds)).await;
        let resp = Speaker::new(api, &sb)
            .submit_request()
            .await
            .unwrap_or_else(|e| panic!("API {api}: {e}"));
        assert_eq!(resp.status(), 502, "API {api}");
        let s = sb.counters();
        assert_eq!((s.faults["http502"], s.accepted_jobs), (1, 0), "API {api}");
        sb.shutdown().await;
    }
}

both_apis! {
    async fn an_internal_fault_answers_the_apis_internal_error_and_does_nothing(api) {
        let kinds = FaultKinds {
            internal: true,
            ..FaultKinds::default()
        };
        let sb = start(faulty(api, kinds)).await;
        let mut c = Speaker::new(api, &sb);
        let v = c.submit().await;
        let s = sb.counters();
        if api == "v3" {
            assert_eq!(error_code(&v), Some("InternalError"));
            assert_eq!(s.rejections_per_error["InternalError"], 1);
            let Speaker::V3(c) = c else { unreachable!() };
            let r = c.detail(A, json!({})).await;
            assert_eq!(r["TotalCount"], 0, "faults target StartBatchRollback only: {r}");
        } else {
            assert_eq!(
                (int(&v["code"]), v["codeDesc"].as_str()),
                (9006, Some("InternalError"))
            );
            assert_eq!(s.rejections_per_code[&9006], 1);
        }
        assert_eq!(s.accepted_jobs, 0, "API {api}");
        sb.shutdown().await;
    }
}

both_apis! {
    async fn a_slow_fault_delays_the_answer_which_still_comes(api) {
        let kinds = FaultKinds {
            slow: true,
            ..FaultKinds::default()
        };
        let sb = start(faulty(api, kinds)).await;
        let started = Instant::now();
        let v = Speaker::new(api, &sb).submit().await;
        // A lower bound only: the fault's 300 ms pause did happen.
        assert!(started.elapsed() >= Duration::from_millis(300), "API {api}");
        let accepted = if api == "v3" {
            v["AsyncRequestId"].is_string()
        } else {
            int(&v["code"]) == 0
        };
        assert!(accepted, "API {api}: a slow answer still answers: {v}");
        assert_eq!(sb.counters().faults["slow"], 1, "API {api}");
        sb.shutdown().await;
    }
}

both_apis! {
    async fn a_lost_fault_accepts_the_submission_then_drops_the_answer(api) {
        let kinds = FaultKinds {
            lost: true,
            ..FaultKinds::default()
        };
        let sb = start(faulty(api, kinds)).await;
        let mut c = Speaker::new(api, &sb);
        let answered = match c.submit_request().await {
            Ok(resp) => resp.bytes().await.is_ok(),
            Err(e) => {
                assert!(e.status().is_none() && !e.is_timeout(), "API {api}: {e:?}");
                false
            }
        };
        assert!(!answered, "API {api}: the answer must be lost");
        let s = sb.counters();
        assert_eq!(s.accepted_submissions[A], 1, "API {api}: the job was accepted");
        assert_eq!((s.lost_responses, s.lost_accepted_jobs), (1, 1), "API {api}");
        match c {
            // The submission was carried out: its task is there to find.
            Speaker::V3(c) => {
                let found = c.detail(A, json!({})).await;
                assert_eq!(found["TotalCount"], 1, "{found}");
            }
            Speaker::V2(_) => a_v2_read_is_dropped_without_a_byte(&sb).await,
        }
        sb.shutdown().await;
    }
}

/// Under API 2.0's lost fault (on every action) a read is dropped too; at the socket level not
/// one byte comes back.
async fn a_v2_read_is_dropped_without_a_byte(sb: &Sandbox) {
    let mut c = Caller::new(sb);
    c.nonce = 50_000;
    let p = c.params(
        "GetCdbRollbackJob",
        &[("cdbInstanceId".into(), A.into())],
        now(),
    );
    let query = p
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "GET /v2/index.php?{query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        sb.addr()
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(sb.addr()).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The connection must end (EOF or reset), not hang open without an answer.
    let ended = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    assert!(ended.is_ok(), "the connection stayed open");
    assert!(
        answer.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(sb.counters().lost_responses, 2);
    assert_eq!(sb.counters().requests_per_action["GetCdbRollbackJob"], 1);
}

#[tokio::test]
async fn slow_fault_delays_the_answer_and_counts_requests_in_flight() {
    let sb = start(faulty(
        "v2",
        FaultKinds {
            slow: true,
            ..FaultKinds::default()
        },
    ))
    .await;
    let mut callers: Vec<Caller> = (0..3u64)
        .map(|i| {
            let mut c = Caller::new(&sb);
            c.nonce = 10_000 * (i + 1);
            c
        })
        .collect();
    let started = Instant::now();
    let answers = futures::future::join_all(callers.iter_mut().map(|c| c.jobs(A, &[]))).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(answers.iter().all(|v| int(&v["code"]) == 0), "{answers:?}");
    let s = sb.counters();
    assert_eq!((s.max_in_flight, s.in_flight), (3, 0));
    sb.shutdown().await;
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn faults_follow_the_seed() {
    let mut config = fast();
    config.faults = Faults {
        rate: 0.5,
        kinds: FaultKinds {
            http502: true,
            ..FaultKinds::default()
        },
        seed: 11,
        slow_ms: 0,
        actions: Default::default(),
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = start(config.clone()).await;
        let mut c = Caller::new(&sb);
        let mut statuses = Vec::new();
        for _ in 0..12 {
            let p = c.params(
                "GetCdbRollbackJob",
                &[("cdbInstanceId".into(), A.into())],
                now(),
            );
            statuses.push(c.send(&p).await.map(|r| r.status().as_u16()).unwrap_or(0));
        }
        runs.push(statuses);
        sb.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].contains(&502),
        "{:?}",
        runs[0]
    );
}
