//! What tests that run the binary share: a `planrun` command that inherits nothing of whoever
//! runs the tests (no credentials, no endpoint, no colour, a fixed width).

use std::path::Path;
use std::process::{Command, Stdio};

/// `planrun` with a cleared environment: `HOME` (and the working directory) is `home`, no
/// colour, 100 columns; the test adds what it means to set.
pub fn planrun(home: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("planrun"));
    cmd.env_clear()
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .current_dir(home)
        .stdin(Stdio::null());
    cmd
}
