//! The plan language: model, loading with a span index, rules and diagnostics.
//! Never imports `api`, `engine`, HTTP or async code.

pub mod diagnostic;
pub mod load;
pub mod model;
pub mod node;
pub mod resolved;
pub mod rules;
pub mod text;

use std::path::Path;

pub use diagnostic::{Diagnostic, Severity};
pub use model::{Provider, Strategy};
pub use resolved::{DbTables, Instance, Rename, ResolvedPlan, SelfHosted};
pub use rules::Context;

/// One plan file, checked: its text (for labels), every problem, and the resolved plan when
/// there is no error.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The path as given by the user (shown in diagnostics).
    pub path: String,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
    pub resolved: Option<ResolvedPlan>,
    /// JSON Pointer → spans of the plan's nodes (later checks, such as the rollback-window
    /// preflight, point their diagnostics at nodes too).
    pub index: load::SpanIndex,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn has_warnings(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Warning)
    }
}

/// Checks plan text. `path` names it in messages; its stem is the default plan name.
pub fn check_bytes(path: &str, bytes: &[u8], context: &Context) -> Checked {
    let (text, loaded) = load::load_bytes(bytes);
    let stem = if path == STDIN {
        "stdin"
    } else {
        Path::new(path)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("plan")
    };
    let (diagnostics, resolved) = rules::check(&loaded, stem, context);
    Checked {
        path: path.to_owned(),
        text,
        diagnostics,
        resolved,
        index: loaded.index,
    }
}

/// How a plan read from standard input (`-`) is named in messages; its default name is
/// `stdin`.
pub const STDIN: &str = "<stdin>";

/// Reads (at most one byte past the size limit, so the size rule can speak) and checks a plan
/// from `input`, named [`STDIN`].
pub fn check_reader(input: impl std::io::Read, context: &Context) -> std::io::Result<Checked> {
    let limit = u64::try_from(load::MAX_PLAN_BYTES).unwrap_or(u64::MAX) + 1;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut input.take(limit), &mut bytes)?;
    Ok(check_bytes(STDIN, &bytes, context))
}

/// Reads and checks a plan file. Only reading can fail here; every problem of the content is
/// a diagnostic.
pub fn check_file(path: &Path, context: &Context) -> std::io::Result<Checked> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if !metadata.is_file() {
        // Opening a FIFO blocks until a writer comes, and a device may never end.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is not a regular file (a FIFO, device or socket); to read a plan from a pipe, pass `-` and send it on standard input",
        ));
    }
    if metadata.len() > u64::try_from(load::MAX_PLAN_BYTES).unwrap_or(u64::MAX) {
        return Ok(Checked {
            path: path.display().to_string(),
            text: String::new(),
            diagnostics: vec![load::too_large(metadata.len())],
            resolved: None,
            index: load::SpanIndex::default(),
        });
    }
    // Refuse to slurp something huge (a device, a giant log) before the size rule can see it.
    let limit = u64::try_from(load::MAX_PLAN_BYTES).unwrap_or(u64::MAX) + 1;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path)?, limit),
        &mut bytes,
    )?;
    Ok(check_bytes(&path.display().to_string(), &bytes, context))
}
