//! The apply engine: batching, submission, reconciliation, tracking and the journal. Talks to
//! the API through protocol-neutral requests; reports progress as events, never draws.

pub mod any;
pub mod apply;
pub mod batch;
pub mod gate;
pub mod journal;
pub mod listing;
pub mod local;
pub mod objects;
pub mod ops;
pub mod plan_hash;
pub mod planned;
pub mod prepare;
pub mod protocol;
pub mod reconcile;
pub mod report;
pub mod request;
pub mod run;
pub mod saved;
pub mod schedule;
pub mod state;
pub mod store;
pub mod v2;
pub mod v3;
pub mod verify;
pub mod window;
