//! The timeline as inline SVG: one row per instance (sent → running → ended, coloured by
//! outcome) and, for large fleets, an overview of how many instances were in each state over
//! time. Every chart shares one time axis, labelled on the plan's clock above and in UTC below.
//! Colours come from CSS classes named after the status (see `html`), so a status added to the
//! vocabulary later is drawn too.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, Utc};

use super::text::{self, html};
use super::{Incident, InstanceRecord};
use crate::engine::state::Status;

/// viewBox width; the label column ends at `PLOT_X`.
const WIDTH: f64 = 1000.0;
const PLOT_X: f64 = 150.0;
const PLOT_END: f64 = 985.0;
const ROW: f64 = 14.0;
/// Room for the tick labels above and below the rows.
const AXIS: f64 = 18.0;
/// The overview's height and its number of columns.
const OVERVIEW_HEIGHT: f64 = 120.0;
const BUCKETS: usize = 120;

/// Time ↔ x on the plot, in milliseconds (a drill against the sandbox lasts seconds).
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    t0: i64,
    t1: i64,
    offset: FixedOffset,
}

impl Scale {
    /// From the first call sent (or the run's start) to the last end (or the record's time);
    /// `None` when nothing was ever sent.
    pub fn of(incident: &Incident) -> Option<Self> {
        let starts = incident
            .instances
            .iter()
            .filter_map(|i| i.sent_at)
            .chain(incident.started_at);
        let t0 = starts.min()?;
        let t1 = incident
            .instances
            .iter()
            .flat_map(|i| [i.ended_at, i.running_at, i.sent_at])
            .flatten()
            .chain(incident.as_of)
            .max()
            .unwrap_or(t0);
        let (t0, t1) = (
            t0.timestamp_millis(),
            t1.timestamp_millis().max(t0.timestamp_millis() + 1000),
        );
        Some(Self {
            t0,
            t1,
            offset: incident.offset,
        })
    }

    fn x(&self, t: DateTime<Utc>) -> f64 {
        let f = (t.timestamp_millis() - self.t0) as f64 / (self.t1 - self.t0) as f64;
        PLOT_X + f.clamp(0.0, 1.0) * (PLOT_END - PLOT_X)
    }

    fn at(&self, millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap_or_default()
    }

    /// Round instants on the plan's clock, about six to ten of them, and their step.
    fn ticks(&self) -> (Vec<i64>, i64) {
        // 100 ms to 12 h: round steps on a clock.
        const STEPS: [i64; 20] = [
            100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000,
            600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000,
        ];
        const DAY: i64 = 86_400_000;
        let span = self.t1 - self.t0;
        let step = STEPS
            .iter()
            .copied()
            .find(|s| span / s <= 8)
            .unwrap_or_else(|| (span / 8 / DAY + 1) * DAY);
        let shift = i64::from(self.offset.local_minus_utc()) * 1000;
        let first = (self.t0 + shift + step - 1).div_euclid(step) * step - shift;
        let ticks = (0..)
            .map(|k| first + k * step)
            .take_while(|t| *t <= self.t1)
            .collect();
        (ticks, step)
    }
}

/// The rows of these instances, on `scale`, as one `<svg>`. `titles`: a hover text per row
/// (left out of large fleets, whose tables beside the rows say the same).
pub fn rows(
    out: &mut String,
    incident: &Incident,
    rows: &[InstanceRecord],
    scale: &Scale,
    titles: bool,
) {
    let height = AXIS * 2.0 + ROW * rows.len() as f64;
    let _ = write!(
        out,
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="timeline of {} instances">"#,
        rows.len()
    );
    axis(out, scale, height);
    resumes(out, incident, scale, height);
    let day = incident.started_at;
    for (n, i) in rows.iter().enumerate() {
        let y = AXIS + ROW * n as f64;
        let open = if i.status.is_final() { "" } else { " open" };
        let _ = write!(
            out,
            r#"<g class="st {}{open}">"#,
            text::status_class(i.status)
        );
        if titles {
            let _ = write!(
                out,
                "<title>{}</title>",
                html(&row_title(i, scale.offset, day))
            );
        }
        let _ = write!(
            out,
            r#"<text x="{:.0}" y="{:.0}">{}</text>"#,
            PLOT_X - 4.0,
            y + 10.0,
            html(&i.id)
        );
        bars(out, i, scale, incident.as_of, y + 2.0);
        out.push_str("</g>");
    }
    out.push_str("</svg>");
}

