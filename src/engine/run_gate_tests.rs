//! The run with the preflight overlapping it ([`crate::engine::gate`]), on tokio's paused
//! clock: a call leaves only once each of its instances has a verdict, and an instance held
//! back never reaches the API.

use std::sync::Mutex;

use tokio::sync::Notify;

use super::fake::lock;
use super::*;
use crate::api::rollback::{DatabaseRename, RollbackSpec, Strategy};
use crate::engine::gate::{self, Verdict};
use crate::engine::prepare::Work;

/// Carries out every submission at once (its tasks succeed) and records it.
#[derive(Default)]
struct Cloud {
    /// Each submission's instances, in the order they arrived.
    calls: Mutex<Vec<Vec<String>>>,
    tasks: Mutex<HashMap<String, Task>>,
    /// Wakes the test when a submission arrives.
    arrived: Notify,
    next: Mutex<u64>,
}

impl Protocol for Cloud {
    async fn submit(
        &self,
        _region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        let job = {
            let mut n = lock(&self.next);
            *n += 1;
            JobHandle(n.to_string())
        };
        for r in batch {
            let task = Task {
                job: Some(job.clone()),
                state: TaskState::Succeeded,
                progress: Some(100),
                started_at: None,
                finished_at: None,
                message: None,
                spec: Some(r.spec.clone()),
            };
            lock(&self.tasks).insert(r.instance_id.clone(), task);
        }
        lock(&self.calls).push(batch.iter().map(|r| r.instance_id.clone()).collect());
        self.arrived.notify_one();
        Ok(job)
    }

    async fn tasks(&self, _region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        Ok(lock(&self.tasks)
            .get(instance)
            .cloned()
            .into_iter()
            .collect())
    }

    async fn task(
        &self,
        _region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        let tasks = lock(&self.tasks);
        Ok(tasks
            .get(instance)
            .filter(|t| t.job.as_ref() == Some(job))
            .cloned())
    }
}

fn request(id: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.to_owned(),
        spec: RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "orders".into(),
                newname: "orders_bak".into(),
            }],
            tables: vec![],
        },
    }
}

#[tokio::test(start_paused = true)]
async fn a_call_leaves_once_its_instances_have_verdicts_and_a_held_one_never_leaves() {
    let ids = [
        "cdb-gate0001",
        "cdb-gate0002",
        "cdb-gate0003",
        "cdb-gate0004",
    ];
    // Two calls of two: [1, 2] and [3, 4].
    let work = Work::batched(ids.iter().map(|id| (request(id), None)).collect(), 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.journal");
    let (journal, _) = Journal::open(&path).unwrap();
    let cloud = Arc::new(Cloud::default());
    let (verdicts, gate) = gate::channel(ids.iter().map(|id| (*id).to_owned()));
    let (events, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let engine = Engine::new(
        Arc::clone(&cloud),
        work,
        Options::default(),
        journal,
        RunState::new(ids.iter().copied()),
        events,
    )
    .gated(gate);
    let run = tokio::spawn(async move {
        let mut engine = engine;
        let ending = engine.run(cancelled).await;
        (ending, engine.into_state())
    });
    let passed = |ids: &[&str]| Verdict::Passed(ids.iter().map(|id| (*id).to_owned()).collect());
    // 1 passes, but 2 (in its call) has no verdict yet; then the whole second call passes.
    verdicts.send(passed(&["cdb-gate0001"])).unwrap();
    verdicts
        .send(passed(&["cdb-gate0003", "cdb-gate0004"]))
        .unwrap();
    cloud.arrived.notified().await;
    assert_eq!(
        *lock(&cloud.calls),
        [vec!["cdb-gate0003", "cdb-gate0004"]],
        "the first call waits for its last verdict"
    );
    verdicts
        .send(Verdict::Held {
            instance: "cdb-gate0002".into(),
            code: "planrun::source_missing".into(),
            message: "cdb-gate0002: database `orders` does not exist".into(),
        })
        .unwrap();
    drop(verdicts);
    let (ending, state) = run.await.unwrap();
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(
        *lock(&cloud.calls),
        [vec!["cdb-gate0003", "cdb-gate0004"], vec!["cdb-gate0001"]],
        "what passed of the first call went without the instance held back"
    );
    let status: Vec<Status> = state.instances.iter().map(|s| s.status).collect();
    assert_eq!(
        status,
        [
            Status::Succeeded,
            Status::Rejected,
            Status::Succeeded,
            Status::Succeeded
        ]
    );
    // The journal says so too: refused by the preflight, under no call.
    let records = Journal::read(&path).unwrap();
    let refused: Vec<&Record> = records
        .iter()
        .filter(|r| matches!(r, Record::Rejected { .. }))
        .collect();
    assert!(
        matches!(refused.as_slice(), [Record::Rejected { batch: 0, instances, code: Some(code), .. }]
            if instances == &["cdb-gate0002"] && code == "planrun::source_missing"),
        "{refused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_preflight_that_ends_without_a_verdict_leaves_its_instances_unsubmitted() {
    let ids = ["cdb-gate0001", "cdb-gate0002"];
    let work = Work::batched(ids.iter().map(|id| (request(id), None)).collect(), 1);
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&dir.path().join("j.journal")).unwrap();
    let cloud = Arc::new(Cloud::default());
    // Only the first is checked by the preflight; it ends (an error) before its verdict.
    let (verdicts, gate) = gate::channel(["cdb-gate0001".to_owned()]);
    drop(verdicts);
    let (events, _rx) = mpsc::unbounded_channel();
    let (_cancel, cancelled) = watch::channel(false);
    let mut engine = Engine::new(
        Arc::clone(&cloud),
        work,
        Options::default(),
        journal,
        RunState::new(ids.iter().copied()),
        events,
    )
    .gated(gate);
    let ending = engine.run(cancelled).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(*lock(&cloud.calls), [vec!["cdb-gate0002"]]);
    let status: Vec<Status> = engine.state().instances.iter().map(|s| s.status).collect();
    assert_eq!(status, [Status::Pending, Status::Succeeded]);
}
