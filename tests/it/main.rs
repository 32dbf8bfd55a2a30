//! The one integration test binary: a module per area.

mod apply;
mod bad_input;
mod cases;
mod commands;
mod interop;
mod jobs;
mod plans;
mod roundtrip;
mod sandbox;
mod selfhosted;
mod terminal;
mod v3;
mod validate;
