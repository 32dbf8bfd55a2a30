//! A plan as a command is given it: a file, or `-` for standard input; read and checked. A
//! file that cannot be read is a plan with one diagnostic (`planrun::io`), like any other
//! problem of it.

use std::io::IsTerminal;
use std::path::Path;

use crate::plan::{self, Checked, Diagnostic};

/// Reads and checks one file; a file that cannot be read becomes a `planrun::io` diagnostic.
/// `-` reads standard input (not when it is a terminal: nobody would know it waits).
pub fn check(path: &Path, context: &plan::Context) -> (Checked, bool) {
    let stdin = path.as_os_str() == "-";
    let read = if !stdin {
        plan::check_file(path, context)
    } else if std::io::stdin().is_terminal() {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "standard input is a terminal; pipe the plan in (`planrun validate - < plan.yaml`)",
        ))
    } else {
        plan::check_reader(std::io::stdin().lock(), context)
    };
    let shown = if stdin {
        plan::STDIN.to_owned()
    } else {
        path.display().to_string()
    };
    match read {
        Ok(checked) => (checked, true),
        Err(e) => {
            let d = Diagnostic::error("planrun::io", format!("cannot read {shown}: {e}"))
                .help("check the path and the file's permissions");
            let checked = Checked {
                path: shown,
                text: String::new(),
                diagnostics: vec![d],
                resolved: None,
                index: Default::default(),
            };
            (checked, false)
        }
    }
}
