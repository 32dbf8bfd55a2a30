//! The cloud API: protocol types, parameter flattening, signing, the HTTP client and error
//! classes. Knows nothing of YAML or plans.

pub mod rollback;
pub mod sign;
