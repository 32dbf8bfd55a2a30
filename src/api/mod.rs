//! The cloud API: protocol types, parameter flattening, signing, the HTTP client and error
//! classes. Knows nothing of YAML or plans. Each API generation is a folder ([`v2`], [`v3`]);
//! what both share (configuration, credentials, errors, the limiter and transport, the neutral
//! rollback types) sits here.

pub mod config;
pub mod credentials;
pub mod error;
pub mod limiter;
pub mod mac;
pub mod pages;
pub mod rollback;
pub mod tc3;
mod transport;
pub mod v2;
pub mod v3;

pub use config::{ClientConfig, RetryPolicy, Timeouts};
pub use credentials::{Credentials, Secret};
pub use error::{Error, ErrorClass};
