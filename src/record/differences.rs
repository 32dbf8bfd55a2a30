//! What `planrun compare` found after the apply, in the record: per restored table the rows
//! deleted, inserted and changed since the time, with the first rows of each kind, and the
//! tables that could not be compared with why. Only a comparison of the plan as applied (the
//! same plan hash) is shown.

use std::fmt::Write as _;

use super::Incident;
use super::text::{self, html as esc, markdown as md};
use crate::compare::Comparison;
use crate::compare::outcome::{RowText, TableOutcome};

impl Incident {
    /// Adds `compare`'s kept result when it is of the plan as applied.
    pub fn with_differences(mut self, comparison: Option<Comparison>) -> Self {
        self.differences = comparison.filter(|c| {
            self.plan_hash.is_none() || self.plan_hash.as_deref() == Some(&c.plan_hash)
        });
        self
    }
}

fn n(v: Option<u64>) -> String {
    v.map_or_else(
        || "-".to_owned(),
        |v| text::count(usize::try_from(v).unwrap_or(usize::MAX)),
    )
}

/// A table's row of the part: instance, restored, source, key, rows then and now, deleted,
/// inserted, changed, and why it was not compared.
fn cells(t: &TableOutcome) -> [String; 10] {
    [
        t.instance.clone(),
        t.restored.clone(),
        t.source.clone(),
        t.key
            .as_ref()
            .map_or_else(|| "-".to_owned(), |k| k.join(",")),
        n(t.rows_restored),
        n(t.rows_now),
        n(t.deleted),
        n(t.inserted),
        n(t.changed),
        t.not_comparable.clone().unwrap_or_default(),
    ]
}

fn row(r: &RowText) -> String {
    r.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("NULL")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sample of a table as lines: `deleted: id=2 ...`.
fn sample_lines(t: &TableOutcome) -> Vec<String> {
    let mut lines = Vec::new();
    lines.extend(
        t.sample
            .deleted
            .iter()
            .map(|r| format!("deleted: {}", row(r))),
    );
    lines.extend(
        t.sample
            .inserted
            .iter()
            .map(|r| format!("inserted: {}", row(r))),
    );
    lines.extend(t.sample.changed.iter().map(|c| {
        let cols: Vec<String> = c
            .columns
            .iter()
            .map(|col| {
                let v = |r: &RowText| {
                    r.get(col)
                        .and_then(|v| v.as_str())
                        .unwrap_or("NULL")
                        .to_owned()
                };
                format!("{col} {} → {}", v(&c.restored), v(&c.now))
            })
            .collect();
        format!("changed: {}: {}", row(&c.key), cols.join(", "))
    }));
    lines
}

fn headline(c: &Comparison) -> String {
    format!(
        "Compared {} with the sources: {} differences since the time.",
        text::utc(c.compared_at),
        text::count(usize::try_from(c.differences()).unwrap_or(usize::MAX))
    )
}

pub(super) fn markdown(out: &mut String, incident: &Incident) {
    let Some(c) = &incident.differences else {
        return;
    };
    let _ = writeln!(
        out,
        "\n#### Differences since the time ({} tables)\n\n{}\n\n| instance | restored | source | key | rows then | rows now | deleted | inserted | changed | note |\n|---|---|---|---|---|---|---|---|---|---|",
        c.tables.len(),
        md(&headline(c))
    );
    for t in &c.tables {
        let cells: Vec<String> = cells(t).iter().map(|c| md(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    for (id, why) in &c.instances_not_compared {
        let _ = writeln!(out, "\n{}: not compared: {}", md(id), md(why));
    }
    for t in c.tables.iter().filter(|t| t.differences() > 0) {
        let lines = sample_lines(t);
        let _ = writeln!(
            out,
            "\n<details><summary>{}: first rows of each kind</summary>\n",
            md(&t.source)
        );
        for l in lines {
            let _ = writeln!(out, "- {}", md(&l));
        }
        let _ = writeln!(out, "\n</details>");
    }
}

pub(super) fn html(out: &mut String, incident: &Incident) {
    let Some(c) = &incident.differences else {
        return;
    };
    let _ = write!(
        out,
        "<section id=\"differences\"><h2>Differences since the time ({})</h2><p class=\"note\">{}</p>\
         <table class=\"differences\"><thead><tr><th>instance</th><th>restored</th><th>source</th>\
         <th>key</th><th>rows then</th><th>rows now</th><th>deleted</th><th>inserted</th>\
         <th>changed</th><th>note</th></tr></thead><tbody>",
        c.tables.len(),
        esc(&headline(c))
    );
    for t in &c.tables {
        out.push_str("<tr>");
        for cell in cells(t) {
            let _ = write!(out, "<td>{}</td>", esc(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    for (id, why) in &c.instances_not_compared {
        let _ = write!(out, "<p>{}: not compared: {}</p>", esc(id), esc(why));
    }
    for t in c.tables.iter().filter(|t| t.differences() > 0) {
        let _ = write!(
            out,
            "<details class=\"print\"><summary>{}: first rows of each kind</summary><ul>",
            esc(&t.source)
        );
        for l in sample_lines(t) {
            let _ = write!(out, "<li>{}</li>", esc(&l));
        }
        out.push_str("</ul></details>");
    }
    out.push_str("</section>");
}
