//! Rules about time: the plan's `timezone`, and each `rollback_time` (shape, calendar, not in
//! the future in that timezone, warned when older than the binlogs likely reach).

use chrono::{FixedOffset, NaiveDateTime};

use super::{Diagnostic, OLD_AFTER_DAYS, Rules};
use crate::contract::TIME_FORMAT;

/// `±HH:MM` within ±14:00.
pub fn parse_timezone(text: &str) -> Option<FixedOffset> {
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' || !matches!(b[0], b'+' | b'-') {
        return None;
    }
    let hours: i32 = text.get(1..3)?.parse().ok()?;
    let minutes: i32 = text.get(4..6)?.parse().ok()?;
    let seconds = (hours * 60 + minutes) * 60;
    if minutes >= 60 || seconds > 14 * 3600 || !text[1..3].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if b[0] == b'-' {
        FixedOffset::west_opt(seconds)
    } else {
        FixedOffset::east_opt(seconds)
    }
}

/// Why a `±HH:MM`-shaped timezone is refused (`None` when the shape itself is wrong).
pub fn timezone_range_problem(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let shaped = b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit());
    if !shaped {
        return None;
    }
    if text[4..6] >= *"60" {
        Some("minutes must be below 60")
    } else {
        Some("outside ±14:00")
    }
}

/// `YYYY-MM-DD HH:MM:SS`, digits exactly where they belong, and a real calendar time.
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    // chrono takes second 60 (a leap second); MySQL and the API do not, like hour 24.
    if !has_time_shape(text) || text[17..19] >= *"60" {
        return None;
    }
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()
}

/// Digits and separators where `YYYY-MM-DD HH:MM:SS` has them (the calendar is not checked).
fn has_time_shape(text: &str) -> bool {
    text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
}

impl Rules<'_> {
    /// Format, calendar, future and age of a rollback time.
    pub(super) fn time(&mut self, text: &str, path: &str) -> Option<NaiveDateTime> {
        let Some(time) = parse_time(text) else {
            let (message, label) = if has_time_shape(text) {
                (
                    format!("`{text}` is not a real calendar time"),
                    "no such date or time",
                )
            } else {
                (
                    format!("`{text}` is not a rollback time"),
                    "expected YYYY-MM-DD HH:MM:SS",
                )
            };
            self.push(
                Diagnostic::error("planrun::invalid_rollback_time", message)
                    .at(path, self.span(path), label)
                .help(
                    "write a real calendar time as \"YYYY-MM-DD HH:MM:SS\" in the plan's timezone",
                ),
            );
            return None;
        };
        let offset = self.offset?;
        let now = self.now.with_timezone(&offset).naive_local();
        let tz = offset.to_string();
        if time > now {
            self.push(
                Diagnostic::error(
                    "planrun::future_rollback_time",
                    format!("rollback time {text} ({tz}) is in the future"),
                )
                .at(path, self.span(path), "after now")
                .help(format!(
                    "it is {} in {tz}; a rollback goes back in time",
                    now.format(TIME_FORMAT)
                )),
            );
        } else if now - time > chrono::Duration::days(OLD_AFTER_DAYS) {
            self.push(
                Diagnostic::warning("planrun::old_rollback_time", format!("rollback time {text} is more than {OLD_AFTER_DAYS} days ago"))
                    .at(path, self.span(path), "older than 7 days")
                    .help("binlogs may no longer cover it; check the instance's rollback window (DescribeRollbackRangeTime)"),
            );
        }
        Some(time)
    }
}
