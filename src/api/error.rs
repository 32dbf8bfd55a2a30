//! Errors of the API layer and their classification ([`ErrorClass`]): what the caller may do
//! next (retry, re-sign, stop the run, fail only some instances, wait, give up).
//!
//! Messages never contain a SecretKey, a Token or a Signature: transport errors are rendered
//! without the request URL (a GET URL carries the signed query).

use miette::Diagnostic;
use thiserror::Error as ThisError;

mod classify_v3;
mod v3_codes;

pub use classify_v3::{Origin, Rule, classify_v3, refusal_v3, rule_v3};

/// What the caller should do with an error (`docs/api-facts.md` "common error codes",
/// `docs/contract.md` §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: retry with exponential backoff and jitter.
    Retry,
    /// 4500 (replay / clock skew): sign again with a fresh Nonce and Timestamp, retry once.
    Resign,
    /// Authentication or permission: nothing else will work, stop the whole run.
    StopRun,
    /// Concerns some instances of the batch (9003, 11041, 9570): split the batch to find them.
    InstancesOnly,
    /// 9592: a task is already running on the instance.
    Busy,
    /// A submission may or may not have been accepted: look for the job before resubmitting.
    OutcomeUnknown,
    /// Retrying cannot help.
    Fatal,
}

/// The API 3.0 answers documented to mean "no such instance" (`docs/api-facts.md`, "Error
/// codes each action documents"): `(action, code)`. DescribeRollbackTaskDetail, DescribeTasks
/// and StopRollback document no such code.
pub const INSTANCE_MISSING_V3: &[(&str, &str)] = &[
    ("StartBatchRollback", "InvalidParameter.InstanceNotFound"),
    (
        "DescribeRollbackRangeTime",
        "InvalidParameter.InstanceNotFound",
    ),
];

/// An API 2.0 error code's class. Codes not listed are [`ErrorClass::Fatal`].
pub fn classify_code(code: i64) -> ErrorClass {
    match code {
        4400 | 5100 | 6000 | 6200 | 9006 | 9590 => ErrorClass::Retry,
        4500 => ErrorClass::Resign,
        // 4105 (token wrong) would need refreshed temporary credentials, which planrun cannot
        // obtain by itself: stop like the other authentication failures.
        4100..=4110 | 4300 | 6100 => ErrorClass::StopRun,
        9003 | 9570 | 11041 => ErrorClass::InstancesOnly,
        9592 => ErrorClass::Busy,
        _ => ErrorClass::Fatal,
    }
}

