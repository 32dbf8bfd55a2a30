//! API 3.0 behind the engine's [`Protocol`]: StartBatchRollback and DescribeRollbackTaskDetail,
//! plus the window preflight (DescribeRollbackRangeTime) and cancel (StopRollback).
//!
//! DescribeRollbackTaskDetail lists every task of an instance when no AsyncRequestId is given,
//! but its items do not say which AsyncRequestId they belong to. A task found that way (when
//! reconciling a submission whose outcome is unknown) gets a *derived* handle,
//! `detail:<StartTime>|<digest of its spec>`, which [`V3::task`] resolves by listing the
//! instance's tasks again. Handles from StartBatchRollback are real AsyncRequestIds and are
//! tracked by asking for that request directly.

use sha2::{Digest, Sha256};

mod tied;

use super::listing::{self, JobsQuery, Listing};
use super::objects::Holdings;
use super::protocol::{JobHandle, Protocol, Surveyed, Task, TaskState};
use crate::api::Error;
use crate::api::rollback::{InstanceRollback, RollbackSpec, para_json};
use crate::api::v3::client::MAX_PAGE;
use crate::api::v3::model::{InstanceRollbackRangeTime, RollbackTask, RollbackTimeRange};
use crate::api::v3::tasks::{DescribeTasksRequest, ROLLBACK_TASK_TYPES, TaskDetail};
use crate::api::v3::{AsyncRequestId, Client};

/// Instances per DescribeRollbackRangeTime call (the API documents no bound; stay modest).
pub const PREFLIGHT_BATCH: usize = 20;
/// DescribeRollbackRangeTime's per-instance codes that say "try again": 1600001 (internal
/// error) and 1624001 (database access error).
pub const TRANSIENT_RANGE_CODES: [i64; 2] = [1_600_001, 1_624_001];

/// Whether an instance's answer is a transient per-instance code.
fn transient_range(item: &InstanceRollbackRangeTime) -> bool {
    item.code
        .is_some_and(|c| TRANSIENT_RANGE_CODES.contains(&c))
}
/// How API 3.0 writes times (`StartTime`, `StartTimeBegin`), in the instance's clock.
pub(crate) const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Prefix of handles derived from a task's details rather than returned by the API.
pub const DERIVED_HANDLE: &str = "detail:";

/// API 3.0 adapter.
#[derive(Debug, Clone)]
pub struct V3 {
    client: Client,
}

impl V3 {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The underlying client (for counters and rates).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn client_for(&self, region: Option<&str>) -> Client {
        match region {
            Some(r) if r != self.client.region() => self.client.with_region(r),
            _ => self.client.clone(),
        }
    }

    /// The rollback windows of these instances, [`PREFLIGHT_BATCH`] per call, in the order
    /// the API answers. An instance the API does not mention is absent from the result.
    ///
    /// The calls overlap (as many as the client lets out at once, paced by its limiter), so
    /// the preflight of a large plan takes the rate limit's time, not the sum of round trips.
    ///
    /// Instances answered with a transient code ([`TRANSIENT_RANGE_CODES`]) are asked again
    /// with the client's backoff, a bounded number of times; whatever they answer last stays.
    pub async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Vec<InstanceRollbackRangeTime>, Error> {
        let mut items = self.ask_windows(region, instances).await?;
        let mut delays = self.client.retry_delays();
        loop {
            let again: Vec<String> = items
                .iter()
                .filter(|i| transient_range(i))
                .map(|i| i.instance_id.clone())
                .collect();
            let Some(delay) = (!again.is_empty()).then(|| delays.next()).flatten() else {
                return Ok(items);
            };
            tokio::time::sleep(delay).await;
            let fresh = self.ask_windows(region, &again).await?;
            for item in fresh {
                match items.iter_mut().find(|i| i.instance_id == item.instance_id) {
                    Some(old) => *old = item,
                    None => items.push(item),
                }
            }
        }
    }

