//! Human and JSON renderings of the diff.

use std::fmt::Write as _;

use serde_json::json;

use super::{Call, summary};
use crate::plan::text::visible;
use crate::plan::{Instance, ResolvedPlan};

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

/// How the human diff is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// terraform-like ANSI colours.
    pub colour: bool,
    /// One block per instance, even where an `ids:` entry gives many the same rollback
    /// (`--expand`); by default they share one block.
    pub expand: bool,
    /// Columns to wrap instance lists at.
    pub width: usize,
}

/// Same entry, same rollback: instances that one block can show together.
fn same_spec(a: &Instance, b: &Instance) -> bool {
    a.entry == b.entry
        && a.strategy == b.strategy
        && a.rollback_time == b.rollback_time
        && a.region == b.region
        && a.dbs == b.dbs
        && a.tables == b.tables
}

/// The diff as a person reads it. Every text from the plan goes through [`visible`]: validate
/// refuses control characters, and this keeps that true for whatever reaches here.
pub fn human(plan: &ResolvedPlan, calls: &[Call], view: &View) -> String {
    let st = Style { on: view.colour };
    let mut out = String::new();
    let s = summary(plan);
    let _ = writeln!(
        out,
        "{} {}",
        st.bold("Plan:"),
        st.bold(&visible(&plan.name))
    );
    if let Some(d) = &plan.description {
        // A multi-line description stays indented: it cannot pass for lines of the diff.
        for line in d.lines() {
            let _ = writeln!(out, "  {}", st.dim(&visible(line)));
        }
    }
    let _ = writeln!(
        out,
        "\nplanrun will roll back the following. Every object is restored beside its original under\na new name; nothing existing is modified or dropped.\n"
    );
    let mut rest = plan.instances.as_slice();
    while let Some(first) = rest.first() {
        let n = if view.expand {
            1
        } else {
            rest.iter().take_while(|i| same_spec(first, i)).count()
        };
        let (group, tail) = rest.split_at(n);
        rest = tail;
        block(&mut out, &st, plan, group, view.width);
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
        carried_by(plan, calls.len()),
    );
    if !calls.is_empty() {
        let _ = writeln!(
            out,
            "\nCalls ({}, at most {} instances each):",
            calls[0].action, plan.batch_size
        );
        for (n, call) in calls.iter().enumerate() {
            let region = call
                .region
                .as_deref()
                .map_or("default region".into(), visible);
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

/// `3 calls`, or with self-hosted instances `1 call and 2 self-hosted restores` (those go to
/// their own servers, in no call).
fn carried_by(plan: &ResolvedPlan, calls: usize) -> String {
    let local = plan
        .instances
        .iter()
        .filter(|i| i.selfhosted.is_some())
        .count();
    match (local, calls) {
        (0, _) => plural(calls, "call", "calls"),
        (_, 0) => plural(local, "self-hosted restore", "self-hosted restores"),
        _ => format!(
            "{} and {}",
            plural(calls, "call", "calls"),
            plural(local, "self-hosted restore", "self-hosted restores")
        ),
    }
}

/// One instance, or a group with the same rollback: the header, then its objects once.
fn block(out: &mut String, st: &Style, plan: &ResolvedPlan, group: &[Instance], width: usize) {
    let i = &group[0];
    let region = match &i.selfhosted {
        Some(at) => format!(", mysql at {}", visible(&at.server)),
        None => i
            .region
            .as_deref()
            .map(|r| format!(", region {}", visible(r)))
            .unwrap_or_default(),
    };
    let spec = st.dim(&format!(
        "(strategy {}, to {} {}{region})",
        i.strategy.as_str(),
        i.rollback_time,
        plan.timezone
    ));
    if group.len() == 1 {
        let _ = writeln!(out, "  {} {} {spec}", st.add("+"), st.bold(&i.id));
    } else {
        let _ = writeln!(
            out,
            "  {} {} {spec}",
            st.add("+"),
            st.bold(&format!("{} instances", group.len()))
        );
        let ids: Vec<&str> = group.iter().map(|g| g.id.as_str()).collect();
        for line in wrap(&ids, width.saturating_sub(6).max(20)) {
            let _ = writeln!(out, "      {line}");
        }
        let _ = writeln!(out, "    {}", st.dim("each rolls back:"));
    }
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

/// `words` joined by ", " into lines of at most `width` columns.
fn wrap(words: &[&str], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for (n, w) in words.iter().enumerate() {
        let piece = if n + 1 < words.len() {
            format!("{w},")
        } else {
            (*w).to_owned()
        };
        if !line.is_empty() && line.len() + 1 + piece.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
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
                "provider": i.provider().as_str(),
                "server": i.selfhosted.as_ref().map(|at| at.server.as_str()),
                "backups": i.selfhosted.as_ref().map(|at| at.backups.as_str()),
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
