//! The one integration test binary: a module per area.

mod apply;
mod bad_input;
mod cases;
mod commands;
mod compare;
mod goldens;
mod in_process;
mod interop;
mod interop_modes;
mod jobs;
mod plans;
mod prepared;
mod roundtrip;
mod sandbox;
mod saved;
mod selfhosted;
mod support;
mod terminal;
mod v3;
mod validate;
