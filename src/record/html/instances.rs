//! The instances part of the page: what each restores as what, its job, timings and error.
//! A large fleet is split into collapsed groups, each with its own timeline on the shared
//! axis; when it asks for few distinct rollbacks (a sharded fleet), each is listed once and
//! the rows name it, which keeps 10,000 rows small.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::super::text::{self, html as esc};
use super::super::timeline::{self, Scale};
use super::super::{Incident, InstanceRecord};
use super::problem_text;
use crate::api::rollback::RollbackSpec;

/// Up to this many instances the page shows one timeline and one table; beyond, the overview
/// chart and groups of this many, collapsed.
pub(super) const GROUP: usize = 100;
/// Distinct rollbacks listed once (and named by the rows) at most.
const KEYED: usize = 50;

/// How a row shows what it restores.
enum Restored {
    /// The rename lines in the row; the rollback time too unless every instance shares it.
    Inline { time: bool },
    /// The number of its rollback in the list above, per instance.
    Keyed(Vec<usize>),
}

/// The rollback time every instance shares, if they all share one: then it is said once,
/// above the tables, rather than on every row.
pub(super) fn common_time(incident: &Incident) -> Option<&str> {
    let mut times = incident
        .instances
        .iter()
        .map(|i| i.spec.as_ref().map(|s| s.rollbacktime.as_str()));
    let first = times.next()??;
    times.all(|t| t == Some(first)).then_some(first)
}

/// Each distinct rollback with the number of instances asking for it.
type Distinct<'a> = Vec<(&'a RollbackSpec, usize)>;

/// The distinct rollbacks in order of first appearance, and each instance's among them;
/// `None` when there are too many for a list to help.
fn distinct(incident: &Incident) -> Option<(Distinct<'_>, Vec<usize>)> {
    let mut specs: Vec<(&RollbackSpec, usize)> = Vec::new();
    let mut keys = Vec::with_capacity(incident.instances.len());
    for i in &incident.instances {
        let spec = i.spec.as_ref()?;
        let k = match specs.iter().position(|(s, _)| *s == spec) {
            Some(k) => k,
            None if specs.len() < KEYED => {
                specs.push((spec, 0));
                specs.len() - 1
            }
            None => return None,
        };
        specs[k].1 += 1;
        keys.push(k);
    }
    Some((specs, keys))
}

pub(super) fn section(out: &mut String, incident: &Incident, scale: Option<&Scale>) {
    let n = incident.instances.len();
    let grouped = n > GROUP;
    let restored = match distinct(incident).filter(|_| grouped) {
        Some((specs, keys)) => {
            rollbacks(out, &specs);
            Restored::Keyed(keys)
        }
        None => Restored::Inline {
            time: common_time(incident).is_none(),
        },
    };
    let _ = write!(
        out,
        r#"<section id="instances"><h2>Instances ({})</h2>"#,
        text::count(n)
    );
    if !grouped {
        table(out, incident, 0, &incident.instances, &restored);
    }
    for (g, group) in incident
        .instances
        .chunks(GROUP)
        .enumerate()
        .filter(|_| grouped)
    {
        let bad = group.iter().any(InstanceRecord::is_problem);
        let _ = write!(
            out,
            "<details class=\"group{}\"><summary>{}–{} · {} … {} · {}</summary>",
            if bad { " bad" } else { "" },
            g * GROUP + 1,
            g * GROUP + group.len(),
            esc(group.first().map_or("", |i| i.id.as_str())),
            esc(group.last().map_or("", |i| i.id.as_str())),
            esc(&counts(group)),
        );
        if let Some(scale) = scale {
            timeline::rows(out, incident, group, scale, false);
        }
        table(out, incident, g * GROUP, group, &restored);
        out.push_str("</details>");
    }
    out.push_str("</section>");
}

