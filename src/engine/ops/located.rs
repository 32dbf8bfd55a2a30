//! Where the commands find a plan's journal: in the state directory (`--state-dir`, else
//! `.planrun/` beside the plan; for a saved plan, the one it records), under the plan's
//! journal key (its file's, a stdin plan's text's, or the one a saved plan records). An older
//! planrun's journal of the same plan is adopted by `apply` and read in place by the others;
//! anything else found under the plan's old name is named, never touched. Nothing here
//! prints: what is found is said by the [`Note`] it returns, a refusal by its [`Error`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::engine::journal::Lock;
use crate::engine::saved::SavedPlan;
use crate::engine::store::{self, JournalKey, Origin, legacy::Legacy};
use crate::plan::text::visible;

/// A plan's journal: its directory, its key, and whether it is `apply --sandbox`'s.
#[derive(Debug, Clone)]
pub struct Located {
    pub dir: PathBuf,
    pub key: JournalKey,
    pub sandboxed: bool,
}

fn shown(path: &Path) -> String {
    visible(&path.display().to_string()).into_owned()
}

/// Why a plan's journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot find the plan file {} (its journal belongs to it): {source}", shown(.path))]
    PlanFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "this saved plan does not say which journal it belongs to (an earlier planrun made it); nothing was submitted. Make it again with `planrun plan PLAN --out FILE`."
    )]
    SavedWithoutJournal,
    #[error(
        "the saved plan's journal lives in {}, which is not on this machine; nothing was submitted. Pass --state-dir DIR to say where its journal is.",
        shown(.dir)
    )]
    NotHere { dir: PathBuf },
    #[error(
        "cannot adopt this plan's older journal {}: {}; nothing was submitted",
        shown(.old),
        super::escaped(.source)
    )]
    Adopt { old: PathBuf, source: store::Error },
    #[error(
        "{} is the journal of an unfinished apply of a plan named {}, written by an earlier planrun, and it is not this plan's content (or cannot be read): this plan changed since, or another plan file has the same name. Nothing was submitted.\n  If it is this plan's, apply the plan as it was to finish that apply (its journal is then adopted).\n  Otherwise pass --restart: this plan gets its own journal, and that one is left where it is.",
        shown(.old),
        visible(.name)
    )]
    Unsure { old: PathBuf, name: String },
}

/// What finding a plan's journal came upon: an older planrun's journal of this plan, read
/// or adopted, or another plan's of the same name, left where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Read in place (`status`, `report`, ...): the next apply moves it.
    Reading { old: PathBuf, own: PathBuf },
    /// Another plan's of this name: not read as this plan's.
    NotRead { old: PathBuf, name: String },
    /// Moved to the plan's own name (`apply`).
    Adopted { old: PathBuf, own: PathBuf },
    /// A complete journal of another plan's content: left as it is.
    Left {
        old: PathBuf,
        name: String,
        own: PathBuf,
    },
    /// Whose it is cannot be told, and `--restart` starts this plan's own.
    LeftUnsure {
        old: PathBuf,
        name: String,
        own: PathBuf,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reading { old, own } => write!(
                f,
                "reading {}, this plan's journal as an earlier planrun named it; the next apply moves it to {}",
                shown(old),
                shown(own)
            ),
            Self::NotRead { old, name } => write!(
                f,
                "{} was written by an earlier planrun for a plan named {} with other content (another file of that name, or an earlier version of this one): it is not read as this plan's (`planrun report {}` shows it)",
                shown(old),
                visible(name),
                shown(old)
            ),
            Self::Adopted { old, own } => write!(
                f,
                "adopted {}, this plan's journal as an earlier planrun named it (after the plan's name alone), as {}",
                shown(old),
                shown(own)
            ),
            Self::Left { old, name, own } => write!(
                f,
                "{} is a complete journal of a plan named {} with other content (another file of that name, or an earlier version of this one), written by an earlier planrun: it is left as it is; this plan's journal is {}",
                shown(old),
                visible(name),
                shown(own)
            ),
            Self::LeftUnsure { old, name, own } => write!(
                f,
                "{} (an earlier planrun's journal of a plan named {}) is left as it is; this plan starts its own journal {}",
                shown(old),
                visible(name),
                shown(own)
            ),
        }
    }
}

