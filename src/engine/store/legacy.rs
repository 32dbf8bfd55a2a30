//! Journals of planrun before journals belonged to plan files: named after the plan's `name:`
//! alone (`NAME.journal`), so that two plans of one name shared one. Such a journal, found where
//! this plan's own would be, is this plan's only when it records this plan's hash: then it is
//! adopted (moved to the plan's own name). Any other is left exactly where it is.

use std::path::{Path, PathBuf};

use super::Error;
use super::key::{legacy_journal_name, lock_path};
use crate::engine::journal::{Journal, Lock, Want};
use crate::engine::state::RunState;

/// An older planrun's journal where this plan's would be, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Legacy {
    /// It records this very plan (its hash): this plan's journal, under its old name.
    Same(PathBuf),
    /// A complete journal of another plan: another file of the same name, or an earlier
    /// version of this one. Never touched.
    Other(PathBuf),
    /// Unfinished and of another plan, or unreadable: whose it is cannot be told.
    Unsure(PathBuf),
}

impl Legacy {
    pub fn path(&self) -> &Path {
        match self {
            Self::Same(p) | Self::Other(p) | Self::Unsure(p) => p,
        }
    }
}

/// The older journal of a plan named `plan` beside `own` (this plan's journal), when `own`
/// holds nothing yet: once the plan has a journal of its own, an older one is not its.
pub fn find(own: &Path, plan: &str, plan_hash: &str, sandboxed: bool) -> Option<Legacy> {
    if std::fs::metadata(own).is_ok_and(|m| m.len() > 0) {
        return None;
    }
    let path = own.with_file_name(legacy_journal_name(plan, sandboxed));
    if path == own || !path.exists() {
        return None;
    }
    // The instances do not matter here: only the plan's hash and whether the run completed.
    let mut state = RunState::new(std::iter::empty());
    match Journal::read_each(&path, Want::State, |r| state.apply(&r)) {
        Ok(0) => None,
        Ok(_) if state.plan_hash.as_deref() == Some(plan_hash) => Some(Legacy::Same(path)),
        Ok(_) if state.complete.is_some() => Some(Legacy::Other(path)),
        Ok(_) | Err(_) => Some(Legacy::Unsure(path)),
    }
}

/// Moves this plan's older journal `from` to `own`, under the plan's lock (`_own`) and the
/// older journal's own lock, which an older planrun applying it holds: a journal in use is
/// never moved. The file is renamed whole, never copied.
pub fn adopt(_own: &Lock, from: &Path, own: &Path, plan: &str) -> Result<(), Error> {
    let old = lock_path(from);
    let _old = match Lock::try_acquire(&old) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return Err(Error::Locked {
                plan: plan.to_owned(),
                path: old,
            });
        }
        Err(source) => {
            return Err(Error::Archive {
                path: from.to_path_buf(),
                source,
            });
        }
    };
    std::fs::rename(from, own).map_err(|source| Error::Archive {
        path: own.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::Record;
    use chrono::Utc;

    fn write(path: &Path, hash: &str, complete: bool) {
        let (mut journal, _) = Journal::open(path).unwrap();
        let at = Utc::now();
        let mut records = vec![Record::Start {
            plan: "p".into(),
            plan_hash: hash.into(),
            at,
            by: None,
        }];
        if complete {
            records.push(Record::Complete { at });
        }
        journal.append_all(&records).unwrap();
    }

    #[test]
    fn an_older_journal_is_this_plans_only_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("p-0123456789abcdef.journal");
        let old = dir.path().join("p.journal");
        assert_eq!(find(&own, "p", "h", false), None, "nothing there");
        write(&old, "h", true);
        assert_eq!(find(&own, "p", "h", false), Some(Legacy::Same(old.clone())));
        assert_eq!(
            find(&own, "p", "other", false),
            Some(Legacy::Other(old.clone()))
        );
        std::fs::remove_file(&old).unwrap();
        write(&old, "h", false);
        assert_eq!(
            find(&own, "p", "other", false),
            Some(Legacy::Unsure(old.clone()))
        );
        // A sandbox journal is looked for under its own old name.
        assert_eq!(find(&own, "p", "h", true), None);
        // Once the plan has a journal of its own, the older one is not looked at.
        write(&own, "h", false);
        assert_eq!(find(&own, "p", "h", false), None);
    }

    #[test]
    fn adopting_moves_the_journal_whole_unless_an_older_apply_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("p-0123456789abcdef.journal");
        let old = dir.path().join("p.journal");
        write(&old, "h", false);
        let before = std::fs::read(&old).unwrap();
        let mine = crate::engine::store::lock(&own, "p").unwrap();
        let theirs = Lock::try_acquire(&lock_path(&old))
            .unwrap()
            .unwrap_or_else(|| panic!("free"));
        assert!(matches!(
            adopt(&mine, &old, &own, "p"),
            Err(Error::Locked { .. })
        ));
        assert!(old.exists() && !own.exists());
        drop(theirs);
        adopt(&mine, &old, &own, "p").unwrap();
        assert!(!old.exists());
        assert_eq!(std::fs::read(&own).ok(), Some(before));
    }
}
