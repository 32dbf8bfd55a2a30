//! A checked plan, resolved: one concrete rollback per instance, defaults inherited, list
//! forms renamed, `ids` expanded. This is what `diff` shows and the engine submits.

use super::model::{Provider, Strategy};

/// Where a `provider: mysql` instance lives: its server and its dumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfHosted {
    /// `HOST:PORT` as written.
    pub server: String,
    /// The dump directory as written (relative paths are relative to the plan's directory).
    pub backups: String,
    /// `HOST:PORT` of the staging server to restore on, as written (`None`: a throwaway one).
    pub restore_server: Option<String>,
}

/// One object restored under a new name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rename {
    pub source: String,
    pub target: String,
}

/// The tables of one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTables {
    pub db: String,
    pub tables: Vec<Rename>,
}

/// What one instance rolls back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    /// JSON Pointer of the node naming this instance (`/instances/3/ids/1`).
    pub path: String,
    /// Index of the plan entry it comes from.
    pub entry: usize,
    pub strategy: Strategy,
    /// `YYYY-MM-DD HH:MM:SS` in the plan's timezone.
    pub rollback_time: String,
    pub region: Option<String>,
    pub dbs: Vec<Rename>,
    pub tables: Vec<DbTables>,
    /// `Some` for `provider: mysql`, `None` for TencentDB.
    pub selfhosted: Option<SelfHosted>,
    /// TencentDB: the plan's `connect: HOST:PORT` (`compare`, `merge`), else `None`.
    pub connect: Option<String>,
}

impl Instance {
    pub fn provider(&self) -> Provider {
        if self.selfhosted.is_some() {
            Provider::Mysql
        } else {
            Provider::Tencentcloud
        }
    }

    pub fn table_count(&self) -> usize {
        self.tables.iter().map(|t| t.tables.len()).sum()
    }
}

/// The whole plan, ready to diff and to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPlan {
    pub name: String,
    pub description: Option<String>,
    /// `±HH:MM`.
    pub timezone: String,
    pub batch_size: usize,
    pub instances: Vec<Instance>,
}

impl ResolvedPlan {
    /// Its instances by id, for checks that look one up per answer (a scan each would be
    /// O(N²) over a large plan).
    pub fn by_id(&self) -> std::collections::HashMap<&str, &Instance> {
        self.instances.iter().map(|i| (i.id.as_str(), i)).collect()
    }
}

pub const DEFAULT_TIMEZONE: &str = "+08:00";
pub const DEFAULT_BATCH_SIZE: usize = 10;
