//! The sandbox: a local emulator of the cloud API (API 2.0 at `/v2/index.php`, API 3.0 at `/`,
//! one shared set of instances and tasks), in-process for tests and `--sandbox`, or standalone
//! as `planrun sandbox serve`. Server side of `api`'s protocols; it never talks to the real
//! cloud.
//!
//! Use: inside a tokio runtime, `start(Config::demo(), "127.0.0.1:0".parse()?)` binds a free
//! loopback port; send signed requests to [`Sandbox::endpoint_v2`] (API 2.0 signing) or
//! [`Sandbox::endpoint_v3`] (TC3) with [`DEMO_SECRET_ID`] / [`DEMO_SECRET_KEY`]; assert on
//! [`Sandbox::counters`] (also served as JSON at [`Sandbox::counters_url`]);
//! [`Sandbox::shutdown`] at the end. Tasks live by the clock: shrink them with `task_seconds` /
//! `time_scale`. Rollback windows: `default_window_seconds`, or fixed per instance in
//! `rollback_windows`. Faults draw from `faults.seed`, durations and answer quirks (numbers as
//! strings in v2, `null` lists in v3) from `seed`, so a run is repeatable. The fleet and what
//! each instance holds (databases, tables, the targets of its successful rollbacks):
//! `catalog`.

mod answer;
mod catalog;
mod config;
mod conn;
mod counters;
mod faults;
mod jobs;
mod phase;
mod received;
mod rules;
mod shared;
mod state;
mod timeline;
mod v2;
mod v3;
mod verify;
mod window;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use answer::Rejection;
pub use catalog::{Catalog, FleetInstance, Kind, Objects, address as catalog_address};
pub use config::{
    Config, Credential, DEMO_SECRET_ID, DEMO_SECRET_KEY, DetailQuirk, FaultKinds, Faults, Injected,
    RollbackTimeCheck, RollbackWindow, TASK_RUNNING_CODES, task_running_code,
};
pub use counters::CountersSnapshot;
pub use faults::FaultKind;
pub use received::Received;
pub use rules::valid_instance_id;
pub use timeline::{Poll, TaskTime, Timeline};

/// The path of API 2.0.
pub const V2_PATH: &str = "/v2/index.php";
/// The path of API 3.0.
pub const V3_PATH: &str = "/";
/// The path of the counters' JSON.
pub const COUNTERS_PATH: &str = "/_sandbox/counters";
/// The path of the accepted submissions' JSON, as received ([`Received`]).
pub const SUBMISSIONS_PATH: &str = "/_sandbox/submissions";

/// A running sandbox. Dropping it without [`Sandbox::shutdown`] stops it too (the server
/// task is aborted).
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<shared::Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

/// Binds `addr` (loopback only: the sandbox is never reachable from elsewhere; port 0 picks a
/// free port) and serves until [`Sandbox::shutdown`].
pub async fn start(config: Config, addr: SocketAddr) -> io::Result<Sandbox> {
    if !addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the sandbox binds loopback addresses only, not {}",
                addr.ip()
            ),
        ));
    }
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(shared::Shared::new(config));
    let app = Router::new()
        .route(V2_PATH, get(v2::handle).post(v2::handle))
        .route(V3_PATH, any(v3::handle))
        .route(COUNTERS_PATH, get(counters_json))
        .route(SUBMISSIONS_PATH, get(submissions_json))
        .with_state(Arc::clone(&shared));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<conn::ConnAddr>();
        // Serving only fails if the listener does, and then there is nobody to tell but the
        // caller's next request, which will fail to connect.
        let _ = axum::serve(conn::KillableListener::new(listener), service)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(Sandbox {
        addr,
        shared,
        stop: Some(stop),
        server,
    })
}

async fn counters_json(
    axum::extract::State(shared): axum::extract::State<Arc<shared::Shared>>,
) -> axum::Json<CountersSnapshot> {
    axum::Json(shared.lock().counters.snapshot())
}

async fn submissions_json(
    axum::extract::State(shared): axum::extract::State<Arc<shared::Shared>>,
) -> axum::Json<Vec<Received>> {
    axum::Json(shared.lock().received.all().to_vec())
}

impl Sandbox {
    /// `http://127.0.0.1:PORT/v2/index.php`.
    pub fn endpoint_v2(&self) -> String {
        format!("http://{}{V2_PATH}", self.addr)
    }

    /// `http://127.0.0.1:PORT/` (API 3.0; its `Host` is `127.0.0.1:PORT`).
    pub fn endpoint_v3(&self) -> String {
        format!("http://{}{V3_PATH}", self.addr)
    }

    /// `http://127.0.0.1:PORT/_sandbox/counters`.
    pub fn counters_url(&self) -> String {
        format!("http://{}{COUNTERS_PATH}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.shared.lock().counters.snapshot()
    }

    /// Every accepted submission as it arrived, in order.
    pub fn submissions(&self) -> Vec<Received> {
        self.shared.lock().received.all().to_vec()
    }

    /// Every task's acceptance and end, and every status query answered, on the monotonic
    /// clock of this process (what `examples/bench_apply.rs` measures from).
    pub fn timeline(&self) -> Timeline {
        let inner = self.shared.lock();
        Timeline {
            tasks: inner
                .tasks
                .all()
                .map(|(id, t)| TaskTime {
                    instance_id: id.to_owned(),
                    job_id: t.job_id,
                    submitted: t.started,
                    ends: t.ends_at(),
                })
                .collect(),
            polls: inner.polls.all().to_vec(),
            object_polls: inner.object_polls.all().to_vec(),
        }
    }

    /// Stops accepting, lets answers in progress finish (at most 2 s), then stops.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = &mut self.server;
        if tokio::time::timeout(Duration::from_secs(2), &mut *server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
    }
}
