//! The one integration test binary: a module per area.
//!
//! One unwrap style: `.unwrap()`, whose panic names the line and the error; `.expect(...)` or
//! a formatted panic only where a message tells more than the line does. (The library denies
//! `unwrap_used`; in a test, an error that cannot happen is the test's failure.)
#![allow(clippy::unwrap_used)]

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
