//! engine: see lib.rs.
