//! The rollbacks the API-level tests send, built once: `orders.payments` restored beside
//! itself as `payments_bak` (table strategy), or `db1` as `db1_bak` (db strategy).

use planrun::api::rollback::{
    DatabaseRename, DatabaseTables, InstanceRollback, RollbackSpec, Strategy, TableRename,
};

/// `orders.payments` of `id` to `time`, as `orders.payments_bak`.
pub fn payments(id: &str, time: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.to_owned(),
        spec: RollbackSpec {
            rollbacktime: time.to_owned(),
            strategy: Strategy::Table,
            dbs: vec![],
            tables: vec![DatabaseTables {
                db: "orders".into(),
                table: vec![TableRename {
                    tablename: "payments".into(),
                    newname: "payments_bak".into(),
                }],
            }],
        },
    }
}

/// Database `db1` of `id` to `time`, as `db1_bak`.
pub fn db1(id: &str, time: &str) -> InstanceRollback {
    InstanceRollback {
        instance_id: id.to_owned(),
        spec: RollbackSpec {
            rollbacktime: time.to_owned(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "db1".into(),
                newname: "db1_bak".into(),
            }],
            tables: vec![],
        },
    }
}
