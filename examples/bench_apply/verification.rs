//! What verifying a success costs (issue 23): the DescribeDatabases / DescribeTables calls made
//! after an instance's submission (before it, they are the object preflight's), and how long
//! after its task was seen ended its objects were last listed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use planrun::sandbox::Timeline;

use super::measure::{Measured, Who};

/// The verification's calls, and per instance seen ended (`first_seen`: the first poll of or
/// after its end), the seconds from that poll to its last object listing, sorted.
pub fn split(timeline: &Timeline, first_seen: &HashMap<&str, Instant>) -> (u64, Vec<f64>) {
    let mut submitted: HashMap<&str, Instant> = HashMap::new();
    for t in &timeline.tasks {
        let s = submitted
            .entry(t.instance_id.as_str())
            .or_insert(t.submitted);
        *s = (*s).min(t.submitted);
    }
    let mut calls = 0u64;
    let mut last: HashMap<&str, Instant> = HashMap::new();
    for poll in &timeline.object_polls {
        let id = poll.instance_id.as_str();
        if submitted.get(id).is_some_and(|s| poll.at >= *s) {
            calls += 1;
            let l = last.entry(id).or_insert(poll.at);
            *l = (*l).max(poll.at);
        }
    }
    let mut after: Vec<f64> = first_seen
        .iter()
        .filter_map(|(id, seen)| {
            last.get(id)
                .map(|l| l.saturating_duration_since(*seen).as_secs_f64())
        })
        .collect();
    after.sort_by(f64::total_cmp);
    (calls, after)
}

fn quantile(sorted: &[f64], share: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// The Markdown table of what verification cost in each planrun run.
pub fn table(rows: &[(Measured, Option<Measured>)]) -> String {
    let mut out = String::from(
        "| API | N | wall s | calls/inst | of which verification /inst | calls/inst without verification | seen ended → verified p50 / p90 / max s | instances verified |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (m, _) in rows.iter().filter(|(m, _)| m.who == Who::Planrun) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} / {:.2} / {:.2} | {} |",
            m.api,
            m.n,
            m.wall,
            m.per_instance(m.calls()),
            m.per_instance(m.verify_calls),
            m.per_instance(m.calls() - m.verify_calls),
            quantile(&m.verified_after, 0.5),
            quantile(&m.verified_after, 0.9),
            quantile(&m.verified_after, 1.0),
            m.verified_after.len(),
        );
    }
    out
}
