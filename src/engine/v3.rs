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

pub mod addresses;
mod tied;

use super::listing::{Column, JobsQuery, ListedTask, Listing};
use super::objects::{Holdings, Inventory};
use super::protocol::{JobHandle, Protocol, Surveyed, Task, TaskState};
use super::window::{Answer, Range, Said};
use crate::api::Error;
use crate::api::rollback::{InstanceRollback, RollbackSpec, para_json};
use crate::api::v3::client::MAX_PAGE;
use crate::api::v3::model::{InstanceRollbackRangeTime, RollbackInstancesInfo, RollbackTask};
use crate::api::v3::tasks::{DescribeTasksRequest, ROLLBACK_TASK_TYPES, TaskDetail};
use crate::api::v3::{AsyncRequestId, Client};
use crate::contract::TIME_FORMAT;

/// Instances per DescribeRollbackRangeTime call (the API documents no bound; stay modest).
pub const PREFLIGHT_BATCH: usize = 20;
/// DescribeRollbackRangeTime's per-instance codes that say "try again": 1600001 (internal
/// error) and 1624001 (database access error).
pub const TRANSIENT_RANGE_CODES: [i64; 2] = [1_600_001, 1_624_001];
/// DescribeRollbackRangeTime's per-instance code for "the instance does not exist" (the
/// SDK's documentation of `Items[].Code`: 1600009 - 实例不存在) — in the region asked.
pub const MISSING_RANGE_CODE: i64 = 1_600_009;

