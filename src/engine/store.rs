//! The state of one plan on disk: where its journal and lock live and what they are called
//! (`key`; an older planrun's journal of the plan: `legacy`), what an existing journal
//! means for the next apply (resume, done, set aside, or refuse), setting an old journal
//! aside, and the one replay of a journal into a [`RunState`]. The CLI says the errors;
//! nothing here prints.

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::journal::{Journal, Lock, Record, Want};
use super::state::{RunState, Status};

/// What the journal on disk means for `apply` ([`Store::inspect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No journal: a first apply.
    Nothing,
    /// An unfinished apply of this same plan: resume it.
    Unfinished,
    /// This plan was applied completely: nothing to do without `--restart`.
    Complete,
    /// Start over: the old journal is set aside (kept) before anything is written.
    SetAside,
}

/// Why the state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Resuming from an unreadable journal cannot be trusted (`--restart` sets it aside).
    #[error("cannot read the journal {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An unfinished journal of another version of the plan: resuming would mix two plans.
    #[error("plan {plan} changed since its unfinished apply (journal {path})")]
    PlanChanged { plan: String, path: PathBuf },
    #[error("another `planrun apply` of plan {plan} is running (lock {path})")]
    Locked { plan: String, path: PathBuf },
    #[error("cannot create the state directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set the old journal aside ({path}): {source}")]
    Archive {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One plan's journal (its instances in plan order, the hash it must carry).
#[derive(Debug, Clone)]
pub struct Store {
    pub journal_path: PathBuf,
    plan: String,
    ids: Vec<String>,
    plan_hash: String,
    /// `apply --sandbox`: its journal is its own, always started fresh (the emulator is new).
    sandboxed: bool,
}

/// `.planrun/` beside the plan, unless `state_dir` says where.
pub fn state_dir(plan_path: &Path, state_dir: Option<&Path>) -> PathBuf {
    state_dir.map_or_else(
        || {
            plan_path
                .parent()
                .unwrap_or(Path::new("."))
                .join(".planrun")
        },
        Path::to_path_buf,
    )
}

mod key;
pub mod legacy;
pub use key::{JournalKey, Origin, legacy_journal_name, lock_path};

/// Takes the lock of the journal at `journal` without waiting (creating its directory).
pub fn lock(journal: &Path, plan: &str) -> Result<Lock, Error> {
    let path = lock_path(journal);
    match Lock::try_acquire(&path) {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(Error::Locked {
            plan: plan.to_owned(),
            path,
        }),
        Err(source) => Err(Error::Directory {
            path: journal.parent().unwrap_or(Path::new(".")).to_path_buf(),
            source,
        }),
    }
}

/// Whether an apply of the plan whose journal is at `journal` runs now: whether the plan's
/// lock is held. The lock is the kernel's (`flock`), let go when its process ends however it
/// ends, `kill -9` included, so a lock file left by a dead apply is free: no pid to trust.
/// `None` when it cannot be told (the lock file cannot be opened). Call it without holding
/// the lock. Only looks: no lock file is made where none is (every apply makes its own), so
/// `report` of a journal copied elsewhere leaves nothing beside it.
pub fn apply_running(journal: &Path) -> Option<bool> {
    let file = match std::fs::File::open(lock_path(journal)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
    };
    match file.try_lock() {
        // Taken, and let go as `file` closes.
        Ok(()) => Some(false),
        Err(std::fs::TryLockError::WouldBlock) => Some(true),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Records in the journal at `journal_path` what `status` learned from the API, and folds it
/// into `state`, so that the state stays a fold of the journal. Under the plan's lock
/// (`_lock`, from [`lock`]): a running apply journals its tasks itself, and one that starts
/// later replays these records. `seen` is the journal's length when `state` was read: if
/// another run wrote to it since, what `status` learned may be older than what it says, so
/// nothing is written and the answer is `Ok(false)`.
pub fn record(
    _lock: &Lock,
    journal_path: &Path,
    seen: u64,
    state: &mut RunState,
    records: &[Record],
) -> std::io::Result<bool> {
    if records.is_empty() {
        return Ok(true);
    }
    if journal_len(journal_path)? != seen {
        return Ok(false);
    }
    Journal::reopen(journal_path)?.append_all(records)?;
    for r in records {
        state.apply(r);
    }
    Ok(true)
}

/// The journal's length in bytes (what [`record`] compares).
pub fn journal_len(journal_path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(journal_path)?.len())
}

impl Store {
    pub fn new(
        journal_path: PathBuf,
        plan: &str,
        ids: Vec<String>,
        plan_hash: String,
        sandboxed: bool,
    ) -> Self {
        Self {
            journal_path,
            plan: plan.to_owned(),
            ids,
            plan_hash,
            sandboxed,
        }
    }

    /// A state where nothing has happened yet.
    pub fn fresh(&self) -> RunState {
        RunState::new(self.ids.iter().map(String::as_str))
    }

    /// The one replay: the journal on disk folded into the state of this plan's instances
    /// as it is read, one record at a time (the records of a large run are never all held),
    /// and how many records it has.
    fn replay_journal(&self) -> std::io::Result<(RunState, usize)> {
        let mut state = self.fresh();
        let n = Journal::read_each(&self.journal_path, Want::State, |r| state.apply(&r))?;
        Ok((state, n))
    }

    /// Reads the journal and decides what `apply` will do with it, changing nothing; with
    /// what it holds when it is resumed or complete. A changed plan over an unfinished journal
    /// is refused unless `restart`. A complete journal is never applied again without
    /// `restart`, a sandbox run's included (issue 27); an unfinished sandbox journal starts
    /// fresh, as its tasks lived in an emulator that is gone.
    pub fn inspect(&self, restart: bool) -> Result<(Found, Option<RunState>), Error> {
        let mut state = match self.replay_journal() {
            Ok((_, 0)) => return Ok((Found::Nothing, None)),
            Ok((state, _)) => state,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Found::Nothing, None));
            }
            // Unreadable: resuming cannot be trusted, but --restart can set it aside.
            Err(_) if self.sandboxed || restart => return Ok((Found::SetAside, None)),
            Err(source) => {
                return Err(Error::Unreadable {
                    path: self.journal_path.clone(),
                    source,
                });
            }
        };
        // What the apply would start from: it checks and sends by it.
        state.resume();
        let changed = state.plan_hash.as_deref() != Some(self.plan_hash.as_str());
        let unfinished = state.complete.is_none();
        if restart || (changed && !unfinished) || (self.sandboxed && unfinished) {
            return Ok((Found::SetAside, None));
        }
        if changed {
            return Err(Error::PlanChanged {
                plan: self.plan.clone(),
                path: self.journal_path.clone(),
            });
        }
        let found = if unfinished {
            Found::Unfinished
        } else {
            Found::Complete
        };
        Ok((found, Some(state)))
    }

    /// Carries out what [`Store::inspect`] found, once the person said yes: sets an old
    /// journal aside when asked to (and says where it went), then opens the journal for
    /// appending, with its state.
    pub fn open(&self, found: Found) -> Result<(Journal, RunState, Option<PathBuf>), Error> {
        let set_aside = if found == Found::SetAside {
            self.archive()?
        } else {
            None
        };
        let mut state = self.fresh();
        let journal = Journal::open_each(&self.journal_path, Want::State, |r| state.apply(&r))
            .map_err(|source| Error::Open {
                path: self.journal_path.clone(),
                source,
            })?;
        // The run that opens it starts here (its start record does the same).
        state.resume();
        Ok((journal, state, set_aside))
    }

    /// Sets the old journal aside (kept beside the new one: where, is returned). A sandbox
    /// run's journal is only replaced: its tasks lived in an emulator that is gone, so it
    /// records nothing to keep.
    fn archive(&self) -> Result<Option<PathBuf>, Error> {
        if self.sandboxed {
            return match std::fs::remove_file(&self.journal_path) {
                Ok(()) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(Error::Archive {
                    path: self.journal_path.clone(),
                    source,
                }),
            };
        }
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let to = self.journal_path.with_extension(format!("journal.{stamp}"));
        match std::fs::rename(&self.journal_path, &to) {
            Ok(()) => Ok(Some(to)),
            Err(source) => Err(Error::Archive { path: to, source }),
        }
    }

    /// The journal as it is now, for `status`: `Ok(None)` when there is none.
    pub fn load(&self) -> std::io::Result<Option<RunState>> {
        match self.replay_journal() {
            Ok((_, 0)) => Ok(None),
            Ok((state, _)) => Ok(Some(state)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The engine's final state, plus what another process wrote to the journal meanwhile:
    /// `planrun cancel` records its stops there while `apply` tracks, and a task it stopped
    /// ends `killed`, which is `cancelled` (or still `stopping`), not `failed`.
    pub fn fold_in_others(&self, mut state: RunState) -> RunState {
        let Ok((disk, _)) = self.replay_journal() else {
            return state;
        };
        for (mine, theirs) in state.instances.iter_mut().zip(&disk.instances) {
            let stopped = matches!(theirs.status, Status::Cancelled | Status::Stopping);
            if stopped && mine.status != Status::Succeeded {
                *mine = theirs.clone();
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::script::Script;

    #[test]
    fn the_state_lives_beside_the_plan_unless_told() {
        assert_eq!(
            state_dir(Path::new("plans/p.yaml"), None),
            Path::new("plans/.planrun")
        );
        assert_eq!(
            state_dir(Path::new("p.yaml"), Some(Path::new("/s"))),
            Path::new("/s")
        );
    }

    #[test]
    fn status_sees_a_timed_out_run_as_it_ended_and_apply_resumes_where_the_rollbacks_were() {
        let dir = tempfile::tempdir().unwrap();
        let ids = vec!["cdb-aaaaaaaa".to_owned(), "cdb-bbbbbbbb".to_owned()];
        let store = Store::new(
            dir.path().join("p.journal"),
            "p",
            ids.clone(),
            "h".into(),
            false,
        );
        let (mut journal, ..) = store.open(Found::Nothing).unwrap();
        let records = Script::new(Utc::now())
            .start("p", "h")
            .intent(1, &[ids[0].as_str()])
            .timed_out(&[ids[0].as_str(), ids[1].as_str()])
            .records();
        journal.append_all(&records).unwrap();
        let statuses = |s: &RunState| s.instances.iter().map(|i| i.status).collect::<Vec<_>>();
        let shown = store.load().unwrap();
        assert_eq!(
            shown.as_ref().map(statuses),
            Some(vec![Status::TimedOut, Status::TimedOut])
        );
        // The apply checks and sends from where the rollbacks were: the second was never sent.
        let expected = vec![Status::Submitted, Status::Pending];
        let (found, inspected) = store.inspect(false).unwrap();
        assert_eq!(found, Found::Unfinished);
        assert_eq!(inspected.as_ref().map(statuses), Some(expected.clone()));
        let (_, opened, _) = store.open(found).unwrap();
        assert_eq!(statuses(&opened), expected);
    }

    #[test]
    fn an_apply_runs_while_its_lock_is_held_and_not_once_it_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("p.journal");
        // No lock file: no apply ever ran here, and looking makes none.
        assert_eq!(apply_running(&journal), Some(false));
        assert!(!lock_path(&journal).exists());
        let held = lock(&journal, "p").unwrap();
        assert_eq!(apply_running(&journal), Some(true));
        // A dead process's lock is let go by the kernel, as this one is when dropped; the
        // file stays.
        drop(held);
        assert!(lock_path(&journal).exists());
        assert_eq!(apply_running(&journal), Some(false));
    }

    #[test]
    fn what_status_learned_is_not_written_over_a_journal_that_moved_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let ids = ["cdb-aaaaaaaa"];
        let at = Utc::now();
        let (mut journal, _) = Journal::open(&path).unwrap();
        journal
            .append_all(&Script::new(at).intent(1, &ids).records())
            .unwrap();
        let seen = journal_len(&path).unwrap();
        let mut state = RunState::replay(ids, &Journal::read(&path).unwrap());
        // An apply writes while status polls the API.
        journal
            .append_all(&Script::new(at).timed_out(&ids).records())
            .unwrap();
        let lock = lock(&path, "p").unwrap();
        let learned = Script::new(at).stopping(ids[0], None).records();
        let written = record(&lock, &path, seen, &mut state, &learned);
        assert!(matches!(written, Ok(false)), "{written:?}");
        let records = Journal::read(&path).unwrap();
        assert_eq!(records.len(), 2, "nothing appended: {records:?}");
        // Over the journal as it is now, it is written and folded in.
        let seen = journal_len(&path).unwrap();
        let written = record(&lock, &path, seen, &mut state, &learned);
        assert!(matches!(written, Ok(true)), "{written:?}");
        assert_eq!(Journal::read(&path).unwrap().len(), 3);
        assert_eq!(state.instances[0].status, Status::Stopping);
    }

    #[test]
    fn an_unfinished_journal_of_another_plan_is_refused_and_restart_sets_it_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.journal");
        let ids = vec!["cdb-aaaaaaaa".to_owned()];
        let old = Store::new(path.clone(), "p", ids.clone(), "old".into(), false);
        let (mut journal, ..) = old.open(Found::Nothing).unwrap();
        journal
            .append_all(&Script::new(Utc::now()).start("p", "old").records())
            .unwrap();
        assert!(matches!(
            old.inspect(false),
            Ok((Found::Unfinished, Some(_)))
        ));
        let new = Store::new(path, "p", ids, "new".into(), false);
        assert!(matches!(new.inspect(false), Err(Error::PlanChanged { .. })));
        assert!(matches!(new.inspect(true), Ok((Found::SetAside, None))));
    }
}
