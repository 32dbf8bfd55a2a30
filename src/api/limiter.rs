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
/// (2 for DescribeTables' 40/s, 1 for a 20/s action). A `--rate` below the cloud's lowers
/// every action in the same proportion.
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
            // Registered before looking, so an answer between the look and the wait wakes us.
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
/// action's [`documented_share`]; one per action and access region (`""`: the one endpoint
/// every region's calls go to), as the cloud counts them.
#[derive(Debug)]
pub struct Limiters {
    rate: f64,
    actions: Mutex<HashMap<(String, String), Arc<ActionState>>>,
}

impl Limiters {
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            actions: Mutex::new(HashMap::new()),
        }
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
                    limiter: RateLimiter::new(self.rate * documented_share(action)),
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
mod tests {
    use super::*;
    use futures::FutureExt;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Lets `n` requests through one after another, each as soon as it may go from `t0` on,
    /// each answered `trip` after it left; their times.
    fn pass_all(limiter: &RateLimiter, t0: Instant, n: usize, trip: Duration) -> Vec<Instant> {
        let mut at = t0;
        let mut sent = Vec::new();
        for _ in 0..n {
            let ticket = loop {
                match limiter.try_pass(at) {
                    Ok(seq) => break Ticket { seq, sent: at },
                    Err(Some(free)) => at = free,
                    Err(None) => unreachable!("answered as they leave"),
                }
            };
            limiter.answered_at(ticket, at + trip);
            sent.push(at);
        }
        sent
    }

    /// The most of `times` any window of one second (closed on the left) holds.
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
    fn the_whole_rate_goes_at_once_and_the_next_waits_a_window_after_an_answer() {
        let limiter = RateLimiter::new(20.0);
        let t0 = Instant::now();
        let tickets: Vec<Ticket> = (0..20)
            .map(|_| Ticket {
                seq: limiter.try_pass(t0).unwrap(),
                sent: t0,
            })
            .collect();
        // A sliding window allows the burst; the 21st waits for an answer, however long.
        assert_eq!(limiter.try_pass(t0 + ms(5000)), Err(None), "all unanswered");
        limiter.answered_at(tickets[3], t0 + ms(40));
        limiter.answered_at(tickets[0], t0 + ms(70));
        // Room comes a second after the earliest answer, not after the earliest send.
        assert_eq!(limiter.try_pass(t0 + ms(500)), Err(Some(t0 + ms(1040))));
        assert!(limiter.try_pass(t0 + ms(1040)).is_ok());
        assert_eq!(limiter.try_pass(t0 + ms(1040)), Err(Some(t0 + ms(1070))));
        assert!(limiter.try_pass(t0 + ms(1070)).is_ok());
        assert_eq!(
            limiter.try_pass(t0 + ms(9000)),
            Err(None),
            "18 still unanswered"
        );
    }

    #[test]
    fn sustained_each_window_costs_a_second_and_a_round_trip() {
        let limiter = RateLimiter::new(20.0);
        let t0 = Instant::now();
        let times = pass_all(&limiter, t0, 61, ms(30));
        assert!(times[..20].iter().all(|t| *t == t0));
        assert_eq!(times[20], t0 + ms(1030));
        assert_eq!(times[60], t0 + ms(1030) * 3);
        assert_eq!(busiest_second(&times), 20);
    }

    #[test]
    fn rates_below_one_a_second_space_requests_evenly() {
        let limiter = RateLimiter::new(0.5);
        let t0 = Instant::now();
        let times = pass_all(&limiter, t0, 3, ms(0));
        assert_eq!(times[1] - times[0], ms(2000));
        assert_eq!(times[2] - times[1], ms(2000));
    }

