//! The API 3.0 client: POST JSON signed with TC3-HMAC-SHA256, on the same transport, limiters,
//! in-flight bound and retry policy as API 2.0.
//!
//! Submissions (StartBatchRollback, StopRollback) are resent only when they certainly did not
//! take effect (not sent, rate limited, one re-sign after `AuthFailure.SignatureExpire`); any
//! failure that may hide an accepted request is [`Error::OutcomeUnknown`]. Queries are retried
//! with backoff on every transient error.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::envelope::{decode_response, typed};
use super::model::{
    AsyncRequestAnswer, DescribeRollbackRangeTimeRequest, DescribeRollbackTaskDetailRequest,
    InstanceRollbackRangeTime, RangeTimeAnswer, RollbackTask, RollbackTaskPage,
    StartBatchRollbackRequest, StopRollbackRequest,
};
use super::tasks::{
    AsyncRequestInfo, DescribeAsyncRequestInfoRequest, DescribeTasksRequest, MAX_TASKS_PAGE,
    TaskDetail, TaskPage,
};
use crate::api::config::ClientConfig;
use crate::api::error::{Error, ErrorClass};
use crate::api::pages;
use crate::api::rollback::InstanceRollback;
use crate::api::tc3::{self, SignInput};
use crate::api::transport::now_timestamp;
use crate::api::transport::{Regional, Transport};

/// The public API 3.0 endpoint (any region).
pub const DEFAULT_ENDPOINT: &str = "https://cdb.tencentcloudapi.com/";
pub const START_BATCH_ROLLBACK: &str = "StartBatchRollback";
pub const DESCRIBE_ROLLBACK_TASK_DETAIL: &str = "DescribeRollbackTaskDetail";
pub const DESCRIBE_ROLLBACK_RANGE_TIME: &str = "DescribeRollbackRangeTime";
pub const STOP_ROLLBACK: &str = "StopRollback";
pub const DESCRIBE_TASKS: &str = "DescribeTasks";
pub const DESCRIBE_ASYNC_REQUEST_INFO: &str = "DescribeAsyncRequestInfo";
/// The answer to a signature whose Timestamp is too far from the server's clock.
const EXPIRED: &str = "AuthFailure.SignatureExpire";
/// DescribeRollbackTaskDetail returns at most this many items per call.
pub const MAX_PAGE: u32 = 100;
/// The most pages of one task listing (100,000 tasks): past it the listing is incomplete
/// ([`Error::Incomplete`]), never taken for the whole.
pub const MAX_LIST_PAGES: u32 = 1_000;

/// The regional endpoint, `https://cdb.<region>.tencentcloudapi.com/`.
pub fn regional_endpoint(region: &str) -> String {
    format!("https://cdb.{region}.tencentcloudapi.com/")
}

/// An AsyncRequestId: what StartBatchRollback and StopRollback return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsyncRequestId(pub String);

impl std::fmt::Display for AsyncRequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One shared client: clones share the HTTP connection pool, the limiters and the semaphore.
#[derive(Debug, Clone)]
pub struct Client {
    link: Regional,
}

