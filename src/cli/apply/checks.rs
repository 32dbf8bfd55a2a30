//! The checks `apply` makes before it asks: a region for every cloud instance, and the
//! preflight (rollback windows and objects in the cloud, the servers of self-hosted ones).

use super::ApplyArgs;
use crate::cli::Error;
use crate::engine::apply::Apply;
use crate::engine::ops::{preflight as cloud, selfhosted};
use crate::plan::{Checked, ResolvedPlan};

/// The API refuses calls without a Region (4000): say so before asking or sending anything.
/// The sandbox does not need one.
pub(super) fn check_regions(args: &ApplyArgs, plan: &ResolvedPlan) -> Result<(), Error> {
    if let Some(region) = args.api.region.as_deref().filter(|r| !r.trim().is_empty()) {
        crate::cli::api_args::check_region_flag(region, &args.api.allow_region)
            .map_err(|e| Error::Usage(crate::plan::text::visible(&e).into_owned()))?;
    }
    let default = args
        .api
        .region
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty());
    if args.sandbox || default {
        return Ok(());
    }
    let without: Vec<&str> = plan
        .instances
        .iter()
        .filter(|i| i.selfhosted.is_none())
        .filter(|i| i.region.as_deref().is_none_or(|r| r.trim().is_empty()))
        .map(|i| i.id.as_str())
        .collect();
    if without.is_empty() {
        return Ok(());
    }
    Err(Error::NoRegion(without.join(", ")))
}

/// Whether the cloud's preflight overlaps the run: the default, unless `--preflight-first`;
/// API 2.0 has no rollback-window or object queries (the preflight says so, first).
pub(super) fn overlaps(args: &ApplyArgs, apply: &Apply) -> bool {
    !args.preflight_first && apply.protocol.generation() == crate::engine::prepare::Generation::V3
}

/// Checks the self-hosted instances still to do (a resumed run has made some targets itself):
/// a line per instance, then the verdict.
pub(super) async fn selfhosted_preflight(
    args: &ApplyArgs,
    resolved: &ResolvedPlan,
    apply: &Apply,
) -> Result<(), Error> {
    let creds = selfhosted::credentials(args.session.defaults_file.as_deref())?;
    let pending = apply.pending();
    let found = selfhosted::preflight(&args.plan, resolved, &creds, &pending).await;
    for line in crate::render::selfhosted::preflight(&found) {
        errln!("{line}");
    }
    Ok(selfhosted::verdict(&found)?)
}

/// Runs the preflight (rollback windows, then the objects); any problem stops the apply before
/// anything is sent (the plan is reviewed and applied as a whole). A resumed apply checks only
/// what its journal has not submitted yet: its own rollbacks may have created the targets.
pub(super) async fn preflight(
    apply: &Apply,
    checked: &Checked,
    plan: &ResolvedPlan,
) -> Result<(), Error> {
    let requests = apply.cloud_to_check(plan);
    if requests.is_empty() {
        errln!("preflight: nothing to check (the journal records every instance as submitted)");
        return Ok(());
    }
    let found = cloud::check(&apply.protocol, checked, plan, apply.prepared(), &requests).await;
    match found.map_err(Error::PreflightUnasked)? {
        None => errln!(
            "preflight: skipped (API 2.0 has no rollback-window or object queries here; --api v3 checks them)"
        ),
        Some(problems) if problems.is_empty() => errln!(
            "preflight: all {} instances can roll back to their times; {}",
            requests.len(),
            cloud::objects::ALL_GOOD
        ),
        Some(problems) => {
            let n = problems.len();
            let report = Checked {
                diagnostics: problems,
                ..checked.clone()
            };
            return Err(Error::Preflight {
                report: Box::new(report),
                n,
            });
        }
    }
    Ok(())
}
