//! Client configuration: endpoint, region, credentials, signing, pacing, timeouts, retries.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::api::credentials::Credentials;
use crate::api::v2::sign::{HttpMethod, SignatureMethod};

/// Connect and whole-request timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// Retries of idempotent calls: exponential backoff with jitter between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The delays before attempts 2, 3, ...: `max_attempts - 1` of them.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build()
    }
}

/// Everything the client needs; [`ClientConfig::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://cdb.api.qcloud.com/v2/index.php` or `http://127.0.0.1:PORT/v2/index.php`.
    pub endpoint: String,
    /// The `Region` common parameter (left out when empty).
    pub region: String,
    pub credentials: Credentials,
    pub signature_method: SignatureMethod,
    pub http_method: HttpMethod,
    /// Requests per second for each action (default: the cloud's documented 20; actions
    /// documented higher get theirs in proportion, see [`super::limiter::documented_share`]).
    /// Only tests and the sandbox's benchmarks scale it.
    pub rate_per_action: f64,
    /// At most this many requests per second for any action (`--rate`); `None`: each at
    /// its documented limit.
    pub rate_cap: Option<f64>,
    /// Requests in flight across all actions (default 4).
    pub concurrency: usize,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

impl ClientConfig {
    pub fn new(
        endpoint: impl Into<String>,
        region: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            region: region.into(),
            credentials,
            signature_method: SignatureMethod::HmacSha256,
            http_method: HttpMethod::Post,
            rate_per_action: super::limiter::CLOUD_RATE,
            rate_cap: None,
            concurrency: 4,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_gives_max_attempts_minus_one_growing_delays() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
        };
        let delays: Vec<Duration> = policy.delays().collect();
        assert_eq!(delays.len(), 3);
        // Jitter adds up to 100% of each delay.
        assert!(delays[0] >= Duration::from_millis(100) && delays[0] <= Duration::from_millis(200));
        assert!(delays[2] >= Duration::from_millis(250) && delays[2] <= Duration::from_millis(500));
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = ClientConfig::new(
            "http://127.0.0.1:1/v2/index.php",
            "gz",
            Credentials::new("a", "b"),
        );
        assert_eq!(c.rate_per_action, super::super::limiter::CLOUD_RATE);
        assert_eq!(c.concurrency, 4);
        assert_eq!(c.http_method, HttpMethod::Post);
        assert_eq!(c.signature_method, SignatureMethod::HmacSha256);
        assert!(c.timeouts.connect < c.timeouts.request);
    }
}
