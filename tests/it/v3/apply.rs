//! The apply engine over API 3.0 (through `AnyProtocol`) against a small stateful fake of the
//! cloud: a lost answer is reconciled from DescribeRollbackTaskDetail's `Detail` without a
//! second submission, and a rejected batch is split so the good instances still go through.
//! Not the sandbox: this cloud knows no DescribeTasks (the engine must decide from the detail
//! listing alone, which the sandbox, serving DescribeTasks as documented, never makes it do),
//! names its AsyncRequestIds (`async-N`) and keeps a task running for a set number of polls.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::FixedOffset;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::*;
use planrun::api::v3::Client;
use planrun::api::v3::client::{DESCRIBE_ROLLBACK_TASK_DETAIL, START_BATCH_ROLLBACK};
use planrun::api::v3::model::{
    DescribeRollbackTaskDetailRequest, RollbackInstancesInfo, StartBatchRollbackRequest,
};
use planrun::engine::any::AnyProtocol;
use planrun::engine::journal::Journal;
use planrun::engine::prepare::Work;
use planrun::engine::run::{Ending, Engine, Options};
use planrun::engine::schedule::Cadence;
use planrun::engine::state::{RunState, Status};
use planrun::engine::v3::V3;

struct FakeTask {
    request: String,
    info: RollbackInstancesInfo,
    start: String,
    polls: u32,
}

#[derive(Default)]
struct Cloud {
    tasks: Mutex<Vec<FakeTask>>,
    submits: AtomicUsize,
    /// Accept the next submission, then answer too late (the client gives up: lost answer).
    stall_next: AtomicBool,
    /// A batch holding this instance is refused with `InvalidParameter`.
    refuse: Mutex<Option<String>>,
    /// Polls a task needs before it succeeds (0 is read as 2).
    polls_needed: AtomicU32,
    /// Answer an empty `Detail` (no echo of what was submitted).
    empty_detail: AtomicBool,
    /// Every task's `Status`, whatever its polls (an undocumented state).
    status: Mutex<Option<String>>,
}

fn reply(response: Value) -> String {
    let mut response = response;
    if let Some(obj) = response.as_object_mut() {
        obj.insert("RequestId".into(), json!("fake-req"));
    }
    json!({ "Response": response }).to_string()
}

