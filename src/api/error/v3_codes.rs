//! The table of API 3.0 codes: each code planrun can meet, its class and a one-line reason;
//! then the families Tencent's documentation defines, for codes not listed by name.

use super::ErrorClass;
use ErrorClass::{Busy, Fatal, InstancesOnly, Retry, StopRun};

/// Codes whose class differs from their family's, or that `docs/api-facts.md` names (documented for
/// StartBatchRollback, DescribeRollbackTaskDetail, DescribeRollbackRangeTime, StopRollback).
pub(super) const CODES: &[(&str, ErrorClass, &str)] = &[
    // Throttling: the request was refused before it was processed.
    (
        "RequestLimitExceeded",
        Retry,
        "rate limited before processing; slow down and resend",
    ),
    (
        "RequestLimitExceeded.UinLimitExceeded",
        Retry,
        "account rate limit; slow down and resend",
    ),
    (
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        Retry,
        "account rate limit in all regions; slow down",
    ),
    (
        "RequestLimitExceeded.IPLimitExceeded",
        Retry,
        "IP rate limit; slow down and resend",
    ),
    // Signing: the client re-signs once by itself; after that the clock or key is wrong.
    (
        "AuthFailure.SignatureExpire",
        StopRun,
        "the signature's timestamp is off; fix the clock",
    ),
    (
        "AuthFailure.SignatureFailure",
        StopRun,
        "the signature does not match: wrong SecretKey",
    ),
    (
        "AuthFailure.SecretIdNotFound",
        StopRun,
        "the SecretId is unknown or disabled",
    ),
    (
        "AuthFailure.TokenFailure",
        StopRun,
        "the temporary credentials' token is wrong or expired",
    ),
    (
        "AuthFailure.InvalidSecretId",
        StopRun,
        "the SecretId is malformed",
    ),
    (
        "AuthFailure.InvalidAuthorization",
        StopRun,
        "the Authorization header is malformed",
    ),
    (
        "AuthFailure.MFAFailure",
        StopRun,
        "multi-factor authentication is required",
    ),
    (
        "AuthFailure.SubAccountDenied",
        StopRun,
        "the sub-account has no permission",
    ),
    (
        "AuthFailure.UnauthorizedOperation",
        StopRun,
        "CAM denies the action",
    ),
    // Permissions: no other instance of the plan will fare better.
    ("UnauthorizedOperation", StopRun, "CAM denies the action"),
    (
        "UnauthorizedOperation.NotEnoughPrivileges",
        StopRun,
        "CAM denies the action",
    ),
    (
        "OperationDenied.UserHasNoStrategy",
        StopRun,
        "the user has no CAM policy for the action",
    ),
    (
        "OperationDenied.SubAccountOperationDenied",
        StopRun,
        "the sub-account lacks the permission",
    ),
    (
        "OperationDenied.AccountOperationDenied",
        StopRun,
        "the account lacks the permission",
    ),
    (
        "IpNotInWhitelist",
        StopRun,
        "this machine's IP is not in the account's allow list",
    ),
    (
        "IpInBlacklist",
        StopRun,
        "this machine's IP is blocked for the account",
    ),
    (
        "InternalError.AuthError",
        StopRun,
        "authentication failed inside the service",
    ),
    (
        "InternalError.CauthError",
        StopRun,
        "CAM authentication failed inside the service",
    ),
    // Busy: a task or lock holds the instance, or the quota of running tasks is used up.
    // The engine first looks whether the task is its own, then waits with a bound.
    (
        "FailedOperation.StatusConflict",
        Busy,
        "a task conflicts (documented for StartBatchRollback)",
    ),
    (
        "OperationDenied.WrongStatus",
        Busy,
        "the back-end task is in a state that forbids it now",
    ),
    (
        "OperationDenied.InstanceTaskRunning",
        Busy,
        "another task is running on the instance",
    ),
    (
        "OperationDenied.InstanceTaskStatusError",
        Busy,
        "the instance's task state forbids it now",
    ),
    (
        "FailedOperation.OperationInConflictError",
        Busy,
        "the instance runs another operation; try later",
    ),
    (
        "FailedOperation.TaskConflictError",
        Busy,
        "conflicting task",
    ),
    (
        "FailedOperation.InstanceTaskConflictError",
        Busy,
        "conflicting task on the instance",
    ),
    (
        "FailedOperation.CdbInstanceLockFailError",
        Busy,
        "the instance lock is held; try later",
    ),
    (
        "FailedOperation.SubmitAsyncTaskError",
        Busy,
        "the task could not be queued; try later",
    ),
    (
        "FailedOperation.StartFlowError",
        Busy,
        "the flow could not start; try later",
    ),
    (
        "FailedOperation.AsyncTaskStatusError",
        Busy,
        "an asynchronous task is in the way",
    ),
    (
        "OperationDenied.ActionInProcess",
        Busy,
        "the instance runs another task",
    ),
    (
        "OperationDenied.FlowConflict",
        Busy,
        "conflicting flow; try later",
    ),
    (
        "OperationDenied.InstanceLockerConflict",
        Busy,
        "the instance lock is held; try later",
    ),
    (
        "OperationDenied.OtherOderInProcess",
        Busy,
        "another order is in progress; try later",
    ),
    (
        "OperationDenied.ConflictStatus",
        Busy,
        "a configuration change is in progress",
    ),
    (
        "OperationDenied.InstanceLogStatusError",
        Busy,
        "the instance's log state is changing; try later",
    ),
    ("ResourceInUse", Busy, "the resource is in use"),
    (
        "OverQuota",
        Busy,
        "a quota is used up (running rollback tasks): wait for tasks to end",
    ),
    (
        "OperationDenied.OverQuota",
        Busy,
        "a quota is used up: wait for tasks to end",
    ),
    (
        "LimitExceeded",
        Busy,
        "a quota is used up: wait for tasks to end",
    ),
    (
        "ResourceInsufficient",
        Busy,
        "the service is short of resources; try later",
    ),
    // Transient: a query asks again; a submission answered so is in doubt.
    (
        "FailedOperation.TimeoutError",
        Retry,
        "the back end timed out; a submission may have started",
    ),
    (
        "FailedOperation.ServiceAccessError",
        Retry,
        "the back end could not be reached; try later",
    ),
    (
        "FailedOperation.ResponseValueError",
        Retry,
        "the back end answered badly; try later",
    ),
    (
        "FailedOperation.CdbError",
        Retry,
        "back-end failure; a submission may have started",
    ),
    (
        "ServiceUnavailable",
        Retry,
        "the service is temporarily unavailable",
    ),
    (
        "InternalError.DatabaseAccessError",
        Retry,
        "the back end's database failed (documented)",
    ),
    (
        "InternalError.UnknownError",
        Retry,
        "unknown internal error (documented); may have started",
    ),
    (
        "InternalError.AsyncRequestError",
        Retry,
        "the asynchronous request service failed",
    ),
    (
        "InternalError.CdbError",
        Retry,
        "internal CDB error (documented for task details)",
    ),
    (
        "InternalError.DesError",
        Retry,
        "internal error (documented for StopRollback)",
    ),
    (
        "CdbError",
        Retry,
        "back-end or flow error (documented for StopRollback); may have started",
    ),
    (
        "CdbError.TaskError",
        Retry,
        "back-end task error: the task may exist; look before resending",
    ),
    (
        "CdbError.DatabaseError",
        Retry,
        "back-end database error; try later",
    ),
    // Refusals of one instance of the batch: the engine splits the batch to find it.
    (
        "InvalidParameter",
        InstancesOnly,
        "a parameter of some instance is refused (documented)",
    ),
    (
        "InvalidParameter.InstanceNotFound",
        InstancesOnly,
        "the instance does not exist (documented)",
    ),
    (
        "InvalidParameter.ResourceNotExists",
        InstancesOnly,
        "the instance or task does not exist",
    ),
    (
        "OperationDenied",
        InstancesOnly,
        "the instance cannot do it (type, state, version)",
    ),
    (
        "CdbError.BackupError",
        InstancesOnly,
        "the instance's backups cannot serve the rollback",
    ),
    (
        "CdbError.ImportError",
        InstancesOnly,
        "the instance's import failed",
    ),
    (
        "ResourceUnavailable",
        InstancesOnly,
        "the instance is unavailable (isolated, locked)",
    ),
    // Refusals of the request itself: nothing will help, nothing started.
    (
        "InvalidParameter.InvalidAsyncRequestId",
        Fatal,
        "no such asynchronous request",
    ),
    (
        "InvalidParameter.JsonUnmarshalError",
        Fatal,
        "the request body is not what the API reads",
    ),
    (
        "InvalidParameter.ControllerNotFoundError",
        Fatal,
        "the API does not know the action",
    ),
    ("InvalidAction", Fatal, "the API does not know the action"),
    (
        "UnsupportedProtocol",
        Fatal,
        "the API wants another HTTP method or protocol",
    ),
    (
        "UnsupportedRegion",
        Fatal,
        "the action is not offered in that region",
    ),
    ("InvalidRequest", Fatal, "the request is malformed"),
    ("NoSuchVersion", Fatal, "the API version is unknown"),
    (
        "UnknownParameter",
        Fatal,
        "planrun sent a parameter the API does not know",
    ),
    (
        "MissingParameter",
        Fatal,
        "planrun left out a required parameter",
    ),
    (
        "UnsupportedOperation",
        Fatal,
        "the operation is not supported",
    ),
];

