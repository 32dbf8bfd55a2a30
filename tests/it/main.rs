//! The one integration test binary: a module per area.

mod interop;
mod jobs;
mod plans;
mod roundtrip;
mod sandbox;
mod v3;
