//! When to poll a task next, and how much that poll is worth.
//!
//! From a task's progress over time the scheduler estimates when it ends. A poll planned for
//! just after that estimate is [`Kind::Likely`]: it will probably see the task finished. A poll
//! at a task not yet seen running — just accepted, or still waiting — is [`Kind::First`]; every
//! other poll — an end still far off, an error to try again after — is a [`Kind::Check`]. When
//! the rate limit cannot serve every due poll at once, the engine serves likely polls first,
//! then checks, then first polls ([`PollQueue`]), so the budget goes to seeing ends, not to
//! refreshing estimates.
//!
//! The rate is measured over the longest baseline available (from the first poll that saw the
//! task running to the latest), so whole-percent progress becomes more precise with every
//! poll. An end further away than `cadence.max` is not trusted blindly: a check comes just
//! before the earliest the task may end (at least halfway), so the estimate is refined before
//! the likely poll; while first polls wait for the budget, an end already known within a few
//! poll intervals skips that refinement ([`History::replan`]).

mod history;
mod lifespans;
mod pacer;
mod queue;

pub use history::History;
pub use lifespans::{Lifespans, Quantiles};
pub use pacer::Pacer;
pub use queue::PollQueue;

use std::time::Duration;

use tokio::time::Instant;

/// What was seen of one task at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub at: Instant,
    pub progress: Option<u8>,
}

/// Poll timing bounds: never sooner than `min` after a poll; a task without an estimate is
/// polled at least every `max`.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub min: Duration,
    pub max: Duration,
}

/// What a planned poll is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Planned just after the estimated end: served first.
    Likely,
    /// A task seen running, its end not yet near enough to plan (or a poll that failed):
    /// served with what budget the likely polls leave.
    Check,
    /// A task not yet seen running: served with what budget is left, and started early when
    /// more wait than the rate can serve by their time.
    First,
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 1e7))
}
