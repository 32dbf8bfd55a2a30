//! The rollback-window preflight, whatever the API: what it answered of each instance
//! ([`Answer`]: its windows, a refusal, or a transient code it kept answering) and how a
//! rollback time is judged against that ([`Window`]). The API 3.0 adapter turns
//! DescribeRollbackRangeTime's items into [`Answer`]s ([`super::v3`]); API 2.0 has no such
//! query.

use crate::api::rollback::InstanceRollback;

/// A span an instance can roll back into: `YYYY-MM-DD HH:MM:SS` bounds in its clock, as the
/// API returned them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub begin: String,
    pub end: String,
}

impl Range {
    /// Whether `time` (same format) lies within the range, bounds included. The format sorts
    /// lexically, so no parsing is needed; an empty bound never contains anything.
    pub fn contains(&self, time: &str) -> bool {
        !self.begin.is_empty()
            && !self.end.is_empty()
            && self.begin.as_str() <= time
            && time <= self.end.as_str()
    }
}

/// What the API said of one instance's windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub instance: String,
    pub said: Said,
}

/// The three kinds of answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// The instance's windows (maybe none).
    Ranges(Vec<Range>),
    /// An error for the instance.
    Refused { code: i64, message: String },
    /// The instance does not exist in the region it was asked in.
    Missing { code: i64, message: String },
    /// A code that says "try again", still answered after the retries.
    Transient { code: i64, message: String },
}

/// What preflight says about one instance and its rollback time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The time lies in an available window.
    Inside,
    /// The instance exists but the time is outside every window (listed, maybe none).
    Outside(Vec<Range>),
    /// The API reported an error for the instance.
    Refused { code: i64, message: String },
    /// The API says the instance does not exist in the region it was asked in (the cloud
    /// knows an instance only in its own region).
    Missing { code: i64, message: String },
    /// The API kept answering a transient code for the instance: it could not tell.
    Inconclusive { code: i64, message: String },
    /// The API's answer does not mention the instance.
    Unlisted,
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inside => f.write_str("inside the available rollback window"),
            Self::Outside(windows) if windows.is_empty() => {
                f.write_str("no rollback window is available for the instance")
            }
            Self::Outside(windows) => {
                f.write_str("outside the available rollback window (")?;
                for (i, w) in windows.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} to {}", w.begin, w.end)?;
                }
                f.write_str(")")
            }
            Self::Refused { code, message } => {
                write!(f, "the API refused the instance (code {code}: {message})")
            }
            Self::Missing { code, message } => write!(
                f,
                "the instance does not exist in the region asked (code {code}: {message})"
            ),
            Self::Inconclusive { code, message } => write!(
                f,
                "the API could not tell whether the instance can roll back (code {code}: {message}), even when asked again"
            ),
            Self::Unlisted => f.write_str("the API did not report the instance"),
        }
    }
}

/// The instances of `requests` whose rollback time preflight does not allow, with why, in
/// the order of `requests`.
pub fn window_problems<'r>(
    requests: &'r [InstanceRollback],
    answers: &[Answer],
) -> Vec<(&'r InstanceRollback, Window)> {
    // Each instance's first answer, by id: a scan of the answers per request would be O(N²).
    let mut by_id = std::collections::HashMap::with_capacity(answers.len());
    for answer in answers {
        by_id.entry(answer.instance.as_str()).or_insert(answer);
    }
    requests
        .iter()
        .map(|r| {
            let answer = by_id.get(r.instance_id.as_str()).copied();
            (r, judge(answer, &r.spec.rollbacktime))
        })
        .filter(|(_, w)| *w != Window::Inside)
        .collect()
}

/// Judges `rollback_time` (`YYYY-MM-DD HH:MM:SS`) for `instance` against preflight's answers.
pub fn window(answers: &[Answer], instance: &str, rollback_time: &str) -> Window {
    judge(
        answers.iter().find(|a| a.instance == instance),
        rollback_time,
    )
}