/// The families of Tencent's common error codes, for a code not listed above: its class when
/// the detail after the dot is one the table does not know.
pub(super) const FAMILIES: &[(&str, ErrorClass, &str)] = &[
    (
        "RequestLimitExceeded",
        Retry,
        "rate limited before processing",
    ),
    ("AuthFailure", StopRun, "authentication failed"),
    ("UnauthorizedOperation", StopRun, "not authorised"),
    (
        "InternalError",
        Retry,
        "internal error: transient; a submission is in doubt",
    ),
    (
        "CdbError",
        Retry,
        "back-end error: transient; a submission is in doubt",
    ),
    (
        "FailedOperation",
        InstancesOnly,
        "the operation failed for its instances",
    ),
    (
        "OperationDenied",
        InstancesOnly,
        "the instance's type or state forbids it",
    ),
    (
        "InvalidParameter",
        InstancesOnly,
        "a parameter of some instance is refused",
    ),
    (
        "InvalidParameterValue",
        InstancesOnly,
        "a value of some instance is refused",
    ),
    (
        "ResourceNotFound",
        InstancesOnly,
        "a resource does not exist (which, it does not say): no proof the instance is missing",
    ),
    (
        "ResourceUnavailable",
        InstancesOnly,
        "the instance is unavailable",
    ),
    ("ResourceInUse", Busy, "the resource is in use"),
    ("ResourceInsufficient", Busy, "short of resources"),
    ("LimitExceeded", Busy, "a quota is used up"),
    ("OverQuota", Busy, "a quota is used up"),
    ("MissingParameter", Fatal, "a required parameter is missing"),
    ("UnknownParameter", Fatal, "an unknown parameter"),
    ("UnsupportedOperation", Fatal, "not supported"),
];

