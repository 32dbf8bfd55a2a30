//! The cloud API: protocol types, parameter flattening, signing, the HTTP client and error
//! classes. Knows nothing of YAML or plans.

pub mod answer;
pub mod client;
#[cfg(test)]
mod client_tests;
pub mod config;
pub mod credentials;
pub mod error;
pub mod limiter;
pub mod matching;
pub mod request;
pub mod rollback;
pub mod sign;
pub mod task;
pub mod tc3;
mod transport;
pub mod v3;

pub use answer::JobId;
pub use client::{Client, ClientConfig, RetryPolicy, Timeouts};
pub use credentials::{Credentials, Secret};
pub use error::{Error, ErrorClass};
pub use task::{JobPage, RollbackTask, TaskStatus};
