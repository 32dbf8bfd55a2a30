//! Rollback windows: what DescribeRollbackRangeTime reports for an instance and whether a
//! rollback time falls inside. Fixed windows come from `Config::rollback_windows`; every other
//! instance gets the last `default_window_seconds` up to now, in the instance's clock.

use chrono::{NaiveDateTime, TimeDelta};

use super::config::{Config, RollbackWindow};
use crate::contract::TIME_FORMAT;

/// The instance's windows at `now_local` (the instance's clock).
pub fn windows(
    config: &Config,
    instance_id: &str,
    now_local: NaiveDateTime,
) -> Vec<RollbackWindow> {
    if let Some(fixed) = config.rollback_windows.get(instance_id) {
        return fixed.clone();
    }
    let span =
        TimeDelta::try_seconds(config.default_window_seconds.max(0)).unwrap_or(TimeDelta::MAX);
    let begin = now_local
        .checked_sub_signed(span)
        .unwrap_or(NaiveDateTime::MIN);
    vec![RollbackWindow {
        begin: trim(begin),
        end: trim(now_local),
    }]
}

/// Whole seconds, as the cloud reports them (and as a rollback time can be written).
fn trim(t: NaiveDateTime) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&t.format(TIME_FORMAT).to_string(), TIME_FORMAT).unwrap_or(t)
}

/// Whether a rollback time is to be checked against the windows: always for fixed windows;
/// for the default window only when `check_default` (API 3.0) and time checks are on.
pub fn applies(config: &Config, instance_id: &str, check_default: bool) -> bool {
    config.rollback_windows.contains_key(instance_id)
        || (check_default && config.rollback_time_check.is_some())
}

/// `Ok` when `time` (`YYYY-MM-DD HH:MM:SS`) lies in one of the instance's windows; otherwise
/// a sentence saying which windows there are. A malformed time is left to the plan rules.
pub fn check(
    config: &Config,
    instance_id: &str,
    time: &str,
    now_local: NaiveDateTime,
) -> Result<(), String> {
    let Ok(t) = NaiveDateTime::parse_from_str(time, TIME_FORMAT) else {
        return Ok(());
    };
    let list = windows(config, instance_id, now_local);
    if list.iter().any(|w| w.begin <= t && t <= w.end) {
        return Ok(());
    }
    let spans: Vec<String> = list
        .iter()
        .map(|w| {
            format!(
                "{} .. {}",
                w.begin.format(TIME_FORMAT),
                w.end.format(TIME_FORMAT)
            )
        })
        .collect();
    Err(format!(
        "rollback time `{time}` is outside the available rollback window ({})",
        if spans.is_empty() {
            "none".to_owned()
        } else {
            spans.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, TIME_FORMAT).unwrap_or_default()
    }

    #[test]
    fn default_window_is_the_last_seven_days_in_whole_seconds() {
        let config = Config::demo();
        let now = at("2026-11-20 12:00:00") + TimeDelta::milliseconds(700);
        let w = windows(&config, "cdb-aaaaaaaa", now);
        assert_eq!(
            w,
            [RollbackWindow {
                begin: at("2026-11-13 12:00:00"),
                end: at("2026-11-20 12:00:00"),
            }]
        );
        assert!(check(&config, "cdb-aaaaaaaa", "2026-11-13 12:00:00", now).is_ok());
        let err = check(&config, "cdb-aaaaaaaa", "2026-11-13 11:59:59", now).err();
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("2026-11-13 12:00:00 .. 2026-11-20 12:00:00")),
            "{err:?}"
        );
    }

    #[test]
    fn fixed_windows_replace_the_default_and_always_apply() {
        let mut config = Config::demo();
        config.rollback_time_check = None;
        let fixed = vec![
            RollbackWindow {
                begin: at("2026-11-01 00:00:00"),
                end: at("2026-11-02 00:00:00"),
            },
            RollbackWindow {
                begin: at("2026-11-05 00:00:00"),
                end: at("2026-11-06 00:00:00"),
            },
        ];
        config
            .rollback_windows
            .insert("cdb-aaaaaaaa".into(), fixed.clone());
        let now = at("2026-11-20 12:00:00");
        assert_eq!(windows(&config, "cdb-aaaaaaaa", now), fixed);
        assert!(applies(&config, "cdb-aaaaaaaa", false));
        assert!(
            !applies(&config, "cdb-bbbbbbbb", true),
            "time checks are off"
        );
        assert!(check(&config, "cdb-aaaaaaaa", "2026-11-05 10:00:00", now).is_ok());
        assert!(check(&config, "cdb-aaaaaaaa", "2026-11-03 10:00:00", now).is_err());
        config
            .rollback_windows
            .insert("cdb-aaaaaaaa".into(), vec![]);
        let err = check(&config, "cdb-aaaaaaaa", "2026-11-05 10:00:00", now).err();
        assert!(
            err.as_deref().is_some_and(|e| e.contains("(none)")),
            "{err:?}"
        );
    }

    #[test]
    fn absurd_default_spans_do_not_panic() {
        let config = Config {
            default_window_seconds: i64::MAX,
            ..Config::demo()
        };
        let w = windows(&config, "cdb-aaaaaaaa", at("2026-11-20 12:00:00"));
        assert_eq!(w.len(), 1);
    }
}
