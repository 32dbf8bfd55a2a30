//! `compare`'s human output: a table per instance (what was restored beside what, the key,
//! the rows then and now, deleted, inserted, changed), then the sample rows.

use std::fmt::Write as _;

use crate::compare::Comparison;
use crate::compare::outcome::{RowText, TableOutcome};
use crate::engine::ops::compare::Target;
use crate::plan::text::visible;

/// The comparison of `targets`, a table per instance.
pub fn human(c: &Comparison, targets: &[Target]) -> String {
    let mut out = String::new();
    let compared = c
        .tables
        .iter()
        .filter(|t| t.not_comparable.is_none())
        .count();
    let sum = |f: fn(&TableOutcome) -> Option<u64>| c.tables.iter().filter_map(f).sum::<u64>();
    let _ = writeln!(
        out,
        "Plan {}: {compared} of {} tables compared, {} differences ({} deleted, {} inserted, {} changed since the time).",
        visible(&c.plan),
        c.tables.len(),
        c.differences(),
        sum(|t| t.deleted),
        sum(|t| t.inserted),
        sum(|t| t.changed),
    );
    for t in targets {
        let rows: Vec<&TableOutcome> = c
            .tables
            .iter()
            .filter(|x| x.instance == t.instance)
            .collect();
        let _ = writeln!(
            out,
            "\n{} ({}, from {})",
            visible(&t.instance),
            t.at,
            t.from
        );
        table(&mut out, &rows);
        for r in &rows {
            samples(&mut out, r);
        }
    }
    for (id, why) in &c.instances_not_compared {
        let _ = writeln!(out, "\n{}: not compared: {}", visible(id), visible(why));
    }
    out
}

fn table(out: &mut String, rows: &[&TableOutcome]) {
    let header = [
        "restored",
        "source",
        "key",
        "rows then",
        "rows now",
        "deleted",
        "inserted",
        "changed",
    ]
    .map(str::to_owned);
    let n = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                visible(&r.restored).into_owned(),
                visible(&r.source).into_owned(),
                r.key
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |k| visible(&k.join(",")).into_owned()),
                n(r.rows_restored),
                n(r.rows_now),
                n(r.deleted),
                n(r.inserted),
                n(r.changed),
            ]
        })
        .collect();
    let width = |i: usize| {
        std::iter::once(&header)
            .chain(&cells)
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..8).map(width).collect();
    for (k, r) in std::iter::once(&header).chain(&cells).enumerate() {
        let mut line = format!(
            "  {:<a$}  {:<b$}  {:<c$}",
            r[0],
            r[1],
            r[2],
            a = w[0],
            b = w[1],
            c = w[2]
        );
        if let Some(why) = k
            .checked_sub(1)
            .and_then(|i| rows[i].not_comparable.as_ref())
        {
            let _ = write!(line, "  not comparable: {}", visible(why));
        } else {
            for i in 3..8 {
                let _ = write!(line, "  {:>w$}", r[i], w = w[i]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// `id=2 amount=20 note=NULL`.
pub fn row(r: &RowText) -> String {
    r.iter()
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| "NULL".to_owned(), str::to_owned);
            format!("{}={}", visible(k), visible(&v))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn samples(out: &mut String, t: &TableOutcome) {
    let more = |shown: usize, all: Option<u64>| match all {
        Some(n) if n > shown as u64 => format!(" (first {shown} of {n})"),
        _ => String::new(),
    };
    let name = visible(&t.source);
    if !t.sample.deleted.is_empty() {
        let _ = writeln!(
            out,
            "\n  {name}: deleted since the time{}:",
            more(t.sample.deleted.len(), t.deleted)
        );
        for r in &t.sample.deleted {
            let _ = writeln!(out, "    {}", row(r));
        }
    }
    if !t.sample.inserted.is_empty() {
        let _ = writeln!(
            out,
            "\n  {name}: inserted since the time{}:",
            more(t.sample.inserted.len(), t.inserted)
        );
        for r in &t.sample.inserted {
            let _ = writeln!(out, "    {}", row(r));
        }
    }
    if !t.sample.changed.is_empty() {
        let _ = writeln!(
            out,
            "\n  {name}: changed since the time{}:",
            more(t.sample.changed.len(), t.changed)
        );
        for c in &t.sample.changed {
            let diffs: Vec<String> = c
                .columns
                .iter()
                .map(|col| {
                    let v = |r: &RowText| {
                        r.get(col)
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_else(|| "NULL".to_owned())
                    };
                    format!(
                        "{}: {} -> {}",
                        visible(col),
                        visible(&v(&c.restored)),
                        visible(&v(&c.now))
                    )
                })
                .collect();
            let _ = writeln!(out, "    {}: {}", row(&c.key), diffs.join(", "));
        }
    }
}
