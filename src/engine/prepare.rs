//! What an apply will do, computed once from a resolved plan: every instance's request and
//! region, the calls they make (their batches and the exact parameters on the wire), and the
//! plan's hash. `plan` renders this value, `apply` executes it ([`Prepared::work`]: the engine
//! sends what is left of each call, never regrouped), the preflight asks per its regions:
//! nothing recomputes a call elsewhere.

use super::batch::{self, Batch};
use super::plan_hash::plan_hash;
use super::request;
use crate::api::rollback::InstanceRollback;
use crate::plan::ResolvedPlan;

/// The API generation the calls are written for: the one name of `--api`'s values too (the
/// CLI gives it clap's `ValueEnum`; the engine knows nothing of clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    V2,
    V3,
}

impl Generation {
    /// The submission's action name.
    pub fn action(self) -> &'static str {
        match self {
            Self::V2 => super::v2::SUBMIT_ACTION,
            Self::V3 => super::v3::SUBMIT_ACTION,
        }
    }

    /// The exact action parameters of one submission of `requests` (unsigned, without common
    /// parameters), as each adapter writes them: API 2.0's `instances.N.*`, API 3.0's one
    /// `body` of JSON bytes ([`super::v2::params`], [`super::v3::params`]).
    pub fn params(self, requests: &[InstanceRollback]) -> Vec<(String, String)> {
        match self {
            Self::V2 => super::v2::params(requests),
            Self::V3 => super::v3::params(requests),
        }
    }

    /// `"v2"` or `"v3"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V2 => "v2",
            Self::V3 => "v3",
        }
    }

    /// The public endpoint of this generation.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Self::V2 => super::v2::DEFAULT_ENDPOINT,
            Self::V3 => super::v3::DEFAULT_ENDPOINT,
        }
    }
}

/// One instance of the plan as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub request: InstanceRollback,
    pub region: Option<String>,
}

/// One submission: its batch (indices into [`Prepared::rollbacks`]) and its exact parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: &'static str,
    pub region: Option<String>,
    pub instances: Vec<usize>,
    pub params: Vec<(String, String)>,
}

/// Everything an apply of a plan will do, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub generation: Generation,
    pub batch_size: usize,
    pub rollbacks: Vec<Rollback>,
    pub calls: Vec<Call>,
    /// Every submission the engine makes, in the order it queues them (indices into
    /// [`Prepared::rollbacks`]): each of [`Prepared::calls`], and each self-hosted instance's
    /// restore on its own (its pseudo-region is its own).
    pub submissions: Vec<Vec<usize>>,
    /// [`plan_hash`] of the rollbacks: what a journal is tied to.
    pub hash: String,
}

/// What the engine runs ([`super::run::Engine::new`]): every instance's request and region,
/// in plan order, and the submissions they are cut into, in order (indices into `rollbacks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub rollbacks: Vec<(InstanceRollback, Option<String>)>,
    pub submissions: Vec<Vec<usize>>,
}

impl Work {
    /// `rollbacks` cut into submissions of at most `batch_size` by the one rule
    /// ([`batch::group`]), as [`prepare`] cuts a plan's.
    pub fn batched(rollbacks: Vec<(InstanceRollback, Option<String>)>, batch_size: usize) -> Self {
        let submissions = batch::group(
            rollbacks
                .iter()
                .enumerate()
                .map(|(i, (_, region))| (i, region.as_deref())),
            batch_size,
        )
        .into_iter()
        .map(|b| b.instances)
        .collect();
        Self {
            rollbacks,
            submissions,
        }
    }
}

/// [`Prepared::hash`] of `plan`, without preparing its calls (it depends on neither the
/// generation nor the batch size): what a command that reads a journal checks it against.
pub fn plan_hash_of(plan: &ResolvedPlan) -> String {
    let rollbacks = rollbacks(plan);
    let requests: Vec<InstanceRollback> = rollbacks.iter().map(|s| s.request.clone()).collect();
    let regions: Vec<Option<String>> = rollbacks.iter().map(|s| s.region.clone()).collect();
    plan_hash(&requests, &regions)
}

fn rollbacks(plan: &ResolvedPlan) -> Vec<Rollback> {
    plan.instances
        .iter()
        .map(|i| Rollback {
            request: request::rollback(i),
            // A self-hosted instance's pseudo-region routes its calls to the local restores
            // (and its own batch): part of what the hash ties a journal to.
            region: match i.selfhosted {
                Some(_) => Some(super::local::region_of(&i.id)),
                None => i.region.clone(),
            },
        })
        .collect()
}

/// Prepares `plan` for `generation`, `batch_size` instances a call at most.
pub fn prepare(plan: &ResolvedPlan, generation: Generation, batch_size: usize) -> Prepared {
    let rollbacks = rollbacks(plan);
    let requests: Vec<InstanceRollback> = rollbacks.iter().map(|s| s.request.clone()).collect();
    let regions: Vec<Option<String>> = rollbacks.iter().map(|s| s.region.clone()).collect();
    let hash = plan_hash(&requests, &regions);
    let work = Work::batched(requests.into_iter().zip(regions).collect(), batch_size);
    // A self-hosted instance's pseudo-region is its own: its restore is a submission of its
    // own and no cloud call.
    let calls = work
        .submissions
        .iter()
        .filter(|ids| {
            !ids.iter()
                .any(|&i| super::local::is_local(rollbacks[i].region.as_deref()))
        })
        .map(|ids| {
            let batch = Batch {
                region: rollbacks[ids[0]].region.clone(),
                instances: ids.clone(),
            };
            call(generation, &rollbacks, batch)
        })
        .collect();
    Prepared {
        generation,
        batch_size,
        rollbacks,
        calls,
        submissions: work.submissions,
        hash,
    }
}

