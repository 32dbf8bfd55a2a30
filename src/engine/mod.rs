//! The apply engine: batching, submission, reconciliation, tracking and the journal. Talks to
//! the API through protocol-neutral requests; reports progress as events, never draws.

pub mod batch;
pub mod request;
pub mod protocol;
pub mod journal;
pub mod state;
pub mod reconcile;
pub mod schedule;
pub mod run;
