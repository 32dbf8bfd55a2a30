//! API 3.0 error codes (`Response.Error.Code`, e.g. `AuthFailure.SignatureFailure`) and what
//! the caller should do with each: the table of `v3_codes` (one line of reason per code, then
//! the families Tencent's documentation defines, `Category.Detail`), and what a submission's
//! answer proves.
//!
//! The codes are those of the official SDK's `tencentcloud/cdb/v20170320/errorcodes.py`, the
//! per-action lists of `docs/api-facts.md`, and the common codes of every API 3.0 product. A test
//! reads errorcodes.py from `.venv` and fails when one of its codes reaches the fallback.

use super::ErrorClass;
use super::v3_codes::{ACTION_REFUSALS, CODES, COMMON_REFUSALS, FAMILIES};
use ErrorClass::Fatal;

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

/// Whether `action` answered with `code` certainly changed nothing, and why: only a code the
/// SDK documents as a refusal for that action (`ACTION_REFUSALS`), or one of the common
/// codes that refuse every request at the gateway (`COMMON_REFUSALS`). Any other code, an
/// undocumented member of a documented family included, proves nothing: a submission answered
/// so is in doubt and is reconciled before anything is resent.
pub fn refusal_v3(action: &str, code: &str) -> Option<&'static str> {
    ACTION_REFUSALS
        .iter()
        .find(|(a, c, _)| *a == action && *c == code)
        .map(|(.., why)| *why)
        .or_else(|| {
            COMMON_REFUSALS
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, why)| *why)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::Error;
    use ErrorClass::{Busy, InstancesOnly, Retry, StopRun};
    use std::collections::BTreeSet;

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
    fn only_the_refusals_documented_for_the_action_prove_it_changed_nothing() {
        for code in [
            "InvalidParameter.InstanceNotFound",
            "InvalidParameter",
            "InvalidParameterValue",
            "AuthFailure",
            "AuthFailure.SignatureFailure",
            "OperationDenied",
            "OperationDenied.WrongStatus",
            "FailedOperation.StatusConflict",
            "OverQuota",
            "RequestLimitExceeded",
            "MissingParameter",
            "UnauthorizedOperation",
        ] {
            assert!(refusal_v3("StartBatchRollback", code).is_some(), "{code}");
        }
        for code in [
            // Documented for StartBatchRollback, but no proof that nothing started.
            "InternalError.UnknownError",
            "InternalError.DatabaseAccessError",
            "CdbError.TaskError",
            // Not documented for the action at all.
            "InternalError",
            "CdbError",
            "FailedOperation.TimeoutError",
            "ServiceUnavailable",
            "ResourceUnavailable",
            "OperationDenied.UserHasNoStrategy",
            "SomethingUndocumented",
            "Brand.New",
        ] {
            assert!(refusal_v3("StartBatchRollback", code).is_none(), "{code}");
        }
        // Per action: OverQuota refuses a submission, not a stop.
        assert!(refusal_v3("StopRollback", "OverQuota").is_none());
        assert!(refusal_v3("StopRollback", "OperationDenied").is_some());
    }

    /// Every family of a code documented as a refusal for StartBatchRollback (and of the
    /// common refusals): a member the documentation does not name is in doubt.
    #[test]
    fn an_undocumented_sibling_of_each_documented_family_is_in_doubt() {
        let action = "StartBatchRollback";
        let families: BTreeSet<&str> = ACTION_REFUSALS
            .iter()
            .filter(|(a, ..)| *a == action)
            .map(|(_, c, _)| *c)
            .chain(COMMON_REFUSALS.iter().map(|(c, _)| *c))
            .chain(["ResourceUnavailable", "InternalError", "CdbError"])
            .map(|c| c.split('.').next().unwrap_or(c))
            .collect();
        assert!(families.len() >= 10, "{families:?}");
        for family in families {
            let sibling = format!("{family}.InstanceLocked");
            assert!(refusal_v3(action, &sibling).is_none(), "{sibling}");
            let err = Error::Cloud {
                action: action.into(),
                code: sibling.clone(),
                message: String::new(),
                request_id: String::new(),
            };
            assert!(err.is_ambiguous(), "{sibling}");
        }
    }
}
