//! What one instance holds, asked with as few calls as settle the plan's questions: an
//! instance that names `dbs` is asked DescribeDatabases once, then DescribeTables for each
//! existing database named under `tables`; one that names only `tables` is asked
//! DescribeTables for each of them, and DescribeDatabases only when an answer leaves open
//! whether the database exists.
//!
//! Why a non-empty table list is enough: tables live in a database, so the database exists.
//! Why an empty one is not: the SDK models no error for a database that does not exist
//! (DescribeTablesResponse is only `TotalCount` and `Items`; `errorcodes.py` has no code for
//! it), so an empty database and a missing one may answer alike. An error answer is treated
//! the same way (unless it says the instance is missing): it is not documented to mean a
//! missing database, so DescribeDatabases decides, and the error stands if the database exists.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use super::{Holdings, is_missing_instance};
use crate::api::Error;
use crate::api::rollback::InstanceRollback;

/// The two listings the object preflight asks for (every page of each), so that the order
/// and number of calls can be tested without a server.
pub trait Inventory: Sync {
    /// DescribeDatabases: every database of the instance.
    fn databases(
        &self,
        instance_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;
    /// DescribeTables: every table of one database of the instance.
    fn tables(
        &self,
        instance_id: &str,
        database: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;
}

/// Asks what the instance holds of what `request` names (see the module comment for which
/// calls). `databases` is every database of the instance whenever DescribeDatabases was
/// asked, which is whenever a finding needs it (a `dbs` entry, a tables-database that may be
/// missing); otherwise it holds the databases that their tables proved to exist.
pub async fn holdings<I: Inventory>(
    inventory: &I,
    request: &InstanceRollback,
) -> Result<Holdings, Error> {
    let id = &request.instance_id;
    // Each database under `tables` once, in the plan's order.
    let mut named: Vec<&str> = Vec::new();
    for group in &request.spec.tables {
        if !named.contains(&group.db.as_str()) {
            named.push(&group.db);
        }
    }
    if request.spec.dbs.is_empty() {
        tables_first(inventory, id, &named).await
    } else {
        databases_first(inventory, id, &named).await
    }
}

/// The `dbs` need DescribeDatabases anyway: its answer says which tables-databases exist.
async fn databases_first<I: Inventory>(
    inventory: &I,
    id: &str,
    named: &[&str],
) -> Result<Holdings, Error> {
    let databases: BTreeSet<String> = inventory.databases(id).await?.into_iter().collect();
    let mut tables = BTreeMap::new();
    for db in named.iter().filter(|db| databases.contains(**db)) {
        tables.insert((*db).to_owned(), listed(inventory.tables(id, db).await?));
    }
    Ok(Holdings { databases, tables })
}

/// Only `tables`: their lists, and DescribeDatabases once if one of them left open whether
/// its database exists.
async fn tables_first<I: Inventory>(
    inventory: &I,
    id: &str,
    named: &[&str],
) -> Result<Holdings, Error> {
    let mut tables = BTreeMap::new();
    // The databases whose existence the answer left open, with the error answered if any.
    let mut open: Vec<(&str, Option<Error>)> = Vec::new();
    for db in named {
        match inventory.tables(id, db).await {
            Ok(names) if !names.is_empty() => {
                tables.insert((*db).to_owned(), listed(names));
            }
            Ok(_) => open.push((db, None)),
            Err(e @ Error::Cloud { .. }) if !is_missing_instance(&e) => open.push((db, Some(e))),
            Err(e) => return Err(e),
        }
    }
    let mut databases: BTreeSet<String> = tables.keys().cloned().collect();
    if open.is_empty() {
        return Ok(Holdings { databases, tables });
    }
    databases.extend(inventory.databases(id).await?);
    for (db, error) in open {
        if databases.contains(db) {
            // It exists, so an error listing its tables is an error, not a finding.
            if let Some(e) = error {
                return Err(e);
            }
            tables.insert(db.to_owned(), BTreeSet::new());
        }
    }
    Ok(Holdings { databases, tables })
}

fn listed(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::api::rollback::{
        DatabaseRename, DatabaseTables, RollbackSpec, Strategy, TableRename,
    };
    use crate::engine::objects::{Problem, problems};

    /// An instance's databases and their tables; each call is written down as it is asked.
    /// `tables_error` answers DescribeTables for that database with that code instead.
    #[derive(Default)]
    struct Fake {
        held: BTreeMap<String, Vec<String>>,
        tables_error: Option<(String, String)>,
        calls: Mutex<Vec<String>>,
    }

    fn cloud(action: &str, code: &str) -> Error {
        Error::Cloud {
            action: action.into(),
            code: code.into(),
            message: "as answered".into(),
            request_id: String::new(),
        }
    }

    impl Fake {
        fn holding(held: &[(&str, &[&str])]) -> Self {
            Self {
                held: held
                    .iter()
                    .map(|(db, t)| {
                        (
                            (*db).to_owned(),
                            t.iter().map(|t| (*t).to_owned()).collect(),
                        )
                    })
                    .collect(),
                ..Self::default()
            }
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }

        fn note(&self, call: String) {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(call);
            }
        }
    }

    impl Inventory for Fake {
        async fn databases(&self, _: &str) -> Result<Vec<String>, Error> {
            self.note("DescribeDatabases".into());
            Ok(self.held.keys().cloned().collect())
        }

        async fn tables(&self, _: &str, database: &str) -> Result<Vec<String>, Error> {
            self.note(format!("DescribeTables {database}"));
            if let Some((db, code)) = &self.tables_error
                && db == database
            {
                return Err(cloud("DescribeTables", code));
            }
            // An unknown database has no tables, as the sandbox answers.
            Ok(self.held.get(database).cloned().unwrap_or_default())
        }
    }

    fn table(name: &str) -> TableRename {
        TableRename {
            tablename: name.into(),
            newname: format!("{name}_bak"),
        }
    }

    fn tables_only(groups: &[(&str, &[&str])]) -> InstanceRollback {
        InstanceRollback {
            instance_id: "cdb-aaaaaaaa".into(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Table,
                dbs: vec![],
                tables: groups
                    .iter()
                    .map(|(db, t)| DatabaseTables {
                        db: (*db).into(),
                        table: t.iter().map(|t| table(t)).collect(),
                    })
                    .collect(),
            },
        }
    }

    fn asked(fake: &Fake, request: &InstanceRollback) -> Holdings {
        futures::executor::block_on(holdings(fake, request)).unwrap()
    }

    #[test]
    fn a_tables_only_instance_is_asked_one_describe_tables_and_no_describe_databases() {
        let fake = Fake::holding(&[("orders", &["payments", "refunds"]), ("shop", &["x"])]);
        let request = tables_only(&[("orders", &["payments", "refunds"])]);
        let held = asked(&fake, &request);
        assert_eq!(fake.calls(), ["DescribeTables orders"]);
        assert!(problems(&request, &held).is_empty());
        // A database named by two groups is asked once.
        let fake = Fake::holding(&[("orders", &["payments", "refunds"])]);
        let twice = tables_only(&[("orders", &["payments"]), ("orders", &["refunds"])]);
        let held = asked(&fake, &twice);
        assert_eq!(fake.calls(), ["DescribeTables orders"]);
        assert!(problems(&twice, &held).is_empty());
    }

    #[test]
    fn a_missing_tables_database_falls_back_to_one_describe_databases_for_its_suggestion() {
        let fake = Fake::holding(&[("orders", &["payments"]), ("ledger", &["entries"])]);
        let request = tables_only(&[("ordrs", &["payments"]), ("ledgr", &["entries"])]);
        let held = asked(&fake, &request);
        assert_eq!(
            fake.calls(),
            [
                "DescribeTables ordrs",
                "DescribeTables ledgr",
                "DescribeDatabases"
            ]
        );
        assert_eq!(
            problems(&request, &held),
            [
                Problem::MissingTablesDatabase {
                    db: "ordrs".into(),
                    suggestion: Some("orders".into())
                },
                Problem::MissingTablesDatabase {
                    db: "ledgr".into(),
                    suggestion: Some("ledger".into())
                },
            ]
        );
    }

    #[test]
    fn an_empty_tables_database_that_exists_reports_its_missing_tables_as_before() {
        let fake = Fake::holding(&[("orders", &["payments"]), ("staging", &[])]);
        let request = tables_only(&[("orders", &["payments"]), ("staging", &["payments"])]);
        let held = asked(&fake, &request);
        assert_eq!(
            fake.calls(),
            [
                "DescribeTables orders",
                "DescribeTables staging",
                "DescribeDatabases"
            ]
        );
        assert_eq!(
            problems(&request, &held),
            [Problem::MissingTable {
                db: "staging".into(),
                table: "payments".into(),
                suggestion: None
            }]
        );
    }

    #[test]
    fn an_error_answer_for_a_database_is_settled_by_describe_databases() {
        // Missing: the finding is the one DescribeDatabases alone gave before.
        let mut fake = Fake::holding(&[("orders", &["payments"])]);
        fake.tables_error = Some(("ordrs".into(), "InvalidParameter".into()));
        let request = tables_only(&[("ordrs", &["payments"])]);
        let held = asked(&fake, &request);
        assert_eq!(fake.calls(), ["DescribeTables ordrs", "DescribeDatabases"]);
        assert_eq!(
            problems(&request, &held),
            [Problem::MissingTablesDatabase {
                db: "ordrs".into(),
                suggestion: Some("orders".into())
            }]
        );
        // Existing: the error stands, as it did when DescribeTables was asked second.
        let mut fake = Fake::holding(&[("orders", &["payments"])]);
        fake.tables_error = Some(("orders".into(), "InternalError.DBError".into()));
        let request = tables_only(&[("orders", &["payments"])]);
        let err = futures::executor::block_on(holdings(&fake, &request))
            .err()
            .and_then(|e| e.code_text());
        assert_eq!(err.as_deref(), Some("InternalError.DBError"));
        assert_eq!(fake.calls(), ["DescribeTables orders", "DescribeDatabases"]);
    }

    #[test]
    fn a_missing_instance_answer_from_describe_tables_is_not_asked_further() {
        let mut fake = Fake::holding(&[]);
        fake.tables_error = Some(("orders".into(), "InvalidParameter.InstanceNotFound".into()));
        let request = tables_only(&[("orders", &["payments"]), ("shop", &["x"])]);
        let err = futures::executor::block_on(holdings(&fake, &request))
            .err()
            .unwrap_or_else(|| panic!("no error"));
        assert!(is_missing_instance(&err), "{err}");
        assert_eq!(fake.calls(), ["DescribeTables orders"]);
    }

    #[test]
    fn an_instance_with_dbs_is_asked_describe_databases_first_then_its_existing_tables_databases() {
        let fake = Fake::holding(&[("ledger", &["entries"]), ("orders", &["payments"])]);
        let mut request = tables_only(&[("orders", &["payments"]), ("nowhere", &["x"])]);
        request.spec.strategy = Strategy::Db;
        request.spec.dbs = vec![DatabaseRename {
            dbname: "ledger".into(),
            newname: "ledger_bak".into(),
        }];
        let held = asked(&fake, &request);
        assert_eq!(fake.calls(), ["DescribeDatabases", "DescribeTables orders"]);
        assert_eq!(
            problems(&request, &held),
            [Problem::MissingTablesDatabase {
                db: "nowhere".into(),
                suggestion: None
            }]
        );
    }
}
