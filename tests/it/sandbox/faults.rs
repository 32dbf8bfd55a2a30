//! Injected faults: HTTP 502, 9006, slow answers and the lost response after acceptance.

use super::*;

fn faulty(kind: FaultKinds) -> Config {
    Config {
        faults: Faults {
            rate: 1.0,
            kinds: kind,
            seed: 5,
            slow_ms: 300,
            actions: Default::default(),
        },
        ..fast()
    }
}

#[tokio::test]
async fn http502_fault_answers_bad_gateway_and_does_nothing() {
    let sb = start(faulty(FaultKinds {
        http502: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    let p = c.params(
        "RollbackCdbDatabaseTables",
        &[
            ("instances.0.cdbInstanceId".into(), A.into()),
            ("instances.0.para".into(), para().to_string()),
        ],
        now(),
    );
    let resp = c.send(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), 502);
    let s = sb.counters();
    assert_eq!((s.faults["http502"], s.accepted_jobs), (1, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn internal_fault_answers_9006_and_does_nothing() {
    let sb = start(faulty(FaultKinds {
        internal: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    let v = c.submit(&[(A, para())]).await;
    assert_eq!(
        (int(&v["code"]), v["codeDesc"].as_str()),
        (9006, Some("InternalError"))
    );
    let s = sb.counters();
    assert_eq!((s.rejections_per_code[&9006], s.accepted_jobs), (1, 0));
    sb.shutdown().await;
}

#[tokio::test]
async fn slow_fault_delays_the_answer_and_counts_requests_in_flight() {
    let sb = start(faulty(FaultKinds {
        slow: true,
        ..FaultKinds::default()
    }))
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

#[tokio::test]
async fn lost_fault_accepts_the_job_then_drops_the_connection() {
    let sb = start(faulty(FaultKinds {
        lost: true,
        ..FaultKinds::default()
    }))
    .await;
    let mut c = Caller::new(&sb);
    c.method = HttpMethod::Post;
    let p = c.params(
        "RollbackCdbDatabaseTables",
        &[
            ("instances.0.cdbInstanceId".into(), A.into()),
            ("instances.0.para".into(), para().to_string()),
        ],
        now(),
    );
    let err = c
        .send(&p)
        .await
        .err()
        .unwrap_or_else(|| panic!("an answer arrived"));
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    let s = sb.counters();
    assert_eq!(s.accepted_submissions[A], 1, "the job was accepted");
    assert_eq!((s.lost_responses, s.lost_accepted_jobs), (1, 1));

    // A read is dropped too; and at the socket level not one byte comes back.
    c.method = HttpMethod::Get;
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
    let mut socket = tokio::net::TcpStream::connect(sb.addr())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    socket
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
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