/// Errors of API calls.
#[derive(Debug, ThisError, Diagnostic)]
pub enum Error {
    /// The request certainly never reached the server (DNS, refused, connect timeout, TLS).
    #[error("{action}: could not connect to the API: {reason}")]
    #[diagnostic(
        code(planrun::api::not_sent),
        help("check --endpoint and the network; the request was not sent")
    )]
    NotSent { action: String, reason: String },

    /// The request may have reached the server (timeout after connecting, reset, body cut).
    #[error("{action}: the connection failed after the request was sent: {reason}")]
    #[diagnostic(code(planrun::api::maybe_sent))]
    MaybeSent { action: String, reason: String },

    /// A non-2xx HTTP status.
    #[error("{action}: HTTP {status}: {excerpt}")]
    #[diagnostic(code(planrun::api::http_status))]
    HttpStatus {
        action: String,
        status: u16,
        excerpt: String,
    },

    /// The API answered with a non-zero `code`.
    #[error("{action}: API error {code} ({code_desc}): {message}")]
    #[diagnostic(code(planrun::api::error))]
    Api {
        action: String,
        code: i64,
        message: String,
        code_desc: String,
    },

    /// The API 3.0 answered with `Response.Error`.
    #[error("{action}: API error {code}: {message}{}", request_id_suffix(.request_id))]
    #[diagnostic(code(planrun::api::error))]
    Cloud {
        action: String,
        code: String,
        message: String,
        /// Quote it to Tencent support; empty when the answer had none.
        request_id: String,
    },

    /// The answer could not be understood.
    #[error("{action}: could not decode the answer: {reason} (answer starts with: {excerpt})")]
    #[diagnostic(code(planrun::api::decode))]
    Decode {
        action: String,
        reason: String,
        excerpt: String,
    },

    /// A paged listing did not end within its bound (pages kept coming back full, or short
    /// of a `TotalCount` never reached): what was read is not the whole list, and nothing
    /// may be concluded from what it lacks.
    #[error(
        "{action}: the listing did not end after {pages} pages ({items} items read): it is incomplete"
    )]
    #[diagnostic(
        code(planrun::api::incomplete_listing),
        help("the API kept announcing more items; nothing is concluded from a partial list")
    )]
    Incomplete {
        action: String,
        pages: u32,
        items: usize,
    },

    /// A submission failed in a way that does not tell whether the server accepted it.
    #[error("{action}: outcome unknown, the submission may have been accepted")]
    #[diagnostic(
        code(planrun::api::outcome_unknown),
        help("look for the job with `planrun jobs INSTANCE` before submitting again")
    )]
    OutcomeUnknown {
        action: String,
        #[source]
        source: Box<Error>,
    },

    /// No credentials anywhere; `looked` names every place looked at.
    #[error("no credentials found; looked at: {looked}")]
    #[diagnostic(
        code(planrun::api::missing_credentials),
        help(
            "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY \
             (and TENCENTCLOUD_SECURITY_TOKEN for temporary credentials), \
             or write ~/.tencentcloud/credentials, or a tccli profile (--profile / TCCLI_PROFILE)"
        )
    )]
    MissingCredentials { looked: String },

    /// A credential file exists but cannot be used.
    #[error("credential file {path}: {reason}")]
    #[diagnostic(
        code(planrun::api::credential_file),
        help("fix or remove the file; secrets are never shown in this message")
    )]
    CredentialFile { path: String, reason: String },

    /// The client could not be set up (bad endpoint, TLS setup).
    #[error("invalid API client configuration: {reason}")]
    #[diagnostic(code(planrun::api::config))]
    Config { reason: String },
}

impl Error {
    /// What the caller should do next.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::NotSent { .. } | Self::MaybeSent { .. } => ErrorClass::Retry,
            Self::HttpStatus { status, .. } if *status >= 500 || *status == 429 => {
                ErrorClass::Retry
            }
            Self::Api { code, .. } => classify_code(*code),
            Self::Cloud { code, .. } => classify_v3(code),
            Self::OutcomeUnknown { .. } => ErrorClass::OutcomeUnknown,
            _ => ErrorClass::Fatal,
        }
    }

    /// True when a submission may have been accepted although no job id came back.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// The API error code, when the API answered with one.
    pub fn api_code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::OutcomeUnknown { source, .. } => source.api_code(),
            _ => None,
        }
    }

    /// The error code as text, whatever the API generation: `"9592"` (API 2.0) or
    /// `"OperationDenied.InstanceTaskRunning"` (API 3.0).
    pub fn code_text(&self) -> Option<String> {
        match self {
            Self::Api { code, .. } => Some(code.to_string()),
            Self::Cloud { code, .. } => Some(code.clone()),
            Self::OutcomeUnknown { source, .. } => source.code_text(),
            _ => None,
        }
    }

    /// The API's own message, when the API answered with an error.
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Self::Api { message, .. } | Self::Cloud { message, .. } => Some(message),
            Self::OutcomeUnknown { source, .. } => source.api_message(),
            _ => None,
        }
    }

    /// API 3.0's RequestId of the failed call, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Cloud { request_id, .. } if !request_id.is_empty() => Some(request_id),
            Self::OutcomeUnknown { source, .. } => source.request_id(),
            _ => None,
        }
    }

    /// 4400 or `RequestLimitExceeded*`: the client slows down that action.
    pub(crate) fn is_rate_limited(&self) -> bool {
        match self {
            Self::Cloud { code, .. } => code.starts_with("RequestLimitExceeded"),
            _ => self.api_code() == Some(4400),
        }
    }

    /// For a submission: could the server have accepted it? An API 3.0 answer proves
    /// nothing started only when its code is documented as a refusal for that action
    /// ([`refusal_v3`]); any other code does not, an undocumented member of a documented
    /// family included.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            Self::MaybeSent { .. } | Self::Decode { .. } => true,
            Self::HttpStatus { status, .. } => *status >= 500,
            Self::Cloud { action, code, .. } => refusal_v3(action, code).is_none(),
            _ => false,
        }
    }

    /// The API says the instance does not exist: API 2.0's 11041, or API 3.0's
    /// `InvalidParameter.InstanceNotFound` from an action documented to answer it
    /// ([`INSTANCE_MISSING_V3`]). Nothing else proves it: `ResourceNotFound` ("a resource
    /// does not exist", which one it does not say) and any code not documented for the
    /// action are ordinary errors, and a submission answered so stays in doubt.
    pub fn is_instance_missing(&self) -> bool {
        match self {
            Self::Cloud { action, code, .. } => INSTANCE_MISSING_V3
                .iter()
                .any(|(a, c)| a == action && c == code),
            Self::OutcomeUnknown { source, .. } => source.is_instance_missing(),
            _ => self.api_code() == Some(11041),
        }
    }

    /// Turns a reqwest failure into [`Error::NotSent`] or [`Error::MaybeSent`].
    pub(crate) fn transport(action: &str, err: reqwest::Error) -> Self {
        let not_sent = err.is_connect() || err.is_builder();
        let reason = describe(err.without_url());
        if not_sent {
            Self::NotSent {
                action: action.to_owned(),
                reason,
            }
        } else {
            Self::MaybeSent {
                action: action.to_owned(),
                reason,
            }
        }
    }
}

