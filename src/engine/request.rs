//! Turns a resolved plan instance into the protocol-neutral API request.

use crate::api::rollback::{
    DatabaseRename, DatabaseTables, InstanceRollback, RollbackSpec, TableRename,
};
use crate::plan::Instance;

/// The API request for one instance of the plan.
pub fn rollback(instance: &Instance) -> InstanceRollback {
    InstanceRollback {
        instance_id: instance.id.clone(),
        spec: RollbackSpec {
            rollbacktime: instance.rollback_time.clone(),
            strategy: instance.strategy,
            dbs: instance
                .dbs
                .iter()
                .map(|r| DatabaseRename {
                    dbname: r.source.clone(),
                    newname: r.target.clone(),
                })
                .collect(),
            tables: instance
                .tables
                .iter()
                .map(|t| DatabaseTables {
                    db: t.db.clone(),
                    table: t
                        .tables
                        .iter()
                        .map(|r| TableRename {
                            tablename: r.source.clone(),
                            newname: r.target.clone(),
                        })
                        .collect(),
                })
                .collect(),
        },
    }
}
