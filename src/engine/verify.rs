//! Verified before `succeeded`: once a task reports success, the new databases and tables of
//! its instance are looked for with the calls the object preflight makes (API 3.0
//! DescribeTables per database named under `tables`, DescribeDatabases when `dbs` are named:
//! [`super::objects::holdings`]). Only when every one is seen is the instance `succeeded`;
//! otherwise it is `unverified`, with what is missing. A self-hosted restore verifies itself
//! (its checksum); API 2.0 has no such query, so its success stays the task's word.

use super::objects::Holdings;
use super::protocol::Protocol;
use crate::api::Error;
use crate::api::rollback::InstanceRollback;

/// What the API says of a successful task's new objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every new database and table exists.
    Seen,
    /// These (`db`, `db.table`) were not seen.
    Missing(Vec<String>),
    /// The API cannot list an instance's objects (API 2.0).
    Unavailable,
}

/// The new objects of `request` that `held` does not show, in the request's order.
pub fn missing(request: &InstanceRollback, held: &Holdings) -> Vec<String> {
    let dbs = request
        .spec
        .dbs
        .iter()
        .filter(|d| !held.databases.contains(&d.newname))
        .map(|d| d.newname.clone());
    let tables = request.spec.tables.iter().flat_map(|group| {
        let there = held.tables.get(&group.db);
        group
            .table
            .iter()
            .filter(move |t| there.is_none_or(|tables| !tables.contains(&t.newname)))
            .map(move |t| format!("{}.{}", group.db, t.newname))
    });
    dbs.chain(tables).collect()
}

/// Asks the API what the instance holds now and judges `request`'s new objects by it.
pub async fn verify<P: Protocol>(
    protocol: &P,
    region: Option<&str>,
    request: &InstanceRollback,
) -> Result<Verdict, Error> {
    Ok(match protocol.holdings(region, request).await? {
        None => Verdict::Unavailable,
        Some(held) => match missing(request, &held) {
            gone if gone.is_empty() => Verdict::Seen,
            gone => Verdict::Missing(gone),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{DatabaseRename, Strategy};
    use std::collections::{BTreeMap, BTreeSet};

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn every_new_database_and_table_must_be_seen() {
        // orders.payments and orders.refunds, and the database `ledger` as `ledger_bak`.
        let mut spec = crate::api::rollback::tests::orders();
        spec.strategy = Strategy::Db;
        spec.dbs = vec![DatabaseRename {
            dbname: "ledger".into(),
            newname: "ledger_bak".into(),
        }];
        let request = InstanceRollback {
            instance_id: "cdb-aaaaaaaa".into(),
            spec,
        };
        let mut held = Holdings {
            databases: set(&["ledger", "orders"]),
            tables: BTreeMap::from([("orders".into(), set(&["payments", "payments_bak"]))]),
        };
        assert_eq!(
            missing(&request, &held),
            ["ledger_bak", "orders.refunds_bak"]
        );
        held.databases.insert("ledger_bak".into());
        held.tables
            .get_mut("orders")
            .map(|t| t.insert("refunds_bak".into()));
        assert!(missing(&request, &held).is_empty());
        // A database whose tables were not listed shows none of its new tables.
        held.tables.clear();
        assert_eq!(
            missing(&request, &held),
            ["orders.payments_bak", "orders.refunds_bak"]
        );
    }
}
