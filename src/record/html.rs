//! The record as one self-contained HTML page: inline CSS and SVG, no network, no external
//! anything (a Content-Security-Policy allowing only the page's own style and its one-line
//! print script makes sure of it), every value escaped. Large fleets are grouped into
//! collapsed sections so that 10,000 instances stay readable and the file small; printing
//! prints what is open, and every instance not restored.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

mod instances;

use super::text::{self, html as esc};
use super::timeline::{self, Scale};
use super::{Batch, BatchEvent, Incident, InstanceRecord, Mapping, Problem};
use crate::engine::state::Status;

/// Rows of a list shown before the rest is collapsed.
const SHOWN: usize = 50;

const STYLE: &str = include_str!("record.css");
/// Printing prints what is open on screen, and every instance not restored: the rest of that
/// list opens first. (Opening all 100 groups of a 10,000-instance record would print
/// hundreds of pages nobody asked for.)
const SCRIPT: &str = r#"addEventListener("beforeprint",()=>{for(const d of document.querySelectorAll("details.print"))d.open=true})"#;

/// The page.
pub fn html(incident: &Incident) -> String {
    let mut out = String::with_capacity(4096 + incident.instances.len() * 480);
    head(&mut out, incident);
    header(&mut out, incident);
    problems(&mut out, incident);
    let scale = Scale::of(incident);
    let grouped = incident.instances.len() > instances::GROUP;
    out.push_str(r#"<section id="timeline"><h2>Timeline</h2>"#);
    legend(&mut out, incident, grouped);
    match &scale {
        None => out.push_str("<p>Nothing was sent.</p>"),
        Some(scale) if grouped => {
            timeline::overview(&mut out, incident, scale);
            out.push_str(
                "<p class=\"note\">Instances by state over time. Each group below has its own \
                 timeline on the same axis.</p>",
            );
        }
        Some(scale) => timeline::rows(&mut out, incident, &incident.instances, scale, true),
    }
    out.push_str("</section>");
    instances::section(&mut out, incident, scale.as_ref());
    super::selfhosted::html(&mut out, incident);
    super::differences::html(&mut out, incident);
    if !incident.only_selfhosted() {
        batches(&mut out, incident);
    }
    let _ = writeln!(
        out,
        "<footer>Made by planrun {} from the journal of the run.</footer><script>{SCRIPT}</script></body></html>",
        esc(env!("CARGO_PKG_VERSION"))
    );
    out
}

fn sha256(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

fn head(out: &mut String, incident: &Incident) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'sha256-{}'; script-src 'sha256-{}'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Rollback record: {}</title><style>{STYLE}</style></head><body>",
        sha256(STYLE),
        sha256(SCRIPT),
        esc(&incident.plan)
    );
}

