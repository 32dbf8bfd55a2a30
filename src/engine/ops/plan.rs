//! What `plan` shows of a prepared plan beyond the diff, and `apply` and `show` with it: the
//! calls as the diff draws them, what the self-hosted servers say, and the preflight asked
//! of the cloud's instances.

use std::path::Path;

use super::selfhosted::{self, Survey};
use crate::diff::Call;
use crate::engine::any::AnyProtocol;
use crate::engine::prepare::Prepared;
use crate::plan::{Checked, Diagnostic, ResolvedPlan};

/// The calls of a prepared plan, as the diff shows them: with `with_params`, API 2.0's
/// `instances.N.*` parameters or API 3.0's JSON body, exactly as they will be sent.
pub fn calls(prepared: &Prepared, with_params: bool) -> Vec<Call> {
    prepared
        .calls
        .iter()
        .map(|c| Call {
            action: c.action.to_owned(),
            region: c.region.clone(),
            instances: prepared.ids(&c.instances),
            params: with_params.then(|| c.params.clone()),
        })
        .collect()
}

/// `plan --preflight` of the plan's cloud instances (self-hosted ones have a preflight of
/// their own, [`super::selfhosted::preflight`]); `Ok(None)` with API 2.0.
pub async fn preflight(
    protocol: &AnyProtocol,
    checked: &Checked,
    plan: &ResolvedPlan,
    prepared: &Prepared,
) -> Result<Option<Vec<Diagnostic>>, crate::api::Error> {
    let requests: Vec<_> = prepared
        .requests()
        .into_iter()
        .zip(&plan.instances)
        .filter(|(_, i)| i.selfhosted.is_none())
        .map(|(r, _)| r)
        .collect();
    super::preflight::check(protocol, checked, plan, prepared, &requests).await
}

/// What the plan's self-hosted servers say (read-only), when they are asked: with the
/// option file `defaults` names, or with `preflight` (which also checks their privileges and
/// scratch servers); else what each restore would use, unasked.
pub async fn survey(
    plan_path: &Path,
    plan: &ResolvedPlan,
    (defaults, preflight): (Option<&Path>, bool),
) -> Result<Survey, selfhosted::Error> {
    if !selfhosted::any(plan) {
        return Ok(Vec::new());
    }
    if !preflight && defaults.is_none() {
        return Ok(selfhosted::unasked(plan_path, plan));
    }
    let creds = selfhosted::credentials(defaults)?;
    Ok(selfhosted::survey(plan_path, plan, &creds, None, preflight).await)
}