/// The error and its causes on one line, e.g. `error sending request: connection closed`.
fn describe(err: reqwest::Error) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// ` (RequestId …)`, or nothing when the answer had none.
fn request_id_suffix(request_id: &str) -> String {
    if request_id.is_empty() {
        String::new()
    } else {
        format!(" (RequestId {request_id})")
    }
}

/// At most `max` characters of `text`, on one line, for error messages.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        format!("{flat}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64) -> Error {
        Error::Api {
            action: "A".into(),
            code,
            message: String::new(),
            code_desc: String::new(),
        }
    }

    #[test]
    fn codes_are_classified_as_documented() {
        use ErrorClass::*;
        let table = [
            (4400, Retry),
            (5100, Retry),
            (6000, Retry),
            (6200, Retry),
            (9006, Retry),
            (9590, Retry),
            (4500, Resign),
            (4100, StopRun),
            (4101, StopRun),
            (4104, StopRun),
            (4105, StopRun),
            (4106, StopRun),
            (4110, StopRun),
            (4300, StopRun),
            (6100, StopRun),
            (9003, InstancesOnly),
            (11041, InstancesOnly),
            (9570, InstancesOnly),
            (9592, Busy),
            (4000, Fatal),
            (4600, Fatal),
            (5000, Fatal),
            (5400, Fatal),
            (4111, Fatal),
            (12345, Fatal),
        ];
        for (code, class) in table {
            assert_eq!(classify_code(code), class, "code {code}");
            assert_eq!(api(code).class(), class, "code {code}");
        }
    }

    #[test]
    fn transport_and_http_errors_are_classified() {
        let not_sent = Error::NotSent {
            action: "A".into(),
            reason: "refused".into(),
        };
        let maybe = Error::MaybeSent {
            action: "A".into(),
            reason: "reset".into(),
        };
        let http = |status| Error::HttpStatus {
            action: "A".into(),
            status,
            excerpt: String::new(),
        };
        assert_eq!(not_sent.class(), ErrorClass::Retry);
        assert_eq!(maybe.class(), ErrorClass::Retry);
        assert_eq!(http(502).class(), ErrorClass::Retry);
        assert_eq!(http(404).class(), ErrorClass::Fatal);
        assert!(!not_sent.is_ambiguous());
        assert!(maybe.is_ambiguous());
        assert!(http(503).is_ambiguous());
        assert!(!http(400).is_ambiguous());
        assert!(!api(9592).is_ambiguous());
    }

    #[test]
    fn outcome_unknown_wraps_the_cause_and_has_its_own_class() {
        let err = Error::OutcomeUnknown {
            action: "RollbackCdbDatabaseTables".into(),
            source: Box::new(http_502()),
        };
        assert!(err.is_outcome_unknown());
        assert_eq!(err.class(), ErrorClass::OutcomeUnknown);
        assert!(!http_502().is_outcome_unknown());
    }

    fn http_502() -> Error {
        Error::HttpStatus {
            action: "A".into(),
            status: 502,
            excerpt: "Bad Gateway".into(),
        }
    }

    fn cloud(code: &str) -> Error {
        Error::Cloud {
            action: "StartBatchRollback".into(),
            code: code.into(),
            message: "m".into(),
            request_id: "req-1".into(),
        }
    }

    #[test]
    fn code_message_and_request_id_read_the_same_for_both_generations() {
        let v2 = Error::Api {
            action: "A".into(),
            code: 9592,
            message: "task running".into(),
            code_desc: "OperationDenied".into(),
        };
        assert_eq!(v2.code_text().as_deref(), Some("9592"));
        assert_eq!(v2.api_message(), Some("task running"));
        assert_eq!(v2.request_id(), None);
        let v3 = cloud("OperationDenied.InstanceTaskRunning");
        assert_eq!(
            v3.code_text().as_deref(),
            Some("OperationDenied.InstanceTaskRunning")
        );
        assert_eq!(v3.api_message(), Some("m"));
        assert_eq!(v3.request_id(), Some("req-1"));
        let shown = v3.to_string();
        assert!(shown.contains("RequestId req-1"), "{shown}");
        assert!(
            shown.contains("OperationDenied.InstanceTaskRunning"),
            "{shown}"
        );
        let wrapped = Error::OutcomeUnknown {
            action: "A".into(),
            source: Box::new(cloud("InternalError")),
        };
        assert_eq!(wrapped.code_text().as_deref(), Some("InternalError"));
        assert_eq!(wrapped.request_id(), Some("req-1"));
        assert_eq!(http_502().code_text(), None);
        let mut no_id = cloud("InternalError");
        if let Error::Cloud { request_id, .. } = &mut no_id {
            request_id.clear();
        }
        assert_eq!(
            no_id.to_string(),
            "StartBatchRollback: API error InternalError: m"
        );
        assert_eq!(http_502().api_message(), None);
    }

    #[test]
    fn only_codes_documented_to_mean_it_say_the_instance_is_missing() {
        let answer = |action: &str, code: &str| Error::Cloud {
            action: action.into(),
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        };
        let missing = "InvalidParameter.InstanceNotFound";
        assert!(answer("StartBatchRollback", missing).is_instance_missing());
        assert!(answer("DescribeRollbackRangeTime", missing).is_instance_missing());
        assert!(api(11041).is_instance_missing());
        let wrapped = Error::OutcomeUnknown {
            action: "RollbackCdbDatabaseTables".into(),
            source: Box::new(api(11041)),
        };
        assert!(wrapped.is_instance_missing());
        // "A resource does not exist", whichever: no proof about the instance, whatever
        // the action, a detail naming an instance included.
        for action in [
            "StartBatchRollback",
            "DescribeRollbackTaskDetail",
            "DescribeTasks",
            "StopRollback",
        ] {
            for code in [
                "ResourceNotFound",
                "ResourceNotFound.CdbInstanceNotFoundError",
                "ResourceNotFound.InstanceNotFoundError",
                "InvalidParameter.ResourceNotExists",
                "InvalidParameter.ResourceNotFound",
                "InvalidParameter",
            ] {
                assert!(
                    !answer(action, code).is_instance_missing(),
                    "{action} {code}"
                );
            }
        }
        // Not documented for these actions: an ordinary error there.
        for action in [
            "DescribeRollbackTaskDetail",
            "DescribeTasks",
            "StopRollback",
        ] {
            assert!(!answer(action, missing).is_instance_missing(), "{action}");
        }
        assert!(!api(5000).is_instance_missing());
        assert!(!http_502().is_instance_missing());
    }

    #[test]
    fn rate_limit_is_recognised_in_both_generations() {
        assert!(api(4400).is_rate_limited());
        assert!(!api(4000).is_rate_limited());
        assert!(cloud("RequestLimitExceeded").is_rate_limited());
        assert!(cloud("RequestLimitExceeded.UinLimitExceeded").is_rate_limited());
        assert!(!cloud("InternalError").is_rate_limited());
    }

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("a\nb", 10), "a b");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }
}