/// Judges `rollback_time` against the instance's answer, if it has one.
fn judge(answer: Option<&Answer>, rollback_time: &str) -> Window {
    let Some(answer) = answer else {
        return Window::Unlisted;
    };
    match &answer.said {
        Said::Transient { code, message } => Window::Inconclusive {
            code: *code,
            message: message.clone(),
        },
        Said::Refused { code, message } => Window::Refused {
            code: *code,
            message: message.clone(),
        },
        Said::Missing { code, message } => Window::Missing {
            code: *code,
            message: message.clone(),
        },
        Said::Ranges(ranges) if ranges.iter().any(|r| r.contains(rollback_time)) => Window::Inside,
        Said::Ranges(ranges) => Window::Outside(ranges.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instance's answer: its windows when `code` is 0, else a refusal (as the API 3.0
    /// adapter reads a non-transient code).
    fn range(id: &str, code: i64, times: &[(&str, &str)]) -> Answer {
        let said = if code == 0 {
            Said::Ranges(
                times
                    .iter()
                    .map(|(b, e)| Range {
                        begin: (*b).into(),
                        end: (*e).into(),
                    })
                    .collect(),
            )
        } else {
            Said::Refused {
                code,
                message: "no such instance".into(),
            }
        };
        Answer {
            instance: id.into(),
            said,
        }
    }

    #[test]
    fn the_plans_verdicts_are_each_instances_first_item_judged() {
        let ask = |id: &str, time: &str| InstanceRollback {
            instance_id: id.into(),
            spec: crate::api::rollback::RollbackSpec {
                rollbacktime: time.into(),
                strategy: crate::api::rollback::Strategy::Table,
                dbs: Vec::new(),
                tables: Vec::new(),
            },
        };
        let items = [
            range(
                "cdb-a",
                0,
                &[("2026-11-13 00:00:00", "2026-11-20 10:00:00")],
            ),
            range("cdb-c", 10, &[]),
            // A second answer for cdb-a: the first one is the answer, as `window` reads it.
            range("cdb-a", 0, &[]),
        ];
        let requests = [
            ask("cdb-a", "2026-11-20 03:15:00"),
            ask("cdb-a", "2026-11-21 03:15:00"),
            ask("cdb-c", "2026-11-20 03:15:00"),
            ask("cdb-d", "2026-11-20 03:15:00"),
        ];
        let found: Vec<(&str, Window)> = window_problems(&requests, &items)
            .into_iter()
            .map(|(r, w)| (r.instance_id.as_str(), w))
            .collect();
        let expected: Vec<(&str, Window)> = requests[1..]
            .iter()
            .map(|r| {
                let w = window(&items, &r.instance_id, &r.spec.rollbacktime);
                (r.instance_id.as_str(), w)
            })
            .collect();
        assert_eq!(found, expected);
        assert!(matches!(found[0].1, Window::Outside(ref w) if w.len() == 1));
    }

    #[test]
    fn preflight_verdicts() {
        let items = [
            range(
                "cdb-a",
                0,
                &[("2026-11-13 00:00:00", "2026-11-20 10:00:00")],
            ),
            range("cdb-b", 0, &[]),
            range("cdb-c", 10, &[]),
        ];
        assert_eq!(
            window(&items, "cdb-a", "2026-11-20 03:15:00"),
            Window::Inside
        );
        assert!(matches!(
            window(&items, "cdb-a", "2026-11-21 03:15:00"),
            Window::Outside(w) if w.len() == 1
        ));
        assert_eq!(
            window(&items, "cdb-b", "2026-11-20 03:15:00"),
            Window::Outside(vec![])
        );
        assert_eq!(
            window(&items, "cdb-c", "2026-11-20 03:15:00"),
            Window::Refused {
                code: 10,
                message: "no such instance".into()
            }
        );
        assert_eq!(
            window(&items, "cdb-d", "2026-11-20 03:15:00"),
            Window::Unlisted
        );
    }
}
