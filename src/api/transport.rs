//! What the API 2.0 and 3.0 clients share: validating the configuration, the reqwest client
//! (no redirects, no hidden retries), the per-action rate limiters and the bound on requests
//! in flight. Each protocol's client signs and decodes on top of it.

use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::api::config::ClientConfig;
use crate::api::error::Error;
use crate::api::limiter::{Limiters, Pass};

/// What both API clients hold: the shared transport and the region their requests carry.
/// Clones and [`Regional::with_region`] share the pool, the limiters and the semaphore.
#[derive(Debug, Clone)]
pub(crate) struct Regional {
    pub inner: Arc<Transport>,
    pub region: Arc<str>,
    /// Where this region's calls go and whose budgets they use: `None`, the configured
    /// endpoint with budgets shared by every region (API 2.0); `Some`, the region's own
    /// ([`Regional::per_region`]).
    pub endpoint: Option<Arc<Endpoint>>,
}

/// A region's endpoint: its URL, its `Host`, and the key of its budgets.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub url: reqwest::Url,
    pub host: String,
    pub budget: String,
    /// Whether every region's calls go to that region's own endpoint: decided once, when the
    /// client is built from the public endpoint, and kept by [`Regional::with_region`] (a
    /// client whose own region is empty still sends each region to its endpoint).
    pub regional: bool,
}

impl Regional {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let region: Arc<str> = config.region.as_str().into();
        Ok(Self {
            inner: Arc::new(Transport::new(config)?),
            region,
            endpoint: None,
        })
    }

    pub fn with_region(&self, region: &str) -> Self {
        let same = Self {
            inner: Arc::clone(&self.inner),
            region: region.into(),
            endpoint: None,
        };
        match &self.endpoint {
            Some(e) => same.per_region(e.regional),
            None => same,
        }
    }

    /// Each region's calls counted in that region's budgets (the cloud counts per action and
    /// access region); with `regional`, also sent to the region's own endpoint
    /// (`cdb.<region>.tencentcloudapi.com`), whose access region that is. An endpoint
    /// configured by hand (the sandbox) keeps receiving every call and is taken to count
    /// per `X-TC-Region`, as the sandbox does.
    pub fn per_region(mut self, regional: bool) -> Self {
        let region = self.region.trim();
        let url = regional
            .then(|| reqwest::Url::parse(&crate::api::v3::regional_endpoint(region)).ok())
            .flatten()
            .filter(|_| !region.is_empty())
            .unwrap_or_else(|| self.inner.url.clone());
        let host = host_with_port(&url).unwrap_or_else(|| self.inner.host.clone());
        self.endpoint = Some(Arc::new(Endpoint {
            url,
            host,
            budget: region.to_owned(),
            regional,
        }));
        self
    }

    /// The URL, `Host` and budget key of this region's calls.
    pub fn target(&self) -> (&reqwest::Url, &str, &str) {
        match &self.endpoint {
            Some(e) => (&e.url, &e.host, &e.budget),
            None => (&self.inner.url, &self.inner.host, ""),
        }
    }

    /// HTTP attempts made so far for `action`, retries included.
    pub fn attempts(&self, action: &str) -> u64 {
        self.inner.limiters.attempts(action)
    }

    /// The key of the budgets this region's calls are counted in (`""`: one for every region).
    pub fn budget(&self) -> &str {
        self.target().2
    }

    /// Requests per second currently allowed for `action` in this region's budget (lower
    /// after a rate-limit answer).
    pub fn current_rate(&self, action: &str) -> f64 {
        let (_, _, budget) = self.target();
        self.inner
            .limiters
            .at(budget, action)
            .limiter
            .current_rate()
    }
}

/// The HTTP side of a client: one per [`ClientConfig`], shared by clones and regions.
#[derive(Debug)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub url: reqwest::Url,
    /// `Host` header value (with `:port` when not the scheme's default).
    pub host: String,
    pub config: ClientConfig,
    pub limiters: Limiters,
    in_flight: Semaphore,
}

impl Transport {
    /// Validates the configuration and builds the HTTP client (rustls with the ring provider).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let invalid = |reason: String| Error::Config { reason };
        let url = reqwest::Url::parse(&config.endpoint)
            .map_err(|e| invalid(format!("endpoint {:?}: {e}", config.endpoint)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "endpoint {:?} is not http(s)",
                config.endpoint
            )));
        }
        let host = host_with_port(&url)
            .ok_or_else(|| invalid(format!("endpoint {:?} has no host", config.endpoint)))?;
        for rate in std::iter::once(config.rate_per_action).chain(config.rate_cap) {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(format!("rate must be positive, got {rate}")));
            }
        }
        if config.concurrency == 0 || config.retry.max_attempts == 0 {
            return Err(invalid(
                "concurrency and max attempts must be at least 1".into(),
            ));
        }
        // Several clients may be built; only the first install wins, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // A redirected POST would turn into an unsigned GET: treat 3xx as an answer.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            // No hidden retries: whether a submission is resent is decided above, not below.
            .retry(reqwest::retry::never())
            .user_agent(concat!("planrun/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            url,
            host,
            limiters: Limiters::capped(config.rate_per_action, config.rate_cap),
            in_flight: Semaphore::new(config.concurrency),
            config,
        })
    }

    /// Waits for the action's limiter, then for a slot in flight, and counts the attempt.
    ///
    /// The limiter first: a request waiting for its own action's budget must not hold a
    /// slot, or the actions whose budget is spent (the object preflight's DescribeTables,
    /// many at once) would queue ahead of every other action's requests for the slots and
    /// slow them all down. Waiting for a slot after the limiter let it through cannot put more
    /// than the rate in a server's window: the request is counted from the moment it was let
    /// through until a window after its answer (`RateLimiter::try_pass`). The caller keeps the
    /// [`Pass`] until the answer is read (or the attempt failed).
    pub async fn enter(
        &self,
        budget: &str,
        action: &str,
    ) -> Result<(SemaphorePermit<'_>, Pass), Error> {
        let state = self.limiters.at(budget, action);
        let pass = state.enter().await;
        let permit = self.in_flight.acquire().await.map_err(|_| Error::Config {
            reason: "client shut down".into(),
        })?;
        Ok((permit, pass))
    }

    /// Reads the whole answer; a non-2xx status becomes [`Error::HttpStatus`].
    pub async fn read(action: &str, response: reqwest::Response) -> Result<String, Error> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::transport(action, e))?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(Error::HttpStatus {
                action: action.to_owned(),
                status: status.as_u16(),
                excerpt: crate::api::error::excerpt(&body, 200),
            });
        }
        Ok(body)
    }
}

/// The `Host` header value of a URL: the host, plus `:port` when it is not the scheme's default.
pub fn host_with_port(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Seconds since the Unix epoch, for `Timestamp`.
pub fn now_timestamp() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_includes_only_non_default_ports() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert_eq!(
            host_with_port(&url("https://cdb.api.qcloud.com/v2/index.php")).as_deref(),
            Some("cdb.api.qcloud.com")
        );
        assert_eq!(
            host_with_port(&url("https://cdb.api.qcloud.com:443/v2/index.php")).as_deref(),
            Some("cdb.api.qcloud.com")
        );
        assert_eq!(
            host_with_port(&url("http://127.0.0.1:8080/v2/index.php")).as_deref(),
            Some("127.0.0.1:8080")
        );
    }
}
