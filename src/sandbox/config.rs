//! What a sandbox emulates: accepted credentials, task timing, limits, configured instance
//! fates and fault injection. Plain data; [`Config::demo`] is the ready-to-use default.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDateTime;

/// The demo SecretId the sandbox accepts unless told otherwise. A public, fixed value: it
/// unlocks nothing but a local emulator.
pub const DEMO_SECRET_ID: &str = "AKIDplanrunSANDBOX0000000000000000";
/// The demo SecretKey matching [`DEMO_SECRET_ID`]; equally public.
pub const DEMO_SECRET_KEY: &str = "planrunSandboxDemoKey0000000000000";

/// The candidates for "a rollback task is already running on this instance" among the codes
/// StartBatchRollback documents (`docs/api-facts.md`): the first is the default.
pub const TASK_RUNNING_CODES: [&str; 2] = [
    "FailedOperation.StatusConflict",
    "OperationDenied.WrongStatus",
];

/// One of [`TASK_RUNNING_CODES`], by name.
pub fn task_running_code(name: &str) -> Result<&'static str, String> {
    TASK_RUNNING_CODES
        .iter()
        .find(|c| **c == name)
        .copied()
        .ok_or_else(|| format!("`{name}` is not one of {}", TASK_RUNNING_CODES.join(", ")))
}

/// One accepted key pair. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret_id: String,
    pub secret_key: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Which faults may be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultKinds {
    /// The request is carried out, then the connection is closed without an answer.
    pub lost: bool,
    /// HTTP 502 from the "gateway"; the request is not carried out.
    pub http502: bool,
    /// `9006 InternalError`; the request is not carried out.
    pub internal: bool,
    /// The answer is delayed by [`Faults::slow_ms`].
    pub slow: bool,
    /// API 3.0 only: StartBatchRollback is carried out (its tasks are created), then the
    /// answer is `InternalError`, as if the back end failed after starting them.
    pub accepted_internal: bool,
}

impl FaultKinds {
    /// Every kind.
    pub fn all() -> Self {
        Self {
            lost: true,
            http502: true,
            internal: true,
            slow: true,
            accepted_internal: true,
        }
    }

    /// Parses a comma-separated list such as `lost,http502,internal,slow`.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        let mut kinds = Self::default();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "lost" => kinds.lost = true,
                "http502" | "502" => kinds.http502 = true,
                "internal" | "9006" => kinds.internal = true,
                "slow" => kinds.slow = true,
                "accepted-internal" => kinds.accepted_internal = true,
                other => {
                    return Err(format!(
                        "unknown fault kind `{other}` (expected lost, http502, internal, slow or accepted-internal)"
                    ));
                }
            }
        }
        Ok(kinds)
    }

    pub(crate) fn enabled(self) -> Vec<super::faults::FaultKind> {
        use super::faults::FaultKind;
        let mut out = Vec::new();
        if self.lost {
            out.push(FaultKind::Lost);
        }
        if self.http502 {
            out.push(FaultKind::Http502);
        }
        if self.internal {
            out.push(FaultKind::Internal);
        }
        if self.slow {
            out.push(FaultKind::Slow);
        }
        if self.accepted_internal {
            out.push(FaultKind::AcceptedInternal);
        }
        out
    }
}

/// Fault injection: each request draws from a generator seeded with `seed`, so a run with the
/// same requests in the same order sees the same faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Probability (0..=1) that a request gets a fault.
    pub rate: f64,
    pub kinds: FaultKinds,
    pub seed: u64,
    /// Delay of a `slow` answer, in milliseconds.
    pub slow_ms: u64,
    /// Only requests of these actions get faults (and draw from the generator); empty means
    /// every action. E.g. only `RollbackCdbDatabaseTables`, so that lost submissions can be
    /// looked up afterwards.
    pub actions: BTreeSet<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate: 0.0,
            kinds: FaultKinds::default(),
            seed: 0,
            slow_ms: 2_000,
            actions: BTreeSet::new(),
        }
    }
}

/// How `rollbacktime` is checked: it is read in the instances' clock (`utc_offset_seconds`,
/// +08:00 by default, as CDB does), must not be in the future and, if `max_age_seconds` is
/// set, not older than that (the binlog retention window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackTimeCheck {
    pub utc_offset_seconds: i32,
    pub max_age_seconds: Option<i64>,
}

impl Default for RollbackTimeCheck {
    fn default() -> Self {
        Self {
            utc_offset_seconds: 8 * 3600,
            max_age_seconds: None,
        }
    }
}

/// One span of time an instance can be rolled back to, in the instance's clock (both ends
/// included), as DescribeRollbackRangeTime reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackWindow {
    pub begin: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// Everything that shapes one sandbox.
