//! API 3.0 error codes (`Response.Error.Code`, e.g. `AuthFailure.SignatureFailure`) and what
//! the caller should do with each: the table of `v3_codes` (one line of reason per code, then
//! the families Tencent's documentation defines, `Category.Detail`), and what a submission's
//! answer proves.
//!
//! The codes are those of the official SDK's `tencentcloud/cdb/v20170320/errorcodes.py`, the
//! per-action lists of api-facts.md, and the common codes of every API 3.0 product. A test
//! reads errorcodes.py from `.venv` and fails when one of its codes reaches the fallback.

use super::ErrorClass;
use super::v3_codes::{CODES, FAMILIES};
use ErrorClass::{Fatal, Retry};

/// How a code got its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Listed in `CODES` by its exact name.
    Listed,
    /// Not listed, but of a family in `FAMILIES` (the prefix before the first dot).
    Family,
    /// Neither: an undocumented code.
    Fallback,
}

/// A code's class, why, and where that came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub class: ErrorClass,
    pub reason: &'static str,
    pub origin: Origin,
}

/// Why an undocumented code is never retried blindly (a submission answered so is in doubt).
const UNDOCUMENTED: &str = "undocumented code: not retried; a submission answered so is in doubt";

/// The rule for one API 3.0 code.
pub fn rule_v3(code: &str) -> Rule {
    if let Some((_, class, reason)) = CODES.iter().find(|(c, ..)| *c == code) {
        return Rule {
            class: *class,
            reason,
            origin: Origin::Listed,
        };
    }
    let family = code.split('.').next().unwrap_or_default();
    match FAMILIES.iter().find(|(f, ..)| *f == family) {
        Some((_, class, reason)) => Rule {
            class: *class,
            reason,
            origin: Origin::Family,
        },
        None => Rule {
            class: Fatal,
            reason: UNDOCUMENTED,
            origin: Origin::Fallback,
        },
    }
}

/// An API 3.0 error code's class (see [`rule_v3`]).
pub fn classify_v3(code: &str) -> ErrorClass {
    rule_v3(code).class
}

/// Whether a submission answered with `code` certainly started nothing: a refusal (of the
/// credentials, the parameters, the instances), a conflict (the engine looks before it waits)
/// or throttling. Transient failures (`InternalError*`, `CdbError*`, ...) and undocumented
/// codes do not prove it: the submission is in doubt.
pub fn refusal_v3(code: &str) -> bool {
    let rule = rule_v3(code);
    match rule.class {
        _ if rule.origin == Origin::Fallback => false,
        Retry => is_family(code, "RequestLimitExceeded"),
        _ => true,
    }
}

/// `code` is `family` or `family.<detail>`.
pub(crate) fn is_family(code: &str, family: &str) -> bool {
    code == family
        || code
            .strip_prefix(family)
            .is_some_and(|rest| rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Error;
    use ErrorClass::{Busy, InstancesOnly, StopRun};

    #[test]
    fn v3_codes_are_classified_by_what_they_mean() {
        let table = [
            ("RequestLimitExceeded", Retry),
            ("RequestLimitExceeded.UinLimitExceeded", Retry),
            ("RequestLimitExceeded.SomethingNew", Retry),
            ("AuthFailure.SignatureFailure", StopRun),
            ("AuthFailure.SecretIdNotFound", StopRun),
            ("AuthFailure.SignatureExpire", StopRun),
            ("AuthFailure", StopRun),
            ("UnauthorizedOperation.NotEnoughPrivileges", StopRun),
            ("OperationDenied.UserHasNoStrategy", StopRun),
            ("OperationDenied.SubAccountOperationDenied", StopRun),
            ("IpNotInWhitelist", StopRun),
            ("InternalError", Retry),
            ("InternalError.DBError", Retry),
            ("InternalError.UnknownError", Retry),
            ("CdbError", Retry),
            ("CdbError.TaskError", Retry),
            ("CdbError.BackupError", InstancesOnly),
            ("FailedOperation.TimeoutError", Retry),
            ("FailedOperation.StatusConflict", Busy),
            ("FailedOperation.StartFlowError", Busy),
            ("OperationDenied.WrongStatus", Busy),
            ("OperationDenied.InstanceTaskRunning", Busy),
            ("OverQuota", Busy),
            ("ResourceInUse", Busy),
            ("InvalidParameter", InstancesOnly),
            ("InvalidParameter.InstanceNotFound", InstancesOnly),
            (
                "InvalidParameterValue.InvalidParameterValueError",
                InstancesOnly,
            ),
            ("ResourceNotFound.CdbInstanceNotFoundError", InstancesOnly),
            ("OperationDenied", InstancesOnly),
            ("OperationDenied.InstanceStatusError", InstancesOnly),
            ("FailedOperation", InstancesOnly),
            ("InvalidParameter.InvalidAsyncRequestId", Fatal),
            ("MissingParameter", Fatal),
            ("UnknownParameter", Fatal),
            ("InvalidAction", Fatal),
            ("UnsupportedOperation", Fatal),
            // Families end at a dot: these are not documented families.
            ("InternalErrorish", Fatal),
            ("AuthFailures.X", Fatal),
            ("", Fatal),
        ];
        for (code, class) in table {
            assert_eq!(classify_v3(code), class, "code {code:?}");
            let err = Error::Cloud {
                action: "A".into(),
                code: code.into(),
                message: String::new(),
                request_id: String::new(),
            };
            assert_eq!(err.class(), class, "code {code:?}");
        }
    }

    #[test]
    fn every_listed_code_is_listed_once_and_has_a_reason() {
        for (i, (code, _, reason)) in CODES.iter().enumerate() {
            assert!(!reason.is_empty(), "{code}");
            assert!(
                CODES[i + 1..].iter().all(|(c, ..)| c != code),
                "{code} is listed twice"
            );
        }
        assert_eq!(rule_v3("CdbError.TaskError").origin, Origin::Listed);
        assert_eq!(rule_v3("InternalError.TagError").origin, Origin::Family);
        assert_eq!(rule_v3("Brand.New").origin, Origin::Fallback);
    }

    #[test]
    fn only_refusals_conflicts_and_throttling_prove_a_submission_started_nothing() {
        for code in [
            "InvalidParameter.InstanceNotFound",
            "InvalidParameterValue",
            "AuthFailure.SignatureFailure",
            "OperationDenied.UserHasNoStrategy",
            "FailedOperation.StatusConflict",
            "OverQuota",
            "RequestLimitExceeded",
            "MissingParameter",
        ] {
            assert!(refusal_v3(code), "{code}");
        }
        for code in [
            "InternalError",
            "InternalError.UnknownError",
            "InternalError.DatabaseAccessError",
            "CdbError",
            "CdbError.TaskError",
            "FailedOperation.TimeoutError",
            "ServiceUnavailable",
            "SomethingUndocumented",
            "Brand.New",
        ] {
            assert!(!refusal_v3(code), "{code}");
        }
    }
}
