//! The preflight while the run works (the default of `apply`): the same checks and
//! diagnostics as [`super::check`], a prepared call at a time, each call's verdicts sent to
//! the run ([`crate::engine::gate`]) as soon as its instances are checked. Its calls share the
//! client's `--concurrency` slots and per-action budgets with the run's submissions, polls
//! and verifications.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::StreamExt;

use crate::api::rollback::InstanceRollback;
use crate::engine::any::AnyProtocol;
use crate::engine::gate::{Verdict, Verdicts};
use crate::engine::objects;
use crate::engine::prepare::Prepared;
use crate::engine::protocol::Protocol as _;
use crate::engine::window::{Window, window_problems};
use crate::plan::{Checked, Diagnostic, Instance, ResolvedPlan};

/// Calls checked at once: the next call's window query is under way while one's objects are
/// asked, so the client's slots never wait for the preflight.
const CALLS_AT_ONCE: usize = 2;

/// The requests of `asked` (the instances the preflight checks), as `prepared` cut them into
/// calls, each with its region; in the calls' order, which is the order they are submitted.
pub fn calls(prepared: &Prepared, asked: &[InstanceRollback]) -> Vec<Call> {
    let asked: HashMap<&str, &InstanceRollback> =
        asked.iter().map(|r| (r.instance_id.as_str(), r)).collect();
    let work = prepared.work();
    work.submissions
        .iter()
        .filter_map(|ids| {
            let requests: Vec<InstanceRollback> = ids
                .iter()
                .filter_map(|&i| asked.get(work.rollbacks[i].0.instance_id.as_str()))
                .map(|r| (*r).clone())
                .collect();
            let region = ids.first().and_then(|&i| work.rollbacks[i].1.clone());
            (!requests.is_empty()).then_some(Call { region, requests })
        })
        .collect()
}

/// One prepared call's instances still to check.
#[derive(Debug, Clone)]
pub struct Call {
    region: Option<String>,
    requests: Vec<InstanceRollback>,
}

/// What the preflight found before it ended.
#[derive(Debug, Default)]
pub struct Findings {
    /// The diagnostics of every instance held back (none from an API without window
    /// queries: everything passed).
    pub problems: Vec<Diagnostic>,
    /// The API's error answer that ended it before every call was checked: the instances it
    /// had not passed stay unsubmitted. Those it held back before are in `problems`.
    pub error: Option<crate::api::Error>,
}

/// Checks `calls` and sends each instance's verdict to `verdicts` as its call is done;
/// returns every diagnostic, and the error that ended it early if one did.
pub async fn run(
    protocol: &AnyProtocol,
    checked: &Checked,
    plan: &ResolvedPlan,
    calls: Vec<Call>,
    verdicts: Verdicts,
) -> Findings {
    let by_id = plan.by_id();
    let mut checks = futures::stream::iter(calls)
        .map(|call| one(protocol, checked, &by_id, call))
        .buffered(CALLS_AT_ONCE);
    let mut all = Vec::new();
    while let Some(found) = checks.next().await {
        let (passed, held) = match found {
            Ok(Some(found)) => found,
            Ok(None) => return Findings::default(),
            Err(error) => {
                return Findings {
                    problems: all,
                    error: Some(error),
                };
            }
        };
        // Nobody listening (the run stopped) is no reason to stop checking what is asked.
        let _ = verdicts.send(Verdict::Passed(passed));
        for (instance, diagnostics) in held {
            let code = diagnostics.first().map_or("", |d| d.code).to_owned();
            let message = diagnostics
                .iter()
                .map(|d| d.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let _ = verdicts.send(Verdict::Held {
                instance,
                code,
                message,
            });
            all.extend(diagnostics);
        }
    }
    Findings {
        problems: all,
        error: None,
    }
}

/// What passed of one call, and each instance held back with its diagnostics; `None` from an
/// API without window queries.
type Found = (Vec<String>, Vec<(String, Vec<Diagnostic>)>);

async fn one(
    protocol: &AnyProtocol,
    checked: &Checked,
    by_id: &HashMap<&str, &Instance>,
    call: Call,
) -> Result<Option<Found>, crate::api::Error> {
    let ids: Vec<String> = call
        .requests
        .iter()
        .map(|r| r.instance_id.clone())
        .collect();
    let Some(items) = protocol.preflight(call.region.as_deref(), &ids).await? else {
        return Ok(None);
    };
    let mut held: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    let mut unavailable = BTreeSet::new();
    for (request, window) in window_problems(&call.requests, &items) {
        let Some(instance) = by_id.get(request.instance_id.as_str()) else {
            // Not in the plan it was prepared from (cannot happen today): never passed.
            held.push((request.instance_id.clone(), Vec::new()));
            continue;
        };
        if !matches!(window, Window::Outside(_)) {
            unavailable.insert(request.instance_id.clone());
        }
        let d = super::diagnostic(checked, instance, &window);
        held.push((request.instance_id.clone(), vec![d]));
    }
    let with_regions: Vec<(Option<&str>, &InstanceRollback)> = call
        .requests
        .iter()
        .map(|r| (call.region.as_deref(), r))
        .collect();
    let findings = objects::check(protocol, &with_regions, &unavailable)
        .await?
        .unwrap_or_default();
    for finding in findings {
        let Some(instance) = by_id.get(finding.instance_id.as_str()) else {
            // As above: a finding whose instance has no place in the plan still holds it back.
            if !held.iter().any(|(id, _)| *id == finding.instance_id) {
                held.push((finding.instance_id.clone(), Vec::new()));
            }
            continue;
        };
        let found = finding
            .problems
            .iter()
            .map(|p| super::objects::diagnostic(checked, instance, p));
        match held.iter_mut().find(|(id, _)| *id == finding.instance_id) {
            Some((_, diagnostics)) => diagnostics.extend(found),
            None => held.push((finding.instance_id.clone(), found.collect())),
        }
    }
    let held_ids: HashSet<&str> = held.iter().map(|(id, _)| id.as_str()).collect();
    let passed = ids
        .iter()
        .filter(|id| !held_ids.contains(id.as_str()))
        .cloned()
        .collect();
    Ok(Some((passed, held)))
}
