//! The one integration test binary: a module per area.

mod interop;
mod plans;
mod sandbox;
