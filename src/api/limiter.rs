//! Client-side rate limiting: one adaptive limiter per API action, shared by every caller.
//!
//! The cloud (and the sandbox) count requests over a sliding one-second window: an action
//! answers 4400 / `RequestLimitExceeded` to a request that would make any window of one second
//! hold more than its limit. The server counts a request at some moment between its sending
//! and its answer, and the client cannot know which. So the limiter counts, at each moment,
//! every request that *may* be in the server's last second: those still unanswered, and those
//! answered less than a second ago. A request passes while fewer than `⌊rate⌋` are, so no
//! window of the server's can ever hold more (the proof is at `RateLimiter::try_pass`),
//! whatever the machine's load; the price is one round trip per window. A 4400 answer (the
//! safety net: an account shared with another tool) halves the rate and widens the window;
//! the rate recovers by a tenth per quiet second. Times are `tokio::time` so tests can pause
//! the clock.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The cloud's documented limit for an action, requests per second, unless
/// [`DOCUMENTED_LIMITS`] says otherwise; planrun's default `--rate`.
pub const CLOUD_RATE: f64 = 20.0;

/// Each action's documented limit where it is not [`CLOUD_RATE`], requests per second: the one
/// table of them (the README cites each page). The cloud counts them per action, access
/// region (the endpoint's) and sub-account (cloud.tencent.com/document/product/1278/109059).
/// At [`CLOUD_RATE`] as documented: StartBatchRollback (236/18725), DescribeRollbackTaskDetail
/// (236/36099), DescribeRollbackRangeTime, StopRollback; DescribeDatabases by assumption (its
/// page states no limit that could be found).
pub const DOCUMENTED_LIMITS: &[(&str, f64)] = &[
    // 236/43285 (API 3.0, MySQL).
    ("DescribeAsyncRequestInfo", 40.0),
    // 236/18727.
    ("DescribeTables", 40.0),
    // 236/15848.
    ("DescribeTasks", 100.0),
    // 236/15872.
    ("DescribeDBInstances", 100.0),
];

/// How much of the configured rate `action` gets: its documented limit over [`CLOUD_RATE`]
/// (2 for DescribeTables' 40/s, 1 for a 20/s action). The configured rate is the cloud's
/// unless a test or the sandbox's benchmark scales it; `--rate` is a cap on top
/// ([`Limiters::capped`]).
pub fn documented_share(action: &str) -> f64 {
    DOCUMENTED_LIMITS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(1.0, |(_, limit)| limit / CLOUD_RATE)
}

/// Each 4400 widens the window by this much, up to [`MAX_MARGIN`]; it never narrows again
/// within the run. The window as counted cannot be beaten by the machine's load, so a 4400
/// means the server counts otherwise (another client on the account, a skewed clock).
const MARGIN_STEP: Duration = Duration::from_millis(20);
const MAX_MARGIN: Duration = Duration::from_millis(200);

/// How long the rate stays lowered before each recovery step.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// Repeated 4400s never take the rate below `max / MIN_DIVISOR`.
const MIN_DIVISOR: f64 = 16.0;

/// The weight of the latest round trip in the running estimate [`RateLimiter::current_rate`]
/// spaces requests by.
const TRIP_WEIGHT: f64 = 0.2;

/// A sliding-window limiter, gated on answers, whose rate a 4400 answer lowers.
#[derive(Debug)]
pub struct RateLimiter {
    max_rate: f64,
    state: Mutex<State>,
    /// Wakes callers waiting for an answer (a request unanswered holds its place).
    answered: Notify,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// The window is counted this much longer than its span; 0 until a 4400.
    margin: Duration,
    /// Requests that may still be in the server's window: sequence number, and when the
    /// answer came (`None`: not yet). Oldest first; at most the capacity plus the requests
    /// in flight.
    recent: VecDeque<(u64, Option<Instant>)>,
    next_seq: u64,
    /// Running estimate of the time from letting a request through to its answer, seconds.
    trip: f64,
    last_change: Instant,
}

/// Requests one window may hold at `rate`, and that window: `⌊rate⌋` a second, or one per
/// `1 / rate` seconds below one a second; `margin` longer.
fn window(rate: f64, margin: Duration) -> (usize, Duration) {
    let capacity = rate.floor().max(1.0);
    let span = Duration::from_secs_f64((capacity / rate).max(1.0));
    (capacity as usize, span + margin)
}

/// A request let through, not yet answered: hand it back to [`RateLimiter::answered`] when
/// its answer came, or its attempt ended without one (a failure, a timeout). Until then it
/// holds its place in the window. [`ActionState::enter`] returns it inside a [`Pass`] that
/// does this when dropped.
#[derive(Debug, Clone, Copy)]
#[must_use = "the request counts as unanswered until it is handed back"]
pub struct Ticket {
    seq: u64,
    sent: Instant,
}

impl RateLimiter {
    /// `rate` requests per second (must be positive and finite; the caller validates).
    pub fn new(rate: f64) -> Self {
        let now = Instant::now();
        Self {
            max_rate: rate,
            state: Mutex::new(State {
                rate,
                margin: Duration::ZERO,
                recent: VecDeque::new(),
                next_seq: 0,
                trip: 0.0,
                last_change: now,
            }),
            answered: Notify::new(),
        }
    }

