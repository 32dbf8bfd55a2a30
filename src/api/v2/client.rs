//! The shared HTTP client of API 2.0: signing each attempt, the per-action rate limiter and
//! the bound on requests in flight, retries for idempotent calls, and "outcome unknown" for
//! submissions that may have reached the server.

use std::time::Duration;

use serde_json::Value;

pub use crate::api::config::{ClientConfig, RetryPolicy, Timeouts};
use crate::api::error::{Error, ErrorClass};
use crate::api::pages;
use crate::api::rollback::InstanceRollback;
use crate::api::transport::now_timestamp;
use crate::api::transport::{Regional, Transport};
use crate::api::v2::envelope::{JobId, decode_envelope, decode_job_id};
use crate::api::v2::model::rollback_params;
use crate::api::v2::request::{Signer, fresh_nonce};
use crate::api::v2::sign::HttpMethod;
use crate::api::v2::tasks::{JobPage, RollbackTask};

/// The public API 2.0 endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://cdb.api.qcloud.com/v2/index.php";
/// The submission action.
pub const ROLLBACK: &str = "RollbackCdbDatabaseTables";
/// The tracking action.
pub const ROLLBACK_JOBS: &str = "GetCdbRollbackJob";
/// GetCdbRollbackJob returns at most this many tasks per call.
pub const MAX_PAGE: u32 = 100;
/// Pages of one instance's task list read before it is called incomplete (100,000 tasks).
const MAX_LIST_PAGES: u32 = 1_000;

/// One shared client: clones share the HTTP connection pool, the limiters and the semaphore.
#[derive(Debug, Clone)]
pub struct Client {
    link: Regional,
}