async fn cloud(State(cloud): State<Arc<Cloud>>, headers: HeaderMap, body: Bytes) -> String {
    if !verify(&headers, &body) {
        return reply(error("AuthFailure.SignatureFailure", "bad signature"));
    }
    match header(&headers, "x-tc-action") {
        START_BATCH_ROLLBACK => {
            let n = cloud.submits.fetch_add(1, Ordering::SeqCst) + 1;
            let req: StartBatchRollbackRequest = serde_json::from_slice(&body).unwrap();
            let refused = cloud.refuse.lock().unwrap().clone();
            if let Some(bad) = refused
                && req.instances.iter().any(|i| i.instance_id == bad)
            {
                return reply(error(
                    "InvalidParameter",
                    &format!("{bad} cannot be rolled back"),
                ));
            }
            let needed = match cloud.polls_needed.load(Ordering::SeqCst) {
                0 => 2,
                n => n,
            };
            let busy = cloud.tasks.lock().unwrap().iter().any(|t| {
                t.polls < needed
                    && req
                        .instances
                        .iter()
                        .any(|i| i.instance_id == t.info.instance_id)
            });
            if busy {
                // Time passes for the task in the way: it ends after a few refusals.
                for t in cloud.tasks.lock().unwrap().iter_mut() {
                    if req
                        .instances
                        .iter()
                        .any(|i| i.instance_id == t.info.instance_id)
                    {
                        t.polls += 1;
                    }
                }
                return reply(error("OperationDenied.WrongStatus", "a task is running"));
            }
            let request = format!("async-{n}");
            let start = chrono::Utc::now()
                .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
                .format(planrun::contract::TIME_FORMAT)
                .to_string();
            cloud
                .tasks
                .lock()
                .unwrap()
                .extend(req.instances.into_iter().map(|info| FakeTask {
                    request: request.clone(),
                    info,
                    start: start.clone(),
                    polls: 0,
                }));
            if cloud.stall_next.swap(false, Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            reply(json!({ "AsyncRequestId": request }))
        }
        DESCRIBE_ROLLBACK_TASK_DETAIL => {
            let req: DescribeRollbackTaskDetailRequest = serde_json::from_slice(&body).unwrap();
            let mut tasks = cloud.tasks.lock().unwrap();
            let items: Vec<Value> = tasks
                .iter_mut()
                .filter(|t| t.info.instance_id == req.instance_id)
                .filter(|t| {
                    req.async_request_id
                        .as_ref()
                        .is_none_or(|r| *r == t.request)
                })
                .map(|t| {
                    t.polls += 1;
                    let needed = match cloud.polls_needed.load(Ordering::SeqCst) {
                        0 => 2,
                        n => n,
                    };
                    let done = t.polls >= needed;
                    let status = cloud.status.lock().unwrap().clone();
                    let status = status
                        .unwrap_or_else(|| if done { "SUCCESS" } else { "RUNNING" }.to_owned());
                    json!({
                        "Status": status,
                        "Progress": if done { 100 } else { 50 },
                        "StartTime": t.start,
                        "EndTime": null,
                        "Info": null,
                        "Detail": if cloud.empty_detail.load(Ordering::SeqCst) {
                            json!([])
                        } else {
                            json!([t.info])
                        },
                    })
                })
                .collect();
            reply(json!({ "TotalCount": items.len(), "Items": items }))
        }
        // What an instance holds: the names these tests roll back, and the new names of
        // every task that has succeeded (the verification of a success looks for them).
        action @ ("DescribeDatabases" | "DescribeTables") => {
            let req: Value = serde_json::from_slice(&body).unwrap();
            let instance = req["InstanceId"].as_str().unwrap_or_default();
            let database = req["Database"].as_str().unwrap_or_default();
            let needed = match cloud.polls_needed.load(Ordering::SeqCst) {
                0 => 2,
                n => n,
            };
            let tasks = cloud.tasks.lock().unwrap();
            let done = tasks
                .iter()
                .filter(|t| t.info.instance_id == instance && t.polls >= needed);
            let names: Vec<String> =
                if action == "DescribeDatabases" {
                    ["db1", "orders", "shop"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(done.flat_map(|t| {
                            t.info.databases.iter().map(|d| d.new_database_name.clone())
                        }))
                        .collect()
                } else {
                    ["orders", "payments", "refunds"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(done.flat_map(|t| {
                            t.info
                                .tables
                                .iter()
                                .filter(|g| g.database == database)
                                .flat_map(|g| g.table.iter().map(|x| x.new_table_name.clone()))
                                .collect::<Vec<_>>()
                        }))
                        .collect()
                };
            reply(json!({ "TotalCount": names.len(), "Items": names }))
        }
        _ => reply(error("InvalidAction", "not faked")),
    }
}

async fn start_cloud() -> (String, Arc<Cloud>) {
    let state = Arc::new(Cloud::default());
    let app = axum::Router::new()
        .route("/", axum::routing::post(cloud))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), state)
}

/// Instances per call.
const BATCH_SIZE: usize = 2;

fn options() -> Options {
    Options {
        concurrency: 1,
        cadence: Cadence {
            min: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        first_poll: Duration::from_millis(20),
        settle: Duration::from_millis(100),
        busy_wait: Duration::from_secs(2),
        submit_retries: 2,
        missing_after: Duration::from_secs(5),
        timeout: Some(Duration::from_secs(30)),
        ..Options::default()
    }
}

async fn apply(endpoint: &str, ids: &[&str]) -> (Ending, RunState) {
    let dir = tempfile::tempdir().unwrap();
    run(endpoint, ids, &dir.path().join("journal.jsonl"), options()).await
}

/// One engine run on the journal at `path`, resuming whatever it records.
async fn run(endpoint: &str, ids: &[&str], path: &Path, opts: Options) -> (Ending, RunState) {
    let mut conf = config(endpoint);
    conf.timeouts.request = Duration::from_millis(500);
    let protocol = Arc::new(AnyProtocol::V3(V3::new(Client::new(conf).unwrap())));
    let (journal, records) = Journal::open(path).unwrap();
    let requests: Vec<_> = ids.iter().map(|id| db_instance(id)).collect();
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel_tx, cancel_rx) = watch::channel(false);
    let mut engine = Engine::new(
        protocol,
        Work::batched(
            requests.into_iter().map(|r| (r, None)).collect(),
            BATCH_SIZE,
        ),
        opts,
        journal,
        RunState::replay(ids.iter().copied(), &records),
        tx,
    );
    let ending = engine.run(cancel_rx).await;
    (ending, engine.into_state())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_reconciled_from_task_details_and_never_submitted_twice() {
    let (endpoint, cloud) = start_cloud().await;
    cloud.stall_next.store(true, Ordering::SeqCst);
    let ids = ["cdb-aaaaaaa1", "cdb-aaaaaaa2", "cdb-aaaaaaa3"];
    let (ending, state) = apply(&endpoint, &ids).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    for s in &state.instances {
        assert_eq!(s.status, Status::Succeeded, "{}: {s:?}", s.id);
    }
    // Two batches (2 + 1), each submitted once, and one task per instance on the cloud.
    assert_eq!(cloud.submits.load(Ordering::SeqCst), 2);
    let tasks = cloud.tasks.lock().unwrap();
    for id in ids {
        assert_eq!(
            tasks.iter().filter(|t| t.info.instance_id == id).count(),
            1,
            "{id}"
        );
    }
    // The stalled batch was adopted through a handle derived from its details.
    let first = state.get("cdb-aaaaaaa1").unwrap();
    let job = first.job.as_ref().unwrap();
    assert!(job.0.starts_with("detail:"), "{job}");
    assert_eq!(
        state.get("cdb-aaaaaaa3").unwrap().job.as_ref().unwrap().0,
        "async-2"
    );
}

/// Without DescribeTasks (this fake does not know it) and without an echo in `Detail`,
/// nothing proves that the rollback task started after the attempt is the lost submission's:
/// those instances end `unknown`, with the evidence and how to check, never `succeeded`, and
/// are never resubmitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_echo_a_later_task_is_never_adopted_and_the_instance_is_unknown() {
    let (endpoint, cloud) = start_cloud().await;
    cloud.stall_next.store(true, Ordering::SeqCst);
    cloud.empty_detail.store(true, Ordering::SeqCst);
    let ids = ["cdb-uuuuuuu1", "cdb-uuuuuuu2", "cdb-uuuuuuu3"];
    let (ending, state) = apply(&endpoint, &ids).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    assert_eq!(
        cloud.submits.load(Ordering::SeqCst),
        2,
        "never submitted twice"
    );
    for id in &ids[..2] {
        let s = state.get(id).unwrap();
        assert_eq!(s.status, Status::Unknown, "{s:?}");
        let why = s.error.clone().unwrap_or_default();
        assert!(
            why.contains("says neither what they roll back") && why.contains("planrun jobs"),
            "{id}: {why}"
        );
        assert_eq!(s.job, None, "nothing adopted: {s:?}");
    }
    // The third instance's call was answered: its task is tracked by its AsyncRequestId.
    assert_eq!(state.get(ids[2]).unwrap().status, Status::Succeeded);
}

/// An undocumented state is shown raw and the instance stays unfinished until the run's
/// `--timeout` (then `timed_out`, resumable): no timer turns it into `failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_stays_unfinished_until_the_timeout() {
    let (endpoint, cloud) = start_cloud().await;
    *cloud.status.lock().unwrap() = Some("BRAND_NEW".into());
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        timeout: Some(Duration::from_millis(1500)),
        ..options()
    };
    let ids = ["cdb-kkkkkkk1"];
    let (ending, state) = run(&endpoint, &ids, &dir.path().join("j.jsonl"), opts).await;
    assert!(matches!(ending, Ending::TimedOut), "{ending:?}");
    let s = state.get(ids[0]).unwrap();
    assert_eq!(s.status, Status::TimedOut, "{s:?}");
    assert_eq!(s.task_state.as_ref().map(|t| t.name()), Some("BRAND_NEW"));
    assert_eq!(s.error, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_is_split_and_only_the_refused_instance_fails() {
    let (endpoint, cloud) = start_cloud().await;
    *cloud.refuse.lock().unwrap() = Some("cdb-bbbbbbb2".into());
    let ids = ["cdb-bbbbbbb1", "cdb-bbbbbbb2", "cdb-bbbbbbb3"];
    let (ending, state) = apply(&endpoint, &ids).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    let status = |id: &str| state.get(id).unwrap().status;
    assert_eq!(status("cdb-bbbbbbb1"), Status::Succeeded);
    assert_eq!(status("cdb-bbbbbbb2"), Status::Rejected);
    assert_eq!(status("cdb-bbbbbbb3"), Status::Succeeded);
    let error = state
        .get("cdb-bbbbbbb2")
        .unwrap()
        .error
        .clone()
        .unwrap_or_default();
    assert!(error.contains("InvalidParameter"), "{error}");
    // [1,2] refused, then [2] refused and [1] accepted, then [3] accepted.
    assert_eq!(cloud.submits.load(Ordering::SeqCst), 4);
}

/// Like kill -9 in the middle of a submission: the first run stops (its timeout) while the
/// answer is lost in flight and tasks keep running; the second run on the same journal
/// reconciles the doubtful batch from task details, tracks everything to the end, and submits
/// nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_mid_submission_resumes_without_submitting_twice() {
    let (endpoint, cloud) = start_cloud().await;
    cloud.stall_next.store(true, Ordering::SeqCst);
    cloud.polls_needed.store(1_000, Ordering::SeqCst);
    let ids = ["cdb-ccccccc1", "cdb-ccccccc2"];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut first = options();
    first.timeout = Some(Duration::from_millis(300));
    let (ending, state) = run(&endpoint, &ids, &path, first).await;
    assert!(matches!(ending, Ending::TimedOut), "{ending:?}");
    assert!(
        state.instances.iter().all(|s| s.in_doubt.is_some()),
        "{state:?}"
    );
    assert_eq!(cloud.submits.load(Ordering::SeqCst), 1);

    cloud.polls_needed.store(2, Ordering::SeqCst);
    let (ending, state) = run(&endpoint, &ids, &path, options()).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    for s in &state.instances {
        assert_eq!(s.status, Status::Succeeded, "{}: {s:?}", s.id);
        assert!(s.job.as_ref().is_some_and(|j| j.0.starts_with("detail:")));
    }
    assert_eq!(cloud.submits.load(Ordering::SeqCst), 1);
    assert_eq!(cloud.tasks.lock().unwrap().len(), 2);
}

