//! The engine in-process against the in-process sandbox with every fault kind: fast enough
//! for many seeds. Every instance ends succeeded, none is submitted twice, and replaying the
//! journal gives the state the engine ended with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use planrun::api::rollback::InstanceRollback;
use planrun::api::v2::Client;
use planrun::api::{ClientConfig, Credentials};
use planrun::engine::journal::Journal;
use planrun::engine::prepare::Work;
use planrun::engine::run::{Ending, Engine, Options};
use planrun::engine::schedule::Cadence;
use planrun::engine::state::{RunState, Status};
use planrun::engine::v2::V2;
use planrun::sandbox::{self, Config, DEMO_SECRET_ID, DEMO_SECRET_KEY, FaultKinds, Faults};
use tokio::sync::{mpsc, watch};

use super::harness::{ids, recent_time};
use crate::support::rollback;

fn request(id: &str, time: &str) -> InstanceRollback {
    rollback::payments(id, time)
}

/// Instances per call.
const BATCH_SIZE: usize = 3;

fn options() -> Options {
    Options {
        concurrency: 4,
        cadence: Cadence {
            min: Duration::from_millis(50),
            max: Duration::from_secs(1),
        },
        first_poll: Duration::from_millis(100),
        settle: Duration::from_millis(200),
        busy_wait: Duration::from_secs(20),
        submit_retries: 8,
        retry_base: Duration::from_millis(50),
        ..Options::default()
    }
}

/// Applies `n` instances under `faults`; returns the sandbox's counters after checking.
async fn apply(tag: &str, n: usize, faults: Faults) -> sandbox::CountersSnapshot {
    let config = Config {
        task_seconds: (0.2, 0.5),
        faults,
        any_instance: true,
        ..Config::demo()
    };
    let sb = sandbox::start(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut client_config = ClientConfig::new(
        sb.endpoint_v2(),
        "ap-guangzhou",
        Credentials::new(DEMO_SECRET_ID, DEMO_SECRET_KEY),
    );
    client_config.retry.base_delay = Duration::from_millis(20);
    let client = Client::new(client_config).unwrap();
    let ids = ids(tag, n);
    let time = recent_time();
    let requests: Vec<InstanceRollback> = ids.iter().map(|i| request(i, &time)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.journal");
    let (journal, _) = Journal::open(&path).unwrap();
    let state = RunState::new(ids.iter().map(String::as_str));
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let mut engine = Engine::new(
        Arc::new(V2::new(client)),
        Work::batched(
            requests.into_iter().map(|r| (r, None)).collect(),
            BATCH_SIZE,
        ),
        options(),
        journal,
        state,
        tx,
    );
    let ending = tokio::time::timeout(Duration::from_secs(60), engine.run(cancelled))
        .await
        .unwrap_or_else(|_| panic!("{tag}: the engine did not end"));
    assert!(matches!(ending, Ending::Complete), "{tag}: {ending:?}");
    let state = engine.into_state();
    for s in &state.instances {
        assert_eq!(s.status, Status::Succeeded, "{tag}: {s:?}");
    }
    let counters = sb.counters();
    let once: std::collections::BTreeMap<String, u64> =
        ids.iter().map(|i| (i.clone(), 1)).collect();
    assert_eq!(counters.accepted_submissions, once, "{tag}: {counters:?}");
    let replayed = RunState::replay(
        ids.iter().map(String::as_str),
        &Journal::read(&path).unwrap(),
    );
    assert_eq!(
        replayed.instances, state.instances,
        "{tag}: journal and state differ"
    );
    assert!(replayed.complete.is_some());
    sb.shutdown().await;
    counters
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_every_fault_kind_each_instance_succeeds_once_for_many_seeds() {
    // The seeds run side by side, each against its own sandbox.
    let runs = (1..=6u64).map(|seed| async move {
        let tag = format!("eng{seed}");
        let faults = Faults {
            rate: 0.3,
            kinds: FaultKinds::all(),
            seed,
            slow_ms: 150,
            ..Faults::default()
        };
        apply(&tag, 9, faults).await
    });
    let counters = futures::future::join_all(runs).await;
    let lost: u64 = counters.iter().map(|c| c.lost_accepted_jobs).sum();
    let faults: u64 = counters
        .iter()
        .map(|c| c.faults.values().sum::<u64>())
        .sum();
    assert!(faults >= 10, "faults were injected: {faults}");
    assert!(lost >= 1, "some accepted submission lost its answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_other_answer_is_lost_nothing_is_submitted_twice() {
    for seed in [7u64, 8] {
        apply(
            &format!("los{seed}"),
            8,
            Faults {
                rate: 0.5,
                kinds: FaultKinds {
                    lost: true,
                    ..FaultKinds::default()
                },
                seed,
                slow_ms: 0,
                ..Faults::default()
            },
        )
        .await;
    }
}