    /// One round of DescribeRollbackRangeTime calls for these instances.
    async fn ask_windows(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Vec<InstanceRollbackRangeTime>, Error> {
        use futures::{StreamExt, TryStreamExt};
        let client = self.client_for(region);
        // Owned chunks: the future must be Send for any caller's lifetimes (the protocol
        // trait's preflight is `impl Future + Send`).
        let chunks: Vec<Vec<String>> = instances
            .chunks(PREFLIGHT_BATCH)
            .map(<[String]>::to_vec)
            .collect();
        let calls = chunks.into_iter().map(|chunk| {
            let client = client.clone();
            async move { client.rollback_range_time(&chunk).await }
        });
        let answers: Vec<_> = futures::stream::iter(calls)
            .buffered(client.concurrency().max(1))
            .try_collect()
            .await?;
        Ok(answers.into_iter().flatten().collect())
    }

    /// DescribeAsyncRequestInfo of a request (a StopRollback's, to confirm it): its state
    /// ([`async_state`]) and `Info`.
    pub async fn request_state(
        &self,
        region: Option<&str>,
        request: &JobHandle,
    ) -> Result<(TaskState, Option<String>), Error> {
        let info = self
            .client_for(region)
            .async_request_info(&AsyncRequestId(request.0.clone()))
            .await?;
        Ok((async_state(info.status.as_deref()), info.info))
    }

    /// StopRollback for the instance's running rollback; the handle is the stop request's
    /// AsyncRequestId (not the rollback's).
    pub async fn stop(&self, region: Option<&str>, instance: &str) -> Result<JobHandle, Error> {
        self.client_for(region)
            .stop_rollback(instance)
            .await
            .map(|id| JobHandle(id.0))
    }
}

/// What preflight says about one instance and its rollback time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The time lies in an available window.
    Inside,
    /// The instance exists but the time is outside every window (listed, maybe none).
    Outside(Vec<RollbackTimeRange>),
    /// The API reported an error for the instance (e.g. it does not exist).
    Refused { code: i64, message: String },
    /// The API kept answering a transient code for the instance: it could not tell.
    Inconclusive { code: i64, message: String },
    /// The API's answer does not mention the instance.
    Unlisted,
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inside => f.write_str("inside the available rollback window"),
            Self::Outside(windows) if windows.is_empty() => {
                f.write_str("no rollback window is available for the instance")
            }
            Self::Outside(windows) => {
                f.write_str("outside the available rollback window (")?;
                for (i, w) in windows.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} to {}", w.begin, w.end)?;
                }
                f.write_str(")")
            }
            Self::Refused { code, message } => {
                write!(f, "the API refused the instance (code {code}: {message})")
            }
            Self::Inconclusive { code, message } => write!(
                f,
                "the API could not tell whether the instance can roll back (code {code}: {message}), even when asked again"
            ),
            Self::Unlisted => f.write_str("the API did not report the instance"),
        }
    }
}

/// The instances of `requests` whose rollback time preflight does not allow, with why, in
/// the order of `requests`.
pub fn window_problems<'r>(
    requests: &'r [InstanceRollback],
    items: &[InstanceRollbackRangeTime],
) -> Vec<(&'r InstanceRollback, Window)> {
    // Each instance's first item, by id: a scan of the answer per request would be O(N²).
    let mut by_id = std::collections::HashMap::with_capacity(items.len());
    for item in items {
        by_id.entry(item.instance_id.as_str()).or_insert(item);
    }
    requests
        .iter()
        .map(|r| {
            let item = by_id.get(r.instance_id.as_str()).copied();
            (r, judge(item, &r.spec.rollbacktime))
        })
        .filter(|(_, w)| *w != Window::Inside)
        .collect()
}

/// Judges `rollback_time` (`YYYY-MM-DD HH:MM:SS`) for `instance` against preflight's answer.
pub fn window(items: &[InstanceRollbackRangeTime], instance: &str, rollback_time: &str) -> Window {
    judge(
        items.iter().find(|i| i.instance_id == instance),
        rollback_time,
    )
}

