//! What both renderings share: escaping, how times and durations read, the order statuses are
//! counted in, and the restored-as lines of an instance.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, Utc};

use crate::api::rollback::RollbackSpec;
use crate::contract::TIME_FORMAT;
use crate::engine::state::Status;

/// `text` safe inside HTML (and SVG) text and double- or single-quoted attributes.
pub fn html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` as literal text in a GitHub-flavoured Markdown table cell (inline context: block
/// syntax cannot start there). What inline Markdown or HTML could read is backslash-escaped
/// (emphasis, code, links, strikethrough, entities, tags), `|` cannot end the cell and line
/// breaks cannot end the row.
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '\r' | '\n' => out.push(' '),
            // Inside a word `_` never emphasises (GFM): `payments_bak` stays readable raw.
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push(c),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The order totals are shown in: outcomes first (the good one leading), then what is still
/// under way, then any status the vocabulary gains later, final ones before the others.
pub fn status_rank(status: Status) -> u8 {
    const ORDER: [Status; 10] = [
        Status::Succeeded,
        Status::Failed,
        Status::Rejected,
        Status::Unverified,
        Status::Unknown,
        Status::Cancelled,
        Status::TimedOut,
        Status::Running,
        Status::Submitted,
        Status::Pending,
    ];
    match ORDER.iter().position(|s| *s == status) {
        Some(i) => u8::try_from(i).unwrap_or(u8::MAX),
        None if status.is_final() => 50,
        None => 100,
    }
}

/// A status as a CSS class: `st-` and its name, anything but `a-z0-9_` dropped.
pub fn status_class(status: Status) -> String {
    let name: String = status
        .name()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    format!("st-{name}")
}

/// A status in the record: the word every surface says for it (`docs/contract.md` §6), so
/// that the record, the summary, `status` and the report name a state alike (issue 27).
pub fn status_label(status: Status) -> String {
    status.name().to_owned()
}

/// `10,000`: counts of a large fleet read at a glance.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `2026-11-20 03:20:01` on the plan's clock.
pub fn local(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format(TIME_FORMAT).to_string()
}

/// `03:20:01` on the plan's clock, or `11-21 03:20:01` when the day is not `day`'s.
pub fn clock(t: DateTime<Utc>, offset: FixedOffset, day: Option<DateTime<Utc>>) -> String {
    let here = t.with_timezone(&offset);
    let same_day = day.is_none_or(|d| d.with_timezone(&offset).date_naive() == here.date_naive());
    if same_day {
        here.format("%H:%M:%S").to_string()
    } else {
        here.format("%m-%d %H:%M:%S").to_string()
    }
}

/// `2026-11-19 19:20:01 UTC`.
pub fn utc(t: DateTime<Utc>) -> String {
    format!("{} UTC", t.format(TIME_FORMAT))
}

/// `UTC+08:00`.
pub fn zone(offset: FixedOffset) -> String {
    format!("UTC{offset}")
}

/// `45s`, `3m05s`, `2h07m`, `3d04h`.
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The time from `a` to `b`, when both are known.
pub fn between(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<String> {
    Some(duration((b? - a?).num_seconds()))
}

/// What the rollback restores, one line each: `db1 → db1_bak`, `orders.payments →
/// orders.payments_bak` (a table is restored into its own database).
pub fn restored(spec: &RollbackSpec) -> Vec<String> {
    let mut lines: Vec<String> = spec
        .dbs
        .iter()
        .map(|d| format!("{} → {}", d.dbname, d.newname))
        .collect();
    for db in &spec.tables {
        for t in &db.table {
            lines.push(format!(
                "{db}.{} → {db}.{}",
                t.tablename,
                t.newname,
                db = db.db
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_leaves_no_markup() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert!(matches!(html("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn markdown_escaping_keeps_a_value_inside_its_cell() {
        assert_eq!(
            markdown("a|b <script>\n*x* _y_ payments_bak"),
            r"a\|b \<script\> \*x\* \_y\_ payments_bak"
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn durations_read_at_every_scale() {
        assert_eq!(duration(-3), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(185), "3m05s");
        assert_eq!(duration(7620), "2h07m");
        assert_eq!(duration(273_600), "3d04h");
    }

    #[test]
    fn unknown_statuses_sort_after_the_known_outcomes() {
        assert!(status_rank(Status::Succeeded) < status_rank(Status::Failed));
        assert!(status_rank(Status::Cancelled) < status_rank(Status::Pending));
        assert_eq!(status_class(Status::TimedOut), "st-timed_out");
        assert_eq!(status_label(Status::TimedOut), "timed_out");
    }
}
