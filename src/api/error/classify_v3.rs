//! API 3.0 error codes (`Response.Error.Code`, e.g. `AuthFailure.SignatureFailure`) and what
//! the caller should do with each, as issue 5 lists them.

use super::ErrorClass;

/// An API 3.0 error code's class (`Response.Error.Code`, e.g. `AuthFailure.SignatureFailure`).
///
/// Codes are matched by prefix the way Tencent groups them (`Category.Detail`); the table is
/// the one of issue 5. Unknown codes are [`ErrorClass::Fatal`]: never retried blindly.
pub fn classify_v3(code: &str) -> ErrorClass {
    let is = |prefix: &str| {
        code == prefix
            || code
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    match code {
        // Like 9592: a task is running on the instance.
        "OperationDenied.InstanceTaskRunning" | "FailedOperation.InstanceTaskConflictError" => {
            ErrorClass::Busy
        }
        _ if is("RequestLimitExceeded") => ErrorClass::Retry,
        _ if is("AuthFailure") || is("UnauthorizedOperation") => ErrorClass::StopRun,
        _ if is("InternalError") || is("ServiceUnavailable") => ErrorClass::Retry,
        _ if is("FailedOperation") && retry_later(code) => ErrorClass::Retry,
        // About one instance of the batch (its id, its state, its names): split to find it.
        _ if is("InvalidParameter")
            || is("InvalidParameterValue")
            || is("ResourceNotFound")
            || is("ResourceUnavailable")
            || is("OperationDenied")
            || is("UnsupportedOperation") =>
        {
            ErrorClass::InstancesOnly
        }
        _ => ErrorClass::Fatal,
    }
}

/// The `FailedOperation.*` codes that say "try again later" rather than "this cannot work":
/// timeouts, busy back ends, failures to start the asynchronous flow.
fn retry_later(code: &str) -> bool {
    const HINTS: [&str; 6] = [
        "Timeout",
        "TryLater",
        "RetryLater",
        "Busy",
        "StartFlowError",
        "CreateAsyncRequestError",
    ];
    let detail = code.split_once('.').map_or("", |(_, d)| d);
    HINTS.iter().any(|h| detail.contains(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Error;

    #[test]
    fn v3_codes_are_classified_as_issue_5_says() {
        use ErrorClass::*;
        let table = [
            ("RequestLimitExceeded", Retry),
            ("RequestLimitExceeded.UinLimitExceeded", Retry),
            ("RequestLimitExceeded.GlobalRegionUinLimitExceeded", Retry),
            ("AuthFailure.SignatureFailure", StopRun),
            ("AuthFailure.SecretIdNotFound", StopRun),
            ("AuthFailure.UnauthorizedOperation", StopRun),
            ("AuthFailure.InvalidSecretId", StopRun),
            // The client re-signs once by itself; if the clock is off, nothing else helps.
            ("AuthFailure.SignatureExpire", StopRun),
            ("UnauthorizedOperation", StopRun),
            ("UnauthorizedOperation.NotEnoughPrivileges", StopRun),
            ("InternalError", Retry),
            ("InternalError.DBError", Retry),
            ("InternalError.UndefinedError", Retry),
            ("ServiceUnavailable", Retry),
            ("FailedOperation.TimeoutError", Retry),
            ("FailedOperation.StartFlowError", Retry),
            ("FailedOperation.CreateAsyncRequestError", Retry),
            ("FailedOperation.StatusConflict", Fatal),
            ("FailedOperation", Fatal),
            ("OperationDenied.InstanceTaskRunning", Busy),
            ("FailedOperation.InstanceTaskConflictError", Busy),
            ("InvalidParameter", InstancesOnly),
            ("InvalidParameter.InstanceNotFound", InstancesOnly),
            (
                "InvalidParameterValue.InvalidParameterValueError",
                InstancesOnly,
            ),
            ("ResourceNotFound", InstancesOnly),
            ("ResourceNotFound.CdbInstanceNotFoundError", InstancesOnly),
            ("OperationDenied.InstanceStatusError", InstancesOnly),
            ("UnsupportedOperation", InstancesOnly),
            ("MissingParameter", Fatal),
            ("UnknownParameter", Fatal),
            ("InvalidAction", Fatal),
            // Prefixes must end at a dot: these are not the documented families.
            ("InternalErrorish", Fatal),
            ("AuthFailures.X", Fatal),
            ("", Fatal),
        ];
        for (code, class) in table {
            assert_eq!(classify_v3(code), class, "code {code:?}");
            assert_eq!(
                Error::Cloud {
                    action: "A".into(),
                    code: code.into(),
                    message: String::new(),
                    request_id: String::new(),
                }
                .class(),
                class,
                "code {code:?}"
            );
        }
    }
}