/// Judges `rollback_time` against the instance's item of preflight's answer, if it has one.
fn judge(item: Option<&InstanceRollbackRangeTime>, rollback_time: &str) -> Window {
    let Some(item) = item else {
        return Window::Unlisted;
    };
    if transient_range(item) {
        return Window::Inconclusive {
            code: item.code.unwrap_or_default(),
            message: item.message.clone().unwrap_or_default(),
        };
    }
    if !item.is_ok() {
        return Window::Refused {
            code: item.code.unwrap_or_default(),
            message: item.message.clone().unwrap_or_default(),
        };
    }
    if item.allows(rollback_time) {
        Window::Inside
    } else {
        Window::Outside(item.times.clone())
    }
}

/// API 3.0 `Status` (DescribeRollbackTaskDetail) or `TaskStatus` (DescribeTasks) → the
/// engine's state. `PAUSED` is being stopped; DescribeTasks spells success `SUCCEED` and has
/// `WAITING`. Unknown strings (and `UNDEFINED`) are not terminal and are shown raw.
pub fn state(status: Option<&str>) -> TaskState {
    let raw = status.unwrap_or_default();
    match raw.trim().to_ascii_uppercase().as_str() {
        "INITIAL" | "WAITING" => TaskState::Waiting,
        "PAUSED" => TaskState::Stopping,
        "RUNNING" => TaskState::Running,
        "SUCCESS" | "SUCCEED" => TaskState::Succeeded,
        "FAILED" => TaskState::Failed,
        "KILLED" => TaskState::Killed,
        "REMOVED" => TaskState::Removed,
        _ => TaskState::Unknown(if raw.is_empty() {
            "UNDEFINED".to_owned()
        } else {
            raw.to_owned()
        }),
    }
}

/// DescribeAsyncRequestInfo's `Status`: as [`state`], except that `UNDEFINED` there means
/// created and waiting for the maintenance window.
pub fn async_state(status: Option<&str>) -> TaskState {
    match status.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("UNDEFINED") => TaskState::MaintenanceWindow,
        _ => state(status),
    }
}

/// `EndTime` (and `StartTime`) as the engine keeps them: `0000-00-00 00:00:00`, empty or
/// null mean "not ended" (not started).
fn end_time(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|t| !t.is_empty() && !t.starts_with("0000-00-00"))
        .map(str::to_owned)
}

/// The spec in a canonical order, so equal rollbacks give equal digests.
fn canonical(spec: &RollbackSpec) -> String {
    let mut s = spec.clone();
    s.dbs
        .sort_by(|a, b| (&a.dbname, &a.newname).cmp(&(&b.dbname, &b.newname)));
    for t in &mut s.tables {
        t.table
            .sort_by(|a, b| (&a.tablename, &a.newname).cmp(&(&b.tablename, &b.newname)));
    }
    s.tables.sort_by(|a, b| a.db.cmp(&b.db));
    para_json(&s)
}

/// `detail:<StartTime>|<16 hex digits of sha256(spec)>`; `None` when the task has neither.
pub fn derived_handle(started_at: Option<&str>, spec: Option<&RollbackSpec>) -> Option<JobHandle> {
    if started_at.is_none() && spec.is_none() {
        return None;
    }
    let digest = spec.map_or_else(String::new, |s| {
        hex::encode(&Sha256::digest(canonical(s).as_bytes())[..8])
    });
    Some(JobHandle(format!(
        "{DERIVED_HANDLE}{}|{digest}",
        started_at.unwrap_or_default()
    )))
}

/// One API task as the engine sees it; `job` is given by the caller (the API does not say).
fn task(instance: &str, t: &RollbackTask, job: Option<JobHandle>) -> Task {
    Task {
        job,
        state: state(t.status.as_deref()),
        progress: t.percent(),
        started_at: end_time(t.start_time.as_deref()),
        finished_at: end_time(t.end_time.as_deref()),
        message: t.info.clone(),
        spec: t.detail_of(instance).and_then(|d| d.spec()),
    }
}

