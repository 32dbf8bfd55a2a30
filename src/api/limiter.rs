//! Client-side rate limiting: one adaptive limiter per API action, shared by every caller.
//!
//! The cloud (and the sandbox) count requests over a sliding one-second window: an action
//! answers 4400 / `RequestLimitExceeded` to a request that would make any window of one second
//! hold more than its limit. The limiter counts the same way, on the times it let requests
//! through: a request passes when fewer than `⌊rate⌋` passed in the last second (plus a small
//! margin for the trip to the server), so the whole documented rate is used, bursts
//! included, and never exceeded. A 4400 answer halves the rate; it recovers by a tenth of the
//! configured rate per quiet second. Times are `tokio::time` so tests can pause the clock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The cloud's documented limit for an action, requests per second, unless
/// [`DOCUMENTED_LIMITS`] says otherwise; planrun's default `--rate`.
pub const CLOUD_RATE: f64 = 20.0;

/// Actions whose documented limit differs from [`CLOUD_RATE`].
const DOCUMENTED_LIMITS: &[(&str, f64)] = &[("DescribeAsyncRequestInfo", 40.0)];

/// How much of the configured rate `action` gets: its documented limit over [`CLOUD_RATE`]
/// (2 for DescribeAsyncRequestInfo's 40/s, else 1). A `--rate` below the cloud's lowers every
/// action in the same proportion.
pub fn documented_share(action: &str) -> f64 {
    DOCUMENTED_LIMITS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(1.0, |(_, limit)| limit / CLOUD_RATE)
}

/// The window is counted this much longer than a second: the time between the limiter
/// letting a request through and the server counting it varies (a late wake-up, another
/// connection served first, a loaded machine), and a request counted late by the server
/// makes its window look shorter. At 15 ms a loaded 2-core machine drew about one 4400 per
/// thousand requests at the full rate (BENCHMARKS.md).
const MARGIN: Duration = Duration::from_millis(30);
/// Each 4400 widens the margin by this much (the path's jitter was underestimated), up to
/// [`MAX_MARGIN`]; it never narrows again within the run.
const MARGIN_STEP: Duration = Duration::from_millis(20);
const MAX_MARGIN: Duration = Duration::from_millis(200);

/// How long the rate stays lowered before each recovery step.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// Repeated 4400s never take the rate below `max / MIN_DIVISOR`.
const MIN_DIVISOR: f64 = 16.0;

/// A sliding-window limiter whose rate a 4400 answer lowers.
#[derive(Debug)]
pub struct RateLimiter {
    max_rate: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// See [`MARGIN`].
    margin: Duration,
    /// When the most recent requests were let through, oldest first (at most the capacity
    /// at `max_rate`).
    passed: VecDeque<Instant>,
    last_change: Instant,
}

/// Requests one window may hold at `rate`, and that window: `⌊rate⌋` a second, or one per
/// `1 / rate` seconds below one a second; `margin` longer.
fn window(rate: f64, margin: Duration) -> (usize, Duration) {
    let capacity = rate.floor().max(1.0);
    let span = Duration::from_secs_f64((capacity / rate).max(1.0));
    (capacity as usize, span + margin)
}

impl RateLimiter {
    /// `rate` requests per second (must be positive and finite; the caller validates).
    pub fn new(rate: f64) -> Self {
        let now = Instant::now();
        Self {
            max_rate: rate,
            state: Mutex::new(State {
                rate,
                margin: MARGIN,
                passed: VecDeque::new(),
                last_change: now,
            }),
        }
    }

    /// Waits until the window has room for this caller, and counts it in.
    pub async fn acquire(&self) {
        loop {
            match self.try_pass(Instant::now()) {
                Ok(()) => return,
                Err(free_at) => tokio::time::sleep_until(free_at).await,
            }
        }
    }