    /// A deterministic stream of numbers in [0, 1) (the tests need no real randomness).
    fn uniform(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Callers at once, on the paused clock, against a server that counts each request at a
    /// moment of its choosing between its arrival and its answer (round trips of 0–400 ms,
    /// one in ten never answered: the attempt gives up after 2 s, the server having counted
    /// it or not). Whatever it chooses, no second of its holds more than the rate.
    #[tokio::test(start_paused = true)]
    async fn no_second_of_the_server_ever_holds_more_than_the_rate() {
        let limiter = Arc::new(RateLimiter::new(20.0));
        let counted = Arc::new(Mutex::new(Vec::new()));
        let mut callers = Vec::new();
        for caller in 0..24u64 {
            let (limiter, counted) = (Arc::clone(&limiter), Arc::clone(&counted));
            callers.push(tokio::spawn(async move {
                let mut rng = caller + 1;
                for _ in 0..25 {
                    let ticket = limiter.acquire().await;
                    let sent = Instant::now();
                    let lost = uniform(&mut rng) < 0.1;
                    let trip = if lost {
                        ms(2000)
                    } else {
                        ms(400).mul_f64(uniform(&mut rng))
                    };
                    // The server counts it somewhere in the trip (a lost one, maybe never).
                    let at = sent + trip.mul_f64(uniform(&mut rng));
                    if !lost || uniform(&mut rng) < 0.5 {
                        counted.lock().unwrap().push(at);
                    }
                    tokio::time::sleep(trip).await;
                    limiter.answered(ticket);
                }
            }));
        }
        for c in callers {
            c.await.unwrap();
        }
        let counted = counted.lock().unwrap();
        assert!(counted.len() > 400, "{}", counted.len());
        let busiest = busiest_second(&counted);
        assert!(busiest <= 20, "{busiest} in one second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_waiting_for_an_answer_is_woken_by_it() {
        let limiter = Arc::new(RateLimiter::new(2.0));
        let t0 = Instant::now();
        let first = limiter.acquire().await;
        let _second = limiter.acquire().await;
        let waiter = tokio::spawn({
            let limiter = Arc::clone(&limiter);
            async move {
                let _third = limiter.acquire().await;
                Instant::now()
            }
        });
        tokio::time::sleep(ms(300)).await;
        assert!(
            !waiter.is_finished(),
            "both places held by unanswered requests"
        );
        limiter.answered(first);
        assert_eq!(waiter.await.unwrap(), t0 + ms(1300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pass_hands_its_ticket_back_when_dropped() {
        let state = Arc::new(ActionState {
            limiter: RateLimiter::new(1.0),
            attempts: AtomicU64::new(0),
        });
        let t0 = Instant::now();
        let pass = state.enter().await;
        assert_eq!(state.limiter.try_pass(t0 + ms(1500)), Err(None));
        tokio::time::sleep(ms(200)).await;
        drop(pass); // the answer was read (or the attempt failed) at 200 ms
        assert_eq!(state.limiter.try_pass(t0), Err(Some(t0 + ms(1200))));
        assert_eq!(state.attempts(), 1);
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
        let times = pass_all(&limiter, t0, 10, ms(0));
        assert_eq!(busiest_second(&times), 5);
        assert_eq!(times[5], t0 + ms(1000) + MARGIN_STEP, "a wider window too");
    }

    #[test]
    fn the_sustained_rate_accounts_for_the_round_trip() {
        let limiter = RateLimiter::new(20.0);
        assert!(
            (limiter.current_rate() - 20.0).abs() < 1e-9,
            "no trip measured yet"
        );
        let t0 = Instant::now();
        pass_all(&limiter, t0, 200, ms(50));
        // The running estimate has converged on the 50 ms trips: 20 per 1.05 s.
        assert!((limiter.current_rate() - 20.0 / 1.05).abs() < 1e-3);
    }

    #[test]
    fn each_action_has_its_own_limiter_and_counter() {
        let all = Limiters::new(10.0);
        all.action("A").limiter.slow_down();
        assert_eq!(all.action("A").limiter.rate_at(Instant::now()), 5.0);
        assert_eq!(all.action("B").limiter.rate_at(Instant::now()), 10.0);
        drop(all.action("B").enter().now_or_never().unwrap());
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
            all.action("DescribeRollbackRangeTime")
                .limiter
                .rate_at(Instant::now()),
            20.0
        );
        let shared = Limiters::new(10.0);
        let info = shared.action("DescribeAsyncRequestInfo");
        assert_eq!(info.limiter.rate_at(Instant::now()), 20.0);
        // The pages' figures, typed here from the pages, not from the table.
        for (action, limit) in [
            ("StartBatchRollback", 20.0),
            ("DescribeRollbackTaskDetail", 20.0),
            ("DescribeTables", 40.0),
            ("DescribeTasks", 100.0),
        ] {
            let rate = all.action(action).limiter.rate_at(Instant::now());
            assert_eq!(rate, limit, "{action}");
        }
    }

    /// The object preflight (DescribeTables), the window check, submissions and looks of two
    /// regions at once, on the paused clock, through one set of limiters: counted where the
    /// server may count each request (somewhere in its trip), no one-second window of any
    /// action in any region holds more than that action's documented limit, and each region
    /// uses its own budget.
    #[tokio::test(start_paused = true)]
    async fn preflight_and_submissions_share_the_budgets_without_exceeding_any_window() {
        let all = Arc::new(Limiters::new(CLOUD_RATE));
        let counted = Arc::new(Mutex::new(Vec::new()));
        let kinds = [
            ("DescribeTables", 6),
            ("DescribeRollbackRangeTime", 1),
            ("StartBatchRollback", 2),
            ("DescribeRollbackTaskDetail", 2),
        ];
        let mut callers = Vec::new();
        let mut seed = 0u64;
        for region in ["ap-guangzhou", "ap-shanghai"] {
            for (action, callers_of_it) in kinds {
                for _ in 0..callers_of_it {
                    seed += 1;
                    let (all, counted) = (Arc::clone(&all), Arc::clone(&counted));
                    callers.push(tokio::spawn(async move {
                        let mut rng = seed;
                        for _ in 0..40 {
                            let pass = all.at(region, action).enter().await;
                            let sent = Instant::now();
                            let trip = ms(150).mul_f64(uniform(&mut rng));
                            let at = sent + trip.mul_f64(uniform(&mut rng));
                            counted.lock().unwrap().push((region, action, at));
                            tokio::time::sleep(trip).await;
                            drop(pass);
                        }
                    }));
                }
            }
        }
        for c in callers {
            c.await.unwrap();
        }
        let counted = counted.lock().unwrap();
        // The documented limits, from the pages (not from the table under test).
        for (action, limit) in [
            ("DescribeTables", 40),
            ("DescribeRollbackRangeTime", 20),
            ("StartBatchRollback", 20),
            ("DescribeRollbackTaskDetail", 20),
        ] {
            for region in ["ap-guangzhou", "ap-shanghai"] {
                let times: Vec<Instant> = counted
                    .iter()
                    .filter(|(r, a, _)| *r == region && *a == action)
                    .map(|(.., at)| *at)
                    .collect();
                let busiest = busiest_second(&times);
                assert!(
                    busiest <= limit,
                    "{action} in {region}: {busiest} in one second"
                );
                assert!(
                    busiest >= limit / 2,
                    "{action} in {region} barely used: {busiest}"
                );
            }
            let both: Vec<Instant> = counted
                .iter()
                .filter(|(_, a, _)| *a == action)
                .map(|(.., at)| *at)
                .collect();
            assert!(
                busiest_second(&both) > limit,
                "{action}: the two regions' budgets were not used at once"
            );
        }
    }

    #[test]
    fn each_access_region_has_its_own_budget_per_action() {
        let all = Limiters::new(CLOUD_RATE);
        all.at("ap-guangzhou", "DescribeTables").limiter.slow_down();
        let now = Instant::now();
        let rate = |r: &str| all.at(r, "DescribeTables").limiter.rate_at(now);
        assert_eq!(rate("ap-guangzhou"), 20.0);
        assert_eq!(rate("ap-shanghai"), 40.0);
        drop(all.at("ap-shanghai", "X").enter().now_or_never().unwrap());
        drop(all.at("ap-beijing", "X").enter().now_or_never().unwrap());
        assert_eq!(all.attempts("X"), 2, "summed over the regions");
    }
}
