//! API 2.0 of TencentDB for MySQL (`cdb.api.qcloud.com/v2/index.php`): the client, its signing,
//! the `instances.N.*` form of a submission, the answer envelope and GetCdbRollbackJob's tasks.
//! Facts it relies on: `docs/api-facts.md`.

pub mod client;
#[cfg(test)]
mod client_tests;
pub mod envelope;
pub mod matching;
pub mod model;
pub mod request;
pub mod sign;
pub mod tasks;

pub use client::{Client, DEFAULT_ENDPOINT, MAX_PAGE, ROLLBACK, ROLLBACK_JOBS};
pub use envelope::JobId;
pub use tasks::{JobPage, RollbackTask, TaskStatus};