impl Client {
    /// Validates the configuration (`signature_method` and `http_method` do not apply: API 3.0
    /// is always POST with TC3) and builds the HTTP client.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        // The public endpoint, however spelled (a trailing `/` or not): each region's calls
        // then go to that region's endpoint, whose access region counts them.
        let regional =
            config.endpoint.trim_end_matches('/') == DEFAULT_ENDPOINT.trim_end_matches('/');
        Ok(Self {
            link: Regional::new(config)?.per_region(regional),
        })
    }

    /// The same client (limiters, pool, semaphore) sending another `X-TC-Region`.
    pub fn with_region(&self, region: &str) -> Self {
        Self {
            link: self.link.with_region(region),
        }
    }

    pub fn region(&self) -> &str {
        &self.link.region
    }

    /// The key of the budgets this client's calls are counted in: its region's, or `""`
    /// when every region shares one.
    pub fn budget(&self) -> &str {
        self.link.budget()
    }

    /// HTTP attempts made so far for `action`, retries included.
    pub fn attempts(&self, action: &str) -> u64 {
        self.link.attempts(action)
    }

    /// The retry policy's delays (backoff with jitter), for callers that ask again on an
    /// answer that is itself fine but says "try later" (a transient per-instance code).
    pub fn retry_delays(&self) -> impl Iterator<Item = Duration> + use<> {
        self.link.inner.config.retry.delays()
    }

    /// Requests it lets out at once (`--concurrency`).
    pub fn concurrency(&self) -> usize {
        self.link.inner.config.concurrency
    }

    /// Requests per second currently allowed for `action` (lower after `RequestLimitExceeded`).
    pub fn current_rate(&self, action: &str) -> f64 {
        self.link.current_rate(action)
    }

    /// One StartBatchRollback for these instances → its AsyncRequestId. Never resent when it
    /// may have been accepted (see the module comment).
    pub async fn start_batch_rollback(
        &self,
        instances: &[InstanceRollback],
    ) -> Result<AsyncRequestId, Error> {
        if instances.is_empty() {
            return Err(Error::Config {
                reason: "a submission needs at least one instance".into(),
            });
        }
        let body = StartBatchRollbackRequest::body(instances);
        self.send(
            START_BATCH_ROLLBACK,
            body.into_bytes(),
            false,
            async_request_id,
        )
        .await
    }

    /// One StopRollback for the instance's running rollback → its AsyncRequestId.
    pub async fn stop_rollback(&self, instance_id: &str) -> Result<AsyncRequestId, Error> {
        let body = StopRollbackRequest {
            instance_id: instance_id.to_owned(),
        };
        self.call(STOP_ROLLBACK, &body, false, async_request_id)
            .await
    }

    /// One page of DescribeRollbackTaskDetail (`limit` capped at 100); without `request` the
    /// instance's tasks of every request.
    pub async fn rollback_tasks(
        &self,
        instance_id: &str,
        request: Option<&AsyncRequestId>,
        offset: u32,
        limit: u32,
    ) -> Result<RollbackTaskPage, Error> {
        let body = DescribeRollbackTaskDetailRequest {
            instance_id: instance_id.to_owned(),
            async_request_id: request.map(|r| r.0.clone()),
            offset: Some(i64::from(offset)),
            limit: Some(i64::from(limit.clamp(1, MAX_PAGE))),
        };
        self.call(DESCRIBE_ROLLBACK_TASK_DETAIL, &body, true, |v| {
            typed(DESCRIBE_ROLLBACK_TASK_DETAIL, v)
        })
        .await
    }

    /// Every page of [`Client::rollback_tasks`] ([`pages::all`]: until `TotalCount`, or
    /// without one until a short page); [`Error::Incomplete`] when it does not end within
    /// [`MAX_LIST_PAGES`].
    pub async fn all_rollback_tasks(
        &self,
        instance_id: &str,
        request: Option<&AsyncRequestId>,
    ) -> Result<Vec<RollbackTask>, Error> {
        let listing = pages::Listing {
            action: DESCRIBE_ROLLBACK_TASK_DETAIL,
            limit: u64::from(MAX_PAGE),
            max_pages: MAX_LIST_PAGES,
        };
        pages::all(listing, |offset| async move {
            let offset = u32::try_from(offset).unwrap_or(u32::MAX);
            let page = self
                .rollback_tasks(instance_id, request, offset, MAX_PAGE)
                .await?;
            Ok((page.items, page.total_count))
        })
        .await
    }

    /// One DescribeRollbackRangeTime for these instances (callers batch them).
    pub async fn rollback_range_time(
        &self,
        instance_ids: &[String],
    ) -> Result<Vec<InstanceRollbackRangeTime>, Error> {
        let body = DescribeRollbackRangeTimeRequest {
            instance_ids: instance_ids.to_vec(),
        };
        let answer: RangeTimeAnswer = self
            .call(DESCRIBE_ROLLBACK_RANGE_TIME, &body, true, |v| {
                typed(DESCRIBE_ROLLBACK_RANGE_TIME, v)
            })
            .await?;
        Ok(answer.items)
    }

    /// Every page of DescribeTasks for this filter (`Offset` and `Limit` are set here), as
    /// [`Client::all_rollback_tasks`] pages.
    pub async fn all_tasks(&self, filter: &DescribeTasksRequest) -> Result<Vec<TaskDetail>, Error> {
        let listing = pages::Listing {
            action: DESCRIBE_TASKS,
            limit: u64::from(MAX_TASKS_PAGE),
            max_pages: MAX_LIST_PAGES,
        };
        pages::all(listing, |offset| {
            let body = DescribeTasksRequest {
                offset: Some(i64::try_from(offset).unwrap_or(i64::MAX)),
                limit: Some(i64::from(MAX_TASKS_PAGE)),
                ..filter.clone()
            };
            async move {
                let page: TaskPage = self
                    .call(DESCRIBE_TASKS, &body, true, |v| typed(DESCRIBE_TASKS, v))
                    .await?;
                Ok((page.items, page.total_count))
            }
        })
        .await
    }

    /// DescribeAsyncRequestInfo: the status of one asynchronous request (a StartBatchRollback
    /// or a StopRollback); it has its own budget of 40 requests per second.
    pub async fn async_request_info(&self, id: &AsyncRequestId) -> Result<AsyncRequestInfo, Error> {
        let body = DescribeAsyncRequestInfoRequest {
            async_request_id: id.0.clone(),
        };
        self.call(DESCRIBE_ASYNC_REQUEST_INFO, &body, true, |v| {
            typed(DESCRIBE_ASYNC_REQUEST_INFO, v)
        })
        .await
    }

    /// Sends `body` until it succeeds or the retry policy gives up; `idempotent` chooses the
    /// policy. `decode` runs inside the loop so an unreadable success counts as ambiguous.
    pub(super) async fn call<B: Serialize, T>(
        &self,
        action: &str,
        body: &B,
        idempotent: bool,
        decode: impl Fn(Value) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Config {
            reason: format!("{action}: cannot encode the request: {e}"),
        })?;
        self.send(action, bytes, idempotent, decode).await
    }

    /// [`Self::call`] with the body already encoded.
    async fn send<T>(
        &self,
        action: &str,
        bytes: Vec<u8>,
        idempotent: bool,
        decode: impl Fn(Value) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut delays = self.link.inner.config.retry.delays();
        let mut resigned = false;
        loop {
            let err = match self.attempt(action, &bytes).await.and_then(&decode) {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !idempotent && err.is_ambiguous() {
                return Err(Error::OutcomeUnknown {
                    action: action.to_owned(),
                    source: Box::new(err),
                });
            }
            let delay = match err.class() {
                // Like API 2.0's 4500: the Timestamp was too old on arrival (a slow queue, a
                // long wait for the limiter); a fresh signature may pass. Never processed, so
                // safe for submissions too.
                _ if !resigned && err.code_text().as_deref() == Some(EXPIRED) => {
                    resigned = true;
                    Some(Duration::ZERO)
                }
                // A submission is resent only when it certainly did not take effect.
                _ if !idempotent => match &err {
                    Error::NotSent { .. } => delays.next(),
                    e if e.is_rate_limited() => delays.next(),
                    _ => None,
                },
                ErrorClass::Retry => delays.next(),
                _ => None,
            };
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(err),
            }
        }
    }

    /// One signed HTTP attempt → the `Response` object.
    async fn attempt(&self, action: &str, body: &[u8]) -> Result<Value, Error> {
        let inner = &*self.link.inner;
        let (url, host, budget) = self.link.target();
        let (_permit, state) = inner.enter(budget, action).await?;
        let credentials = &inner.config.credentials;
        let headers = tc3::headers(&SignInput {
            secret_id: &credentials.secret_id,
            secret_key: credentials.secret_key.expose(),
            host,
            action,
            timestamp: now_timestamp(),
            region: &self.link.region,
            token: credentials.token.as_ref().map(|t| t.expose()),
            body,
        });
        let mut request = inner.http.post(url.clone()).body(body.to_vec());
        for (name, value) in headers {
            // reqwest writes `Host` from the URL, which is the very value signed.
            if name != "Host" {
                request = request.header(name, value);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::transport(action, e))?;
        let text = Transport::read(action, response).await?;
        let result = decode_response(action, &text);
        if let Err(err) = &result
            && err.is_rate_limited()
        {
            state.limiter.slow_down();
        }
        result
    }
}

