//! Batching (pure): instances become rollback calls of at most `batch_size` instances, grouped
//! by region, in plan order (regions in order of first appearance); self-hosted instances
//! (`provider: mysql`) are in no call.

use crate::plan::ResolvedPlan;

/// One rollback call: a region and indices into `ResolvedPlan::instances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub region: Option<String>,
    pub instances: Vec<usize>,
}

/// Splits the plan's instances into calls. `batch_size` 0 is treated as 1.
pub fn batches(plan: &ResolvedPlan, batch_size: usize) -> Vec<Batch> {
    // Self-hosted instances are restored on their own servers, not through a cloud call.
    group(
        plan.instances
            .iter()
            .enumerate()
            .filter(|(_, instance)| instance.selfhosted.is_none())
            .map(|(i, instance)| (i, instance.region.as_deref())),
        batch_size,
    )
}

/// The one batching rule, for every caller (the plan's calls, the engine's queue of what is
/// left, the preflight's queries per region): items grouped by region in order of first
/// appearance, each group in the order given, cut into calls of at most `size` (0 counts as
/// 1; `usize::MAX` keeps a region in one call).
pub fn group<'a>(
    items: impl IntoIterator<Item = (usize, Option<&'a str>)>,
    size: usize,
) -> Vec<Batch> {
    let size = size.max(1);
    let mut regions: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (i, region) in items {
        match regions.iter_mut().find(|(r, _)| *r == region) {
            Some((_, list)) => list.push(i),
            None => regions.push((region, vec![i])),
        }
    }
    regions
        .into_iter()
        .flat_map(|(region, list)| {
            list.chunks(size)
                .map(|chunk| Batch {
                    region: region.map(str::to_owned),
                    instances: chunk.to_vec(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{DbTables, Instance, Rename, Strategy};

    /// A plan of one instance per region given, each rolling back `orders.payments`.
    pub(crate) fn plan(regions: &[Option<&str>]) -> ResolvedPlan {
        ResolvedPlan {
            name: "p".into(),
            description: None,
            timezone: "+08:00".into(),
            batch_size: 10,
            instances: regions
                .iter()
                .enumerate()
                .map(|(i, r)| Instance {
                    id: format!("cdb-{i:08}"),
                    path: String::new(),
                    entry: i,
                    strategy: Strategy::Table,
                    rollback_time: "2026-11-20 03:15:00".into(),
                    region: r.map(str::to_owned),
                    dbs: vec![],
                    tables: vec![DbTables {
                        db: "orders".into(),
                        tables: vec![Rename {
                            source: "payments".into(),
                            target: "payments_bak".into(),
                        }],
                    }],
                    selfhosted: None,
                    connect: None,
                })
                .collect(),
        }
    }

    #[test]
    fn self_hosted_instances_are_in_no_call() {
        let mut p = plan(&[None, None, Some("ap-guangzhou")]);
        p.instances[1].selfhosted = Some(crate::plan::SelfHosted {
            server: "db1:3306".into(),
            backups: "dumps".into(),
            restore_server: None,
        });
        let calls = batches(&p, 10);
        let ids: Vec<Vec<usize>> = calls.into_iter().map(|b| b.instances).collect();
        assert_eq!(ids, vec![vec![0], vec![2]]);
    }

    #[test]
    fn calls_hold_at_most_batch_size_instances_in_plan_order() {
        let b = batches(&plan(&[None; 5]), 2);
        assert_eq!(
            b.iter().map(|b| b.instances.clone()).collect::<Vec<_>>(),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
    }

    #[test]
    fn regions_are_grouped_in_order_of_first_appearance() {
        let b = batches(
            &plan(&[Some("gz"), Some("sh"), Some("gz"), None, Some("sh")]),
            10,
        );
        let got: Vec<(Option<&str>, Vec<usize>)> = b
            .iter()
            .map(|b| (b.region.as_deref(), b.instances.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("gz"), vec![0, 2]),
                (Some("sh"), vec![1, 4]),
                (None, vec![3])
            ]
        );
    }

    #[test]
    fn zero_batch_size_still_makes_progress() {
        assert_eq!(batches(&plan(&[None; 2]), 0).len(), 2);
    }

    #[test]
    fn a_subset_keeps_the_order_it_is_given_and_an_unbounded_size_one_call_per_region() {
        let b = group([(4, Some("sh")), (1, None), (2, Some("sh"))], usize::MAX);
        let got: Vec<(Option<&str>, Vec<usize>)> = b
            .iter()
            .map(|b| (b.region.as_deref(), b.instances.clone()))
            .collect();
        assert_eq!(got, vec![(Some("sh"), vec![4, 2]), (None, vec![1])]);
    }
}