impl Located {
    /// The journal of the plan given as `plan_path` (`-`: standard input, whose `text` is
    /// what its journal belongs to).
    pub fn of_plan(
        plan_path: &Path,
        text: &str,
        name: &str,
        state_dir: Option<&Path>,
        sandboxed: bool,
    ) -> Result<Self, Error> {
        let key = if plan_path.as_os_str() == "-" {
            JournalKey::new(name, Origin::Text(text))
        } else {
            JournalKey::of_file(name, plan_path).map_err(|source| Error::PlanFile {
                path: plan_path.to_path_buf(),
                source,
            })?
        };
        Ok(Self {
            dir: store::state_dir(plan_path, state_dir),
            key,
            sandboxed,
        })
    }

    /// The journal a saved plan belongs to: the key it records, in `--state-dir` or else the
    /// state directory it records — wherever the saved file itself was copied.
    pub fn of_saved(
        saved: &SavedPlan,
        state_dir: Option<&Path>,
        sandboxed: bool,
    ) -> Result<Self, Error> {
        let (Some(key), Some(recorded)) = (&saved.journal_key, &saved.state_dir) else {
            return Err(Error::SavedWithoutJournal);
        };
        let dir = state_dir.map_or_else(|| PathBuf::from(recorded), Path::to_path_buf);
        // The recorded directory is another machine's when neither it nor its parent is here:
        // never guess another place (a journal not found would mean applying again).
        let here = dir.exists() || dir.parent().is_some_and(Path::exists);
        if state_dir.is_none() && !here {
            return Err(Error::NotHere { dir });
        }
        Ok(Self {
            dir,
            key: key.clone(),
            sandboxed,
        })
    }

    /// The same plan's journal of `apply --sandbox` (`sandboxed`) or of the cloud.
    pub fn sandboxed(&self, sandboxed: bool) -> Self {
        Self {
            sandboxed,
            ..self.clone()
        }
    }

    /// The plan's own journal.
    pub fn journal(&self) -> PathBuf {
        self.dir.join(self.key.journal_name(self.sandboxed))
    }

    /// The journal a command that reads (`status`, `report`, `cancel`, `plan --out`) uses:
    /// the plan's own or, while it has none, an older planrun's journal of this very plan
    /// (`plan_hash`), read where it is. Another plan's is named, and not read.
    pub fn readable(&self, name: &str, plan_hash: &str) -> (PathBuf, Option<Note>) {
        let own = self.journal();
        match store::legacy::find(&own, name, plan_hash, self.sandboxed) {
            Some(Legacy::Same(old)) => (old.clone(), Some(Note::Reading { old, own })),
            Some(other) => {
                let note = Note::NotRead {
                    old: other.path().to_path_buf(),
                    name: name.to_owned(),
                };
                (own, Some(note))
            }
            None => (own, None),
        }
    }

    /// For `apply`, under the plan's lock: adopts an older planrun's journal of this very
    /// plan (moved, whole, to the plan's own name), and leaves any other where it is. One
    /// whose plan cannot be told (unfinished with other content, or unreadable) is refused
    /// unless `restart`: resuming it might be this plan's, starting over might not be.
    pub fn adopt_older(
        &self,
        lock: &Lock,
        name: &str,
        plan_hash: &str,
        restart: bool,
    ) -> Result<Option<Note>, Error> {
        if self.sandboxed {
            // A sandbox run always starts fresh: an older one has nothing to resume.
            return Ok(None);
        }
        let own = self.journal();
        let name = name.to_owned();
        match store::legacy::find(&own, &name, plan_hash, false) {
            None => Ok(None),
            Some(Legacy::Same(old)) => match store::legacy::adopt(lock, &old, &own, &name) {
                Ok(()) => Ok(Some(Note::Adopted { old, own })),
                Err(source) => Err(Error::Adopt { old, source }),
            },
            Some(Legacy::Other(old)) => Ok(Some(Note::Left { old, name, own })),
            Some(Legacy::Unsure(old)) if restart => Ok(Some(Note::LeftUnsure { old, name, own })),
            Some(Legacy::Unsure(old)) => Err(Error::Unsure { old, name }),
        }
    }
}