/// Tencent's common error codes that refuse a request at the gateway, before any action runs
/// (the "Common Error Codes" page every API 3.0 product documents): the credentials, the
/// signature, throttling, an unknown action, version, region or parameter. Any action
/// answered so changed nothing.
pub(super) const COMMON_REFUSALS: &[(&str, &str)] = &[
    ("ActionOffline", "the action is retired: nothing ran"),
    (
        "AuthFailure.InvalidAuthorization",
        "the Authorization header was refused before the action",
    ),
    (
        "AuthFailure.InvalidSecretId",
        "the key was refused before the action",
    ),
    ("AuthFailure.MFAFailure", "MFA refused before the action"),
    (
        "AuthFailure.SecretIdNotFound",
        "the key was refused before the action",
    ),
    (
        "AuthFailure.SignatureExpire",
        "the signature's time was refused before the action",
    ),
    (
        "AuthFailure.SignatureFailure",
        "the signature was refused before the action",
    ),
    (
        "AuthFailure.TokenFailure",
        "the token was refused before the action",
    ),
    (
        "AuthFailure.UnauthorizedOperation",
        "CAM refused the request before the action",
    ),
    ("InvalidAction", "no such action: nothing ran"),
    (
        "InvalidParameterValue",
        "a parameter value was refused before the action",
    ),
    ("InvalidRequest", "the request was refused as malformed"),
    ("IpInBlacklist", "the caller's IP was refused"),
    ("IpNotInWhitelist", "the caller's IP was refused"),
    ("MissingParameter", "a required parameter is missing"),
    ("NoSuchProduct", "no such product: nothing ran"),
    ("NoSuchVersion", "no such API version: nothing ran"),
    (
        "RequestLimitExceeded",
        "throttled before the action: resend later",
    ),
    (
        "RequestLimitExceeded.GlobalRegionUinLimitExceeded",
        "throttled before the action",
    ),
    (
        "RequestLimitExceeded.IPLimitExceeded",
        "throttled before the action",
    ),
    (
        "RequestLimitExceeded.UinLimitExceeded",
        "throttled before the action",
    ),
    (
        "RequestSizeLimitExceeded",
        "the request was too large to run",
    ),
    (
        "UnauthorizedOperation",
        "CAM refused the request before the action",
    ),
    ("UnknownParameter", "an unknown parameter: nothing ran"),
    (
        "UnsupportedProtocol",
        "wrong method or protocol: nothing ran",
    ),
    (
        "UnsupportedRegion",
        "the region does not offer it: nothing ran",
    ),
];

