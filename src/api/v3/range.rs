//! DescribeRollbackRangeTime: the request, the per-instance windows, and whether a rollback
//! time falls in one of them.

use serde::{Deserialize, Serialize};

use super::lenient::{int_ish, nullable, text_ish};

/// DescribeRollbackRangeTime's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRollbackRangeTimeRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_ids: Vec<String>,
}

/// `RollbackTimeRange`: `YYYY-MM-DD HH:MM:SS` bounds in the instance's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackTimeRange {
    #[serde(default, deserialize_with = "nullable")]
    pub begin: String,
    #[serde(default, deserialize_with = "nullable")]
    pub end: String,
}

impl RollbackTimeRange {
    /// Whether `time` (same format) lies within the range, bounds included. The format sorts
    /// lexically, so no parsing is needed; an empty bound never contains anything.
    pub fn contains(&self, time: &str) -> bool {
        !self.begin.is_empty()
            && !self.end.is_empty()
            && self.begin.as_str() <= time
            && time <= self.end.as_str()
    }
}

/// `InstanceRollbackRangeTime`: one instance's windows, or its error (`Code` ≠ 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceRollbackRangeTime {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, deserialize_with = "int_ish")]
    pub code: Option<i64>,
    #[serde(default, deserialize_with = "text_ish")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub times: Vec<RollbackTimeRange>,
}

impl InstanceRollbackRangeTime {
    /// True when the API reported no error for the instance.
    pub fn is_ok(&self) -> bool {
        self.code.unwrap_or(0) == 0
    }

    /// Whether `time` falls in one of the windows.
    pub fn allows(&self, time: &str) -> bool {
        self.is_ok() && self.times.iter().any(|w| w.contains(time))
    }
}

/// The answer of DescribeRollbackRangeTime.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RangeTimeAnswer {
    #[serde(default, deserialize_with = "int_ish")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<InstanceRollbackRangeTime>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn range_times_decode_and_check_windows() {
        let answer: RangeTimeAnswer = serde_json::from_value(json!({
            "TotalCount": 2,
            "Items": [
                {"InstanceId": "cdb-a", "Code": 0, "Message": "ok",
                 "Times": [{"Begin": "2026-11-13 00:00:00", "End": "2026-11-20 10:00:00"}]},
                {"InstanceId": "cdb-b", "Code": "1", "Message": "not found", "Times": null}
            ]
        }))
        .unwrap();
        let a = &answer.items[0];
        assert!(a.allows("2026-11-20 03:15:00"));
        assert!(a.allows("2026-11-20 10:00:00"));
        assert!(!a.allows("2026-11-20 10:00:01"));
        assert!(!a.allows("2026-11-12 23:59:59"));
        let b = &answer.items[1];
        assert!(!b.is_ok());
        assert!(!b.allows("2026-11-20 03:15:00"));
    }
}
