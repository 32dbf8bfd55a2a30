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
            "InvalidParameter.InstanceNotFound",
            format!("instance {instance} does not exist"),
        )
    }

    /// `code` is the configured one of the documented candidates.
    pub fn task_running(code: &'static str, instance: &str) -> Self {
        Self::new(code, format!("a task is running on instance {instance}"))
    }

    pub fn unknown_async_request(id: &str) -> Self {
        Self::new(
            "InvalidParameter.InvalidAsyncRequestId",
            format!("no asynchronous request {id}"),
        )
    }

    /// Plain `OperationDenied`: the code StopRollback documents (a member of the family it
    /// does not document would leave the stop in doubt).
    pub fn nothing_to_stop(instance: &str) -> Self {
        Self::new(
            "OperationDenied",
            format!("no rollback task is running on instance {instance}"),
        )
    }
}

/// Seeded choices for API 3.0 answers: request ids and `null` for empty lists or strings.
#[derive(Debug)]
pub struct Quirks {
    rng: StdRng,
    next_stop: u64,
    /// AsyncRequestIds handed out by StopRollback, with their instance
    /// (DescribeAsyncRequestInfo knows them).
    stops: std::collections::HashMap<String, String>,
    /// DescribeRollbackRangeTime queries so far, per instance (for transient answers).
    range_asks: std::collections::HashMap<String, u32>,
    /// Requests that met each injected answer so far (`Config::injected`, by position).
    injected: std::collections::HashMap<usize, u32>,
}

impl Quirks {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_0003),
            // StopRollback's AsyncRequestIds: far from the submissions' job ids.
            next_stop: 0x8000_0000,
            stops: std::collections::HashMap::new(),
            range_asks: std::collections::HashMap::new(),
            injected: std::collections::HashMap::new(),
        }
    }

    /// Counts one more request met by injected answer `i`; how many so far.
    pub fn inject(&mut self, i: usize) -> u32 {
        let n = self.injected.entry(i).or_default();
        *n += 1;
        *n
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

    /// The AsyncRequestId of the next StopRollback, of `instance`.
    pub fn stop_id(&mut self, instance: &str) -> String {
        let id = self.next_stop;
        self.next_stop += 1;
        let id = crate::sandbox::state::async_request_id(id);
        self.stops.insert(id.clone(), instance.to_owned());
        id
    }

    /// The instance of the StopRollback that handed out this AsyncRequestId.
    pub fn stopped_instance(&self, id: &str) -> Option<&str> {
        self.stops.get(id).map(String::as_str)
    }

    /// Whether this DescribeRollbackRangeTime query of `instance` is among its first `n`,
    /// which get a transient per-instance code: 1600001 (internal error) and 1624001
    /// (database access error) in turn.
    pub fn transient_range(&mut self, instance: &str, n: u32) -> Option<i64> {
        let asked = self.range_asks.entry(instance.to_owned()).or_default();
        *asked += 1;
        (*asked <= n).then_some(if *asked % 2 == 1 {
            1_600_001
        } else {
            1_624_001
        })
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
        let err = error(
            &ApiError::task_running("FailedOperation.StatusConflict", "cdb-aaaaaaaa"),
            "RID",
        );
        assert_eq!(
            err["Response"]["Error"]["Code"],
            "FailedOperation.StatusConflict"
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
        let (s1, s2) = (q.stop_id("cdb-a"), q.stop_id("cdb-b"));
        assert_ne!(s1, s2);
        assert_eq!(q.stopped_instance(&s2), Some("cdb-b"));
        assert_eq!(q.stopped_instance(&a), None);
        let codes: Vec<_> = (0..3).map(|_| q.transient_range("cdb-a", 2)).collect();
        assert_eq!(codes, [Some(1_600_001), Some(1_624_001), None]);
    }
}