/// The codes an action that changes something documents (the official SDK, per action;
/// `docs/api-facts.md`) and that prove it changed nothing, each with why. A documented code missing
/// here (`InternalError.UnknownError`, `CdbError.TaskError`, ...) does not prove it, nor does
/// an undocumented member of a documented family (`ResourceUnavailable.InstanceLocked`,
/// `OperationDenied.Whatever`): such an answer leaves the request in doubt.
pub(super) const ACTION_REFUSALS: &[(&str, &str, &str)] = &[
    (
        "StartBatchRollback",
        "AuthFailure",
        "documented: CAM authentication refused the call",
    ),
    (
        "StartBatchRollback",
        "FailedOperation.StatusConflict",
        "documented: a conflicting task holds the instance; nothing was queued",
    ),
    (
        "StartBatchRollback",
        "InvalidParameter",
        "documented: a parameter was refused",
    ),
    (
        "StartBatchRollback",
        "InvalidParameter.InstanceNotFound",
        "documented: no such instance",
    ),
    (
        "StartBatchRollback",
        "OperationDenied",
        "documented: the instance cannot be rolled back (type, state)",
    ),
    (
        "StartBatchRollback",
        "OperationDenied.WrongStatus",
        "documented: the instance's state forbids it now",
    ),
    (
        "StartBatchRollback",
        "OverQuota",
        "documented: the quota of rollback tasks is used up",
    ),
    (
        "StopRollback",
        "AuthFailure",
        "documented: CAM authentication refused the call",
    ),
    (
        "StopRollback",
        "OperationDenied",
        "documented: no rollback to stop, or it cannot be stopped",
    ),
];
