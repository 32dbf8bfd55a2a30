//! What `report` renders, found: the journal of a plan (as `status` finds it), of a saved
//! plan (the one it records) or a journal file itself; its records, and what the plan asks
//! for (the record's fallback for journals written before they kept it). The incident record
//! is built and rendered by [`crate::record`].

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::located::{self, Located};
use crate::engine::journal::{Journal, Record};
use crate::engine::planned::PlanInfo;
use crate::engine::prepare::Prepared;
use crate::plan::ResolvedPlan;

/// What `report` was given, read.
pub enum Given<'a> {
    /// A journal file.
    Journal(&'a Path),
    /// A plan, or the plan a saved plan holds, with its journal.
    Plan(Box<GivenPlan>),
}

/// A plan given to `report`: its path, the plan prepared, where its journal is.
pub struct GivenPlan {
    pub path: PathBuf,
    pub resolved: ResolvedPlan,
    pub prepared: Prepared,
    pub at: Located,
}

/// The journal's records and, when a plan was given, what it asks for and the plan itself.
pub struct History {
    pub records: Vec<Record>,
    pub plan: Option<(PlanInfo, PathBuf, ResolvedPlan)>,
    pub journal: PathBuf,
    /// No apply runs over this journal now (its lock is free): its submitted and running
    /// instances are `interrupted` ([`crate::engine::state::RunState::interrupt`]).
    pub interrupted: bool,
}

/// Why there is nothing to report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", .path.display())]
    Given {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Located(#[from] located::Error),
    /// Only an `apply --sandbox` of the plan is recorded.
    #[error(
        "No apply of plan {plan} is recorded (journal {}), but an `apply --sandbox` is: see it with\n  planrun report {} --sandbox",
        .journal.display(),
        .given.display()
    )]
    OnlySandbox {
        plan: String,
        journal: PathBuf,
        given: PathBuf,
    },
    #[error("No apply is recorded (journal {}).", .0.display())]
    NothingRecorded(PathBuf),
    #[error("cannot read the journal {}: {source}", .path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A journal's first line is one of its records; a plan's never is.
pub fn is_journal(path: &Path) -> Result<bool, Error> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|source| Error::Given {
        path: path.to_path_buf(),
        source,
    })?;
    // A record's line is short; a plan's first line may be long, or not text at all.
    let mut line = String::new();
    let read = BufReader::new(file.take(64 * 1024)).read_line(&mut line);
    Ok(matches!(read, Ok(n) if n > 0) && serde_json::from_str::<Record>(line.trim()).is_ok())
}

/// The records of the journal `given` names (`sandbox`: of its `apply --sandbox`); what
/// finding it came upon ([`Located::readable`]) is said to `say`.
pub fn find(
    given: Given<'_>,
    sandbox: bool,
    say: &mut dyn FnMut(located::Note),
) -> Result<History, Error> {
    let (journal, plan) = match given {
        Given::Journal(path) => (path.to_path_buf(), None),
        Given::Plan(plan) => {
            let GivenPlan {
                path,
                resolved,
                prepared,
                at,
            } = *plan;
            let mut readable = |sandboxed| {
                let (journal, note) = at
                    .sandboxed(sandboxed)
                    .readable(&resolved.name, &prepared.hash);
                if let Some(note) = note {
                    say(note);
                }
                journal
            };
            let (journal, demo) = (readable(sandbox), readable(true));
            if !sandbox && !journal.exists() && demo.exists() {
                return Err(Error::OnlySandbox {
                    plan: resolved.name,
                    journal,
                    given: path,
                });
            }
            let info = PlanInfo::of(&resolved, &prepared);
            (journal, Some((info, path, resolved)))
        }
    };
    // Free before the journal is read and after: an apply running while it was read may
    // have finished since, and what was read of it is not an interrupted run.
    let idle = || crate::engine::store::apply_running(&journal) == Some(false);
    let idle_before = idle();
    match Journal::read(&journal) {
        Ok(records) if records.is_empty() => Err(Error::NothingRecorded(journal)),
        Ok(records) => Ok(History {
            records,
            plan,
            interrupted: idle_before && idle(),
            journal,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NothingRecorded(journal)),
        Err(source) => Err(Error::Unreadable {
            path: journal,
            source,
        }),
    }
}

/// What `planrun compare` kept beside the journal, if it ran and its file reads.
pub fn kept_comparison(journal: &Path) -> Option<crate::compare::Comparison> {
    let bytes = std::fs::read(super::compare::kept_path(journal)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_is_told_from_a_plan_by_its_first_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let journal = dir.path().join("p.journal");
        std::fs::write(
            &journal,
            "{\"record\":\"complete\",\"at\":\"2026-11-20T03:00:00Z\"}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plan = dir.path().join("p.yaml");
        std::fs::write(&plan, "version: 1\n").unwrap_or_else(|e| panic!("{e}"));
        let json_plan = dir.path().join("q.yaml");
        std::fs::write(&json_plan, "{\"version\": 1}\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(is_journal(&journal), Ok(true)));
        assert!(matches!(is_journal(&plan), Ok(false)));
        assert!(matches!(is_journal(&json_plan), Ok(false)));
        assert!(matches!(
            is_journal(&dir.path().join("none")),
            Err(Error::Given { .. })
        ));
    }
}
