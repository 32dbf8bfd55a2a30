//! Saved plans on the command line: `plan PLAN --out FILE` writes one, `apply FILE` and
//! `show FILE` read one back. Reading checks, in order: integrity (truncated, edited), the
//! planrun version, that the saved text still prepares to the very calls saved; then it says
//! when the YAML beside it has changed since (the saved plan is what is applied).

use std::path::{Path, PathBuf};

use super::exit;
use super::located::Located;
use crate::engine::prepare::{Prepared, prepare};
use crate::engine::saved::{self, JournalAt, SavedPlan};
use crate::plan::text::visible;
use crate::plan::{Checked, ResolvedPlan};

/// A saved plan read back, with the plan it holds checked again.
pub struct Loaded {
    pub saved: SavedPlan,
    pub checked: Checked,
    pub resolved: ResolvedPlan,
    pub prepared: Prepared,
}

/// Whether `path` holds a saved plan (its first bytes say so); unreadable files are not, and
/// are left to the YAML path to report.
pub fn is_saved(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let n = std::io::Read::read(&mut file, &mut head).unwrap_or(0);
    saved::is_saved(&head[..n])
}

/// SHA-256 of the journal at `path`; `None` when there is none (or it is empty).
pub fn journal_digest(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .filter(|b| !b.is_empty())
        .map(|b| saved::digest(&b))
}

/// Writes `prepared` (made from the plan at `path`) to `out`: a temporary file beside it,
/// then a rename, so that `out` is never half written.
pub fn write(
    out: &Path,
    path: &Path,
    checked: &Checked,
    resolved: &ResolvedPlan,
    prepared: &Prepared,
    state_dir: Option<PathBuf>,
) -> Result<(), i32> {
    let made_at = super::term::now().map_err(|e| {
        errln!("error: {e}");
        exit::USAGE
    })?;
    let journal = journal_at(path, checked, resolved, prepared, state_dir.as_deref())?;
    let doc = SavedPlan::new(
        &path.display().to_string(),
        &checked.text,
        &resolved.name,
        prepared,
        resolved
            .instances
            .iter()
            .map(|i| i.rollback_time.clone())
            .collect(),
        made_at,
        journal,
    );
    let fail = |e: std::io::Error| {
        errln!(
            "error: cannot write the saved plan {}: {e}",
            visible(&out.display().to_string())
        );
        exit::USAGE
    };
    super::report::write_atomically(out, &doc.to_bytes()).map_err(fail)
}

/// Which journal the plan at `path` belongs to, where it lives (made absolute: the saved
/// file may be applied from another directory) and how it stands now.
fn journal_at(
    path: &Path,
    checked: &Checked,
    resolved: &ResolvedPlan,
    prepared: &Prepared,
    state_dir: Option<&Path>,
) -> Result<JournalAt, i32> {
    let at = Located::of_plan(path, &checked.text, &resolved.name, state_dir, false)?;
    let digest = journal_digest(&at.readable(&resolved.name, &prepared.hash));
    let absolute = std::path::absolute(&at.dir).ok();
    let Some(dir) = absolute.as_deref().and_then(Path::to_str) else {
        errln!(
            "error: the state directory {} cannot be recorded in a saved plan (not a UTF-8 path); pass --state-dir",
            visible(&at.dir.display().to_string())
        );
        return Err(exit::USAGE);
    };
    Ok(JournalAt {
        key: at.key,
        state_dir: dir.to_owned(),
        digest,
    })
}

/// Reads and checks a saved plan; any doubt submits nothing (exit 2).
pub fn load(path: &Path) -> Result<Loaded, i32> {
    let shown = path.display().to_string();
    let shown = visible(&shown);
    let bytes = std::fs::read(path).map_err(|e| {
        errln!("error: cannot read the saved plan {shown}: {e}");
        exit::USAGE
    })?;
    let saved = SavedPlan::from_bytes(&bytes).map_err(|e| {
        errln!("error: {shown}: {e}; nothing was submitted. Make it again with `planrun plan PLAN --out FILE`.");
        exit::USAGE
    })?;
    let ours = env!("CARGO_PKG_VERSION");
    if saved.planrun != ours {
        errln!(
            "error: {shown} was made by planrun {}, this is planrun {ours}; nothing was submitted. Make it again with this version.",
            visible(&saved.planrun)
        );
        return Err(exit::USAGE);
    }
    // Judged as when it was made: then, and with the regions its calls name (they passed
    // the region check, or `--allow-region`, when it was made; the digest keeps them so).
    let context = crate::plan::Context {
        now: saved.made_at,
        allowed_regions: saved
            .calls
            .iter()
            .filter_map(|c| c.region.clone())
            .collect(),
    };
    let checked = crate::plan::check_bytes(&saved.path, saved.text.as_bytes(), &context);
    let Some(mut resolved) = checked.resolved.clone().filter(|_| !checked.has_errors()) else {
        errln!("error: {shown}: the plan it holds is not valid; nothing was submitted.");
        return Err(exit::USAGE);
    };
    resolved.batch_size = saved.batch_size;
    let prepared = prepare(&resolved, saved.api, saved.batch_size);
    if !saved.matches(&prepared) {
        errln!(
            "error: {shown}: its calls are not what its plan prepares to; nothing was submitted. Make it again with `planrun plan PLAN --out FILE`."
        );
        return Err(exit::USAGE);
    }
    let plan_path = visible(&saved.path);
    match std::fs::read(&saved.path) {
        Ok(now) if now == saved.text.as_bytes() => {}
        Ok(_) => errln!(
            "note: {plan_path} has changed since {shown} was saved; the saved plan is what is used"
        ),
        Err(_) => errln!(
            "note: {plan_path} is gone since {shown} was saved; the saved plan is what is used"
        ),
    }
    Ok(Loaded {
        saved,
        checked,
        resolved,
        prepared,
    })
}

/// Refuses a saved plan whose journal has moved on since it was made (another apply ran, or a
/// cancel): what was approved was another situation.
pub fn check_journal(saved: &SavedPlan, journal: &Path) -> Result<(), i32> {
    if journal_digest(journal) == saved.journal {
        return Ok(());
    }
    errln!(
        "error: the journal {} has moved on since the saved plan was made; nothing was submitted. Review the situation (`planrun status`) and save the plan again.",
        visible(&journal.display().to_string())
    );
    Err(exit::USAGE)
}