#[derive(Debug, Clone)]
pub struct Config {
    /// Key pairs the sandbox accepts; any other SecretId gets 4104.
    pub credentials: Vec<Credential>,
    /// A task lasts between these many seconds (before `time_scale`), chosen per instance from
    /// the seed and the instance id.
    pub task_seconds: (f64, f64),
    /// Multiplies every task duration: 0.001 turns seconds into milliseconds for tests.
    pub time_scale: f64,
    /// How long a task stopped by StopRollback stays PAUSED (status 6) before it is KILLED
    /// (times `time_scale`); 0 kills at once.
    pub stop_seconds: f64,
    /// Requests per second accepted per API action (sliding one-second window), else 4400.
    pub rate_per_action: u32,
    /// Instances that do not exist (11041).
    pub missing_instances: BTreeSet<String>,
    /// Instances whose tasks end in failure (status 3).
    pub failing_instances: BTreeSet<String>,
    /// `rollbacktime` check; `None` accepts any well-formed time.
    pub rollback_time_check: Option<RollbackTimeCheck>,
    /// Answer 4000 when the `Region` common parameter is missing, as the cloud does (on by
    /// default; switch off to try clients that leave it out).
    pub require_region: bool,
    /// Accepted clock skew of `Timestamp` / `X-TC-Timestamp`, in seconds (the cloud allows 300).
    pub timestamp_window_seconds: i64,
    /// Instances with fixed rollback windows. Both APIs refuse a rollback time outside them.
    pub rollback_windows: BTreeMap<String, Vec<RollbackWindow>>,
    /// Every other instance's window: the last this many seconds up to now (instance clock).
    /// API 3.0 submissions must fall in it (unless `rollback_time_check` is `None`); API 2.0
    /// keeps `rollback_time_check` alone, as before.
    pub default_window_seconds: i64,
    pub faults: Faults,
    /// API 3.0's answer to a submission on an instance with a running task. Which code the
    /// cloud uses is not documented; one of [`TASK_RUNNING_CODES`].
    pub task_running_code: &'static str,
    /// DescribeRollbackTaskDetail answers an empty `Detail` (the SDK documents it may be
    /// `null`): a client cannot match tasks by the echo of what was sent.
    pub empty_detail: bool,
    /// DescribeRollbackRangeTime answers each instance's first N queries with a transient
    /// per-instance `Code` (1600001, then 1624001, alternately).
    pub transient_range_answers: u32,
    /// A new task stays INITIAL this many seconds (times `time_scale`) before its life begins.
    pub initial_hold_seconds: f64,
    /// The fleet (DescribeDBInstances) and what each instance holds (DescribeDatabases,
    /// DescribeTables).
    pub catalog: super::catalog::Catalog,
    /// DescribeTasks lists one item per instance's task (`InstanceIds` of one), rather than
    /// one per submission listing all its instances: the API's documentation allows both.
    pub tasks_per_instance: bool,
    /// Every well-formed id is an instance holding the catalog's `default` (the demo's
    /// convenience, and tests' made-up fleets). Off, as the cloud: an id the catalog does not
    /// list is `InvalidParameter.InstanceNotFound`.
    pub any_instance: bool,
    /// The plan rules of `docs/contract.md` §1 that the cloud does not document (a target equal to
    /// its source or to another source, two sources sharing a target, system databases as sources,
    /// a database listed twice or covered twice) are refused too. Off, as the cloud: only the
    /// documented rules (strategy `table` with no Databases, at most 500 objects, the names'
    /// characters, the time's shape) are.
    pub plan_rules: bool,
    /// Instances per StartBatchRollback call beyond which the call is refused
    /// (`InvalidParameter`). No limit is documented (neither the SDK nor the API's page names
    /// one); this bound keeps a client honest about sending huge calls.
    pub max_call_instances: usize,
    /// Answers injected before the action runs: the first `count` requests of `action` are
    /// answered `code`; a StartBatchRollback's tasks are created first, as a back end that
    /// failed after starting them would (an answer is no proof that nothing started).
    pub injected: Vec<Injected>,
    /// DescribeRollbackTaskDetail's quirks the SDK allows.
    pub detail_quirk: DetailQuirk,
    /// A task is listed (DescribeRollbackTaskDetail, DescribeTasks) only this many seconds
    /// (times `time_scale`) after it was created; a successful rollback's objects appear this
    /// long after it ended.
    pub visible_after_seconds: f64,
    /// Instances whose successful rollbacks create nothing (a task that says SUCCESS while
    /// its objects are not there).
    pub hollow_instances: BTreeSet<String>,
    /// Instances whose tasks end REMOVED (status 5) rather than succeeding.
    pub removed_instances: BTreeSet<String>,
    /// What DescribeRollbackTaskDetail calls a task that waits (held by `initial_hold_seconds`):
    /// `INITIAL`, or `UNDEFINED`; DescribeTasks calls it `WAITING` either way.
    pub waiting_status: &'static str,
    /// Seeds per-instance durations and the string-or-number choice in answers.
    pub seed: u64,
}

