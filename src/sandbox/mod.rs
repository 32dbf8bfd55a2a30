//! sandbox: see lib.rs.
