//! The object preflight: before anything is submitted, ask each instance what it holds
//! (API 3.0 DescribeTables for each database whose tables the plan names, DescribeDatabases
//! when the plan names `dbs` or a database's existence is left open; see [`holdings`]) and
//! find every source that does not exist and every target that already does.
//!
//! Cost: one call per instance and database named. An instance that names only `tables` is
//! asked DescribeTables once per database (a non-empty list proves the database exists), plus
//! one DescribeDatabases only when a list is empty or an error answer (the "did you mean" of a
//! missing database needs the instance's real names). One that names `dbs` is asked
//! DescribeDatabases once, then DescribeTables once per existing database under `tables`.
//! Each call lists up to 5,000 names per page. The calls of many instances overlap on the
//! client, which keeps them within `--concurrency` and each action's `--rate`.

use std::collections::{BTreeMap, BTreeSet};

use super::protocol::Protocol;
use crate::api::Error;
use crate::api::rollback::InstanceRollback;
use crate::plan::diagnostic::closest;

mod holdings;
pub use holdings::{Inventory, holdings};

/// What one instance holds, as far as its rollback needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Every database of the instance when [`holdings`] asked DescribeDatabases (always when
    /// a finding needs them); otherwise the ones their tables proved to exist.
    pub databases: BTreeSet<String>,
    /// The tables of each database the plan names under `tables` (and that exists); a
    /// database absent here is one the instance does not hold.
    pub tables: BTreeMap<String, BTreeSet<String>>,
}

/// One thing wrong with one instance's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A database under `dbs` does not exist.
    MissingDatabase {
        db: String,
        suggestion: Option<String>,
    },
    /// A database under `tables` does not exist.
    MissingTablesDatabase {
        db: String,
        suggestion: Option<String>,
    },
    /// A table does not exist in its (existing) database.
    MissingTable {
        db: String,
        table: String,
        suggestion: Option<String>,
    },
    /// A new database name is taken.
    DatabaseExists { source: String, target: String },
    /// A new table name is taken in its database.
    TableExists {
        db: String,
        source: String,
        target: String,
    },
    /// The API says the instance does not exist (and the window check did not say so).
    Unavailable { message: String },
}

/// The problems of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub instance_id: String,
    pub problems: Vec<Problem>,
}

/// Checks every request in `requests` (each with its region), skipping the instances in
/// `skip` (already reported unavailable). `Ok(None)` with API 2.0, which has no such query.
/// Findings come in the order of `requests`; instances without problems are left out.
pub async fn check<P: Protocol>(
    protocol: &P,
    requests: &[(Option<&str>, &InstanceRollback)],
    skip: &BTreeSet<String>,
) -> Result<Option<Vec<Finding>>, Error> {
    use futures::{StreamExt, TryStreamExt};
    // The client's semaphore and limiters pace the calls; this only keeps them fed. Twice
    // the client's bound, because `buffered` yields in order: an instance that takes longer
    // (a DescribeDatabases after its DescribeTables, several databases, a retry's backoff)
    // keeps its place while the ones after it finish, and the slack keeps the client's slots
    // busy meanwhile. It also lets calls of the other action (plans with `dbs`, fallbacks)
    // queue for their own turn at the rate while one action's calls wait.
    let width = protocol.concurrency().max(1) * 2;
    let checks = requests
        .iter()
        .filter(|(_, r)| !skip.contains(&r.instance_id))
        .map(|(region, request)| instance(protocol, *region, request));
    let findings: Vec<Option<Finding>> = futures::stream::iter(checks)
        .buffered(width)
        .try_filter(|f| {
            let keep = f.as_ref().is_none_or(|f| !f.problems.is_empty());
            async move { keep }
        })
        .try_collect()
        .await?;
    // An API without the query answers `None` for every instance.
    Ok(findings.into_iter().collect())
}

