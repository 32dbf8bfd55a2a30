//! Saved plans as the commands use them: `plan PLAN --out FILE` writes one, `apply FILE` and
//! `show FILE` read one back. Reading checks, in order: integrity (truncated, edited), the
//! planrun version, that the saved text still prepares to the very calls saved; then it says
//! whether the YAML beside it has changed since (the saved plan is what is applied).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::located::{self, Located};
use super::{shown, write_atomically};
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
    /// What became of the plan file it was made from.
    pub beside: Beside,
}

/// The plan file a saved plan was made from, as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beside {
    Unchanged,
    Changed,
    Gone,
}

/// Why a saved plan is not written, or not used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Located(#[from] located::Error),
    #[error(
        "the state directory {} cannot be recorded in a saved plan (not a UTF-8 path); pass --state-dir",
        shown(.0)
    )]
    NotUtf8(PathBuf),
    #[error("cannot write the saved plan {}: {source}", shown(.path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the saved plan {}: {source}", shown(.path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: {source}; nothing was submitted. Make it again with `planrun plan PLAN --out FILE`.",
        shown(.path)
    )]
    Invalid { path: PathBuf, source: saved::Error },
    #[error(
        "{} was made by planrun {}, this is planrun {}; nothing was submitted. Make it again with this version.",
        shown(.path),
        visible(.made_by),
        env!("CARGO_PKG_VERSION")
    )]
    Version { path: PathBuf, made_by: String },
    #[error("{}: the plan it holds is not valid; nothing was submitted.", shown(.0))]
    PlanInvalid(PathBuf),
    #[error(
        "{}: its calls are not what its plan prepares to; nothing was submitted. Make it again with `planrun plan PLAN --out FILE`.",
        shown(.0)
    )]
    Mismatch(PathBuf),
    #[error(
        "the journal {} has moved on since the saved plan was made; nothing was submitted. Review the situation (`planrun status`) and save the plan again.",
        shown(.0)
    )]
    JournalMoved(PathBuf),
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

/// Writes `prepared` (made from the plan at `path`, `made_at`) to `out`: a temporary file
/// beside it, then a rename, so that `out` is never half written. Says what finding the
/// plan's journal came upon.
pub fn write(
    out: &Path,
    path: &Path,
    (checked, resolved, prepared): (&Checked, &ResolvedPlan, &Prepared),
    state_dir: Option<&Path>,
    made_at: DateTime<Utc>,
) -> Result<Option<located::Note>, Error> {
    let (journal, note) = journal_at(path, checked, resolved, prepared, state_dir)?;
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
    write_atomically(out, &doc.to_bytes()).map_err(|source| Error::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(note)
}

/// Which journal the plan at `path` belongs to, where it lives (made absolute: the saved
/// file may be applied from another directory) and how it stands now.
fn journal_at(
    path: &Path,
    checked: &Checked,
    resolved: &ResolvedPlan,
    prepared: &Prepared,
    state_dir: Option<&Path>,
) -> Result<(JournalAt, Option<located::Note>), Error> {
    let at = Located::of_plan(path, &checked.text, &resolved.name, state_dir, false)?;
    let (journal, note) = at.readable(&resolved.name, &prepared.hash);
    let digest = journal_digest(&journal);
    let absolute = std::path::absolute(&at.dir).ok();
    let Some(dir) = absolute.as_deref().and_then(Path::to_str) else {
        return Err(Error::NotUtf8(at.dir));
    };
    let journal = JournalAt {
        key: at.key,
        state_dir: dir.to_owned(),
        digest,
    };
    Ok((journal, note))
}

/// Reads and checks a saved plan; any doubt submits nothing.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let saved = SavedPlan::from_bytes(&bytes).map_err(|source| Error::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    if saved.planrun != env!("CARGO_PKG_VERSION") {
        return Err(Error::Version {
            path: path.to_path_buf(),
            made_by: saved.planrun,
        });
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
        return Err(Error::PlanInvalid(path.to_path_buf()));
    };
    resolved.batch_size = saved.batch_size;
    let prepared = prepare(&resolved, saved.api, saved.batch_size);
    if !saved.matches(&prepared) {
        return Err(Error::Mismatch(path.to_path_buf()));
    }
    let beside = match std::fs::read(&saved.path) {
        Ok(now) if now == saved.text.as_bytes() => Beside::Unchanged,
        Ok(_) => Beside::Changed,
        Err(_) => Beside::Gone,
    };
    Ok(Loaded {
        saved,
        checked,
        resolved,
        prepared,
        beside,
    })
}

/// Refuses a saved plan whose journal has moved on since it was made (another apply ran, or a
/// cancel): what was approved was another situation.
pub fn check_journal(saved: &SavedPlan, journal: &Path) -> Result<(), Error> {
    if journal_digest(journal) == saved.journal {
        return Ok(());
    }
    Err(Error::JournalMoved(journal.to_path_buf()))
}