fn header(out: &mut String, incident: &Incident) {
    let _ = write!(
        out,
        r#"<header><h1>Rollback record: <span id="plan">{}</span></h1>"#,
        esc(&incident.plan)
    );
    if let Some(d) = &incident.description {
        let _ = write!(out, r#"<p id="description">{}</p>"#, esc(d));
    }
    out.push_str("<dl class=\"meta\">");
    let mut item = |term: &str, value: &str| {
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", esc(term));
    };
    let off = incident.offset;
    let when = |t| {
        format!(
            "{} {} · {}",
            text::local(t, off),
            text::zone(off),
            text::utc(t)
        )
    };
    if let Some(h) = &incident.plan_hash {
        item("plan hash", &format!("<code>{}</code>", esc(h)));
    }
    let api = if incident.only_selfhosted() {
        "none: self-hosted restores only".to_owned()
    } else {
        incident.by().map_or_else(
            || "not recorded (journal written before planrun recorded it)".to_owned(),
            |c| {
                let generation = if c.api == "v2" { "API 2.0" } else { "API 3.0" };
                let place = if c.sandbox {
                    ", in-process sandbox"
                } else {
                    ""
                };
                esc(&format!("{generation} ({}){place}", c.action)).into_owned()
            },
        )
    };
    item("API", &api);
    item("run by", &esc(&runners(incident)));
    if let Some(t) = incident.started_at {
        item("started", &esc(&when(t)));
    }
    match (incident.finished_at, incident.as_of) {
        (Some(t), _) => item("finished", &esc(&when(t))),
        (None, Some(t)) => item(
            "finished",
            &format!(
                "<strong>not yet</strong>: a snapshot as of {}",
                esc(&when(t))
            ),
        ),
        (None, None) => {}
    }
    if let Some(took) = text::between(incident.started_at, incident.finished_at.or(incident.as_of))
    {
        item("took", &esc(&took));
    }
    if let Some(time) = instances::common_time(incident) {
        item(
            "rolled back to",
            &esc(&format!("{time} {} (every instance)", text::zone(off))),
        );
    }
    item(
        "times",
        &format!("on the plan's clock, {}", esc(&text::zone(off))),
    );
    out.push_str("</dl>");
    if let Some(note) = mapping_note(incident.mapping) {
        let _ = write!(out, r#"<p class="warn">{}</p>"#, esc(note));
    }
    out.push_str(r#"<ul class="totals">"#);
    let _ = write!(
        out,
        "<li><b>{}</b> instances</li>",
        text::count(incident.instances.len())
    );
    for (status, n) in incident.totals() {
        let _ = write!(
            out,
            r#"<li class="st {}"><b>{}</b> {}</li>"#,
            text::status_class(status),
            text::count(n),
            esc(&text::status_label(status))
        );
    }
    out.push_str("</ul></header>");
}

/// Who started the run and every resume: `alice@db-admin-1 (planrun 0.1.0)`.
pub(super) fn runners(incident: &Incident) -> String {
    let mut seen: Vec<String> = Vec::new();
    for s in &incident.starts {
        let who = s.by.as_ref().map_or_else(
            || "not recorded".to_owned(),
            |c| {
                format!(
                    "{}@{} (planrun {})",
                    c.user.as_deref().unwrap_or("?"),
                    c.host.as_deref().unwrap_or("?"),
                    c.version
                )
            },
        );
        if !seen.contains(&who) {
            seen.push(who);
        }
    }
    if seen.is_empty() {
        return "not recorded".to_owned();
    }
    let mut text = seen.join(", ");
    if incident.starts.len() > 1 {
        let _ = write!(text, "; started {} times (resumed)", incident.starts.len());
    }
    text
}

pub(super) fn mapping_note(mapping: Mapping) -> Option<&'static str> {
    match mapping {
        Mapping::Journal | Mapping::Plan => None,
        Mapping::JournalPlanChanged => Some(
            "The plan file has changed since this apply: the record shows the plan as it was \
             applied (the journal keeps a copy).",
        ),
        Mapping::ChangedPlan => Some(
            "The plan file has changed since this apply: what is shown as restored comes from \
             the plan as it is now, not as it was applied.",
        ),
        Mapping::Unknown => Some(
            "This journal does not hold the plan: give the plan file to show what was restored \
             as what.",
        ),
    }
}

/// The colours on the charts: every status of the run and, on the overview, the phases of
/// instances still under way.
fn legend(out: &mut String, incident: &Incident, grouped: bool) {
    out.push_str(r#"<p class="legend">"#);
    let mut shown: Vec<Status> = incident.totals().into_iter().map(|(s, _)| s).collect();
    if grouped {
        for phase in [Status::Running, Status::Submitted, Status::Pending] {
            if !shown.contains(&phase) {
                shown.push(phase);
            }
        }
    }
    for status in shown {
        let _ = write!(
            out,
            r#"<span class="st {}"><i></i>{}</span> "#,
            text::status_class(status),
            esc(&text::status_label(status))
        );
    }
    out.push_str("<span class=\"lighter\">light: sent, waiting to run · solid: running to its end");
    if incident.instances.iter().any(|i| !i.status.is_final()) {
        out.push_str(" · dashed: unfinished");
    }
    if incident.starts.len() > 1 {
        out.push_str(" · violet line: the run resumed");
    }
    out.push_str("</span></p>");
}

fn problem_text(p: &Problem) -> String {
    let mut t = String::new();
    if let Some(c) = &p.code {
        let _ = write!(t, "<b>{}</b> ", esc(c));
    }
    t.push_str(&esc(&p.message));
    if let Some(r) = &p.request_id {
        let _ = write!(t, r#" <span class="rid">RequestId {}</span>"#, esc(r));
    }
    t
}

fn problems(out: &mut String, incident: &Incident) {
    let list: Vec<&InstanceRecord> = incident.problems().collect();
    if list.is_empty() {
        return;
    }
    let _ = write!(
        out,
        r#"<section id="not-restored"><h2>Not restored ({})</h2>"#,
        text::count(list.len())
    );
    const HEAD: &str = "<table><thead><tr><th>instance</th><th>status</th><th>job</th>\
                        <th>what the API said</th><th>call</th></tr></thead><tbody>";
    let row = |out: &mut String, i: &&InstanceRecord| {
        let _ = write!(
            out,
            r##"<tr><td><a href="#i-{id}">{id}</a></td><td><span class="st {}">{}</span></td><td>{}</td><td class="msg">{}</td><td>{}</td></tr>"##,
            text::status_class(i.status),
            esc(&text::status_label(i.status)),
            esc(i.job.as_deref().unwrap_or("–")),
            i.problem.as_ref().map(problem_text).unwrap_or_default(),
            i.batch.map(|b| format!("#{b}")).unwrap_or_default(),
            id = esc(&i.id),
        );
    };
    collapsed_table(out, HEAD, &list, row, "more", true);
    out.push_str("</section>");
}

/// A table of `items`, the first [`SHOWN`] open and the rest in a collapsed second table
/// (opened for printing when `print`).
fn collapsed_table<T>(
    out: &mut String,
    head: &str,
    items: &[T],
    mut row: impl FnMut(&mut String, &T),
    rest: &str,
    print: bool,
) {
    out.push_str(head);
    for item in items.iter().take(SHOWN) {
        row(out, item);
    }
    out.push_str("</tbody></table>");
    if items.len() > SHOWN {
        let _ = write!(
            out,
            "<details{}><summary>{} {rest}</summary>{head}",
            if print { r#" class="print""# } else { "" },
            items.len() - SHOWN
        );
        for item in &items[SHOWN..] {
            row(out, item);
        }
        out.push_str("</tbody></table></details>");
    }
}

fn batches(out: &mut String, incident: &Incident) {
    let action = incident.action().unwrap_or("calls");
    let _ = write!(
        out,
        r#"<section id="calls"><h2>Calls as sent ({} × {})</h2>"#,
        incident.batches.len(),
        esc(action)
    );
    const HEAD: &str = "<table><thead><tr><th>call</th><th>sent</th><th>region</th>\
                        <th>instances</th><th>outcome</th></tr></thead><tbody>";
    let (off, day) = (incident.offset, incident.started_at);
    let row = |out: &mut String, b: &Batch| {
        let _ = write!(
            out,
            r#"<tr><td>#{}</td><td>{}</td><td>{}</td><td>{} <span class="ids">{}</span></td><td class="msg">{}</td></tr>"#,
            b.id,
            text::clock(b.at, off, day),
            esc(b.region.as_deref().unwrap_or("")),
            b.instances.len(),
            esc(&b.instances.join(" ")),
            outcome(b),
        );
    };
    collapsed_table(out, HEAD, &incident.batches, row, "more calls", false);
    out.push_str("</section>");
}

fn outcome(b: &Batch) -> String {
    if b.outcome.is_empty() {
        return "no answer recorded (in flight, or the run stopped)".to_owned();
    }
    let parts: Vec<String> = b
        .outcome
        .iter()
        .map(|e| match e {
            BatchEvent::Accepted { job } => format!("accepted: job {}", esc(job)),
            BatchEvent::Rejected { instances, problem } => {
                format!("refused {instances}: {}", problem_text(problem))
            }
            BatchEvent::Unknown { error } => {
                format!("answer lost ({}); looked for its tasks", esc(error))
            }
            BatchEvent::Adopted { instance, job } => {
                format!("found the task of {} (job {})", esc(instance), esc(job))
            }
            BatchEvent::NotAccepted { reason } => format!("no task: {}", esc(reason)),
        })
        .collect();
    parts.join("<br>")
}

#[cfg(test)]
mod tests;
