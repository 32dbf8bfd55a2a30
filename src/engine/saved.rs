//! A saved plan (`plan PLAN --out FILE`, like `terraform plan -out`): the prepared plan as a
//! reviewer approved it — the plan's text and hash, its resolved times, the API generation,
//! every call with its exact parameters, the planrun version and when it was made, which
//! journal it belongs to and where that journal stood. Never a secret: nothing of the
//! credentials is in a prepared plan.
//!
//! On disk: one line of JSON, then a trailer line `sha256 <hex>` over that line's bytes. The
//! digest is an integrity check (a truncated or edited file is refused before anything is
//! sent), not a signature: who may change the file is the file system's and the review's
//! business.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::prepare::{Generation, Prepared};
use super::store::JournalKey;

/// The first field of every saved plan, also how `apply` and `show` recognise one.
pub const FORMAT: &str = "planrun-saved-plan-1";

/// What a saved plan holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// Always [`FORMAT`] (first, so the file's first bytes say what it is).
    pub format: String,
    /// The planrun version that made it (`CARGO_PKG_VERSION`); another version refuses it.
    pub planrun: String,
    pub made_at: DateTime<Utc>,
    pub api: Generation,
    /// The plan file's path as given to `plan`.
    pub path: String,
    pub name: String,
    /// The plan file's text, byte for byte.
    pub text: String,
    /// [`Prepared::hash`]: what the journal is tied to.
    pub plan_hash: String,
    pub batch_size: usize,
    /// Every instance with its resolved rollback time and region, in plan order.
    pub instances: Vec<SavedInstance>,
    pub calls: Vec<SavedCall>,
    /// SHA-256 of the plan's journal when the plan was made (`None`: there was none). A
    /// journal that has moved on since means the approval was of another situation.
    pub journal: Option<String>,
    /// Which journal it belongs to (its plan file's, or its stdin text's): a copy of the
    /// saved file elsewhere still names it, so that it is never applied twice. Absent in
    /// saved plans of an earlier planrun, which are then refused.
    #[serde(default)]
    pub journal_key: Option<JournalKey>,
    /// The state directory of that journal when the plan was saved (absolute): `apply` polls
    /// there unless `--state-dir` says otherwise.
    #[serde(default)]
    pub state_dir: Option<String>,
}

/// Which journal a saved plan belongs to, and where it stood when the plan was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalAt {
    pub key: JournalKey,
    /// The state directory, absolute.
    pub state_dir: String,
    /// SHA-256 of the journal then; `None` when there was none.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedInstance {
    pub id: String,
    pub region: Option<String>,
    pub rollback_time: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCall {
    pub action: String,
    pub region: Option<String>,
    pub instances: Vec<String>,
    pub params: Vec<(String, String)>,
}

/// Why a file is not a saved plan that can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("not a saved plan (it does not start with `{{\"format\":\"{FORMAT}\"`)")]
    NotSaved,
    #[error("the saved plan is truncated (no `sha256` trailer line)")]
    Truncated,
    #[error("the saved plan was changed after it was made (its sha256 does not match)")]
    Tampered,
    #[error("the saved plan cannot be read: {0}")]
    Unreadable(String),
}

impl SavedPlan {
    /// The saved form of `prepared`, made now from `text` at `path`.
    pub fn new(
        path: &str,
        text: &str,
        name: &str,
        prepared: &Prepared,
        rollback_times: Vec<String>,
        made_at: DateTime<Utc>,
        journal: JournalAt,
    ) -> Self {
        Self {
            format: FORMAT.to_owned(),
            planrun: env!("CARGO_PKG_VERSION").to_owned(),
            made_at,
            api: prepared.generation,
            path: path.to_owned(),
            name: name.to_owned(),
            text: text.to_owned(),
            plan_hash: prepared.hash.clone(),
            batch_size: prepared.batch_size,
            instances: prepared
                .rollbacks
                .iter()
                .zip(rollback_times)
                .map(|(s, rollback_time)| SavedInstance {
                    id: s.request.instance_id.clone(),
                    region: s.region.clone(),
                    rollback_time,
                })
                .collect(),
            calls: calls(prepared),
            journal: journal.digest,
            journal_key: Some(journal.key),
            state_dir: Some(journal.state_dir),
        }
    }

