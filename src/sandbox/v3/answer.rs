//! The API 3.0 envelope `{"Response": {..., "RequestId"}}`, its errors
//! `Response.Error{Code, Message}` with Tencent's code strings, and the seeded quirks of its
//! answers (`null` for an empty list or string, now and then).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// One API 3.0 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A required parameter or header is absent.
    pub fn missing(what: &str) -> Self {
        Self::new("MissingParameter", format!("missing parameter {what}"))
    }

    /// A parameter has the wrong shape (type, format).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameter", message)
    }

    /// A well-formed value breaks a rule.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", message)
    }

    pub fn unknown_parameter(name: &str) -> Self {
        Self::new("UnknownParameter", format!("unknown parameter {name}"))
    }

    pub fn bad_authorization(message: impl Into<String>) -> Self {
        Self::new("AuthFailure.InvalidAuthorization", message)
    }

    pub fn signature() -> Self {
        Self::new(
            "AuthFailure.SignatureFailure",
            "the provided credentials could not be validated; check the signature",
        )
    }

    pub fn expired(timestamp: i64, window: i64) -> Self {
        Self::new(
            "AuthFailure.SignatureExpire",
            format!(
                "X-TC-Timestamp {timestamp} is more than {window} seconds from the server's clock"
            ),
        )
    }

    pub fn unknown_secret_id() -> Self {
        Self::new("AuthFailure.SecretIdNotFound", "the SecretId is not found")
    }

    pub fn rate_limited(action: &str, rate: u32) -> Self {
        Self::new(
            "RequestLimitExceeded",
            format!("request rate of {action} exceeds {rate} per second"),
        )
    }

    pub fn unsupported_action(action: &str) -> Self {
        Self::new("InvalidAction", format!("action `{action}` does not exist"))
    }

    pub fn internal() -> Self {
        Self::new(
            "InternalError",
            "an internal error occurred; try again later",
        )
    }

    pub fn missing_instance(instance: &str) -> Self {
        Self::new(
            "ResourceNotFound.InstanceNotFoundError",
            format!("instance {instance} does not exist"),
        )
    }

    pub fn task_running(instance: &str) -> Self {
        Self::new(
            "OperationDenied.InstanceTaskRunning",
            format!("a task is running on instance {instance}"),
        )
    }

    pub fn nothing_to_stop(instance: &str) -> Self {
        Self::new(
            "OperationDenied.InstanceTaskStatusError",
            format!("no rollback task is running on instance {instance}"),
        )
    }
}

/// Seeded choices for API 3.0 answers: request ids and `null` for empty lists or strings.
#[derive(Debug)]
pub struct Quirks {
    rng: StdRng,
    next_stop: u64,
    /// AsyncRequestIds handed out by StopRollback (DescribeAsyncRequestInfo knows them).
    stops: std::collections::HashSet<String>,
}

impl Quirks {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_0003),
            // StopRollback's AsyncRequestIds: far from the submissions' job ids.
            next_stop: 0x8000_0000,
            stops: std::collections::HashSet::new(),
        }
    }

    /// `6EF60BEC-0242-43AF-BB20-270359FB54A7`-like.
    pub fn request_id(&mut self) -> String {
        let a: u32 = self.rng.random();
        let b: u16 = self.rng.random();
        let c: u16 = self.rng.random();
        let d: u16 = self.rng.random();
        let e: u64 = self.rng.random::<u64>() & 0xffff_ffff_ffff;
        format!("{a:08X}-{b:04X}-{c:04X}-{d:04X}-{e:012X}")
    }

    /// The AsyncRequestId of the next StopRollback.
    pub fn stop_id(&mut self) -> String {
        let id = self.next_stop;
        self.next_stop += 1;
        let id = crate::sandbox::state::async_request_id(id);
        self.stops.insert(id.clone());
        id
    }

    /// Whether StopRollback handed out this AsyncRequestId.
    pub fn is_stop(&self, id: &str) -> bool {
        self.stops.contains(id)
    }

    /// A list, or `null` half the time when it is empty.
    pub fn list(&mut self, items: Vec<Value>) -> Value {
        if items.is_empty() && self.rng.random::<bool>() {
            Value::Null
        } else {
            Value::Array(items)
        }
    }

    /// A string, or `null` half the time when it is empty.
    pub fn text(&mut self, text: &str) -> Value {
        if text.is_empty() && self.rng.random::<bool>() {
            Value::Null
        } else {
            Value::from(text)
        }
    }
}

/// `{"Response": {...data, "RequestId"}}`.
pub fn success(mut data: Value, request_id: &str) -> Value {
    if let Some(map) = data.as_object_mut() {
        map.insert("RequestId".into(), Value::from(request_id));
    }
    json!({ "Response": data })
}

/// `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`.
pub fn error(e: &ApiError, request_id: &str) -> Value {
    json!({
        "Response": {
            "Error": {"Code": e.code, "Message": e.message},
            "RequestId": request_id,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_the_request_id() {
        let ok = success(json!({"AsyncRequestId": "x"}), "RID");
        assert_eq!(
            ok,
            json!({"Response": {"AsyncRequestId": "x", "RequestId": "RID"}})
        );
        let err = error(&ApiError::task_running("cdb-aaaaaaaa"), "RID");
        assert_eq!(
            err["Response"]["Error"]["Code"],
            "OperationDenied.InstanceTaskRunning"
        );
        assert_eq!(err["Response"]["RequestId"], "RID");
        assert!(
            err["Response"]["Error"]["Message"]
                .as_str()
                .is_some_and(|m| m.contains("cdb-aaaaaaaa"))
        );
    }

    #[test]
    fn empty_lists_and_strings_are_sometimes_null_never_full_ones() {
        let mut q = Quirks::new(1);
        let lists: Vec<Value> = (0..40).map(|_| q.list(vec![])).collect();
        assert!(lists.contains(&Value::Null) && lists.contains(&json!([])));
        assert!((0..20).all(|_| q.list(vec![json!(1)]) == json!([1])));
        let texts: Vec<Value> = (0..40).map(|_| q.text("")).collect();
        assert!(texts.contains(&Value::Null) && texts.contains(&json!("")));
        assert!((0..20).all(|_| q.text("a") == json!("a")));
    }

    #[test]
    fn request_and_stop_ids_are_unique_and_shaped() {
        let mut q = Quirks::new(2);
        let (a, b) = (q.request_id(), q.request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        let (s1, s2) = (q.stop_id(), q.stop_id());
        assert_ne!(s1, s2);
        assert!(q.is_stop(&s1) && q.is_stop(&s2) && !q.is_stop(&a));
    }
}
