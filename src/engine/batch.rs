//! Batching (pure): instances become rollback calls of at most `batch_size` instances, grouped
//! by region, in plan order (regions in order of first appearance). The rule is applied once,
//! in [`super::prepare`]; self-hosted instances (`provider: mysql`) each have a pseudo-region
//! of their own there, so they are in no cloud call.

/// One rollback call: a region and indices into `ResolvedPlan::instances`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub region: Option<String>,
    pub instances: Vec<usize>,
}

/// The one batching rule, for every caller (the plan's calls and the engine's queue,
/// [`super::prepare`]; the preflight's queries per region): items grouped by region in order
/// of first appearance, each group in the order given, [`cut`] into calls of at most `size`
/// (`usize::MAX` keeps a region in one call).
pub fn group<'a>(
    items: impl IntoIterator<Item = (usize, Option<&'a str>)>,
    size: usize,
) -> Vec<Batch> {
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
            cut(&list, size)
                .map(|chunk| Batch {
                    region: region.map(str::to_owned),
                    instances: chunk.to_vec(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One region's list cut into calls of at most `size`, in order (0 counts as 1): also how an
/// adapter cuts a query bounded per call (API 3.0's DescribeRollbackRangeTime).
pub fn cut<T>(list: &[T], size: usize) -> std::slice::Chunks<'_, T> {
    list.chunks(size.max(1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::{DbTables, Instance, Rename, ResolvedPlan, Strategy};

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

    /// `group` over every instance of `plan`, in plan order.
    fn batches(plan: &ResolvedPlan, size: usize) -> Vec<Batch> {
        group(
            plan.instances
                .iter()
                .enumerate()
                .map(|(i, instance)| (i, instance.region.as_deref())),
            size,
        )
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
