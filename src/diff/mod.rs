//! The dry-run diff a reviewer reads: what each instance would roll back, as what, and the
//! calls that would carry it. Renders to strings (human, coloured or plain) and JSON; printing
//! is the CLI's job. Depends on `plan` only: batches arrive as plain [`Call`]s.

mod render;

pub use render::{View, human, json};

use crate::plan::{ResolvedPlan, Strategy};

/// One API call as the diff shows it: region, instance ids and (with `--show-requests`) the
/// exact, unsigned action parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub region: Option<String>,
    pub instances: Vec<String>,
    pub params: Option<Vec<(String, String)>>,
}

/// Totals of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Summary {
    pub instances: usize,
    pub databases: usize,
    pub tables: usize,
    pub table: usize,
    pub db: usize,
    pub full: usize,
}

pub fn summary(plan: &ResolvedPlan) -> Summary {
    let mut s = Summary {
        instances: plan.instances.len(),
        ..Summary::default()
    };
    for i in &plan.instances {
        s.databases += i.dbs.len();
        s.tables += i.table_count();
        match i.strategy {
            Strategy::Table => s.table += 1,
            Strategy::Db => s.db += 1,
            Strategy::Full => s.full += 1,
        }
    }
    s
}
