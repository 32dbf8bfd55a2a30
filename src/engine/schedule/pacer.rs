//! The engine's pacing of its own polls the status action's rate.

use std::time::Duration;

use tokio::time::Instant;

/// The engine's own share of the status action's rate: polls leave at most `rate` a second,
/// evenly spaced, so they never queue inside the client (where they would hold a connection
/// slot a submission needs, and go out in arrival order rather than by value).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pacer {
    next: Option<Instant>,
}

impl Pacer {
    /// When the next poll may leave (`None`: now).
    pub fn ready_at(&self) -> Option<Instant> {
        self.next
    }

    /// Takes the turn at `now` for a poll, at `rate` per second (infinite: no pacing). A late
    /// wake-up may use the turn it missed, never more, so no burst builds up.
    pub fn take(&mut self, now: Instant, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) {
            self.next = None;
            return;
        }
        let gap = Duration::from_secs_f64(1.0 / rate);
        let turn = match self.next {
            Some(next) => next.max(now.checked_sub(gap).unwrap_or(now)),
            None => now,
        };
        self.next = Some(turn + gap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn the_pacer_spaces_polls_at_the_rate_without_bursts() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        assert_eq!(p.ready_at(), None);
        p.take(t0, 10.0);
        assert_eq!(p.ready_at(), Some(t0 + secs(0.1)));
        p.take(t0 + secs(0.1), 10.0);
        assert_eq!(p.ready_at(), Some(t0 + secs(0.2)));
        // Idle for a while: one turn back at most, not a burst of ten.
        let late = t0 + secs(1.2);
        p.take(late, 10.0);
        assert_eq!(p.ready_at(), Some(late));
        p.take(late, 10.0);
        assert_eq!(p.ready_at(), Some(late + secs(0.1)));
        p.take(late, f64::INFINITY);
        assert_eq!(p.ready_at(), None, "no rate: no pacing");
    }
}
