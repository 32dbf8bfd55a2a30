//! The table a run's summary shows (`apply` at its end, `status`): instance, job, status,
//! duration and error, then the totals.

use std::fmt::Write as _;

use crate::engine::report::Totals;
use crate::engine::state::{ADOPTED_UNVERIFIED, InstanceState, RunState};
use crate::plan::text::visible;

/// The summary's last column: the error, else why an adopted task is unverified.
fn note(s: &InstanceState) -> String {
    match (&s.error, &s.unverified, &s.detail) {
        (Some(error), _, _) => error.clone(),
        (None, Some(why), _) => format!("{}: {why}", ADOPTED_UNVERIFIED),
        // An unfinished self-hosted restore: where it was last seen.
        (None, None, Some(detail)) => detail.clone(),
        (None, None, None) => String::new(),
    }
}

/// The table printed at the end: instance, job, status, duration, error. Columns are as
/// wide as their longest value (API 3.0's job ids are 35 characters).
pub fn table(state: &RunState, r: &Totals) -> String {
    let rows: Vec<[String; 5]> = state
        .instances
        .iter()
        .map(|s| {
            let duration = match (s.submitted_at, s.finished_at) {
                (Some(a), Some(b)) => format!("{}s", (b - a).num_seconds().max(0)),
                _ => "-".into(),
            };
            [
                s.id.clone(),
                s.job
                    .as_ref()
                    .map_or("-".into(), |j| visible(&j.0).into_owned()),
                s.status.name().to_owned(),
                duration,
                note(s),
            ]
        })
        .collect();
    let header = ["instance", "job", "status", "duration", "error"].map(str::to_owned);
    let width = |c: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|r| r[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    let mut out = String::new();
    // A message's later lines continue under the error column.
    let indent = " ".repeat(w0 + w1 + w2 + w3 + 5);
    for r in std::iter::once(&header).chain(&rows) {
        let line = format!(
            "{:<w0$} {:<w1$} {:<w2$} {:>w3$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            super::foreign::block(&r[4], &indent)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(out, "\n{}.", totals(r));
    out
}

/// The totals in the statuses' own words (`docs/contract.md` §6): the outcomes always, the
/// unproven and the interrupted when there are any, then what is not finished.
pub fn totals(r: &Totals) -> String {
    use crate::engine::state::Status;
    let always = [
        Status::Succeeded,
        Status::Failed,
        Status::Rejected,
        Status::TimedOut,
        Status::Cancelled,
    ];
    let some = [Status::Unknown, Status::Unverified, Status::Interrupted];
    let mut parts: Vec<String> = always
        .iter()
        .map(|s| (*s, r.of(*s)))
        .chain(some.iter().map(|s| (*s, r.of(*s))).filter(|(_, n)| *n > 0))
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    parts.push(format!("{} unfinished", r.unfinished() - r.interrupted));
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn summary_columns_are_as_wide_as_api_3_job_ids() {
        use crate::engine::journal::Record;
        use crate::engine::protocol::JobHandle;
        use crate::engine::state::RunState;
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let ids = ["cdb-aaaaaaaa", "cdb-bbbbbbbb"];
        let records = [
            Record::Intent {
                batch: 1,
                instances: vec![ids[0].into()],
                at,
            },
            Record::Accepted {
                batch: 1,
                job: JobHandle("03c369a7-3b135f1b-69a73b13-000003e8".into()),
                at,
            },
        ];
        let state = RunState::replay(ids, &records);
        let report = crate::engine::report::Report::new("p", &state);
        let table = super::table(&state, &report.totals);
        let lines: Vec<&str> = table.lines().take(3).collect();
        let status_at = |line: &str| line.find("status").or_else(|| line.find("submitted"));
        assert_eq!(status_at(lines[0]), lines[1].find("submitted"), "{table}");
        assert_eq!(lines[2].find("pending"), lines[0].find("status"), "{table}");
        assert!(
            lines[1].contains("03c369a7-3b135f1b-69a73b13-000003e8 "),
            "{table}"
        );
    }

    #[test]
    fn a_servers_message_continues_under_the_error_column_without_its_payload() {
        use crate::engine::state::{RunState, Status};
        let mut state = RunState::new(["shop", "orders-shard-1"]);
        let body = "AbCdEfGh0123456789+/".repeat(4);
        state.instances[0].status = Status::Failed;
        state.instances[0].error = Some(format!(
            "mariadb exited 1:\nERROR 1062 (23000) at line 45: Duplicate entry\nBINLOG '\n{body}\n{body}\n'"
        ));
        let report = crate::engine::report::Report::new("p", &state);
        let table = super::table(&state, &report.totals);
        assert!(!table.contains("\\u{a}"), "{table}");
        assert!(!table.contains(&body), "{table}");
        let lines: Vec<&str> = table.lines().collect();
        let column = lines[0].find("error").unwrap_or_default();
        assert_eq!(lines[1].find("mariadb exited 1:"), Some(column), "{table}");
        assert_eq!(lines[2].find("ERROR 1062"), Some(column), "{table}");
        assert_eq!(lines[3].trim(), "BINLOG '", "{table}");
        assert_eq!(
            lines[4].trim(),
            "[2 lines of encoded data not shown]",
            "{table}"
        );
        assert!(lines[6].starts_with("orders-shard-1"), "{table}");
    }
}
