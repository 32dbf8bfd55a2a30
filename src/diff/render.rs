//! Human and JSON renderings of the diff.

use std::fmt::Write as _;

use serde_json::json;

use super::{Call, summary};
use crate::plan::ResolvedPlan;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn add(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The diff as a person reads it; `colour` adds terraform-like ANSI colours.
pub fn human(plan: &ResolvedPlan, calls: &[Call], colour: bool) -> String {
    let st = Style { on: colour };
    let mut out = String::new();
    let s = summary(plan);
    let _ = writeln!(out, "{} {}", st.bold("Plan:"), st.bold(&plan.name));
    if let Some(d) = &plan.description {
        let _ = writeln!(out, "  {}", st.dim(d));
    }
    let _ = writeln!(
        out,
        "\nplanrun will roll back the following. Every object is restored beside its original under\na new name; nothing existing is modified or dropped.\n"
    );
    for i in &plan.instances {
        let region = i
            .region
            .as_deref()
            .map(|r| format!(", region {r}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} {}",
            st.add("+"),
            st.bold(&i.id),
            st.dim(&format!(
                "(strategy {}, to {} {}{region})",
                i.strategy.as_str(),
                i.rollback_time,
                plan.timezone
            ))
        );
        if i.strategy == crate::plan::Strategy::Full {
            let _ = writeln!(
                out,
                "      {}",
                st.warn("! full: imports the whole instance's backup and binlog (slowest)")
            );
        }
        for r in &i.dbs {
            let _ = writeln!(
                out,
                "      {} database {} → {}",
                st.add("+"),
                r.source,
                st.add(&r.target)
            );
        }
        for t in &i.tables {
            for r in &t.tables {
                let _ = writeln!(
                    out,
                    "      {} table    {}.{} → {}.{}",
                    st.add("+"),
                    t.db,
                    r.source,
                    t.db,
                    st.add(&r.target)
                );
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "{} {}, {}, {} (table: {}, db: {}, full: {}), in {}.",
        st.bold("Summary:"),
        plural(s.instances, "instance", "instances"),
        plural(s.databases, "database", "databases"),
        plural(s.tables, "table", "tables"),
        s.table,
        s.db,
        s.full,
        plural(calls.len(), "call", "calls"),
    );
    if !calls.is_empty() {
        let _ = writeln!(
            out,
            "\nCalls ({}, at most {} instances each):",
            calls[0].action, plan.batch_size
        );
        for (n, call) in calls.iter().enumerate() {
            let region = call.region.as_deref().unwrap_or("default region");
            let _ = writeln!(
                out,
                "  {:>3}. [{region}] {}",
                n + 1,
                call.instances.join(", ")
            );
            for (k, v) in call.params.iter().flatten() {
                let _ = writeln!(out, "         {}={v}", st.dim(k));
            }
        }
    }
    out
}

/// The diff as JSON (stable field names; see the README).
pub fn json(plan: &ResolvedPlan, calls: &[Call]) -> serde_json::Value {
    let instances: Vec<_> = plan
        .instances
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "strategy": i.strategy.as_str(),
                "rollback_time": i.rollback_time,
                "timezone": plan.timezone,
                "region": i.region,
                "dbs": i.dbs.iter().map(|r| json!({"source": r.source, "target": r.target})).collect::<Vec<_>>(),
                "tables": i.tables.iter().flat_map(|t| t.tables.iter().map(|r| json!({"db": t.db, "source": r.source, "target": r.target}))).collect::<Vec<_>>(),
            })
        })
        .collect();
    let calls: Vec<_> = calls
        .iter()
        .map(|c| {
            let mut v = json!({"action": c.action, "region": c.region, "instances": c.instances});
            if let Some(params) = &c.params {
                v["params"] = params
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            v
        })
        .collect();
    json!({
        "plan": plan.name,
        "description": plan.description,
        "timezone": plan.timezone,
        "batch_size": plan.batch_size,
        "summary": summary(plan),
        "instances": instances,
        "calls": calls,
    })
}