/// Someone else's task is running on the instance: the submission is refused as busy, the
/// engine sees from the task details that the task is not ours, waits, and submits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_instance_is_waited_for_then_submitted_once_accepted() {
    let (endpoint, cloud) = start_cloud().await;
    let mut foreign = RollbackInstancesInfo::from(&db_instance("cdb-ddddddd1"));
    foreign.rollback_time = "2026-11-19 00:00:00".into();
    cloud.tasks.lock().unwrap().push(FakeTask {
        request: "someone-else".into(),
        info: foreign,
        start: "2026-11-23 09:00:00".into(),
        polls: 0,
    });
    let (ending, state) = apply(&endpoint, &["cdb-ddddddd1"]).await;
    assert!(matches!(ending, Ending::Complete), "{ending:?}");
    let s = state.get("cdb-ddddddd1").unwrap();
    assert_eq!(s.status, Status::Succeeded, "{s:?}");
    assert!(
        s.job.as_ref().is_some_and(|j| j.0.starts_with("async-")),
        "{s:?}"
    );
    let submits = cloud.submits.load(Ordering::SeqCst);
    assert!(
        submits >= 2,
        "the first submission must have been refused: {submits}"
    );
    // Exactly one task of ours was created, whatever the number of refusals.
    assert_eq!(cloud.tasks.lock().unwrap().len(), 2);
}
