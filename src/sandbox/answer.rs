//! The API 2.0 envelope `{"code", "message", "codeDesc", "data"}` (HTTP 200 even for errors),
//! the rejections the sandbox answers with, and the documented quirk of numbers sent either as
//! strings or as numbers.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// An API error answer: `code`, `codeDesc`, `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: i64,
    pub desc: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(code: i64, desc: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            desc,
            message: message.into(),
        }
    }

    /// 4000: a common parameter is missing or malformed.
    pub fn bad_common_param(message: impl Into<String>) -> Self {
        Self::new(4000, "InvalidParameter", message)
    }

    /// 4100: the signature does not match.
    pub fn signature(message: impl Into<String>) -> Self {
        Self::new(4100, "AuthFailure.SignatureFailure", message)
    }

    /// 4104: the SecretId is unknown.
    pub fn unknown_secret_id() -> Self {
        Self::new(4104, "AuthFailure.SecretIdNotFound", "SecretId not found")
    }

    /// 4400: too many requests for this action in the last second.
    pub fn rate_limited(action: &str, rate: u32) -> Self {
        Self::new(
            4400,
            "RequestLimitExceeded",
            format!("request rate of {action} exceeds {rate} per second"),
        )
    }

    /// 4500: Timestamp out of the window or Nonce reused.
    pub fn replay(message: impl Into<String>) -> Self {
        Self::new(4500, "InvalidParameter.Replay", message)
    }

    /// 6100: the action is not one this API knows.
    pub fn unsupported_action(action: &str) -> Self {
        Self::new(
            6100,
            "UnsupportedOperation",
            format!("action `{action}` is not supported"),
        )
    }

    /// 9003: an action parameter breaks a rule.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(9003, "InvalidParameter", message)
    }

    /// 9006: the injected internal error.
    pub fn internal() -> Self {
        Self::new(9006, "InternalError", "database internal error")
    }

    /// 9592: a task is already running on the instance.
    pub fn task_running(instance: &str) -> Self {
        Self::new(
            9592,
            "OperationDenied",
            format!("a task is running on instance {instance}"),
        )
    }

    /// 11041: the instance does not exist.
    pub fn missing_instance(instance: &str) -> Self {
        Self::new(
            11041,
            "InternalError.CDBNotExist",
            format!("instance {instance} does not exist"),
        )
    }
}

/// Seeded choices for the quirks of API 2.0 answers.
#[derive(Debug)]
pub struct Quirks {
    rng: StdRng,
}

impl Quirks {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// `n` as a JSON number or as a string, at random (`"code":"0"` and `"code":0` both occur).
    pub fn number(&mut self, n: i64) -> Value {
        if self.rng.random::<bool>() {
            Value::from(n)
        } else {
            Value::from(n.to_string())
        }
    }

    /// The `data` of an error: PHP encodes an empty array as `[]` or `{}`.
    pub fn empty_data(&mut self) -> Value {
        if self.rng.random::<bool>() {
            json!([])
        } else {
            json!({})
        }
    }

    /// The full envelope of a success.
    pub fn success(&mut self, data: Value) -> Value {
        json!({
            "code": self.number(0),
            "message": "",
            "codeDesc": "Success",
            "data": data,
        })
    }

    /// The full envelope of an error.
    pub fn error(&mut self, rejection: &Rejection) -> Value {
        json!({
            "code": self.number(rejection.code),
            "message": rejection.message,
            "codeDesc": rejection.desc,
            "data": self.empty_data(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_both_strings_and_numbers() {
        let mut q = Quirks::new(1);
        let values: Vec<Value> = (0..40).map(|_| q.number(7)).collect();
        assert!(values.iter().any(|v| v == &json!(7)));
        assert!(values.iter().any(|v| v == &json!("7")));
    }

    #[test]
    fn error_envelope_carries_code_message_and_desc() {
        let mut q = Quirks::new(2);
        let v = q.error(&Rejection::missing_instance("cdb-aaaaaaaa"));
        let code = v["code"]
            .as_i64()
            .or_else(|| v["code"].as_str()?.parse().ok());
        assert_eq!(code, Some(11041));
        assert_eq!(v["codeDesc"], "InternalError.CDBNotExist");
        assert!(v["message"].as_str().unwrap_or("").contains("cdb-aaaaaaaa"));
        assert!(v["data"].is_array() || v["data"].is_object());
    }
}