/// Whether an instance's answer is a transient per-instance code.
fn transient_range(item: &InstanceRollbackRangeTime) -> bool {
    item.code
        .is_some_and(|c| TRANSIENT_RANGE_CODES.contains(&c))
}
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
    /// the API answers, in the engine's words. An instance the API does not mention is absent from the result.
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
    ) -> Result<Vec<Answer>, Error> {
        let mut items = self.ask_windows(region, instances).await?;
        let mut delays = self.client.retry_delays();
        loop {
            let again: Vec<String> = items
                .iter()
                .filter(|i| transient_range(i))
                .map(|i| i.instance_id.clone())
                .collect();
            let Some(delay) = (!again.is_empty()).then(|| delays.next()).flatten() else {
                return Ok(items.into_iter().map(answer_of).collect());
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
        let chunks: Vec<Vec<String>> = super::batch::cut(instances, PREFLIGHT_BATCH)
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

/// One instance's item of DescribeRollbackRangeTime, in the engine's words: a transient
/// code ([`TRANSIENT_RANGE_CODES`]), any other code, or its windows.
pub fn answer_of(item: InstanceRollbackRangeTime) -> Answer {
    let code = item.code.unwrap_or_default();
    let message = || item.message.clone().unwrap_or_default();
    let said = if transient_range(&item) {
        Said::Transient {
            code,
            message: message(),
        }
    } else if code == MISSING_RANGE_CODE {
        Said::Missing {
            code,
            message: message(),
        }
    } else if !item.is_ok() {
        Said::Refused {
            code,
            message: message(),
        }
    } else {
        Said::Ranges(
            item.times
                .into_iter()
                .map(|t| Range {
                    begin: t.begin,
                    end: t.end,
                })
                .collect(),
        )
    };
    Answer {
        instance: item.instance_id,
        said,
    }
}

/// DescribeRollbackTaskDetail names no request, but the time and strategy asked: the columns
/// of `jobs`.
pub const COLUMNS: &[Column] = &[
    Column::Status,
    Column::Progress,
    Column::Start,
    Column::End,
    Column::RollbackTime,
    Column::Strategy,
    Column::Info,
];

/// A DescribeRollbackTaskDetail item of `instance` as `jobs` lists it: its state in the
/// engine's words, and in JSON also the API's own `Status`.
pub fn listed_task(instance: &str, t: &RollbackTask) -> ListedTask {
    let state = state(t.status.as_deref());
    let detail = t.detail_of(instance);
    let field = |f: fn(&RollbackInstancesInfo) -> &str| {
        detail.map(f).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    let record = serde_json::json!({
        "status": t.status,
        "state": state.name(),
        "terminal": state.is_terminal(),
        "progress": t.percent(),
        "start_time": t.start_time,
        "end_time": t.end_time,
        "info": t.info,
        "detail": t.detail,
    });
    ListedTask {
        status: state.name().to_owned(),
        progress: t.percent(),
        start: t.start_time.clone(),
        end: t.end_time.clone(),
        rollback_time: field(|d| &d.rollback_time),
        strategy: field(|d| &d.strategy),
        info: t.info.clone(),
        record,
        ..ListedTask::default()
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

/// The public endpoint of API 3.0.
pub const DEFAULT_ENDPOINT: &str = crate::api::v3::DEFAULT_ENDPOINT;

/// The action a submission calls.
pub const SUBMIT_ACTION: &str = crate::api::v3::client::START_BATCH_ROLLBACK;

/// StartBatchRollback's exact parameters for `batch`, unsigned: one `body` of the JSON bytes
/// the client sends.
pub fn params(batch: &[InstanceRollback]) -> Vec<(String, String)> {
    vec![(
        "body".to_owned(),
        crate::api::v3::model::StartBatchRollbackRequest::body(batch),
    )]
}

/// API 3.0's DescribeDatabases and DescribeTables are the object preflight's listings.
impl Inventory for Client {
    fn databases(
        &self,
        instance_id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<String>, Error>> + Send {
        Client::databases(self, instance_id)
    }

    fn tables(
        &self,
        instance_id: &str,
        database: &str,
    ) -> impl std::future::Future<Output = Result<Vec<String>, Error>> + Send {
        Client::tables(self, instance_id, database)
    }
}

impl Protocol for V3 {
    fn poll_rate(&self) -> f64 {
        self.client
            .current_rate(crate::api::v3::client::DESCRIBE_ROLLBACK_TASK_DETAIL)
    }

    /// Each budget's rate once: regions whose calls share a budget count once.
    fn poll_rate_over(&self, regions: &[Option<String>]) -> f64 {
        let mut budgets = std::collections::HashSet::new();
        let mut rate = 0.0;
        for region in regions {
            let client = self.client_for(region.as_deref());
            if budgets.insert(client.budget().to_owned()) {
                rate += client.current_rate(crate::api::v3::client::DESCRIBE_ROLLBACK_TASK_DETAIL);
            }
        }
        if budgets.is_empty() {
            self.poll_rate()
        } else {
            rate
        }
    }

    async fn preflight(
        &self,
        region: Option<&str>,
        instances: &[String],
    ) -> Result<Option<Vec<Answer>>, Error> {
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
        Some(params(batch))
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
    ) -> Result<crate::engine::reconcile::Finding, Error> {
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
            columns: COLUMNS,
            tasks: items.iter().map(|t| listed_task(instance, t)).collect(),
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
        // filter may be ignored, the `Detail` may be empty). It is not proof that the item
        // is this request's (nothing here knows what was sent): whatever journals an
        // outcome — apply, status, cancel — asks [`Protocol::track`], which applies the whole
        // rule of evidence.
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
    use crate::engine::window::{Window, window};

    /// Polls of a multi-region plan go at the sum of its regions' budgets, each counted once
    /// (a plan with instances in two regions and some under the client's own region).
    #[test]
    fn polls_of_several_regions_go_at_each_regions_budget() {
        use crate::api::{ClientConfig, Credentials};
        for endpoint in [crate::api::v3::DEFAULT_ENDPOINT, "http://127.0.0.1:9/"] {
            let config = ClientConfig::new(endpoint, "ap-guangzhou", Credentials::new("i", "k"));
            let v3 = V3::new(Client::new(config).unwrap_or_else(|e| panic!("{e}")));
            let one = v3.poll_rate();
            assert_eq!(one, 20.0, "{endpoint}");
            let regions = [
                Some("ap-guangzhou".to_owned()),
                None,
                Some("ap-shanghai".to_owned()),
                Some("ap-shanghai".to_owned()),
            ];
            assert_eq!(v3.poll_rate_over(&regions), 2.0 * one, "{endpoint}");
            assert_eq!(v3.poll_rate_over(&regions[..2]), one, "{endpoint}");
            assert_eq!(v3.poll_rate_over(&[]), one, "{endpoint}");
        }
    }

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

    #[test]
    fn range_items_become_answers_whose_windows_include_their_bounds() {
        let answer: crate::api::v3::model::RangeTimeAnswer =
            serde_json::from_value(serde_json::json!({
                "TotalCount": 3,
                "Items": [
                    {"InstanceId": "cdb-a", "Code": 0, "Message": "ok",
                     "Times": [{"Begin": "2026-11-13 00:00:00", "End": "2026-11-20 10:00:00"}]},
                    {"InstanceId": "cdb-b", "Code": "1", "Message": "not found", "Times": null},
                    {"InstanceId": "cdb-c", "Code": 1600001, "Message": "internal error"}
                ]
            }))
            .unwrap();
        let answers: Vec<Answer> = answer.items.into_iter().map(answer_of).collect();
        let judged = |id: &str, time: &str| window(&answers, id, time);
        assert_eq!(judged("cdb-a", "2026-11-20 03:15:00"), Window::Inside);
        assert_eq!(judged("cdb-a", "2026-11-20 10:00:00"), Window::Inside);
        assert!(matches!(
            judged("cdb-a", "2026-11-20 10:00:01"),
            Window::Outside(_)
        ));
        assert!(matches!(
            judged("cdb-a", "2026-11-12 23:59:59"),
            Window::Outside(_)
        ));
        assert_eq!(
            judged("cdb-b", "2026-11-20 03:15:00"),
            Window::Refused {
                code: 1,
                message: "not found".into()
            }
        );
        assert_eq!(
            judged("cdb-c", "2026-11-20 03:15:00"),
            Window::Inconclusive {
                code: 1_600_001,
                message: "internal error".into()
            }
        );
    }
}
