//! Decoding API 2.0 answers: the `{code, message, codeDesc, data}` envelope and the data of
//! RollbackCdbDatabaseTables and GetCdbRollbackJob.
//!
//! The API lies about types (`docs/api-facts.md` "Answers that lie"): numbers come as strings or
//! numbers, `data` as an object or an array, fields go missing. So answers are read through
//! `serde_json::Value` with tolerant accessors instead of strict derives.

use serde_json::Value;

use crate::api::error::{Error, excerpt};
use crate::api::rollback::{DatabaseRename, DatabaseTables, Strategy};

/// A rollback job id, as returned by RollbackCdbDatabaseTables (`jobId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl JobId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The API's decoded envelope, with `code` already known to be 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub message: String,
    pub data: Value,
}

/// Decodes the envelope; a non-zero `code` becomes [`Error::Api`].
pub fn decode_envelope(action: &str, body: &str) -> Result<Envelope, Error> {
    let decode_err = |reason: String| Error::Decode {
        action: action.to_owned(),
        reason,
        excerpt: excerpt(body, 200),
    };
    let value: Value = serde_json::from_str(body).map_err(|e| decode_err(e.to_string()))?;
    if !value.is_object() {
        return Err(decode_err("the answer is not a JSON object".into()));
    }
    let code = int(&value["code"]).ok_or_else(|| decode_err("no numeric `code`".into()))?;
    let message = text(&value["message"]).unwrap_or_default();
    if code != 0 {
        return Err(Error::Api {
            action: action.to_owned(),
            code,
            message,
            code_desc: text(&value["codeDesc"]).unwrap_or_default(),
        });
    }
    Ok(Envelope {
        message,
        data: value.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// The `jobId` of a RollbackCdbDatabaseTables answer (`data` as object or one-element array).
pub fn decode_job_id(action: &str, data: &Value) -> Result<JobId, Error> {
    let holder = match data {
        Value::Array(items) => items.iter().find(|v| v.get("jobId").is_some()),
        other => Some(other),
    };
    holder
        .and_then(|h| text(&h["jobId"]))
        .filter(|id| !id.is_empty())
        .map(JobId)
        .ok_or_else(|| Error::Decode {
            action: action.to_owned(),
            reason: "the answer has no `data.jobId`".into(),
            excerpt: excerpt(&data.to_string(), 200),
        })
}

/// Integer as a JSON number (integral float allowed) or a numeric string.
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0)
                .map(|f| f as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && f.fract() == 0.0)
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// Text as a JSON string or number; `null`, objects and arrays give `None`.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a list of renames leniently: missing or malformed entries are skipped.
pub(crate) fn dbs(v: &Value) -> Vec<DatabaseRename> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(DatabaseRename {
                        dbname: text(&i["dbname"])?,
                        newname: text(&i["newname"]).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the `tables` of a task context; a database without a readable table list is kept
/// with no tables rather than dropped.
pub(crate) fn tables(v: &Value) -> Vec<DatabaseTables> {
    v.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(DatabaseTables {
                        db: text(&i["db"])?,
                        table: i["table"]
                            .as_array()
                            .map(|ts| {
                                ts.iter()
                                    .filter_map(|t| {
                                        Some(crate::api::rollback::TableRename {
                                            tablename: text(&t["tablename"])?,
                                            newname: text(&t["newname"]).unwrap_or_default(),
                                        })
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A strategy string, if it is one planrun knows.
pub(crate) fn strategy(v: &Value) -> Option<Strategy> {
    text(v).and_then(|s| Strategy::parse(s.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_may_be_a_string_or_a_number() {
        for body in [
            r#"{"code":"0","message":"","data":{"jobId":"1"}}"#,
            r#"{"code":0,"message":"","data":{"jobId":"1"}}"#,
            r#"{"code":0.0,"data":{"jobId":"1"}}"#,
        ] {
            assert!(decode_envelope("A", body).is_ok(), "{body}");
        }
    }

    #[test]
    fn non_zero_code_is_an_api_error_with_its_fields() {
        let err = decode_envelope(
            "A",
            r#"{"code":"9592","message":"task running","codeDesc":"OperationDenied"}"#,
        )
        .unwrap_err();
        match err {
            Error::Api {
                code,
                message,
                code_desc,
                ..
            } => {
                assert_eq!(code, 9592);
                assert_eq!(message, "task running");
                assert_eq!(code_desc, "OperationDenied");
            }
            other => panic!("{other:?}"),
        }
        let err = decode_envelope("A", r#"{"code":4100}"#).unwrap_err();
        assert_eq!(err.api_code(), Some(4100));
    }

    #[test]
    fn garbage_and_missing_code_are_decode_errors() {
        for body in [
            "<html>502</html>",
            "[]",
            r#"{"message":"x"}"#,
            r#"{"code":"x"}"#,
        ] {
            let err = decode_envelope("A", body).unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
        }
    }

    #[test]
    fn job_id_may_be_a_number_a_string_or_inside_an_array() {
        for body in [
            r#"{"code":"0","message":"","codeDesc":"Success","data":{"jobId":"111"}}"#,
            r#"{"code":0,"data":{"jobId":111}}"#,
            r#"{"code":0,"data":[{"jobId":"111","extra":true}]}"#,
        ] {
            let env = decode_envelope("A", body).unwrap();
            assert_eq!(decode_job_id("A", &env.data).unwrap(), JobId("111".into()));
        }
    }

    #[test]
    fn missing_job_id_is_a_decode_error() {
        for body in [
            r#"{"code":0}"#,
            r#"{"code":0,"data":{}}"#,
            r#"{"code":0,"data":[]}"#,
            r#"{"code":0,"data":{"jobId":""}}"#,
        ] {
            let env = decode_envelope("A", body).unwrap();
            assert!(
                matches!(decode_job_id("A", &env.data), Err(Error::Decode { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn lenient_integers() {
        assert_eq!(int(&serde_json::json!(" 42 ")), Some(42));
        assert_eq!(int(&serde_json::json!("-1")), Some(-1));
        assert_eq!(int(&serde_json::json!("100.0")), Some(100));
        assert_eq!(int(&serde_json::json!("")), None);
        assert_eq!(int(&serde_json::json!(null)), None);
        assert_eq!(int(&serde_json::json!(2.5)), None);
    }
}
