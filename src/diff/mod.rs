//! diff: see lib.rs.