fn async_request_id(response: Value) -> Result<AsyncRequestId, Error> {
    let answer: AsyncRequestAnswer = typed("AsyncRequestId", response.clone())?;
    answer
        .async_request_id
        .map(AsyncRequestId)
        .ok_or_else(|| Error::Decode {
            action: "AsyncRequestId".into(),
            reason: "the answer has no AsyncRequestId".into(),
            excerpt: crate::api::error::excerpt(&response.to_string(), 120),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::Credentials;

    fn config(endpoint: &str) -> ClientConfig {
        ClientConfig::new(
            endpoint,
            "ap-guangzhou",
            Credentials::new("AKIDtest", "key"),
        )
    }

    #[test]
    fn endpoints_are_the_documented_ones() {
        assert_eq!(DEFAULT_ENDPOINT, "https://cdb.tencentcloudapi.com/");
        assert_eq!(
            regional_endpoint("ap-shanghai"),
            "https://cdb.ap-shanghai.tencentcloudapi.com/"
        );
        let c = Client::new(config(DEFAULT_ENDPOINT)).unwrap();
        assert_eq!(c.link.inner.host, "cdb.tencentcloudapi.com");
        assert_eq!(c.with_region("ap-beijing").region(), "ap-beijing");
        // Each region's calls go to its own endpoint, whose budgets are that region's.
        assert_eq!(c.link.target().1, "cdb.ap-guangzhou.tencentcloudapi.com");
        let beijing = c.with_region("ap-beijing");
        let (url, host, budget) = beijing.link.target();
        assert_eq!(url.as_str(), "https://cdb.ap-beijing.tencentcloudapi.com/");
        assert_eq!(
            (host, budget),
            ("cdb.ap-beijing.tencentcloudapi.com", "ap-beijing")
        );
        // An endpoint set by hand receives every call, counted per region.
        let local = Client::new(config("http://127.0.0.1:9/")).unwrap();
        let beijing = local.with_region("ap-beijing");
        let (url, host, budget) = beijing.link.target();
        assert_eq!(
            (url.as_str(), host, budget),
            ("http://127.0.0.1:9/", "127.0.0.1:9", "ap-beijing")
        );
    }

    #[test]
    fn a_client_without_a_region_still_sends_each_region_to_its_own_endpoint() {
        // A plan whose instances each name their region needs no default one: the client's
        // own region is then empty, and each region's calls must still go to the endpoint
        // whose budget counts them (never all to one access region, counted per region).
        for endpoint in [DEFAULT_ENDPOINT, "https://cdb.tencentcloudapi.com"] {
            let c = Client::new(ClientConfig::new(
                endpoint,
                "",
                Credentials::new("AKIDtest", "key"),
            ))
            .unwrap();
            for region in ["ap-shanghai", "ap-beijing"] {
                let r = c.with_region(region);
                let (url, host, budget) = r.link.target();
                let expected = format!("cdb.{region}.tencentcloudapi.com");
                assert_eq!(
                    (url.host_str(), host, budget),
                    (Some(expected.as_str()), expected.as_str(), region),
                    "{endpoint}"
                );
            }
        }
    }

    #[test]
    fn bad_configurations_are_rejected() {
        assert!(matches!(
            Client::new(config("ftp://x/")),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn answers_without_an_async_request_id_are_decode_errors() {
        let ok = async_request_id(serde_json::json!({"AsyncRequestId": "a-1"})).unwrap();
        assert_eq!(ok.0, "a-1");
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"AsyncRequestId": null}),
            serde_json::json!({"AsyncRequestId": ""}),
        ] {
            assert!(matches!(async_request_id(bad), Err(Error::Decode { .. })));
        }
    }

    #[test]
    fn debug_output_never_shows_the_secret_key_or_token() {
        let mut c = config(DEFAULT_ENDPOINT);
        c.credentials = Credentials::new("AKIDtest", "very-secret-key").with_token("very-secret-t");
        let shown = format!("{:?}", Client::new(c).unwrap());
        assert!(shown.contains("AKIDtest"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
