//! The record as GitHub-flavoured Markdown for a ticket: the run in a table, the totals, what
//! was not restored and why, and the instances, collapsed beyond [`SHOWN`] rows. Long enough
//! to tell the story, short enough to paste: a fleet beyond [`LISTED`] instances is only
//! counted (the HTML record lists every one).

use std::fmt::Write as _;

use super::html::{mapping_note, runners};
use super::text::{self, markdown as esc};
use super::{Incident, InstanceRecord};

/// Rows shown before a list is collapsed.
const SHOWN: usize = 50;
/// Instances listed at most (collapsed); beyond, the ticket would be too long to paste.
const LISTED: usize = 500;

pub fn markdown(incident: &Incident) -> String {
    let mut out = String::new();
    let off = incident.offset;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} {} · {}",
            text::local(t, off),
            text::zone(off),
            text::utc(t)
        )
    };
    let _ = writeln!(out, "### Rollback record: {}\n", esc(&incident.plan));
    out.push_str("| | |\n|---|---|\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "| {k} | {v} |");
    };
    if let Some(d) = &incident.description {
        row("description", esc(d));
    }
    if let Some(h) = &incident.plan_hash {
        row("plan hash", esc(h));
    }
    if incident.only_selfhosted() {
        row("API", "none: self-hosted restores only".to_owned());
    } else if let Some(c) = incident.by() {
        let generation = if c.api == "v2" { "API 2.0" } else { "API 3.0" };
        let place = if c.sandbox {
            ", in-process sandbox"
        } else {
            ""
        };
        row("API", esc(&format!("{generation} ({}){place}", c.action)));
    }
    row("run by", esc(&runners(incident)));
    if let Some(t) = incident.started_at {
        row("started", esc(&when(t)));
    }
    match (incident.finished_at, incident.as_of) {
        (Some(t), _) => row("finished", esc(&when(t))),
        (None, Some(t)) => row(
            "finished",
            format!("**not yet**: a snapshot as of {}", esc(&when(t))),
        ),
        (None, None) => {}
    }
    if let Some(took) = text::between(incident.started_at, incident.finished_at.or(incident.as_of))
    {
        row("took", took);
    }
    let calls = incident.action().unwrap_or("calls");
    if !incident.only_selfhosted() {
        row(
            "calls",
            format!("{} × {}", incident.batches.len(), esc(calls)),
        );
    }
    if let Some(note) = mapping_note(incident.mapping) {
        let _ = writeln!(out, "\n> {}", esc(note));
    }
    let totals: Vec<String> = incident
        .totals()
        .iter()
        .map(|(s, n)| format!("{} {}", text::count(*n), esc(&text::status_label(*s))))
        .collect();
    let _ = writeln!(
        out,
        "\n**{} instances:** {}",
        text::count(incident.instances.len()),
        totals.join(" · ")
    );
    problems(&mut out, incident);
    instances(&mut out, incident);
    super::selfhosted::markdown(&mut out, incident);
    super::differences::markdown(&mut out, incident);
    out
}

fn problems(out: &mut String, incident: &Incident) {
    let list: Vec<&InstanceRecord> = incident.problems().collect();
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n#### Not restored ({})\n", text::count(list.len()));
    let head =
        "| instance | status | job | code | message | RequestId |\n|---|---|---|---|---|---|\n";
    let row = |out: &mut String, i: &&InstanceRecord| {
        let p = i.problem.as_ref();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            esc(&i.id),
            esc(&text::status_label(i.status)),
            esc(i.job.as_deref().unwrap_or("")),
            esc(p.and_then(|p| p.code.as_deref()).unwrap_or("")),
            esc(p.map_or("", |p| p.message.as_str())),
            esc(p.and_then(|p| p.request_id.as_deref()).unwrap_or("")),
        );
    };
    let listed = &list[..list.len().min(LISTED)];
    collapsed(out, head, listed, row, "more not restored");
    if list.len() > listed.len() {
        let _ = writeln!(
            out,
            "\nAnd {} more: the HTML record lists every one.",
            text::count(list.len() - listed.len())
        );
    }
}

fn instances(out: &mut String, incident: &Incident) {
    let n = incident.instances.len();
    let _ = writeln!(out, "\n#### Instances ({})\n", text::count(n));
    if n > LISTED {
        let _ = writeln!(
            out,
            "{} instances are too many to list here: the HTML record lists every one \
             (`planrun report PLAN --format html`).",
            text::count(n)
        );
        return;
    }
    let (off, day) = (incident.offset, incident.started_at);
    let head =
        "| instance | status | restored as | job | ended | took |\n|---|---|---|---|---|---|\n";
    let row = |out: &mut String, i: &InstanceRecord| {
        let restored = i.spec.as_ref().map_or_else(String::new, |s| {
            let lines: Vec<String> = text::restored(s).iter().map(|l| esc(l)).collect();
            lines.join("<br>")
        });
        let _ = writeln!(
            out,
            "| {} | {} | {restored} | {} | {} | {} |",
            esc(&i.id),
            esc(&text::status_label(i.status)),
            esc(i.job.as_deref().unwrap_or("")),
            i.ended_at
                .map(|t| text::clock(t, off, day))
                .unwrap_or_default(),
            text::between(i.sent_at, i.ended_at).unwrap_or_default(),
        );
    };
    if n > SHOWN {
        let _ = writeln!(out, "<details><summary>All {n} instances</summary>\n");
        out.push_str(head);
        for i in &incident.instances {
            row(out, i);
        }
        out.push_str("\n</details>\n");
    } else {
        out.push_str(head);
        for i in &incident.instances {
            row(out, i);
        }
    }
}

/// A table of `items`: the first [`SHOWN`] rows, then the rest inside `<details>`.
fn collapsed<T>(
    out: &mut String,
    head: &str,
    items: &[T],
    mut row: impl FnMut(&mut String, &T),
    rest: &str,
) {
    out.push_str(head);
    for item in items.iter().take(SHOWN) {
        row(out, item);
    }
    if items.len() > SHOWN {
        let _ = writeln!(
            out,
            "\n<details><summary>{} {rest}</summary>\n",
            items.len() - SHOWN
        );
        out.push_str(head);
        for item in &items[SHOWN..] {
            row(out, item);
        }
        out.push_str("\n</details>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::fixture::journal;

    fn text(n: usize) -> String {
        markdown(&Incident::build(&journal(n, 10, false), None, None))
    }

    #[test]
    fn a_short_run_lists_its_instances_in_the_open() {
        let t = text(20);
        assert!(t.contains("#### Instances (20)\n\n| instance |"), "{t}");
        assert!(!t.contains("<details>"), "{t}");
    }

    #[test]
    fn beyond_fifty_rows_lists_are_collapsed_and_beyond_five_hundred_only_counted() {
        let t = text(400);
        assert!(
            t.contains("<details><summary>All 400 instances</summary>"),
            "{t}"
        );
        // 10 refused and every 7th of the rest failed: 66 not restored, 16 of them collapsed.
        assert!(t.contains("#### Not restored (66)"), "{t}");
        assert!(
            t.contains("<details><summary>16 more not restored</summary>"),
            "{t}"
        );
        let big = text(600);
        assert!(
            big.contains("600 instances are too many to list here"),
            "{big}"
        );
        assert!(
            big.len() < 60_000,
            "short enough to paste: {} bytes",
            big.len()
        );
        let fleet = text(10_000);
        assert!(fleet.contains("#### Not restored (1,438)"), "{fleet}");
        assert!(fleet.contains("And 938 more: the HTML record lists every one."));
        assert!(fleet.len() < 120_000, "{} bytes", fleet.len());
    }
}