fn call(generation: Generation, rollbacks: &[Rollback], batch: Batch) -> Call {
    let requests: Vec<InstanceRollback> = batch
        .instances
        .iter()
        .map(|&i| rollbacks[i].request.clone())
        .collect();
    Call {
        action: generation.action(),
        region: batch.region,
        params: generation.params(&requests),
        instances: batch.instances,
    }
}

impl Prepared {
    /// Every instance's request, in plan order.
    pub fn requests(&self) -> Vec<InstanceRollback> {
        self.rollbacks.iter().map(|s| s.request.clone()).collect()
    }

    /// Every instance's request with its region, in plan order, and the submissions as
    /// prepared: what the engine runs.
    pub fn work(&self) -> Work {
        Work {
            rollbacks: self
                .rollbacks
                .iter()
                .map(|s| (s.request.clone(), s.region.clone()))
                .collect(),
            submissions: self.submissions.clone(),
        }
    }

    /// The instance ids of `instances` (indices into [`Prepared::rollbacks`]), in order: a
    /// call's or a batch's instances as people and saved plans name them.
    pub fn ids(&self, instances: &[usize]) -> Vec<String> {
        instances
            .iter()
            .map(|&i| self.rollbacks[i].request.instance_id.clone())
            .collect()
    }

    /// Every instance's region, in plan order.
    pub fn regions(&self) -> Vec<Option<String>> {
        self.rollbacks.iter().map(|s| s.region.clone()).collect()
    }

    /// The instances grouped one query per region (a query carries one Region), plan order:
    /// the preflight's calls, by the same rule as the submissions'.
    pub fn by_region(&self) -> Vec<(Option<String>, Vec<String>)> {
        // Self-hosted instances have a preflight of their own.
        let items = self
            .rollbacks
            .iter()
            .enumerate()
            .filter(|(_, s)| !super::local::is_local(s.region.as_deref()))
            .map(|(i, s)| (i, s.region.as_deref()));
        batch::group(items, usize::MAX)
            .into_iter()
            .map(|b| {
                let ids = self.ids(&b.instances);
                (b.region, ids)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::batch::tests::plan;

    #[test]
    fn a_v2_call_numbers_its_instances_from_zero() {
        let p = prepare(&plan(&[None, None, None]), Generation::V2, 2);
        assert_eq!(p.calls.len(), 2);
        let keys: Vec<&str> = p.calls[1].params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["instances.0.cdbInstanceId", "instances.0.para"]);
        assert_eq!(p.calls[1].params[0].1, "cdb-00000002");
    }

    #[test]
    fn a_v3_call_is_one_body_of_its_instances() {
        let p = prepare(&plan(&[Some("gz"), Some("sh")]), Generation::V3, 10);
        assert_eq!(p.calls.len(), 2);
        assert_eq!(p.calls[0].action, "StartBatchRollback");
        assert_eq!(p.calls[0].params.len(), 1);
        assert!(
            p.calls[0].params[0]
                .1
                .contains("\"InstanceId\":\"cdb-00000000\"")
        );
        assert!(!p.calls[0].params[0].1.contains("cdb-00000001"));
    }

    #[test]
    fn self_hosted_instances_are_in_no_call_and_each_its_own_submission() {
        let mut p = plan(&[None, None, Some("ap-guangzhou")]);
        p.instances[1].selfhosted = Some(crate::plan::SelfHosted {
            server: "db1:3306".into(),
            backups: "dumps".into(),
            restore_server: None,
        });
        let prepared = prepare(&p, Generation::V3, 10);
        let ids: Vec<Vec<usize>> = prepared.calls.into_iter().map(|c| c.instances).collect();
        assert_eq!(ids, vec![vec![0], vec![2]]);
        assert_eq!(prepared.submissions, vec![vec![0], vec![1], vec![2]]);
    }

    #[test]
    fn the_hash_does_not_depend_on_the_generation_or_batch_size() {
        let a = prepare(&plan(&[None, None]), Generation::V2, 1);
        let b = prepare(&plan(&[None, None]), Generation::V3, 10);
        assert_eq!(a.hash, b.hash);
    }

    #[test]
    fn the_preflight_asks_once_per_region_in_plan_order() {
        let p = prepare(&plan(&[Some("sh"), None, Some("sh")]), Generation::V3, 1);
        assert_eq!(
            p.by_region(),
            vec![
                (
                    Some("sh".to_owned()),
                    vec!["cdb-00000000".to_owned(), "cdb-00000002".to_owned()]
                ),
                (None, vec!["cdb-00000001".to_owned()])
            ]
        );
    }
}
