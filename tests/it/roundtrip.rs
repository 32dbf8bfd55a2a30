//! The API 2.0 client against the in-process sandbox: both signature and HTTP methods, tracking, the busy/missing/auth classes, no 4400 at the default rate, and faults never accepted twice.

use std::time::Duration;

use planrun::api::rollback::{DatabaseRename, InstanceRollback, RollbackSpec, Strategy};
use planrun::api::v2::TaskStatus;
use planrun::api::v2::client::{Client, ClientConfig, ROLLBACK, ROLLBACK_JOBS};
use planrun::api::v2::sign::{HttpMethod, SignatureMethod};
use planrun::api::{Credentials, ErrorClass};
use planrun::sandbox::{self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY};

use crate::support::wait_for_every;

fn inst(id: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.into(),
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "db1".into(),
                newname: "db1_bak".into(),
            }],
            tables: vec![],
        },
    }
}

fn cfg(endpoint: &str) -> ClientConfig {
    ClientConfig::new(
        endpoint,
        "ap-guangzhou",
        Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_submit_and_track() {
    let mut c = Config::demo();
    c.any_instance = true;
    c.time_scale = 0.01;
    c.rollback_time_check = None;
    let sb = sandbox::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for (i, (m, s)) in [
        (HttpMethod::Get, SignatureMethod::HmacSha1),
        (HttpMethod::Post, SignatureMethod::HmacSha256),
        (HttpMethod::Get, SignatureMethod::HmacSha256),
        (HttpMethod::Post, SignatureMethod::HmacSha1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut conf = cfg(&sb.endpoint_v2());
        conf.http_method = m;
        conf.signature_method = s;
        let client = Client::new(conf).unwrap();
        let id = format!("cdb-abcdef0{i}");
        let job = client
            .rollback(&[inst(&id), inst(&format!("cdb-bbcdef0{i}"))])
            .await
            .unwrap();
        let t = wait_for_every(
            "the task to end",
            Duration::from_secs(10),
            Duration::from_millis(50),
            async || {
                let t = client
                    .find_task(&id, &job)
                    .await
                    .unwrap()
                    .expect("task listed");
                if t.status.is_terminal() {
                    Ok(t)
                } else {
                    Err(format!("{t:?}"))
                }
            },
        )
        .await;
        eprintln!("{m:?} {s:?}: {t:?}");
        assert_eq!(t.status, TaskStatus::Success);
        assert_eq!(t.matches_spec(&inst(&id).spec), Some(true));
    }
    eprintln!("{:?}", sb.counters());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_busy_and_missing() {
    let mut c = Config::demo();
    c.any_instance = true;
    c.rollback_time_check = None;
    c.missing_instances.insert("cdb-missing0".into());
    let sb = sandbox::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client::new(cfg(&sb.endpoint_v2())).unwrap();
    client.rollback(&[inst("cdb-busy0000")]).await.unwrap();
    let err = client.rollback(&[inst("cdb-busy0000")]).await.unwrap_err();
    eprintln!("{err}");
    assert_eq!(err.class(), ErrorClass::Busy);
    let err = client.rollback(&[inst("cdb-missing0")]).await.unwrap_err();
    eprintln!("{err}");
    assert_eq!(err.class(), ErrorClass::InstancesOnly);
    let mut bad = cfg(&sb.endpoint_v2());
    bad.credentials = Credentials::new(DEMO_SECRET_ID, "wrong");
    let err = Client::new(bad)
        .unwrap()
        .rollback_jobs("cdb-busy0000", 0, 10)
        .await
        .unwrap_err();
    eprintln!("{err}");
    assert_eq!(err.class(), ErrorClass::StopRun);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_default_rate_never_hits_4400() {
    let mut c = Config::demo();
    c.any_instance = true;
    c.rollback_time_check = None;
    let sb = sandbox::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client::new(cfg(&sb.endpoint_v2())).unwrap();
    let calls: Vec<_> = (0..60)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.rollback_jobs("cdb-abcdefgh", 0, 100).await.map(|_| ()) })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let counters = sb.counters();
    eprintln!("{counters:?}");
    assert_eq!(counters.rejections_per_code.get(&4400), None);
    assert_eq!(client.attempts(ROLLBACK_JOBS), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundtrip_faults() {
    let mut c = Config::demo();
    c.any_instance = true;
    c.rollback_time_check = None;
    c.faults.rate = 0.5;
    c.faults.kinds.lost = true;
    c.faults.kinds.http502 = true;
    c.faults.kinds.internal = true;
    c.faults.seed = 7;
    let sb = sandbox::start(c, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = Client::new(cfg(&sb.endpoint_v2())).unwrap();
    let mut unknown = 0;
    for i in 0..20 {
        match client.rollback(&[inst(&format!("cdb-fault{i:03}"))]).await {
            Ok(_) => {}
            Err(e) if e.is_outcome_unknown() => {
                unknown += 1;
                eprintln!(
                    "unknown: {e} / {:?}",
                    std::error::Error::source(&e).map(|s| s.to_string())
                )
            }
            Err(e) => eprintln!("other: {e} {:?}", e.class()),
        }
    }
    for i in 0..20 {
        if let Err(e) = client
            .rollback_jobs(&format!("cdb-fault{i:03}"), 0, 10)
            .await
        {
            eprintln!("jobs gave up: {e}");
        }
    }
    let counters = sb.counters();
    eprintln!("unknown={unknown} {counters:?}");
    assert!(
        counters.accepted_submissions.values().all(|n| *n <= 1),
        "never twice"
    );
    let _ = ROLLBACK;
}
