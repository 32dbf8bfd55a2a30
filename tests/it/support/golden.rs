//! The one golden mechanism: what a test produced, compared byte for byte with a file checked
//! in under `tests/` (the goldens of `plan` and `apply --sandbox`, the diagnostic cases, the
//! Markdown record). `PLANRUN_UPDATE_GOLDENS=1 cargo test --test it` writes the files instead
//! of comparing them, after a deliberate change; review their diff like code.

use std::path::Path;

/// The variable that makes goldens be written instead of compared.
pub const UPDATE: &str = "PLANRUN_UPDATE_GOLDENS";

/// Whether this run writes goldens instead of comparing them.
pub fn updating() -> bool {
    std::env::var_os(UPDATE).is_some()
}

/// Compares `got` with the golden at `path`, or writes it when updating: `None` when they are
/// equal (or it was written), else what differs, for the test's failure.
pub fn differs(path: &Path, got: &str) -> Option<String> {
    if updating() {
        std::fs::write(path, got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(want) if want == got => None,
        Ok(want) => Some(format!(
            "{} differs ({UPDATE}=1 rewrites it):\n--- want\n{want}\n--- got\n{got}",
            path.display()
        )),
        Err(e) => Some(format!(
            "{}: {e} ({UPDATE}=1 writes it); got:\n{got}",
            path.display()
        )),
    }
}

/// [`differs`], failing the test when it does.
pub fn check(path: &Path, got: &str) {
    if let Some(failure) = differs(path, got) {
        panic!("{failure}");
    }
}

/// A checked-in file a test makes that cannot be compared byte for byte (a screenshot differs
/// from run to run): copied from `made` to `path` when updating, left alone otherwise.
pub fn refresh(path: &Path, made: &Path) {
    if updating() {
        std::fs::copy(made, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
