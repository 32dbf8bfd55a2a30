//! The one integration test binary: a module per area.

mod bad_input;
mod cases;
mod interop;
mod jobs;
mod plans;
mod roundtrip;
mod sandbox;
mod v3;
mod validate;
