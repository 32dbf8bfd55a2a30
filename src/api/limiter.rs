//! Client-side rate limiting: one adaptive limiter per API action, shared by every caller.
//!
//! Requests are spaced evenly (no bursts), so no window of one second ever holds more than
//! `rate` requests of an action. A 4400 answer halves the rate; it recovers by a tenth of the
//! configured rate per quiet second. Times are `tokio::time` so tests can pause the clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How long the rate stays lowered before each recovery step.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// Repeated 4400s never take the rate below `max / MIN_DIVISOR`.
const MIN_DIVISOR: f64 = 16.0;

/// An evenly spacing limiter whose rate a 4400 answer lowers.
#[derive(Debug)]
pub struct RateLimiter {
    max_rate: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    next_free: Instant,
    last_change: Instant,
}

impl RateLimiter {
    /// `rate` requests per second (must be positive and finite; the caller validates).
    pub fn new(rate: f64) -> Self {
        let now = Instant::now();
        Self {
            max_rate: rate,
            state: Mutex::new(State {
                rate,
                next_free: now,
                last_change: now,
            }),
        }
    }

    /// Waits for this caller's turn.
    pub async fn acquire(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// Reserves the next free slot at or after `now` and returns it.
    fn reserve(&self, now: Instant) -> Instant {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.recover(&mut s, now);
        let slot = s.next_free.max(now);
        s.next_free = slot + Duration::from_secs_f64(1.0 / s.rate);
        slot
    }

    /// A 4400 answer: halve the rate (not below a floor) and restart the recovery clock.
    pub fn slow_down(&self) {
        self.slow_down_at(Instant::now());
    }

    fn slow_down_at(&self, now: Instant) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.rate = (s.rate / 2.0).max(self.max_rate / MIN_DIVISOR);
        s.last_change = now;
        let spaced = now + Duration::from_secs_f64(1.0 / s.rate);
        s.next_free = s.next_free.max(spaced);
    }

    /// The rate now in effect, requests per second.
    pub fn current_rate(&self) -> f64 {
        self.rate_at(Instant::now())
    }

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

/// The limiters of all actions, created on first use with the same configured rate.
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
                    limiter: RateLimiter::new(self.rate),
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

    #[test]
    fn slots_are_spaced_at_the_rate_without_bursts() {
        let limiter = RateLimiter::new(10.0);
        let t0 = Instant::now();
        let slots: Vec<Instant> = (0..21).map(|_| limiter.reserve(t0)).collect();
        for pair in slots.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= ms(99) && gap <= ms(101), "{gap:?}");
        }
        // 21 requests asked at once: the last leaves 2 s later, so any second holds <= 10.
        assert!(slots[20] - t0 >= ms(1999));
        // After a quiet period a request goes at once, without a burst allowance.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.reserve(later), later);
        assert!(limiter.reserve(later) - later >= ms(99));
    }

    #[tokio::test]
    async fn acquire_waits_for_the_slot() {
        let limiter = RateLimiter::new(50.0);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        assert!(start.elapsed() >= ms(99), "{:?}", start.elapsed());
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
    fn slowed_limiter_spaces_requests_wider() {
        let limiter = RateLimiter::new(10.0);
        let t0 = Instant::now();
        limiter.slow_down_at(t0); // 5/s: 200 ms apart
        let a = limiter.reserve(t0);
        let b = limiter.reserve(t0);
        assert!(
            a - t0 >= ms(199),
            "the next request waits a full slowed interval"
        );
        assert!(b - a >= ms(199));
    }

    #[test]
    fn each_action_has_its_own_limiter_and_counter() {
        let all = Limiters::new(10.0);
        all.action("A").limiter.slow_down();
        assert_eq!(all.action("A").limiter.current_rate(), 5.0);
        assert_eq!(all.action("B").limiter.current_rate(), 10.0);
        all.action("B").count_attempt();
        assert_eq!(all.attempts("B"), 1);
        assert_eq!(all.attempts("A"), 0);
        assert_eq!(all.attempts("C"), 0);
    }
}
