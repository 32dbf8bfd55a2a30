//! The one integration test binary: a module per area.

mod bad_input;
mod cases;
mod validate;