/// sent → running (light) and running → ended (solid). Unfinished bars run to the record's
/// time; an instance that never ran has one solid bar up to its end.
fn bars(out: &mut String, i: &InstanceRecord, scale: &Scale, as_of: Option<DateTime<Utc>>, y: f64) {
    let Some(sent) = i.sent_at else { return };
    let end = i.ended_at.or(as_of).unwrap_or(sent);
    // A path is half the bytes of a rect: it counts at 10,000 rows.
    let mut rect = |class: &str, a: DateTime<Utc>, b: DateTime<Utc>| {
        let (x0, x1) = (scale.x(a), scale.x(b));
        let w = (x1 - x0).max(2.0);
        let _ = write!(
            out,
            r#"<path{class} d="M{x0:.1} {y:.0}h{w:.1}v10h-{w:.1}z"/>"#
        );
    };
    match i.running_at {
        Some(running) => {
            rect(r#" class="w""#, sent, running);
            rect("", running, end.max(running));
        }
        None if i.status.is_final() => rect("", sent, end),
        None => rect(r#" class="w""#, sent, end),
    }
}

fn row_title(i: &InstanceRecord, offset: FixedOffset, day: Option<DateTime<Utc>>) -> String {
    let mut t = format!("{} {}", i.id, text::status_label(i.status));
    for (what, at) in [
        ("sent", i.sent_at),
        ("running", i.running_at),
        ("ended", i.ended_at),
    ] {
        if let Some(at) = at {
            let _ = write!(t, ", {what} {}", text::clock(at, offset, day));
        }
    }
    if let Some(d) = text::between(i.sent_at, i.ended_at) {
        let _ = write!(t, " ({d})");
    }
    t
}

/// Grid lines with the plan's clock above and UTC below.
fn axis(out: &mut String, scale: &Scale, height: f64) {
    let (ticks, step) = scale.ticks();
    let format = match step {
        ..1000 => "%H:%M:%S%.3f",
        1000..60_000 => "%H:%M:%S",
        _ => "%H:%M",
    };
    let _ = write!(
        out,
        r#"<g class="axis"><text x="{:.0}" y="12">{}</text><text x="{:.0}" y="{:.0}">UTC</text>"#,
        PLOT_X - 4.0,
        html(&text::zone(scale.offset)),
        PLOT_X - 4.0,
        height - 5.0
    );
    for t in ticks {
        let at = scale.at(t);
        let x = scale.x(at);
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" x2="{x:.1}" y1="{:.0}" y2="{:.0}"/>"#,
            AXIS - 3.0,
            height - AXIS + 3.0
        );
        // A label at the very edges would run into the zone's name or off the chart.
        if !(PLOT_X + 25.0..=PLOT_END - 25.0).contains(&x) {
            continue;
        }
        let _ = write!(
            out,
            r#"<text class="tick" x="{x:.1}" y="12">{}</text><text class="tick" x="{x:.1}" y="{:.0}">{}</text>"#,
            at.with_timezone(&scale.offset).format(format),
            height - 5.0,
            at.format(format)
        );
    }
    out.push_str("</g>");
}

/// A dashed line where the run was started again (after a crash, Ctrl-C or `--timeout`).
fn resumes(out: &mut String, incident: &Incident, scale: &Scale, height: f64) {
    for start in incident.starts.iter().skip(1) {
        let x = scale.x(start.at);
        let who = start.by.as_ref().map_or_else(String::new, |c| {
            format!(
                " by {}@{}",
                c.user.as_deref().unwrap_or("?"),
                c.host.as_deref().unwrap_or("?")
            )
        });
        let _ = write!(
            out,
            r#"<line class="resume" x1="{x:.1}" x2="{x:.1}" y1="{:.0}" y2="{:.0}"><title>resumed at {}{}</title></line>"#,
            AXIS - 3.0,
            height - AXIS + 3.0,
            text::clock(start.at, scale.offset, incident.started_at),
            html(&who)
        );
    }
}

/// What one instance was doing at a moment.
fn phase(i: &InstanceRecord, t: DateTime<Utc>) -> Status {
    match (i.sent_at, i.running_at, i.ended_at) {
        (_, _, Some(end)) if end <= t => i.status,
        (_, Some(running), _) if running <= t => Status::Running,
        (Some(sent), _, _) if sent <= t => Status::Submitted,
        _ => Status::Pending,
    }
}

/// How many instances were in each state over time: one stacked column per slice of the run,
/// outcomes at the bottom, not yet sent at the top.
pub fn overview(out: &mut String, incident: &Incident, scale: &Scale) {
    let n = incident.instances.len().max(1) as f64;
    let height = AXIS * 2.0 + OVERVIEW_HEIGHT;
    let _ = write!(
        out,
        r#"<svg class="timeline overview" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="instances by state over time">"#
    );
    axis(out, scale, height);
    resumes(out, incident, scale, height);
    let _ = write!(
        out,
        r#"<g class="axis"><text x="{:.0}" y="{:.0}">{} instances</text></g>"#,
        PLOT_X - 4.0,
        AXIS + OVERVIEW_HEIGHT / 2.0,
        text::count(incident.instances.len())
    );
    let span = (scale.t1 - scale.t0) as f64;
    let column = (PLOT_END - PLOT_X) / BUCKETS as f64;
    for b in 0..BUCKETS {
        let mid = scale.t0 + ((b as f64 + 0.5) / BUCKETS as f64 * span) as i64;
        let t = scale.at(mid);
        let mut counts: Vec<(Status, usize)> = Vec::new();
        for i in &incident.instances {
            let p = phase(i, t);
            match counts.iter_mut().find(|(s, _)| *s == p) {
                Some((_, c)) => *c += 1,
                None => counts.push((p, 1)),
            }
        }
        counts.sort_by_key(|(s, _)| (!s.is_final(), text::status_rank(*s)));
        let mut y = AXIS + OVERVIEW_HEIGHT;
        let x = PLOT_X + column * b as f64;
        for (status, count) in counts {
            let h = count as f64 / n * OVERVIEW_HEIGHT;
            y -= h;
            let _ = write!(
                out,
                r#"<rect class="st {}" x="{x:.1}" y="{y:.2}" width="{:.2}" height="{h:.2}"><title>{} {}</title></rect>"#,
                text::status_class(status),
                column + 0.05,
                count,
                html(&text::status_label(status))
            );
        }
    }
    out.push_str("</svg>");
}
