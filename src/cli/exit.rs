//! The exit-code table (DESIGN §2): the one place outcomes become numbers.

/// Success: valid plan, all rollbacks succeeded, all done.
pub const OK: i32 = 0;
/// Invalid plan, or some rollback failed or timed out.
pub const FAILED: i32 = 1;
/// Usage, I/O or credentials problem.
pub const USAGE: i32 = 2;
/// Interrupted or unfinished: resumable.
pub const UNFINISHED: i32 = 3;