impl Client {
    /// Validates the configuration and builds the HTTP client (rustls with the ring provider).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        Ok(Self {
            link: Regional::new(config)?,
        })
    }

    /// The same client (limiters, pool, semaphore) sending another `Region`.
    pub fn with_region(&self, region: &str) -> Self {
        Self {
            link: self.link.with_region(region),
        }
    }

    pub fn region(&self) -> &str {
        &self.link.region
    }

    /// HTTP attempts made so far for `action`, retries included.
    pub fn attempts(&self, action: &str) -> u64 {
        self.link.attempts(action)
    }

    /// Requests per second currently allowed for `action` (lower after a 4400).
    pub fn current_rate(&self, action: &str) -> f64 {
        self.link.current_rate(action)
    }

    /// Submits one RollbackCdbDatabaseTables call for these instances and returns its job id.
    ///
    /// Retried only after certain rejections (not sent, 4400, and one re-sign after 4500).
    /// Any failure that may hide an accepted job (connection lost after sending, HTTP 5xx, an
    /// unreadable answer) is returned as [`Error::OutcomeUnknown`] and never resent here.
    pub async fn rollback(&self, instances: &[InstanceRollback]) -> Result<JobId, Error> {
        if instances.is_empty() {
            return Err(Error::Config {
                reason: "a submission needs at least one instance".into(),
            });
        }
        let params = rollback_params(instances);
        let mut delays = self.link.inner.config.retry.delays();
        let mut resigned = false;
        loop {
            let result = self
                .attempt(ROLLBACK, &params)
                .await
                .and_then(|data| decode_job_id(ROLLBACK, &data));
            let err = match result {
                Ok(job) => return Ok(job),
                Err(err) if err.is_ambiguous() => {
                    return Err(Error::OutcomeUnknown {
                        action: ROLLBACK.to_owned(),
                        source: Box::new(err),
                    });
                }
                Err(err) => err,
            };
            let delay = match &err {
                Error::NotSent { .. } => delays.next(),
                Error::Api { code: 4400, .. } => delays.next(),
                Error::Api { code: 4500, .. } if !resigned => {
                    resigned = true;
                    Some(Duration::ZERO)
                }
                _ => None,
            };
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(err),
            }
        }
    }

    /// One page of GetCdbRollbackJob (`limit` is capped at 100), retried with backoff for
    /// transient errors and re-signed once after 4500.
    pub async fn rollback_jobs(
        &self,
        instance_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<JobPage, Error> {
        let params = vec![
            ("cdbInstanceId".to_owned(), instance_id.to_owned()),
            ("offset".to_owned(), offset.to_string()),
            ("limit".to_owned(), limit.clamp(1, MAX_PAGE).to_string()),
        ];
        let mut delays = self.link.inner.config.retry.delays();
        let mut resigned = false;
        loop {
            let err = match self.attempt(ROLLBACK_JOBS, &params).await {
                Ok(data) => return Ok(JobPage::from_data(&data)),
                Err(err) => err,
            };
            let delay = match err.class() {
                ErrorClass::Retry => delays.next(),
                ErrorClass::Resign if !resigned => {
                    resigned = true;
                    Some(Duration::ZERO)
                }
                _ => None,
            };
            match delay {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(err),
            }
        }
    }

    /// Every task of the instance, paging by 100 ([`pages::all`]: until `taskCount` is
    /// reached, or without one while pages come back full; bounded, else
    /// [`Error::Incomplete`]). The order of the list is unconfirmed, so callers search the
    /// whole of it.
    pub async fn all_rollback_jobs(&self, instance_id: &str) -> Result<JobPage, Error> {
        let listing = pages::Listing {
            action: ROLLBACK_JOBS,
            limit: u64::from(MAX_PAGE),
            max_pages: MAX_LIST_PAGES,
        };
        // The last count announced (-1: none yet), for `jobs`' total.
        let announced = std::sync::atomic::AtomicI64::new(-1);
        let tasks = pages::all(listing, |offset| {
            let offset = u32::try_from(offset).unwrap_or(u32::MAX);
            let announced = &announced;
            async move {
                let page = self.rollback_jobs(instance_id, offset, MAX_PAGE).await?;
                let total = page
                    .counted
                    .then(|| i64::try_from(page.task_count).unwrap_or(i64::MAX));
                if let Some(t) = total {
                    announced.store(t, std::sync::atomic::Ordering::Relaxed);
                }
                Ok((page.tasks, total))
            }
        })
        .await?;
        let announced = u64::try_from(announced.into_inner()).ok();
        Ok(JobPage {
            task_count: announced.unwrap_or(0).max(tasks.len() as u64),
            counted: announced.is_some(),
            tasks,
        })
    }

    /// Finds the task of `job` on the instance across all pages.
    pub async fn find_task(
        &self,
        instance_id: &str,
        job: &JobId,
    ) -> Result<Option<RollbackTask>, Error> {
        let all = self.all_rollback_jobs(instance_id).await?;
        Ok(all
            .tasks
            .into_iter()
            .find(|t| t.job_id.as_ref() == Some(job)))
    }

    /// One signed HTTP attempt: waits for a slot in flight and the action's limiter, sends,
    /// and decodes the envelope. Returns `data` on `code` 0.
    async fn attempt(&self, action: &str, params: &[(String, String)]) -> Result<Value, Error> {
        let inner = &*self.link.inner;
        let (_permit, state) = inner.enter("", action).await?;
        let signer = Signer {
            credentials: &inner.config.credentials,
            signature_method: inner.config.signature_method,
            http_method: inner.config.http_method,
            host: &inner.host,
            path: inner.url.path(),
            region: &self.link.region,
        };
        let signed = signer.sign(action, params, now_timestamp(), fresh_nonce());
        let request = match inner.config.http_method {
            HttpMethod::Get => inner.http.get(inner.url.clone()).query(&signed),
            HttpMethod::Post => inner.http.post(inner.url.clone()).form(&signed),
        };
        let response = request
            .send()
            .await
            .map_err(|e| Error::transport(action, e))?;
        let body = Transport::read(action, response).await?;
        let result = decode_envelope(action, &body).map(|env| env.data);
        if let Err(err) = &result
            && err.is_rate_limited()
        {
            state.limiter.slow_down();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::Credentials;
    use std::sync::Arc;

    fn config(endpoint: &str) -> ClientConfig {
        ClientConfig::new(
            endpoint,
            "ap-guangzhou",
            Credentials::new("AKIDtest", "key"),
        )
    }

    #[test]
    fn https_client_builds_with_rustls() {
        let client = Client::new(config(DEFAULT_ENDPOINT)).unwrap();
        assert_eq!(client.link.inner.host, "cdb.api.qcloud.com");
        assert_eq!(client.link.inner.url.path(), "/v2/index.php");
        assert_eq!(client.region(), "ap-guangzhou");
    }

    #[test]
    fn bad_configurations_are_rejected() {
        for endpoint in ["not a url", "ftp://x/v2/index.php", "file:///tmp"] {
            assert!(
                matches!(Client::new(config(endpoint)), Err(Error::Config { .. })),
                "{endpoint}"
            );
        }
        let mut c = config(DEFAULT_ENDPOINT);
        c.rate_per_action = 0.0;
        assert!(matches!(Client::new(c), Err(Error::Config { .. })));
        let mut c = config(DEFAULT_ENDPOINT);
        c.rate_cap = Some(f64::NAN);
        assert!(matches!(Client::new(c), Err(Error::Config { .. })));
        let mut c = config(DEFAULT_ENDPOINT);
        c.concurrency = 0;
        assert!(matches!(Client::new(c), Err(Error::Config { .. })));
    }

    #[test]
    fn the_rate_cap_reaches_every_action() {
        let mut c = config(DEFAULT_ENDPOINT);
        c.rate_cap = Some(3.0);
        let client = Client::new(c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.current_rate(ROLLBACK_JOBS), 3.0);
        let client = Client::new(config(DEFAULT_ENDPOINT)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client.current_rate(ROLLBACK_JOBS), 20.0);
    }

    #[test]
    fn debug_output_never_shows_the_secret_key_or_token() {
        let mut c = config(DEFAULT_ENDPOINT);
        c.credentials =
            Credentials::new("AKIDtest", "very-secret-key").with_token("very-secret-token");
        let shown = format!("{:?}", Client::new(c).unwrap());
        assert!(shown.contains("AKIDtest"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn with_region_shares_the_limiters() {
        let a = Client::new(config("http://127.0.0.1:9/v2/index.php")).unwrap();
        let b = a.with_region("ap-shanghai");
        assert_eq!(b.region(), "ap-shanghai");
        assert!(Arc::ptr_eq(&a.link.inner, &b.link.inner));
        assert_eq!(b.link.inner.host, "127.0.0.1:9");
    }
}