    /// Lets a request through at `now` if the window has room (and counts it), else says
    /// when it will. Callers woken together race for the room; the loser waits again.
    fn try_pass(&self, now: Instant) -> Result<(), Instant> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, now);
        let (capacity, span) = window(s.rate, s.margin);
        let len = s.passed.len();
        if len >= capacity {
            let free_at = s.passed[len - capacity] + span;
            if free_at > now {
                return Err(free_at);
            }
        }
        s.passed.push_back(now);
        let keep = window(self.max_rate, s.margin).0;
        while s.passed.len() > keep {
            s.passed.pop_front();
        }
        Ok(())
    }

    /// A 4400 answer: halve the rate (not below a floor), restart the recovery clock, and
    /// widen the margin.
    pub fn slow_down(&self) {
        self.slow_down_at(Instant::now());
    }

    fn slow_down_at(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.rate = (s.rate / 2.0).max(self.max_rate / MIN_DIVISOR);
        s.last_change = now;
        s.margin = (s.margin + MARGIN_STEP).min(MAX_MARGIN);
    }

    /// The rate this limiter sustains now, requests per second: what a caller spacing its
    /// requests evenly may send without ever waiting here.
    pub fn current_rate(&self) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, Instant::now());
        let (capacity, span) = window(s.rate, s.margin);
        capacity as f64 / span.as_secs_f64()
    }

    #[cfg(test)]
    fn rate_at(&self, now: Instant) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, now);
        s.rate
    }

    fn recover(&self, s: &mut State, now: Instant) {
        if s.rate >= self.max_rate {
            return;
        }
        let elapsed = now.saturating_duration_since(s.last_change);
        let steps = (elapsed.as_secs_f64() / RECOVERY_STEP.as_secs_f64()).floor();
        if steps >= 1.0 {
            s.rate = (s.rate + steps * self.max_rate / 10.0).min(self.max_rate);
            s.last_change += RECOVERY_STEP.mul_f64(steps);
        }
    }
}

/// Per-action state: the limiter and a count of attempts sent (for observation and tests).
#[derive(Debug)]
pub struct ActionState {
    pub limiter: RateLimiter,
    attempts: AtomicU64,
}

impl ActionState {
    pub(crate) fn count_attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }

    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

/// The limiters of all actions, created on first use: the configured rate, times the
/// action's [`documented_share`].
#[derive(Debug)]
pub struct Limiters {
    rate: f64,
    actions: Mutex<HashMap<String, Arc<ActionState>>>,
}