/// One injected answer ([`Config::injected`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    pub action: String,
    pub code: &'static str,
    pub count: u32,
}

impl Injected {
    /// `ACTION=CODE` or `ACTION=CODExN`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected ACTION=CODE or ACTION=CODExN");
        let (action, rest) = text.split_once('=').ok_or_else(bad)?;
        let (code, count) = match rest.rsplit_once('x') {
            Some((code, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                (code, n.parse().map_err(|_| bad())?)
            }
            _ => (rest, 1),
        };
        if action.is_empty() || code.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            action: action.to_owned(),
            // A configuration lives as long as the sandbox process: its codes are kept.
            code: Box::leak(code.to_owned().into_boxed_str()),
            count,
        })
    }
}

/// How DescribeRollbackTaskDetail lists tasks ([`Config::detail_quirk`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DetailQuirk {
    /// As it should: the request's task of the instance, its `Detail` naming it.
    #[default]
    Plain,
    /// Asked for one request, it lists every task of that request (all its instances), each
    /// with an empty `Detail`: which is whose, the list does not say.
    Ambiguous,
    /// The `AsyncRequestId` filter is ignored: every task of the instance, oldest first.
    IgnoredFilter,
    /// Asked for one request, it lists nothing (`Items` null).
    Silent,
}

impl DetailQuirk {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "plain" => Ok(Self::Plain),
            "ambiguous" => Ok(Self::Ambiguous),
            "ignored-filter" => Ok(Self::IgnoredFilter),
            "silent" => Ok(Self::Silent),
            other => Err(format!(
                "`{other}` is not one of plain, ambiguous, ignored-filter, silent"
            )),
        }
    }
}

impl Config {
    /// The demo sandbox: demo credentials, tasks of 20–40 s, 20 requests/s per action, no
    /// missing or failing instance, no faults.
    pub fn demo() -> Self {
        Self {
            credentials: vec![Credential {
                secret_id: DEMO_SECRET_ID.to_owned(),
                secret_key: DEMO_SECRET_KEY.to_owned(),
            }],
            task_seconds: (20.0, 40.0),
            time_scale: 1.0,
            stop_seconds: 0.0,
            rate_per_action: 20,
            missing_instances: BTreeSet::new(),
            failing_instances: BTreeSet::new(),
            rollback_time_check: Some(RollbackTimeCheck::default()),
            require_region: true,
            timestamp_window_seconds: 300,
            rollback_windows: BTreeMap::new(),
            default_window_seconds: 7 * 86_400,
            faults: Faults::default(),
            task_running_code: TASK_RUNNING_CODES[0],
            empty_detail: false,
            transient_range_answers: 0,
            initial_hold_seconds: 0.0,
            catalog: super::catalog::Catalog::demo(),
            tasks_per_instance: false,
            any_instance: false,
            plan_rules: false,
            max_call_instances: 50,
            injected: Vec::new(),
            detail_quirk: DetailQuirk::Plain,
            visible_after_seconds: 0.0,
            hollow_instances: BTreeSet::new(),
            removed_instances: BTreeSet::new(),
            waiting_status: "INITIAL",
            seed: 0,
        }
    }

    /// Whether the instance exists in `region` (the request's; `None`: no region was sent):
    /// listed by the catalog in that region (or, with `any_instance`, any well-formed id the
    /// catalog does not list), and not configured missing. As the cloud, a region knows only
    /// its own instances: an instance of another region is missing here.
    pub fn exists(&self, id: &str, region: Option<&str>) -> bool {
        if self.missing_instances.contains(id) {
            return false;
        }
        match self.catalog.member(id) {
            Some(m) => region.is_none_or(|r| m.region == r),
            None => self.any_instance,
        }
    }

    pub(crate) fn secret_key(&self, secret_id: &str) -> Option<&str> {
        self.credentials
            .iter()
            .find(|c| c.secret_id == secret_id)
            .map(|c| c.secret_key.as_str())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::demo()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_list_parses_known_kinds_and_rejects_others() {
        let kinds = FaultKinds::parse_list("lost, http502,slow").unwrap_or_default();
        assert!(kinds.lost && kinds.http502 && kinds.slow && !kinds.internal);
        assert!(FaultKinds::parse_list("lost,boom").is_err());
    }

    #[test]
    fn credential_debug_hides_the_key() {
        let text = format!("{:?}", Config::demo().credentials);
        assert!(text.contains(DEMO_SECRET_ID));
        assert!(!text.contains(DEMO_SECRET_KEY));
    }

    #[test]
    fn demo_accepts_only_demo_id() {
        let config = Config::demo();
        assert_eq!(config.secret_key(DEMO_SECRET_ID), Some(DEMO_SECRET_KEY));
        assert_eq!(config.secret_key("AKIDother"), None);
    }
}
