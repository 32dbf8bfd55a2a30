//! Where `planrun new` puts the plan: validated as `validate` would, then written whole (a
//! temporary file renamed into place) or printed; and the schema modeline's path from there.

use std::path::Path;

use super::super::{diagnostics, exit, term};
use super::NewArgs;

/// The schema as seen from the plan's directory: the nearest `schemas/plan.schema.json` up
/// the tree, else where it is from `plans/` of a checkout.
pub(super) fn schema_path(out: Option<&Path>) -> String {
    const FALLBACK: &str = "../schemas/plan.schema.json";
    let dir = out.and_then(|o| o.parent()).map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    let Some(dir) = dir.and_then(|d| d.canonicalize().ok()) else {
        return FALLBACK.to_owned();
    };
    for (up, ancestor) in dir.ancestors().enumerate() {
        if ancestor.join("schemas/plan.schema.json").is_file() {
            return format!("{}schemas/plan.schema.json", "../".repeat(up));
        }
    }
    FALLBACK.to_owned()
}

/// Validates the text as `validate` would, then writes it (a temporary file renamed into
/// place) or prints it.
#[allow(clippy::print_stdout)]
pub(super) fn write(
    args: &NewArgs,
    text: &str,
    count: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> i32 {
    let shown = args
        .out
        .as_ref()
        .map_or_else(|| "new-plan.yaml".to_owned(), |p| p.display().to_string());
    let context = crate::plan::Context {
        now,
        allowed_regions: args.allow_region.clone(),
    };
    let checked = crate::plan::check_bytes(&shown, text.as_bytes(), &context);
    if !checked.diagnostics.is_empty() {
        err!(
            "{}",
            diagnostics::human(
                std::slice::from_ref(&checked),
                term::stderr_colour(),
                term::width()
            )
        );
    }
    if checked.has_errors() {
        errln!("error: the plan these flags make is invalid (see above); nothing was written");
        return exit::FAILED;
    }
    let Some(path) = &args.out else {
        out!("{text}");
        return exit::OK;
    };
    let tmp = path.with_extension("tmp-new");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        errln!("error: cannot write {}: {e}", path.display());
        return exit::USAGE;
    }
    errln!(
        "wrote {} ({count} instance(s)); review it, then `planrun plan {} --preflight`",
        path.display(),
        path.display()
    );
    exit::OK
}