/// One instance's finding; `None` from an API that cannot say what an instance holds.
async fn instance<P: Protocol>(
    protocol: &P,
    region: Option<&str>,
    request: &InstanceRollback,
) -> Result<Option<Finding>, Error> {
    let finding = |problems| Finding {
        instance_id: request.instance_id.clone(),
        problems,
    };
    match protocol.holdings(region, request).await {
        Ok(Some(h)) => Ok(Some(finding(problems(request, &h)))),
        Ok(None) => Ok(None),
        Err(e) if is_missing_instance(&e) => Ok(Some(finding(vec![Problem::Unavailable {
            message: e.to_string(),
        }]))),
        Err(e) => Err(e),
    }
}

/// The CDB family's codes (the SDK's `errorcodes.py`) whose name says it is the instance
/// that was not found; `InstanceNotFundError` is the SDK's own spelling. A bare
/// `ResourceNotFound` or `InvalidParameter.ResourceNotExists` does not say which resource:
/// it stays an error of the preflight, which then submits nothing.
const INSTANCE_NOT_FOUND: &[&str] = &[
    "InvalidParameter.InstanceNotFound",
    "ResourceNotFound.CdbInstanceNotFoundError",
    "ResourceNotFound.InstanceNotFoundError",
    "ResourceNotFound.InstanceNotFundError",
];

/// Whether an answer says the instance itself does not exist.
fn is_missing_instance(e: &Error) -> bool {
    e.code_text()
        .is_some_and(|code| INSTANCE_NOT_FOUND.contains(&code.as_str()))
}

