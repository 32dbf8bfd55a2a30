//! Does a listed task look like a given submission? Used to reconcile a submission whose
//! outcome is unknown with the tasks GetCdbRollbackJob reports (`docs/contract.md` §3, "Never twice").
//!
//! Only the facts the API echoes back are compared (`taskContext`: rollback time, strategy,
//! renamed databases and tables); whether the task started after the attempt is the
//! engine's call, since it knows when the attempt was made.

use crate::api::rollback::{RollbackSpec, same_renames};
use crate::api::v2::tasks::RollbackTask;

impl RollbackTask {
    /// `Some(true)` when the task's context matches `spec` (same rollback time and strategy,
    /// the same database and table renames in any order), `Some(false)` when it differs, and
    /// `None` when the task carries no context to compare.
    pub fn matches_spec(&self, spec: &RollbackSpec) -> Option<bool> {
        let time = self.rollback_time.as_deref()?;
        if time.trim() != spec.rollbacktime.trim() {
            return Some(false);
        }
        // A context without a recognised strategy still matches on the rest.
        if self.strategy.is_some_and(|s| s != spec.strategy) {
            return Some(false);
        }
        Some(same_renames(
            (&self.dbs, &self.tables),
            (&spec.dbs, &spec.tables),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::para_json;
    use serde_json::json;

    /// Two tables of `orders` rolled back beside themselves.
    fn spec() -> RollbackSpec {
        crate::api::rollback::tests::orders()
    }

    fn task_with_context(context: serde_json::Value) -> RollbackTask {
        RollbackTask::from_value(&json!({"jobId": "1", "taskContext": {"data": context}}))
    }

    #[test]
    fn task_echoing_the_submitted_para_matches() {
        let para: serde_json::Value = serde_json::from_str(&para_json(&spec())).unwrap();
        assert_eq!(task_with_context(para).matches_spec(&spec()), Some(true));
    }

    #[test]
    fn order_of_tables_does_not_matter() {
        let ctx = json!({"rollbacktime": "2026-11-20 03:15:00", "strategy": "table",
            "tables": [{"db": "orders", "table": [
                {"tablename": "refunds", "newname": "refunds_bak"},
                {"tablename": "payments", "newname": "payments_bak"}]}]});
        assert_eq!(task_with_context(ctx).matches_spec(&spec()), Some(true));
    }

    #[test]
    fn any_difference_is_no_match() {
        let base = json!({"rollbacktime": "2026-11-20 03:15:00", "strategy": "table",
            "tables": [{"db": "orders", "table": [
                {"tablename": "payments", "newname": "payments_bak"},
                {"tablename": "refunds", "newname": "refunds_bak"}]}]});
        let mut other_time = base.clone();
        other_time["rollbacktime"] = json!("2026-11-20 03:16:00");
        let mut other_strategy = base.clone();
        other_strategy["strategy"] = json!("db");
        let mut other_name = base.clone();
        other_name["tables"][0]["table"][1]["newname"] = json!("refunds_old");
        let mut extra_db = base.clone();
        extra_db["dbs"] = json!([{"dbname": "x", "newname": "x_bak"}]);
        for ctx in [other_time, other_strategy, other_name, extra_db] {
            assert_eq!(
                task_with_context(ctx.clone()).matches_spec(&spec()),
                Some(false),
                "{ctx}"
            );
        }
    }

    #[test]
    fn task_without_context_cannot_be_matched() {
        let task = RollbackTask::from_value(&json!({"jobId": "1", "status": "1"}));
        assert_eq!(task.matches_spec(&spec()), None);
    }
}
