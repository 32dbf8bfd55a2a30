//! The SVG plot: tasks finished over time (sandbox ends) and their detection (first status
//! query after each end), for planrun and the baseline, as step curves. Written by hand.

use std::fmt::Write as _;

use super::measure::Measured;

const W: f64 = 900.0;
const H: f64 = 440.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 220.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

pub fn svg(ours: &Measured, base: Option<&Measured>) -> String {
    let mut series: Vec<(&str, &str, &[f64], bool)> = vec![
        ("tasks ended (planrun run)", "#999999", &ours.ends, true),
        ("planrun detected", "#1f77b4", &ours.detections, false),
    ];
    if let Some(b) = base {
        series.push(("tasks ended (baseline run)", "#e0b080", &b.ends, true));
        series.push(("baseline detected", "#d62728", &b.detections, false));
    }
    let t_max = series
        .iter()
        .filter_map(|(_, _, v, _)| v.last().copied())
        .chain([ours.wall].into_iter().chain(base.map(|b| b.wall)))
        .fold(1.0, f64::max);
    let n = ours.n.max(1) as f64;
    let x = |t: f64| LEFT + t / t_max * (W - LEFT - RIGHT);
    let y = |k: f64| H - BOTTOM - k / n * (H - TOP - BOTTOM);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="14">planrun apply vs naive tracker, API {}, N = {} (sandbox, tasks 60-600 s scaled)</text>"#,
        ours.api, ours.n
    );
    // Axes and ticks.
    let _ = writeln!(
        out,
        r#"<path d="M{LEFT},{TOP} V{} H{}" stroke="black" fill="none"/>"#,
        H - BOTTOM,
        W - RIGHT
    );
    let step = nice_step(t_max);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{t:.0}</text>"#,
            x(t),
            H - BOTTOM + 16.0
        );
        t += step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">seconds since the start of the run</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0
    );
    for frac in [0.0, 0.5, 1.0] {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{:.0}</text>"#,
            LEFT - 6.0,
            y(frac * n) + 4.0,
            frac * n
        );
    }
    for (i, (label, colour, values, dashed)) in series.iter().enumerate() {
        let mut d = format!("M{:.1},{:.1}", x(0.0), y(0.0));
        for (k, v) in values.iter().enumerate() {
            let _ = write!(d, " H{:.1} V{:.1}", x(*v), y((k + 1) as f64));
        }
        let dash = if *dashed {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<path d="{d}" stroke="{colour}" stroke-width="1.6" fill="none"{dash}/>"#
        );
        let ly = TOP + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<path d="M{},{ly} h24" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{}">{label}</text>"#,
            W - RIGHT + 8.0,
            W - RIGHT + 36.0,
            ly + 4.0
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A tick step giving 5–10 ticks.
fn nice_step(max: f64) -> f64 {
    let raw = max / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}