/// A listed task with its derived handle.
fn listed(instance: &str, t: &RollbackTask) -> Task {
    let mut out = task(instance, t, None);
    out.job = derived_handle(out.started_at.as_deref(), out.spec.as_ref());
    out
}

impl Protocol for V3 {
    fn poll_rate(&self) -> f64 {
        self.client
            .current_rate(crate::api::v3::client::DESCRIBE_ROLLBACK_TASK_DETAIL)
    }

    async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Option<Vec<InstanceRollbackRangeTime>>, Error> {
        V3::preflight(self, region, instances).await.map(Some)
    }

    async fn stop(&self, region: Option<&str>, instance: &str) -> Result<JobHandle, Error> {
        V3::stop(self, region, instance).await
    }

    async fn holdings(
        &self,
        region: Option<&str>,
        request: &InstanceRollback,
    ) -> Result<Option<Holdings>, Error> {
        super::objects::holdings(&self.client_for(region), request)
            .await
            .map(Some)
    }

    fn concurrency(&self) -> usize {
        self.client.concurrency()
    }

    async fn request_state(
        &self,
        region: Option<&str>,
        request: &JobHandle,
    ) -> Result<Option<(TaskState, Option<String>)>, Error> {
        V3::request_state(self, region, request).await.map(Some)
    }

    fn preview(&self, batch: &[InstanceRollback]) -> Option<Vec<(String, String)>> {
        Some(super::prepare::Generation::V3.params(batch))
    }

    fn survey_rate(&self) -> f64 {
        self.client
            .current_rate(crate::api::v3::client::DESCRIBE_TASKS)
    }

    fn surveys(&self) -> bool {
        true
    }

