//! The rollback-window preflight: before anything is submitted, ask the API
//! (DescribeRollbackRangeTime) whether each instance exists and can roll back to its time, and
//! report what cannot as diagnostics on the plan's nodes, like `validate`'s. Then the object
//! preflight ([`objects`]): every source exists, no target does.

pub mod objects;
pub mod overlap;

use crate::api::rollback::InstanceRollback;
use crate::engine::any::AnyProtocol;
use crate::engine::prepare::Prepared;
use crate::engine::protocol::Protocol as _;
use crate::engine::window::{Window, window_problems};
use crate::plan::{Checked, Diagnostic, ResolvedPlan};

/// The problems preflight found; `Ok(None)` when the protocol has no window query (API 2.0).
pub async fn check(
    protocol: &AnyProtocol,
    checked: &Checked,
    plan: &ResolvedPlan,
    prepared: &Prepared,
    requests: &[InstanceRollback],
) -> Result<Option<Vec<Diagnostic>>, crate::api::Error> {
    // Only the instances asked about (a resumed apply asks none it already submitted), one
    // query per region as the calls are grouped.
    let asked: std::collections::HashSet<&str> =
        requests.iter().map(|r| r.instance_id.as_str()).collect();
    let mut items = Vec::new();
    for (region, ids) in prepared.by_region() {
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| asked.contains(id.as_str()))
            .collect();
        if ids.is_empty() {
            continue;
        }
        match protocol.preflight(region.as_deref(), &ids).await? {
            Some(found) => items.extend(found),
            None => return Ok(None),
        }
    }
    let problems = window_problems(requests, &items);
    // What the window check found unavailable is not asked what it holds.
    let unavailable = problems
        .iter()
        .filter(|(_, w)| !matches!(w, Window::Outside(_)))
        .map(|(r, _)| r.instance_id.clone())
        .collect();
    let by_id = plan.by_id();
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .filter_map(|(request, window)| {
            let instance = by_id.get(request.instance_id.as_str())?;
            Some(diagnostic(checked, instance, &window))
        })
        .collect();
    let objects = objects::check(protocol, checked, &by_id, requests, &unavailable).await?;
    diagnostics.extend(objects.into_iter().flatten());
    Ok(Some(diagnostics))
}

fn diagnostic(checked: &Checked, instance: &crate::plan::Instance, window: &Window) -> Diagnostic {
    let id_span = checked.index.value(&instance.path);
    let own_time = format!("/instances/{}/rollback_time", instance.entry);
    let time_path = if checked.index.get(&own_time).is_some() {
        own_time
    } else {
        "/rollback_time".to_owned()
    };
    match window {
        Window::Outside(ranges) => Diagnostic::error(
            "planrun::outside_rollback_window",
            format!("{}: rollback time {} is {window}", instance.id, instance.rollback_time),
        )
        .at(&instance.path, id_span, "cannot roll back to that time")
        .also(checked.index.get(&time_path).map(|l| l.value), "this rollback time")
        .help(match ranges.as_slice() {
            [] => "the API reports no rollback window for this instance (backup retention); drop it from the plan".to_owned(),
            _ => format!(
                "the instance can roll back to {} (as the API returned it); choose a time inside, or drop the instance from the plan",
                ranges
                    .iter()
                    .map(|r| format!("{} .. {}", r.begin, r.end))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }),
        Window::Missing { .. } => not_in_region(checked, instance),
        Window::Inconclusive { .. } => Diagnostic::error(
            "planrun::preflight_inconclusive",
            format!("{}: {window}", instance.id),
        )
        .at(&instance.path, id_span, "availability unknown")
        .help("a transient answer: run the command again in a moment"),
        _ => Diagnostic::error("planrun::instance_unavailable", format!("{}: {window}", instance.id))
            .at(&instance.path, id_span, "not available for rollback")
            .help("check the instance id and its region; only primary instances can be rolled back"),
    }
}

/// The API does not know `instance` in the region it was asked in: said as such, at the
/// instance and at the region it was looked for in (the cloud finds an instance only in its
/// own region, so a plan listing it under another one fails here, not mid-run). Other
/// regions are not searched: this says only where it was not found.
pub fn not_in_region(checked: &Checked, instance: &crate::plan::Instance) -> Diagnostic {
    let region = instance
        .region
        .as_deref()
        .unwrap_or("the default region (no `region` in the plan)");
    let own = format!("/instances/{}/region", instance.entry);
    let region_path = if checked.index.get(&own).is_some() {
        own
    } else {
        "/region".to_owned()
    };
    Diagnostic::error(
        "planrun::instance_unavailable",
        format!(
            "instance {} was not found in {region} (is it in another region?)",
            instance.id
        ),
    )
    .at(
        &instance.path,
        checked.index.value(&instance.path),
        format!("not found in {region}"),
    )
    .also(
        checked.index.get(&region_path).map(|l| l.value),
        "the region it was looked for in",
    )
    .help("check the instance id, and list the instance under the region it lives in")
}
