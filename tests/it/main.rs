//! The one integration test binary: a module per area.

mod apply;
mod interop;
mod jobs;
mod plans;
mod roundtrip;
mod sandbox;