/// The list of distinct rollbacks that keyed rows refer to.
fn rollbacks(out: &mut String, specs: &[(&RollbackSpec, usize)]) {
    let _ = write!(
        out,
        "<section id=\"rollbacks\"><h2>Restored as ({} distinct)</h2><table><thead><tr>\
         <th>rollback</th><th>strategy</th><th>to</th><th>restored as</th><th>instances</th>\
         </tr></thead><tbody>",
        specs.len()
    );
    for (k, (spec, count)) in specs.iter().enumerate() {
        let _ = write!(
            out,
            r#"<tr id="r{}"><td>R{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            k + 1,
            k + 1,
            esc(spec.strategy.as_str()),
            esc(&spec.rollbacktime),
            lines(spec),
            text::count(*count)
        );
    }
    out.push_str("</tbody></table></section>");
}

/// `db.t → db.t_bak` lines, escaped, one per `<br>`.
fn lines(spec: &RollbackSpec) -> String {
    let lines: Vec<String> = text::restored(spec)
        .iter()
        .map(|l| esc(l).into_owned())
        .collect();
    lines.join("<br>")
}

/// `98 succeeded, 2 failed`.
fn counts(group: &[InstanceRecord]) -> String {
    let mut totals: Vec<(crate::engine::state::Status, usize)> = Vec::new();
    for i in group {
        match totals.iter_mut().find(|(s, _)| *s == i.status) {
            Some((_, n)) => *n += 1,
            None => totals.push((i.status, 1)),
        }
    }
    totals.sort_by_key(|(s, _)| text::status_rank(*s));
    totals
        .iter()
        .map(|(s, n)| format!("{} {}", text::count(*n), text::status_label(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows of instances `first..first + rows.len()`.
fn table(
    out: &mut String,
    incident: &Incident,
    first: usize,
    rows: &[InstanceRecord],
    restored: &Restored,
) {
    let time = matches!(restored, Restored::Inline { time: true });
    let _ = write!(
        out,
        "<table class=\"instances\"><thead><tr><th>instance</th><th>status</th>\
         <th>restored as</th><th>job</th>{}<th>sent</th><th>running</th><th>ended</th>\
         <th>took</th><th>error</th></tr></thead><tbody>",
        if time { "<th>to</th>" } else { "" }
    );
    let (off, day) = (incident.offset, incident.started_at);
    let clock = |t: Option<DateTime<Utc>>| t.map(|t| text::clock(t, off, day)).unwrap_or_default();
    for (n, i) in rows.iter().enumerate() {
        // Only rows the "not restored" list links to carry an id: 10,000 of them would cost
        // a quarter of a megabyte.
        if i.is_problem() {
            let _ = write!(out, r#"<tr id="i-{}" class="bad">"#, esc(&i.id));
        } else {
            out.push_str("<tr>");
        }
        let what = match (restored, &i.spec) {
            (Restored::Keyed(keys), _) => format!("R{}", keys[first + n] + 1),
            (_, Some(spec)) if spec.strategy.as_str() == "full" => {
                format!("<i>full</i> {}", lines(spec))
            }
            (_, Some(spec)) => lines(spec),
            (_, None) => String::new(),
        };
        let _ = write!(
            out,
            r#"<td>{}</td><td class="st {}">{}{}</td><td>{what}</td>"#,
            esc(&i.id),
            text::status_class(i.status),
            esc(&text::status_label(i.status)),
            match i.progress {
                Some(p) if !i.status.is_final() => format!(" {p}%"),
                _ => String::new(),
            },
        );
        // The job is the 4th column whatever follows: the style sizes it by position.
        let _ = write!(out, "<td>{}</td>", esc(i.job.as_deref().unwrap_or("")));
        if time {
            let t = i.spec.as_ref().map_or("", |s| s.rollbacktime.as_str());
            let _ = write!(out, "<td>{}</td>", esc(t));
        }
        let _ = write!(
            out,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            clock(i.sent_at),
            clock(i.running_at),
            clock(i.ended_at),
            text::between(i.sent_at, i.ended_at).unwrap_or_default(),
        );
        match &i.problem {
            Some(p) => {
                let _ = write!(out, r#"<td class="msg">{}</td></tr>"#, problem_text(p));
            }
            None => out.push_str("<td></td></tr>"),
        }
    }
    out.push_str("</tbody></table>");
}
