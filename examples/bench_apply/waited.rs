//! Issue 25's targets: what the user waits for from confirmation (`--yes`: the child's
//! start) to the last verified end, against the bound the issue sets, with its terms.

use std::fmt::Write as _;

use crate::measure::Measured;

/// The documented limits of the actions the bound counts, requests per second, as the pages
/// state them (README, "Rate limits"): typed here, not read from planrun's table.
const DESCRIBE_TABLES: f64 = 40.0;
const DESCRIBE_DATABASES: f64 = 20.0;
const DESCRIBE_ROLLBACK_RANGE_TIME: f64 = 20.0;
const DESCRIBE_ROLLBACK_TASK_DETAIL: f64 = 20.0;

/// The bound's terms: the busiest preflight action's calls at its rate, and the confirming
/// polls (one per instance) at their rate plus the longest task.
pub struct Bound {
    pub preflight: f64,
    pub busiest: &'static str,
    pub polls: f64,
    pub longest: f64,
}

impl Bound {
    pub fn of(m: &Measured) -> Self {
        // The preflight's object calls with this plan are DescribeTables (one database named),
        // plus DescribeDatabases if an instance lacked it.
        let tables = m.preflight_calls.saturating_sub(m.database_calls) as f64;
        let terms = [
            ("DescribeTables", tables / DESCRIBE_TABLES),
            (
                "DescribeDatabases",
                m.database_calls as f64 / DESCRIBE_DATABASES,
            ),
            (
                "DescribeRollbackRangeTime",
                m.window_calls as f64 / DESCRIBE_ROLLBACK_RANGE_TIME,
            ),
        ];
        let (busiest, preflight) = terms
            .into_iter()
            .fold(("none", 0.0), |a, b| if b.1 > a.1 { b } else { a });
        Self {
            preflight,
            busiest,
            polls: m.n as f64 / DESCRIBE_ROLLBACK_TASK_DETAIL,
            longest: m.longest_task,
        }
    }

    pub fn value(&self) -> f64 {
        self.preflight.max(self.polls + self.longest)
    }
}

/// Issue 25's targets beside each planrun run of API 3.0 (MB are 10^6 bytes).
pub fn targets(rows: &[(Measured, Option<Measured>)]) -> String {
    let mut out =
        String::from("| N | target | measured | bound's terms | met |\n|---|---|---|---|---|\n");
    for (m, _) in rows.iter().filter(|(m, _)| m.api == "v3") {
        let b = Bound::of(m);
        let terms = format!(
            "max({} {:.1} s, {} polls / 20 + longest task {:.1} s = {:.1} s); load {}→{}",
            b.busiest,
            b.preflight,
            m.n,
            b.longest,
            b.polls + b.longest,
            m.load.0,
            m.load.1
        );
        let mut row = |target: &str, measured: String, met: bool| {
            let _ = writeln!(
                out,
                "| {} | {target} | {measured} | {terms} | {} |",
                m.n,
                if met { "yes" } else { "**no**" }
            );
        };
        let ratio = m.wall / b.value().max(1e-9);
        let share = |x: f64| 100.0 * x / m.wall.max(1e-9);
        let limit = if m.n >= 10_000 { 1.10 } else { 1.15 };
        row(
            &format!("wall ≤ {limit:.2} × bound"),
            format!("{:.1} s / {:.1} s = {ratio:.3}", m.wall, b.value()),
            ratio <= limit,
        );
        if m.n >= 10_000 {
            let mb = m.rss_mib * 1.048_576;
            row("peak RSS ≤ 60 MB", format!("{mb:.1} MB"), mb <= 60.0);
            row(
                "CPU ≤ 2% of wall",
                format!("{:.2} s = {:.2}%", m.cpu, share(m.cpu)),
                share(m.cpu) <= 2.0,
            );
            row(
                "first submission < 5 s",
                format!("{:.2} s", m.first_submit),
                m.first_submit < 5.0,
            );
        } else {
            row(
                "(first submission)",
                format!("{:.2} s", m.first_submit),
                true,
            );
        }
        row(
            "zero throttling answers",
            m.throttled.to_string(),
            m.throttled == 0,
        );
    }
    out
}