    /// Waits until the window has room for this caller, and counts it in until its
    /// [`Ticket`] is handed back (when its answer came) and a window after that.
    pub async fn acquire(&self) -> Ticket {
        loop {
            let notified = self.answered.notified();
            tokio::pin!(notified);
            // Registered before polling, so an answer between the poll and the wait wakes us.
            notified.as_mut().enable();
            let now = Instant::now();
            match self.try_pass(now) {
                Ok(seq) => return Ticket { seq, sent: now },
                Err(Some(free_at)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(free_at) => {}
                        () = notified => {}
                    }
                }
                Err(None) => notified.await,
            }
        }
    }

    /// Lets a request through at `now` if the window has room (and counts it, returning its
    /// sequence number), else says when it will (`None`: when an answer comes). Callers woken
    /// together race for the room; the loser waits again.
    ///
    /// Why no one-second window of the server's can hold more than `⌊rate⌋`: say one did,
    /// and let `n` be the last of its requests to be let through, at `s`. `n` was counted at
    /// or after `s`, so the window ends after `s`, and every other request in it was counted
    /// after `s − 1 s`, each no later than its answer. So at `s` each of them was unanswered
    /// or answered less than a second before: the limiter counted every one, `⌊rate⌋` at
    /// least, and would not have let `n` through. (A request that failed was "answered" when
    /// its attempt ended: a server cannot count what it never received, nor after the
    /// connection closed.)
    fn try_pass(&self, now: Instant) -> Result<u64, Option<Instant>> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, now);
        let (capacity, span) = window(s.rate, s.margin);
        // Answers a whole window old no longer count.
        s.recent
            .retain(|(_, answered)| answered.is_none_or(|at| at + span > now));
        if s.recent.len() >= capacity {
            // Room comes when enough answered ones leave the window; unanswered ones hold
            // their place until they are answered.
            let mut ends: Vec<Instant> = s
                .recent
                .iter()
                .filter_map(|(_, a)| a.map(|at| at + span))
                .collect();
            let must_leave = s.recent.len() + 1 - capacity;
            if ends.len() < must_leave {
                return Err(None);
            }
            ends.sort_unstable();
            return Err(Some(ends[must_leave - 1]));
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.recent.push_back((seq, None));
        Ok(seq)
    }

    /// The request of `ticket` was answered (or its attempt ended) just now: from now on the
    /// server cannot count it.
    pub fn answered(&self, ticket: Ticket) {
        self.answered_at(ticket, Instant::now());
    }

    fn answered_at(&self, Ticket { seq, sent }: Ticket, at: Instant) {
        {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = s.recent.iter_mut().find(|(q, _)| *q == seq) {
                entry.1 = Some(at);
            }
            let trip = at.saturating_duration_since(sent).as_secs_f64();
            s.trip += TRIP_WEIGHT * (trip - s.trip);
        }
        self.answered.notify_waiters();
    }

    /// A 4400 answer: halve the rate (not below a floor), restart the recovery clock, and
    /// widen the window.
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
    /// requests evenly may send without waiting here. A place in the window is free again a
    /// window after the answer, so each costs the window plus a round trip.
    pub fn current_rate(&self) -> f64 {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, Instant::now());
        let (capacity, span) = window(s.rate, s.margin);
        capacity as f64 / (span.as_secs_f64() + s.trip)
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
    /// Waits for the limiter and counts the attempt; the [`Pass`] hands the request's ticket
    /// back when dropped, once the answer is read or the attempt failed.
    pub async fn enter(self: &Arc<Self>) -> Pass {
        let ticket = self.limiter.acquire().await;
        self.attempts.fetch_add(1, Ordering::Relaxed);
        Pass {
            state: Arc::clone(self),
            ticket,
        }
    }

    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }
}

/// One attempt let through by its action's limiter; dropping it records the answer.
#[derive(Debug)]
pub struct Pass {
    state: Arc<ActionState>,
    ticket: Ticket,
}

impl std::ops::Deref for Pass {
    type Target = ActionState;
    fn deref(&self) -> &ActionState {
        &self.state
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        self.state.limiter.answered(self.ticket);
    }
}

/// The limiters of all actions, created on first use: the configured rate, times the
/// action's [`documented_share`], at most the cap; one per action and access region (`""`:
/// the one endpoint every region's calls go to), as the cloud counts them.
#[derive(Debug)]
pub struct Limiters {
    rate: f64,
    cap: f64,
    actions: Mutex<HashMap<(String, String), Arc<ActionState>>>,
}

impl Limiters {
    pub fn new(rate: f64) -> Self {
        Self::capped(rate, None)
    }

    /// As [`Limiters::new`], no action above `cap` requests per second (`--rate`: a share
    /// of the account's budget left to other tools).
    pub fn capped(rate: f64, cap: Option<f64>) -> Self {
        Self {
            rate,
            cap: cap.unwrap_or(f64::INFINITY),
            actions: Mutex::new(HashMap::new()),
        }
    }

    /// The rate `action` is let through at: its share of the rate, at most the cap.
    pub fn rate_of(&self, action: &str) -> f64 {
        (self.rate * documented_share(action)).min(self.cap)
    }

    /// The limiter of `action` at the endpoint with no region of its own.
    pub fn action(&self, action: &str) -> Arc<ActionState> {
        self.at("", action)
    }

    /// The limiter of `action` at access region `region`'s endpoint.
    pub fn at(&self, region: &str, action: &str) -> Arc<ActionState> {
        let mut map = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry((region.to_owned(), action.to_owned()))
            .or_insert_with(|| {
                Arc::new(ActionState {
                    limiter: RateLimiter::new(self.rate_of(action)),
                    attempts: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Attempts sent so far for `action`, every region's (0 if never used).
    pub fn attempts(&self, action: &str) -> u64 {
        let map = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter()
            .filter(|((_, a), _)| a == action)
            .map(|(_, s)| s.attempts())
            .sum()
    }
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
