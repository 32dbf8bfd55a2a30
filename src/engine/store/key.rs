//! What a plan's journal is called: a journal belongs to one plan file (its canonical path)
//! or, for a plan read from standard input, to its text — never to `name:` alone, which two
//! plans may share (`x/y` and `x_y` even share its file name). The name's stem keeps the file
//! readable; a hash of what it belongs to keeps it apart. Also the name planrun gave journals
//! before (the plan's name alone), so that such a journal of the same plan is found.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Which journal is a plan's: `STEM-HASH`, where STEM is the plan's name as a file name and
/// HASH 16 hex digits of what the journal belongs to ([`Origin`]). A saved plan records it,
/// so that wherever the saved file is copied, it names the same journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JournalKey(String);

/// What a journal belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A plan file, by its canonical path (symbolic links and `..` resolved): the same file
    /// named two ways is one plan, two files are two plans whatever their `name:`.
    File(&'a Path),
    /// A plan read from standard input, by its text: it has no path, and two different plans
    /// piped in are two plans.
    Text(&'a str),
}

/// Longest stem in a key: with the hash and the suffixes (`.sandbox.journal.<time>` when set
/// aside), a journal's file name stays well within the 255 bytes file systems allow.
const KEY_STEM: usize = 64;

/// Hex digits of the hash in a key: 64 bits, so that two plans never meet by chance.
const KEY_HASH: usize = 16;

impl JournalKey {
    /// The key of the plan named `name` that comes from `origin`.
    pub fn new(name: &str, origin: Origin<'_>) -> Self {
        let mut hasher = Sha256::new();
        match origin {
            Origin::File(path) => {
                hasher.update(b"file\0");
                hasher.update(path.as_os_str().as_encoded_bytes());
            }
            Origin::Text(text) => {
                hasher.update(b"text\0");
                hasher.update(text.as_bytes());
            }
        }
        let hash = hex::encode(hasher.finalize());
        let mut stem = file_stem(name);
        stem.truncate(KEY_STEM);
        Self(format!("{stem}-{}", &hash[..KEY_HASH]))
    }

    /// The key of the plan file at `path` (made canonical here: it must exist).
    pub fn of_file(name: &str, path: &Path) -> std::io::Result<Self> {
        let canonical = std::fs::canonicalize(path)?;
        Ok(Self::new(name, Origin::File(&canonical)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `KEY.journal`, or `KEY.sandbox.journal` for `apply --sandbox` (kept apart: its jobs
    /// lived in an emulator, not in the cloud).
    pub fn journal_name(&self, sandboxed: bool) -> String {
        if sandboxed {
            format!("{}.sandbox.journal", self.0)
        } else {
            format!("{}.journal", self.0)
        }
    }
}

impl TryFrom<String> for JournalKey {
    type Error = String;

    /// A key read back (from a saved plan) names a file in the state directory and nothing
    /// else: letters, digits, `-` and `_`, ending in `-` and its hash.
    fn try_from(text: String) -> Result<Self, String> {
        let (stem, hash) = text.rsplit_once('-').unwrap_or(("", ""));
        let plain = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        };
        let hex = hash.len() == KEY_HASH && hash.chars().all(|c| c.is_ascii_hexdigit());
        if !stem.is_empty() && stem.len() <= KEY_STEM && plain(stem) && hex {
            Ok(Self(text))
        } else {
            Err(format!("{text:?} is not a journal key"))
        }
    }
}

impl From<JournalKey> for String {
    fn from(key: JournalKey) -> Self {
        key.0
    }
}

impl std::fmt::Display for JournalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lock of the journal at `journal`: beside it, `.lock` for `.journal` (one lock per
/// journal: two plans never wait for each other, one plan's applies never overlap).
pub fn lock_path(journal: &Path) -> PathBuf {
    journal.with_extension("lock")
}

/// What planrun called a plan's journal before journals belonged to plan files:
/// `NAME.journal` (`NAME.sandbox.journal`), NAME the plan's name as a file name. Only read,
/// to find such a journal of the same plan ([`super::legacy`]).
pub fn legacy_journal_name(plan: &str, sandboxed: bool) -> String {
    let stem = file_stem(plan);
    if sandboxed {
        format!("{stem}.sandbox.journal")
    } else {
        format!("{stem}.journal")
    }
}

/// The plan's name as a file name: anything but letters, digits, `-` and `_` becomes `_`
/// (a name like `../x` must not put the journal outside the state directory).
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "plan".to_owned()
    } else if stem.len() > MAX_STEM {
        // File names end at 255 bytes, and the journal's gets suffixes (`.sandbox`,
        // `.journal.<time>` when set aside): a long name is cut, and a hash of the whole name
        // keeps two long names that share their start apart.
        let digest = hex::encode(Sha256::digest(name.as_bytes()));
        format!("{}-{}", &stem[..MAX_STEM - 17], &digest[..16])
    } else {
        stem
    }
}

/// Longest stem of an older journal's name (ASCII, so bytes).
const MAX_STEM: usize = 120;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, path: &str) -> JournalKey {
        JournalKey::new(name, Origin::File(Path::new(path)))
    }

    #[test]
    fn two_files_of_one_name_have_two_journals_and_one_file_has_one() {
        let a = file("incident-42", "/srv/a/incident.yaml");
        let b = file("incident-42", "/srv/b/incident.yaml");
        assert_ne!(a, b);
        assert_eq!(a, file("incident-42", "/srv/a/incident.yaml"));
        assert!(a.as_str().starts_with("incident-42-"), "{a}");
        assert_eq!(a.journal_name(false), format!("{a}.journal"));
        assert_eq!(a.journal_name(true), format!("{a}.sandbox.journal"));
    }

    #[test]
    fn names_that_make_the_same_file_name_keep_their_own_journals() {
        // Same file name `x_y` before the hash; the files differ, so do the keys.
        let slash = file("x/y", "/p/one.yaml");
        let underscore = file("x_y", "/p/two.yaml");
        assert!(slash.as_str().starts_with("x_y-") && underscore.as_str().starts_with("x_y-"));
        assert_ne!(slash, underscore);
    }

    #[test]
    fn two_plans_on_stdin_have_two_journals_and_one_text_has_one() {
        let a = JournalKey::new("stdin", Origin::Text("version: 1\nname: a\n"));
        let b = JournalKey::new("stdin", Origin::Text("version: 1\nname: b\n"));
        assert_ne!(a, b);
        assert_eq!(
            a,
            JournalKey::new("stdin", Origin::Text("version: 1\nname: a\n"))
        );
        // A file whose path is some plan's text is still another origin.
        assert_ne!(a, file("stdin", "version: 1\nname: a\n"));
    }

    #[test]
    fn a_key_read_back_names_a_file_in_the_state_directory_only() {
        let key = file("../../etc/passwd", "/p.yaml");
        assert!(key.as_str().starts_with("______etc_passwd-"), "{key}");
        let back: JournalKey = serde_json::from_str(&serde_json::to_string(&key).unwrap()).unwrap();
        assert_eq!(back, key);
        for bad in [
            "\"../x-0123456789abcdef\"",
            "\"x-0123\"",
            "\"-0123456789abcdef\"",
            "\"x/y-0123456789abcdef\"",
            "\"x-0123456789abcdeg\"",
        ] {
            assert!(serde_json::from_str::<JournalKey>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_long_name_gives_a_key_of_bounded_length() {
        let key = file(&"x".repeat(250), "/p.yaml");
        assert_eq!(key.as_str().len(), KEY_STEM + 1 + KEY_HASH);
        assert!(key.journal_name(true).len() < 120);
    }

    #[test]
    fn the_lock_is_the_journals_own() {
        assert_eq!(
            lock_path(Path::new("/s/p-0123456789abcdef.journal")),
            Path::new("/s/p-0123456789abcdef.lock")
        );
        assert_eq!(
            lock_path(Path::new("/s/p-0123456789abcdef.sandbox.journal")),
            Path::new("/s/p-0123456789abcdef.sandbox.lock")
        );
    }

    #[test]
    fn an_older_journal_was_named_after_the_plan_alone() {
        assert_eq!(
            legacy_journal_name("../../etc/x", false),
            "______etc_x.journal"
        );
        assert_eq!(
            legacy_journal_name("incident-42", true),
            "incident-42.sandbox.journal"
        );
        assert_eq!(legacy_journal_name("", false), "plan.journal");
        let long = "x".repeat(250);
        let other = format!("{}y", "x".repeat(249));
        assert_ne!(
            legacy_journal_name(&long, false),
            legacy_journal_name(&other, false)
        );
        assert!(legacy_journal_name(&long, true).len() <= 150);
    }
}