impl Limiters {
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            actions: Mutex::new(HashMap::new()),
        }
    }

    pub fn action(&self, action: &str) -> Arc<ActionState> {
        let mut map = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(action.to_owned())
            .or_insert_with(|| {
                Arc::new(ActionState {
                    limiter: RateLimiter::new(self.rate * documented_share(action)),
                    attempts: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Attempts sent so far for `action` (0 if never used).
    pub fn attempts(&self, action: &str) -> u64 {
        let map = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(action).map_or(0, |a| a.attempts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Lets `n` requests through as soon as each may go, starting at `t0`; their times.
    fn pass_all(limiter: &RateLimiter, t0: Instant, n: usize) -> Vec<Instant> {
        let mut at = t0;
        (0..n)
            .map(|_| {
                loop {
                    match limiter.try_pass(at) {
                        Ok(()) => break at,
                        Err(free) => at = free,
                    }
                }
            })
            .collect()
    }

    /// The most requests any window of one second (closed on the left) holds.
    fn busiest_second(times: &[Instant]) -> usize {
        times
            .iter()
            .map(|t| {
                times
                    .iter()
                    .filter(|u| **u >= *t && **u - *t < ms(1000))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_whole_rate_goes_at_once_and_no_second_ever_holds_more() {
        let limiter = RateLimiter::new(20.0);
        let t0 = Instant::now();
        let times = pass_all(&limiter, t0, 65);
        // The first twenty leave at once: a sliding window allows the burst.
        assert!(times[..20].iter().all(|t| *t == t0));
        // The 21st waits for the first to leave the window (plus the margin), not longer.
        assert_eq!(times[20], t0 + ms(1000) + MARGIN);
        assert_eq!(busiest_second(&times), 20);
        // Sustained: 20 per (1 s + margin).
        assert_eq!(times[60], t0 + (ms(1000) + MARGIN) * 3);
    }

    #[test]
    fn requests_spread_out_pass_at_once_while_the_window_has_room() {
        let limiter = RateLimiter::new(3.0);
        let t0 = Instant::now();
        for k in 0..3 {
            assert_eq!(limiter.try_pass(t0 + ms(100 * k)), Ok(()));
        }
        // The window [t0, t0 + 1 s] is full: the next may go when the first leaves it.
        assert_eq!(limiter.try_pass(t0 + ms(500)), Err(t0 + ms(1000) + MARGIN));
        assert_eq!(limiter.try_pass(t0 + ms(1000) + MARGIN), Ok(()));
        assert_eq!(
            limiter.try_pass(t0 + ms(1050) + MARGIN),
            Err(t0 + ms(1100) + MARGIN)
        );
    }

    #[test]
    fn rates_below_one_a_second_space_requests_evenly() {
        let limiter = RateLimiter::new(0.5);
        let t0 = Instant::now();
        let times = pass_all(&limiter, t0, 3);
        assert_eq!(times[1] - times[0], ms(2000) + MARGIN);
        assert_eq!(times[2] - times[1], ms(2000) + MARGIN);
    }

    #[tokio::test]
    async fn acquire_waits_for_room_in_the_window() {
        // The clock is real here (std's and tokio's agree): only the lower bound is asserted.
        let limiter = RateLimiter::new(5.0);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        assert!(
            start.elapsed() >= ms(1000) + MARGIN,
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn slow_down_halves_the_rate_and_it_recovers_gradually() {
        let limiter = RateLimiter::new(16.0);
        let t0 = Instant::now();
        limiter.slow_down_at(t0);
        assert_eq!(limiter.rate_at(t0), 8.0);
        limiter.slow_down_at(t0);
        assert_eq!(limiter.rate_at(t0), 4.0);
        for _ in 0..10 {
            limiter.slow_down_at(t0);
        }
        assert_eq!(limiter.rate_at(t0), 1.0, "floor is max/16");
        assert_eq!(
            limiter.rate_at(t0 + ms(900)),
            1.0,
            "no recovery within a step"
        );
        assert!((limiter.rate_at(t0 + ms(1500)) - 2.6).abs() < 1e-9);
        assert!((limiter.rate_at(t0 + ms(2000)) - 4.2).abs() < 1e-9);
        assert_eq!(limiter.rate_at(t0 + Duration::from_secs(30)), 16.0);
    }

    #[test]
    fn a_slowed_limiter_holds_fewer_per_window() {
        let limiter = RateLimiter::new(10.0);
        let t0 = Instant::now();
        limiter.slow_down_at(t0); // 5 a second
        let times = pass_all(&limiter, t0, 10);
        assert_eq!(busiest_second(&times), 5);
        assert_eq!(
            times[5],
            t0 + ms(1000) + MARGIN + MARGIN_STEP,
            "a wider margin too"
        );
    }

    #[test]
    fn the_sustained_rate_accounts_for_the_margin() {
        let limiter = RateLimiter::new(20.0);
        let expected = 20.0 / (1.0 + MARGIN.as_secs_f64());
        assert!((limiter.current_rate() - expected).abs() < 1e-9);
    }

    #[test]
    fn each_action_has_its_own_limiter_and_counter() {
        let all = Limiters::new(10.0);
        all.action("A").limiter.slow_down();
        assert_eq!(all.action("A").limiter.rate_at(Instant::now()), 5.0);
        assert_eq!(all.action("B").limiter.rate_at(Instant::now()), 10.0);
        all.action("B").count_attempt();
        assert_eq!(all.attempts("B"), 1);
        assert_eq!(all.attempts("A"), 0);
        assert_eq!(all.attempts("C"), 0);
    }

    #[test]
    fn actions_with_a_higher_documented_limit_get_it_in_proportion() {
        let all = Limiters::new(CLOUD_RATE);
        let info = all.action("DescribeAsyncRequestInfo");
        assert_eq!(info.limiter.rate_at(Instant::now()), 40.0);
        assert_eq!(
            all.action("DescribeTasks").limiter.rate_at(Instant::now()),
            20.0
        );
        let shared = Limiters::new(10.0);
        let info = shared.action("DescribeAsyncRequestInfo");
        assert_eq!(info.limiter.rate_at(Instant::now()), 20.0);
    }
}
