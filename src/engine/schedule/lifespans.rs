//! What the run has learned of its tasks: how long they wait and how long they live.

use std::time::Duration;

use super::seconds;

/// What the tasks of this run taught about tasks in general: the share of their life spent
/// waiting before their progress starts to move, and how long they live. Rollbacks of one
/// incident tend to poll alike; when they do not, the spread between the low and high
/// quantiles says so, and estimates from one poll get a wide bound (so are refined before
/// being trusted).
#[derive(Debug, Clone, Default)]
pub struct Lifespans {
    shares: Ring,
    lives: Ring,
}

/// The 10th, 50th and 90th percentiles of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    pub low: f64,
    pub mid: f64,
    pub high: f64,
}

impl Lifespans {
    /// A task that waited `share` of a life of `life` seconds.
    pub fn record(&mut self, share: f64, life: f64) {
        if share.is_finite() && life.is_finite() && life > 0.0 {
            self.shares.record(share.clamp(0.0, 0.95));
            self.lives.record(life);
        }
    }

    /// The 10th, 50th and 90th percentiles of the waiting shares, once there are enough.
    pub fn shares(&mut self) -> Option<Quantiles> {
        self.shares.quantiles()
    }

    /// A task seen finished `life` after its acceptance (it lived that long at most).
    pub fn record_finished(&mut self, life: Duration) {
        self.lives.record(life.as_secs_f64());
    }

    /// The 10th percentile of the lives, once there are enough samples.
    pub fn short_life(&mut self) -> Option<Duration> {
        self.lives.quantiles().map(|q| seconds(q.low))
    }
}

/// The latest samples of one measure (at most [`Ring::KEEP`]) and their quantiles.
#[derive(Debug, Clone, Default)]
struct Ring {
    samples: Vec<f64>,
    next: usize,
    cached: Option<Quantiles>,
}

impl Ring {
    const KEEP: usize = 256;
    /// Fewer samples than this say nothing.
    const ENOUGH: usize = 8;

    fn record(&mut self, value: f64) {
        if self.samples.len() < Self::KEEP {
            self.samples.push(value);
        } else {
            self.samples[self.next] = value;
            self.next = (self.next + 1) % Self::KEEP;
        }
        self.cached = None;
    }

    fn quantiles(&mut self) -> Option<Quantiles> {
        if self.samples.len() < Self::ENOUGH {
            return None;
        }
        if self.cached.is_none() {
            let mut sorted = self.samples.clone();
            sorted.sort_by(f64::total_cmp);
            let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            self.cached = Some(Quantiles {
                low: at(0.1),
                mid: at(0.5),
                high: at(0.9),
            });
        }
        self.cached
    }
}
