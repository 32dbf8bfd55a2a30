//! When to poll a task next: from its progress over time, estimate when it ends and look
//! shortly after; without progress, back off geometrically. Never sooner than `min`, never
//! later than `max` after the last look.

use std::time::{Duration, Instant};

/// What was last seen of one task.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub at: Instant,
    pub progress: Option<u8>,
}

/// Poll timing bounds.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub min: Duration,
    pub max: Duration,
}

/// The next poll time given the previous and the latest observation.
pub fn next_poll(
    cadence: Cadence,
    previous: Option<Seen>,
    latest: Seen,
    last_gap: Duration,
) -> Instant {
    let gap = match (previous, latest.progress) {
        (Some(prev), Some(now_p))
            if prev.progress.is_some_and(|p| now_p > p) && latest.at > prev.at =>
        {
            let done = f64::from(now_p - prev.progress.unwrap_or(0));
            let rate = done / (latest.at - prev.at).as_secs_f64(); // percent per second
            let remaining = f64::from(100u8.saturating_sub(now_p)) / rate;
            // Look just after the estimated end; a little margin avoids a poll that is
            // a hair too early and costs a second one.
            Duration::from_secs_f64((remaining * 1.05).max(0.0))
        }
        // No measurable progress yet: back off from the last gap.
        _ => last_gap.mul_f64(1.5),
    };
    latest.at + gap.clamp(cadence.min, cadence.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CADENCE: Cadence = Cadence {
        min: Duration::from_millis(200),
        max: Duration::from_secs(60),
    };

    #[test]
    fn progress_predicts_the_end() {
        let t0 = Instant::now();
        let prev = Seen {
            at: t0,
            progress: Some(20),
        };
        let now = Seen {
            at: t0 + Duration::from_secs(10),
            progress: Some(40),
        };
        // 2 %/s, 60 % left → about 30 s (plus 5 %).
        let next = next_poll(CADENCE, Some(prev), now, Duration::from_secs(10)) - now.at;
        assert!(
            next >= Duration::from_secs(30) && next <= Duration::from_secs(32),
            "{next:?}"
        );
    }

    #[test]
    fn without_progress_it_backs_off_within_bounds() {
        let t0 = Instant::now();
        let now = Seen {
            at: t0,
            progress: None,
        };
        assert_eq!(
            next_poll(CADENCE, None, now, Duration::from_secs(2)) - t0,
            Duration::from_secs(3)
        );
        assert_eq!(
            next_poll(CADENCE, None, now, Duration::from_secs(59)) - t0,
            Duration::from_secs(60)
        );
        assert_eq!(
            next_poll(CADENCE, None, now, Duration::ZERO) - t0,
            Duration::from_millis(200)
        );
    }
}
