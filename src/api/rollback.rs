//! Protocol-neutral rollback requests: what the engine builds ([`InstanceRollback`]) and each
//! protocol adapter turns into its own wire format ([`crate::api::v2::model`],
//! [`crate::api::v3::model`]). [`para_json`] is the spec's canonical JSON (API 2.0 sends it as
//! `instances.N.para`; the plan hash and API 3.0's matching read it too).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// `table`, `db` or `full`, spelled on the wire as in the plan: the one
/// [`Strategy`] of the contract ([`crate::contract`]).
pub use crate::contract::Strategy;

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

impl RollbackSpec {
    /// The same database and table renames, in any order (reconciliation compares whole
    /// specs with this, whatever the API that echoed one of them).
    pub fn same_renames(&self, other: &RollbackSpec) -> bool {
        same_renames((&self.dbs, &self.tables), (&other.dbs, &other.tables))
    }
}

/// Two lists of renames (databases, tables) name the same renames, in any order.
pub fn same_renames(
    a: (&[DatabaseRename], &[DatabaseTables]),
    b: (&[DatabaseRename], &[DatabaseTables]),
) -> bool {
    db_set(a.0) == db_set(b.0) && table_set(a.1) == table_set(b.1)
}

fn db_set(dbs: &[DatabaseRename]) -> BTreeSet<(&str, &str)> {
    dbs.iter()
        .map(|d| (d.dbname.as_str(), d.newname.as_str()))
        .collect()
}

fn table_set(tables: &[DatabaseTables]) -> BTreeSet<(&str, &str, &str)> {
    tables
        .iter()
        .flat_map(|db| {
            db.table
                .iter()
                .map(|t| (db.db.as_str(), t.tablename.as_str(), t.newname.as_str()))
        })
        .collect()
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

    /// Two tables of `orders` rolled back beside themselves (API 2.0's matching and the
    /// engine's reconciliation test against it).
    pub(crate) fn orders() -> RollbackSpec {
        RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Table,
            dbs: vec![],
            tables: vec![DatabaseTables {
                db: "orders".into(),
                table: vec![
                    TableRename {
                        tablename: "payments".into(),
                        newname: "payments_bak".into(),
                    },
                    TableRename {
                        tablename: "refunds".into(),
                        newname: "refunds_bak".into(),
                    },
                ],
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
        let back: RollbackSpec = serde_json::from_str(&para_json(&spec())).unwrap();
        assert_eq!(back, spec());
    }
}
