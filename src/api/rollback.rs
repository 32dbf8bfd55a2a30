//! Protocol-neutral rollback requests: what the engine builds ([`InstanceRollback`]) and each
//! protocol adapter turns into its own wire format ([`crate::api::v2::model`],
//! [`crate::api::v3::model`]). [`para_json`] is the spec's canonical JSON (API 2.0 sends it as
//! `instances.N.para`; the plan hash and API 3.0's matching read it too).

use serde::{Deserialize, Serialize};

/// `table`, `db` or `full`, as the API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Table,
    Db,
    Full,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Db => "db",
            Self::Full => "full",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "table" => Some(Self::Table),
            "db" => Some(Self::Db),
            "full" => Some(Self::Full),
            _ => None,
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One database restored under a new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseRename {
    pub dbname: String,
    pub newname: String,
}

/// One table restored under a new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRename {
    pub tablename: String,
    pub newname: String,
}

/// The tables of one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseTables {
    pub db: String,
    pub table: Vec<TableRename>,
}

/// What one instance rolls back: the seed's `para` structure, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackSpec {
    /// `YYYY-MM-DD HH:MM:SS` in the instance's clock.
    pub rollbacktime: String,
    pub strategy: Strategy,
    #[serde(default)]
    pub dbs: Vec<DatabaseRename>,
    #[serde(default)]
    pub tables: Vec<DatabaseTables>,
}

/// One instance of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRollback {
    pub instance_id: String,
    pub spec: RollbackSpec,
}

/// The JSON of `instances.N.para`. Serializing plain strings and vectors cannot fail.
pub fn para_json(spec: &RollbackSpec) -> String {
    serde_json::to_string(spec).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The seeds' example (also used by API 2.0's parameter tests).
    pub(crate) fn spec() -> RollbackSpec {
        RollbackSpec {
            rollbacktime: "2016-10-31 12:00:00".into(),
            strategy: Strategy::Full,
            dbs: vec![DatabaseRename {
                dbname: "db1".into(),
                newname: "db1_bak".into(),
            }],
            tables: vec![DatabaseTables {
                db: "db2".into(),
                table: vec![TableRename {
                    tablename: "table1".into(),
                    newname: "table1_bak".into(),
                }],
            }],
        }
    }

    #[test]
    fn para_is_the_seeds_json() {
        assert_eq!(
            para_json(&spec()),
            r#"{"rollbacktime":"2016-10-31 12:00:00","strategy":"full","dbs":[{"dbname":"db1","newname":"db1_bak"}],"tables":[{"db":"db2","table":[{"tablename":"table1","newname":"table1_bak"}]}]}"#
        );
    }

    #[test]
    fn para_round_trips() {
        let back: RollbackSpec =
            serde_json::from_str(&para_json(&spec())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, spec());
    }
}
