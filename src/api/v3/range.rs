//! DescribeRollbackRangeTime: the request and the per-instance windows (whether a rollback
//! time falls in one is the engine's call: `engine::window`).

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
    fn range_times_decode_with_codes_as_numbers_or_strings() {
        let answer: RangeTimeAnswer = serde_json::from_value(json!({
            "TotalCount": 2,
            "Items": [
                {"InstanceId": "cdb-a", "Code": 0, "Message": "ok",
                 "Times": [{"Begin": "2026-11-13 00:00:00", "End": "2026-11-20 10:00:00"}]},
                {"InstanceId": "cdb-b", "Code": "1", "Message": "not found", "Times": null}
            ]
        }))
        .unwrap();
        // Whether a time falls in these windows is the engine's call
        // (`engine::v3::answer_of`, `engine::window`), tested there.
        let a = &answer.items[0];
        assert!(a.is_ok());
        assert_eq!(a.times.len(), 1);
        let b = &answer.items[1];
        assert!(!b.is_ok());
        assert!(b.times.is_empty());
    }
}