/// Every source of `request` missing from `held`, and every target present in it, in the
/// request's order (databases first, then tables).
pub fn problems(request: &InstanceRollback, held: &Holdings) -> Vec<Problem> {
    let suggest = |word: &str, names: &BTreeSet<String>| {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        closest(word, &names).map(str::to_owned)
    };
    let mut out = Vec::new();
    for d in &request.spec.dbs {
        if !held.databases.contains(&d.dbname) {
            out.push(Problem::MissingDatabase {
                db: d.dbname.clone(),
                suggestion: suggest(&d.dbname, &held.databases),
            });
        }
        if held.databases.contains(&d.newname) {
            out.push(Problem::DatabaseExists {
                source: d.dbname.clone(),
                target: d.newname.clone(),
            });
        }
    }
    for group in &request.spec.tables {
        let Some(tables) = held.tables.get(&group.db) else {
            out.push(Problem::MissingTablesDatabase {
                db: group.db.clone(),
                suggestion: suggest(&group.db, &held.databases),
            });
            continue;
        };
        for t in &group.table {
            if !tables.contains(&t.tablename) {
                out.push(Problem::MissingTable {
                    db: group.db.clone(),
                    table: t.tablename.clone(),
                    suggestion: suggest(&t.tablename, tables),
                });
            }
            if tables.contains(&t.newname) {
                out.push(Problem::TableExists {
                    db: group.db.clone(),
                    source: t.tablename.clone(),
                    target: t.newname.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{
        DatabaseRename, DatabaseTables, RollbackSpec, Strategy, TableRename,
    };

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn request() -> InstanceRollback {
        InstanceRollback {
            instance_id: "cdb-aaaaaaaa".into(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Db,
                dbs: vec![
                    DatabaseRename {
                        dbname: "ledger".into(),
                        newname: "ledger_bak".into(),
                    },
                    DatabaseRename {
                        dbname: "ledgr_archive".into(),
                        newname: "archive_bak".into(),
                    },
                ],
                tables: vec![
                    DatabaseTables {
                        db: "orders".into(),
                        table: vec![
                            TableRename {
                                tablename: "paymnts".into(),
                                newname: "payments_bak".into(),
                            },
                            TableRename {
                                tablename: "refunds".into(),
                                newname: "refunds_old".into(),
                            },
                        ],
                    },
                    DatabaseTables {
                        db: "nowhere".into(),
                        table: vec![TableRename {
                            tablename: "x".into(),
                            newname: "x_bak".into(),
                        }],
                    },
                ],
            },
        }
    }

    #[test]
    fn missing_sources_and_taken_targets_are_found_with_suggestions() {
        let held = Holdings {
            databases: set(&["ledger", "ledger_archive", "ledger_bak", "orders"]),
            tables: [(
                "orders".to_owned(),
                set(&["payments", "refunds", "refunds_old"]),
            )]
            .into_iter()
            .collect(),
        };
        assert_eq!(
            problems(&request(), &held),
            [
                Problem::DatabaseExists {
                    source: "ledger".into(),
                    target: "ledger_bak".into()
                },
                Problem::MissingDatabase {
                    db: "ledgr_archive".into(),
                    suggestion: Some("ledger_archive".into())
                },
                Problem::MissingTable {
                    db: "orders".into(),
                    table: "paymnts".into(),
                    suggestion: Some("payments".into())
                },
                Problem::TableExists {
                    db: "orders".into(),
                    source: "refunds".into(),
                    target: "refunds_old".into()
                },
                Problem::MissingTablesDatabase {
                    db: "nowhere".into(),
                    suggestion: None
                },
            ]
        );
    }

    #[test]
    fn an_instance_holding_everything_has_no_problem() {
        let held = Holdings {
            databases: set(&["ledger", "ledgr_archive", "orders", "nowhere"]),
            tables: [
                ("orders".to_owned(), set(&["paymnts", "refunds"])),
                ("nowhere".to_owned(), set(&["x"])),
            ]
            .into_iter()
            .collect(),
        };
        assert!(problems(&request(), &held).is_empty());
    }

    #[test]
    fn only_not_found_codes_mean_a_missing_instance() {
        let cloud = |code: &str| Error::Cloud {
            action: "DescribeDatabases".into(),
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        };
        assert!(is_missing_instance(&cloud(
            "ResourceNotFound.InstanceNotFoundError"
        )));
        assert!(is_missing_instance(&cloud(
            "InvalidParameter.InstanceNotFound"
        )));
        assert!(!is_missing_instance(&cloud(
            "InternalError.DatabaseAccessError"
        )));
        assert!(!is_missing_instance(&cloud("AuthFailure.SignatureFailure")));
        // Which resource is not said.
        for code in [
            "ResourceNotFound",
            "InvalidParameter.ResourceNotExists",
            "InvalidParameter.ResourceNotFound",
        ] {
            assert!(!is_missing_instance(&cloud(code)), "{code}");
        }
    }

    /// A protocol that knows what its instances hold (or, `None`, cannot say), so the check
    /// is seen to go through the protocol seam, as `AnyProtocol` routes it.
    struct Knows(Option<Holdings>);

    impl Protocol for Knows {
        async fn submit(
            &self,
            _: Option<&str>,
            _: &[InstanceRollback],
        ) -> Result<crate::engine::protocol::JobHandle, Error> {
            unreachable!("the preflight submits nothing")
        }
        async fn tasks(
            &self,
            _: Option<&str>,
            _: &str,
        ) -> Result<Vec<crate::engine::protocol::Task>, Error> {
            Ok(Vec::new())
        }
        async fn task(
            &self,
            _: Option<&str>,
            _: &str,
            _: &crate::engine::protocol::JobHandle,
        ) -> Result<Option<crate::engine::protocol::Task>, Error> {
            Ok(None)
        }
        async fn holdings(
            &self,
            _: Option<&str>,
            _: &InstanceRollback,
        ) -> Result<Option<Holdings>, Error> {
            Ok(self.0.clone())
        }
    }

    #[tokio::test]
    async fn the_check_asks_the_protocol_and_an_api_without_the_query_checks_nothing() {
        let r = request();
        let requests = [(None, &r)];
        let held = Holdings {
            databases: set(&["ledger", "ledger_bak"]),
            tables: BTreeMap::new(),
        };
        let found = check(&Knows(Some(held.clone())), &requests, &BTreeSet::new())
            .await
            .unwrap();
        assert_eq!(
            found.map(|f| f.into_iter().map(|f| f.problems).collect::<Vec<_>>()),
            Some(vec![problems(&r, &held)])
        );
        assert!(!problems(&r, &held).is_empty());
        let none = check(&Knows(None), &requests, &BTreeSet::new())
            .await
            .unwrap();
        assert_eq!(none, None);
    }
}