    /// DescribeTasks without an instance: every rollback task started since `since`, 100 an
    /// answer, each with its AsyncRequestId and instances. The cost is a call per hundred
    /// tasks of the run, on DescribeTasks' own budget, whatever the submissions' sizes.
    async fn survey(
        &self,
        region: Option<&str>,
        since: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<Surveyed>, Error> {
        let filter = DescribeTasksRequest {
            task_types: ROLLBACK_TASK_TYPES.to_vec(),
            start_time_begin: Some(since.format(TIME_FORMAT).to_string()),
            ..DescribeTasksRequest::default()
        };
        let items = self.client_for(region).all_tasks(&filter).await?;
        Ok(items
            .into_iter()
            .filter(TaskDetail::is_rollback)
            .map(|t| Surveyed {
                job: t.async_request_id.map(JobHandle),
                instances: t.instance_ids,
                state: state(t.task_status.as_deref()),
                progress: t.progress.and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
            })
            .collect())
    }

    async fn find_submission(
        &self,
        region: Option<&str>,
        instance: &str,
        sent: crate::engine::reconcile::Sent,
    ) -> Result<crate::engine::reconcile::Found, Error> {
        self.find_tied(region, instance, sent).await
    }

    async fn submit(
        &self,
        region: Option<&str>,
        batch: &[InstanceRollback],
    ) -> Result<JobHandle, Error> {
        self.client_for(region)
            .start_batch_rollback(batch)
            .await
            .map(|id| JobHandle(id.0))
    }

    /// Every request's tasks (no AsyncRequestId). The total is at least what was shown.
    async fn jobs(
        &self,
        region: Option<&str>,
        instance: &str,
        query: JobsQuery,
    ) -> Result<Listing, Error> {
        let client = self.client_for(region);
        let (items, total) = match query {
            JobsQuery::All => {
                let items = client.all_rollback_tasks(instance, None).await?;
                let total = items.len() as u64;
                (items, total)
            }
            JobsQuery::Page { offset, limit } => {
                let page = client
                    .rollback_tasks(instance, None, offset, limit.min(MAX_PAGE))
                    .await?;
                let shown = page.items.len() as u64;
                let total = u64::try_from(page.total_count.unwrap_or(0)).unwrap_or(0);
                (page.items, total.max(u64::from(offset) + shown))
            }
        };
        Ok(Listing {
            columns: listing::V3_COLUMNS,
            tasks: items
                .iter()
                .map(|t| listing::from_v3(instance, t, state(t.status.as_deref())))
                .collect(),
            total,
        })
    }

    async fn tasks(&self, region: Option<&str>, instance: &str) -> Result<Vec<Task>, Error> {
        let all = self
            .client_for(region)
            .all_rollback_tasks(instance, None)
            .await?;
        Ok(all.iter().map(|t| listed(instance, t)).collect())
    }

    async fn task(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
    ) -> Result<Option<Task>, Error> {
        let client = self.client_for(region);
        if job.0.starts_with(DERIVED_HANDLE) {
            let all = client.all_rollback_tasks(instance, None).await?;
            return Ok(all
                .iter()
                .map(|t| listed(instance, t))
                .find(|t| t.job.as_ref() == Some(job)));
        }
        let request = AsyncRequestId(job.0.clone());
        let items = client.all_rollback_tasks(instance, Some(&request)).await?;
        // This instance's item, if one alone can be it: never the first of several (the
        // filter may be ignored, the `Detail` may be empty). The engine tracks with
        // [`Protocol::track`], which applies the whole rule of evidence.
        let mine: Vec<&RollbackTask> = items
            .iter()
            .filter(|t| tied::of_instance(t, instance))
            .collect();
        Ok(match mine.as_slice() {
            [one] => Some(task(instance, one, Some(job.clone()))),
            _ => None,
        })
    }

    async fn track(
        &self,
        region: Option<&str>,
        instance: &str,
        job: &JobHandle,
        sent: &crate::engine::reconcile::Sent,
    ) -> Result<crate::engine::reconcile::Tracked, Error> {
        if job.0.starts_with(DERIVED_HANDLE) {
            return Ok(match self.task(region, instance, job).await? {
                Some(task) => crate::engine::reconcile::Tracked::One(task),
                None => crate::engine::reconcile::Tracked::Unlisted,
            });
        }
        self.tracked(region, instance, job, sent).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{DatabaseRename, Strategy};

    #[test]
    fn documented_statuses_map_and_others_are_not_terminal() {
        let table = [
            ("INITIAL", TaskState::Waiting),
            ("WAITING", TaskState::Waiting),
            ("PAUSED", TaskState::Stopping),
            ("RUNNING", TaskState::Running),
            ("running", TaskState::Running),
            ("SUCCESS", TaskState::Succeeded),
            ("SUCCEED", TaskState::Succeeded),
            ("FAILED", TaskState::Failed),
            ("KILLED", TaskState::Killed),
            ("REMOVED", TaskState::Removed),
        ];
        for (raw, expected) in table {
            assert_eq!(state(Some(raw)), expected, "{raw}");
        }
        for raw in [Some("UNDEFINED"), Some("WEIRD"), None] {
            let s = state(raw);
            assert!(matches!(s, TaskState::Unknown(_)), "{raw:?}");
            assert!(!s.is_terminal());
        }
        assert_eq!(state(Some("WEIRD")).name(), "WEIRD");
        assert_eq!(state(Some("PAUSED")).name(), "stopping");
        assert_eq!(async_state(Some("UNDEFINED")), TaskState::MaintenanceWindow);
        assert_eq!(
            async_state(Some("UNDEFINED")).name(),
            "waiting for maintenance window"
        );
        assert_eq!(async_state(Some("KILLED")), TaskState::Killed);
        assert!(!async_state(Some("UNDEFINED")).is_terminal());
        assert_eq!(end_time(Some("0000-00-00 00:00:00")), None);
        assert_eq!(end_time(Some("")), None);
        assert_eq!(end_time(None), None);
        assert_eq!(
            end_time(Some("2026-11-23 12:00:00")).as_deref(),
            Some("2026-11-23 12:00:00")
        );
    }

    fn spec(dbs: &[(&str, &str)]) -> RollbackSpec {
        RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Db,
            dbs: dbs
                .iter()
                .map(|(a, b)| DatabaseRename {
                    dbname: (*a).into(),
                    newname: (*b).into(),
                })
                .collect(),
            tables: vec![],
        }
    }

    #[test]
    fn derived_handles_ignore_order_but_not_content() {
        let a = spec(&[("a", "a_bak"), ("b", "b_bak")]);
        let b = spec(&[("b", "b_bak"), ("a", "a_bak")]);
        let c = spec(&[("a", "a_bak"), ("b", "b_old")]);
        let t = Some("2026-11-23 10:00:00");
        let ha = derived_handle(t, Some(&a)).unwrap();
        assert!(ha.0.starts_with("detail:2026-11-23 10:00:00|"), "{ha}");
        assert_eq!(Some(ha.clone()), derived_handle(t, Some(&b)));
        assert_ne!(Some(ha.clone()), derived_handle(t, Some(&c)));
        assert_ne!(
            Some(ha),
            derived_handle(Some("2026-11-23 10:00:01"), Some(&a))
        );
        assert_eq!(derived_handle(None, None), None);
    }

    fn range(id: &str, code: i64, times: &[(&str, &str)]) -> InstanceRollbackRangeTime {
        InstanceRollbackRangeTime {
            instance_id: id.into(),
            code: Some(code),
            message: Some(if code == 0 { "ok" } else { "no such instance" }.into()),
            times: times
                .iter()
                .map(|(b, e)| RollbackTimeRange {
                    begin: (*b).into(),
                    end: (*e).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_plans_verdicts_are_each_instances_first_item_judged() {
        let ask = |id: &str, time: &str| InstanceRollback {
            instance_id: id.into(),
            spec: crate::api::rollback::RollbackSpec {
                rollbacktime: time.into(),
                strategy: crate::api::rollback::Strategy::Table,
                dbs: Vec::new(),
                tables: Vec::new(),
            },
        };
        let items = [
            range(
                "cdb-a",
                0,
                &[("2026-11-13 00:00:00", "2026-11-20 10:00:00")],
            ),
            range("cdb-c", 10, &[]),
            // A second item for cdb-a: the first one is the answer, as `window` reads it.
            range("cdb-a", 0, &[]),
        ];
        let requests = [
            ask("cdb-a", "2026-11-20 03:15:00"),
            ask("cdb-a", "2026-11-21 03:15:00"),
            ask("cdb-c", "2026-11-20 03:15:00"),
            ask("cdb-d", "2026-11-20 03:15:00"),
        ];
        let found: Vec<(&str, Window)> = window_problems(&requests, &items)
            .into_iter()
            .map(|(r, w)| (r.instance_id.as_str(), w))
            .collect();
        let expected: Vec<(&str, Window)> = requests[1..]
            .iter()
            .map(|r| {
                let w = window(&items, &r.instance_id, &r.spec.rollbacktime);
                (r.instance_id.as_str(), w)
            })
            .collect();
        assert_eq!(found, expected);
        assert!(matches!(found[0].1, Window::Outside(ref w) if w.len() == 1));
    }

    #[test]
    fn preflight_verdicts() {
        let items = [
            range(
                "cdb-a",
                0,
                &[("2026-11-13 00:00:00", "2026-11-20 10:00:00")],
            ),
            range("cdb-b", 0, &[]),
            range("cdb-c", 10, &[]),
        ];
        assert_eq!(
            window(&items, "cdb-a", "2026-11-20 03:15:00"),
            Window::Inside
        );
        assert!(matches!(
            window(&items, "cdb-a", "2026-11-21 03:15:00"),
            Window::Outside(w) if w.len() == 1
        ));
        assert_eq!(
            window(&items, "cdb-b", "2026-11-20 03:15:00"),
            Window::Outside(vec![])
        );
        assert_eq!(
            window(&items, "cdb-c", "2026-11-20 03:15:00"),
            Window::Refused {
                code: 10,
                message: "no such instance".into()
            }
        );
        assert_eq!(
            window(&items, "cdb-d", "2026-11-20 03:15:00"),
            Window::Unlisted
        );
    }
}