    /// The file's bytes: the JSON line and its digest.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings, lists and a time always serialises.
        let body = serde_json::to_string(self).unwrap_or_default();
        format!("{body}\nsha256 {}\n", digest(body.as_bytes())).into_bytes()
    }

    /// Reads a saved plan, checking its integrity first.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !is_saved(bytes) {
            return Err(Error::NotSaved);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Tampered)?;
        let (body, trailer) = text.split_once('\n').ok_or(Error::Truncated)?;
        let Some(hex) = trailer
            .strip_suffix('\n')
            .and_then(|t| t.strip_prefix("sha256 "))
        else {
            return Err(Error::Truncated);
        };
        if hex != digest(body.as_bytes()) {
            return Err(Error::Tampered);
        }
        serde_json::from_str(body).map_err(|e| Error::Unreadable(e.to_string()))
    }

    /// Whether `prepared` is, call for call, what was saved.
    pub fn matches(&self, prepared: &Prepared) -> bool {
        prepared.hash == self.plan_hash
            && prepared.generation == self.api
            && prepared.batch_size == self.batch_size
            && calls(prepared) == self.calls
    }
}

/// Whether the bytes begin as a saved plan does (anything else is a YAML plan).
pub fn is_saved(bytes: &[u8]) -> bool {
    bytes.starts_with(format!("{{\"format\":\"{FORMAT}\"").as_bytes())
}

/// Hex SHA-256.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn calls(prepared: &Prepared) -> Vec<SavedCall> {
    prepared
        .calls
        .iter()
        .map(|c| SavedCall {
            action: c.action.to_owned(),
            region: c.region.clone(),
            instances: prepared.ids(&c.instances),
            params: c.params.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::prepare::prepare;
    use crate::plan::{DbTables, Instance, Rename, ResolvedPlan, Strategy};

    fn saved() -> SavedPlan {
        let plan = ResolvedPlan {
            name: "p".into(),
            description: None,
            timezone: "+08:00".into(),
            batch_size: 10,
            instances: vec![Instance {
                id: "cdb-aaaaaaaa".into(),
                path: String::new(),
                entry: 0,
                strategy: Strategy::Table,
                rollback_time: "2026-11-20 03:15:00".into(),
                region: Some("ap-guangzhou".into()),
                selfhosted: None,
                connect: None,
                dbs: vec![],
                tables: vec![DbTables {
                    db: "orders".into(),
                    tables: vec![Rename {
                        source: "payments".into(),
                        target: "payments_bak".into(),
                    }],
                }],
            }],
        };
        let prepared = prepare(&plan, Generation::V3, 10);
        SavedPlan::new(
            "p.yaml",
            "version: 1\n",
            "p",
            &prepared,
            vec!["2026-11-20 03:15:00".into()],
            Utc::now(),
            JournalAt {
                key: JournalKey::new("p", crate::engine::store::Origin::Text("version: 1\n")),
                state_dir: "/s".into(),
                digest: None,
            },
        )
    }

    #[test]
    fn a_saved_plan_reads_back_as_it_was_written() {
        let s = saved();
        assert_eq!(SavedPlan::from_bytes(&s.to_bytes()), Ok(s));
    }

    #[test]
    fn an_edited_byte_is_refused() {
        let bytes = saved().to_bytes();
        let text = String::from_utf8(bytes).unwrap_or_default();
        let edited = text.replacen("payments_bak", "payments_bad", 1);
        assert_eq!(
            SavedPlan::from_bytes(edited.as_bytes()),
            Err(Error::Tampered)
        );
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let bytes = saved().to_bytes();
        for cut in [bytes.len() - 1, bytes.len() - 30, bytes.len() / 2] {
            assert!(
                matches!(
                    SavedPlan::from_bytes(&bytes[..cut]),
                    Err(Error::Truncated | Error::Tampered)
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_yaml_plan_is_not_a_saved_plan() {
        assert_eq!(SavedPlan::from_bytes(b"version: 1\n"), Err(Error::NotSaved));
    }
}
