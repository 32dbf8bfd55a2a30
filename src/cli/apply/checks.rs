//! The checks `apply` makes before it asks: a region for every cloud instance, and the
//! preflight (rollback windows and objects in the cloud, the servers of self-hosted ones).

use super::ApplyArgs;
use crate::cli::{exit, session, term};

/// The API refuses calls without a Region (4000): say so before asking or sending anything.
/// The sandbox does not need one.
pub(super) fn check_regions(args: &ApplyArgs, plan: &crate::plan::ResolvedPlan) -> Result<(), i32> {
    if let Some(region) = args.api.region.as_deref().filter(|r| !r.trim().is_empty())
        && let Err(e) = crate::cli::api_args::check_region_flag(region, &args.api.allow_region)
    {
        errln!("error: {}", crate::plan::text::visible(&e));
        return Err(exit::USAGE);
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
    errln!(
        "{:?}",
        miette::miette!(
            code = "planrun::missing_region",
            help = "set `region:` in the plan (or on the entry), or pass --region / set TENCENTCLOUD_REGION",
            "no region for {}: the API refuses calls without one",
            without.join(", ")
        )
    );
    Err(exit::USAGE)
}

/// Checks the self-hosted instances still to do (a resumed run has made some targets itself).
pub(super) async fn selfhosted_preflight(
    args: &ApplyArgs,
    resolved: &crate::plan::ResolvedPlan,
    session: &session::Session,
) -> Result<(), i32> {
    let creds = crate::cli::selfhosted::credentials(args.session.defaults_file.as_deref())?;
    let pending = session.apply().pending();
    crate::cli::selfhosted::preflight(&args.plan, resolved, &creds, &pending).await
}

/// Runs the preflight (rollback windows, then the objects); any problem stops the apply before
/// anything is sent (the plan is reviewed and applied as a whole). A resumed apply checks only
/// what its journal has not submitted yet: its own rollbacks may have created the targets.
pub(super) async fn preflight(
    session: &session::Session,
    checked: &crate::plan::Checked,
    plan: &crate::plan::ResolvedPlan,
) -> Result<(), i32> {
    let requests = session.apply().cloud_to_check(plan);
    if requests.is_empty() {
        errln!("preflight: nothing to check (the journal records every instance as submitted)");
        return Ok(());
    }
    match crate::cli::preflight::check(
        &session.protocol,
        checked,
        plan,
        session.prepared(),
        &requests,
    )
    .await
    {
        Ok(None) => {
            errln!(
                "preflight: skipped (API 2.0 has no rollback-window or object queries here; --api v3 checks them)"
            );
            Ok(())
        }
        Ok(Some(problems)) if problems.is_empty() => {
            errln!(
                "preflight: all {} instances can roll back to their times; {}",
                requests.len(),
                crate::cli::preflight_objects::ALL_GOOD
            );
            Ok(())
        }
        Ok(Some(problems)) => {
            let n = problems.len();
            let report = crate::plan::Checked {
                diagnostics: problems,
                ..checked.clone()
            };
            err!(
                "{}",
                crate::cli::diagnostics::human(
                    std::slice::from_ref(&report),
                    term::stderr_colour(),
                    term::width()
                )
            );
            errln!("preflight found {n} problem(s) with the plan; nothing was submitted.");
            Err(exit::FAILED)
        }
        Err(e) => {
            crate::cli::report_error(&e);
            errln!(
                "preflight could not check the rollback windows and objects; nothing was submitted."
            );
            Err(exit::USAGE)
        }
    }
}
