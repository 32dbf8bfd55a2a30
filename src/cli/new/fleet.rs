//! The fleet query of `planrun new`: DescribeDBInstances in each region, the filters held
//! again on the answer, and which instances can go into a plan.

use std::collections::BTreeSet;

use super::super::exit;
use super::NewArgs;
use super::render::{LeftOut, Member};
use crate::api::v3::fleet::{
    DISASTER_RECOVERY, DbInstance, DescribeDbInstancesRequest, PRIMARY, READ_ONLY, RUNNING, Tag,
};

/// Every instance the filters match, per region, in the order of `regions`.
pub(super) async fn query(
    args: &NewArgs,
    regions: &[String],
) -> Result<Vec<(String, DbInstance)>, i32> {
    let api = args.api_args();
    let offset = crate::plan::rules::parse_timezone(&args.timezone);
    let (protocol, sandbox) =
        super::super::session::connect(&api, args.sandbox.then_some(offset).flatten()).await?;
    let Some(client) = protocol.v3().map(|v| v.client().clone()) else {
        return Err(exit::USAGE);
    };
    let filter = DescribeDbInstancesRequest {
        instance_ids: args.instances.clone(),
        instance_names: args.names.clone(),
        tags: args
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        offset: None,
        limit: None,
    };
    let mut found = Vec::new();
    let mut result = Ok(());
    for region in regions {
        match client.with_region(region).db_instances(&filter).await {
            Ok(items) => found.extend(
                items
                    .into_iter()
                    .filter(|i| wanted(args, i))
                    .map(|i| (region.clone(), i)),
            ),
            Err(e) => {
                crate::cli::report_error(&e);
                errln!("error: cannot list the instances of {region}; nothing was written");
                result = Err(exit::USAGE);
                break;
            }
        }
    }
    if let Some(sb) = sandbox {
        sb.shutdown().await;
    }
    result.map(|()| found)
}

/// The filters again, on the answer: how the API combines several tags or names is not
/// documented, so what it returns is held to "every tag, any name, any id".
fn wanted(args: &NewArgs, i: &DbInstance) -> bool {
    let name = i.instance_name.to_lowercase();
    args.tags.iter().all(|(k, v)| i.has_tag(k, v))
        && (args.names.is_empty() || args.names.iter().any(|n| name.contains(&n.to_lowercase())))
        && (args.instances.is_empty() || args.instances.contains(&i.instance_id))
}

/// Running primary instances go in; the others are left out with why. Each id once.
pub(super) fn sort_out(found: Vec<(String, DbInstance)>) -> (Vec<Member>, Vec<LeftOut>) {
    let mut seen = BTreeSet::new();
    let mut members = Vec::new();
    let mut left = Vec::new();
    for (region, i) in found {
        if !seen.insert(i.instance_id.clone()) {
            continue;
        }
        let member = Member {
            id: i.instance_id.clone(),
            name: i.instance_name.clone(),
            region: if i.region.is_empty() {
                region
            } else {
                i.region.clone()
            },
        };
        let why = match (i.instance_type, i.status) {
            (Some(READ_ONLY), _) => Some("read-only instance: roll back its primary"),
            (Some(DISASTER_RECOVERY), _) => {
                Some("disaster-recovery instance: roll back its primary")
            }
            (Some(t), _) if t != PRIMARY => Some("not a primary instance"),
            (_, Some(s)) if s != RUNNING => Some("not running (creating or isolated)"),
            _ => None,
        };
        match why {
            Some(why) => left.push(LeftOut { member, why }),
            None => members.push(member),
        }
    }
    (members, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_primaries_go_in_and_each_other_says_why() {
        let item = |id: &str, t: i64, s: i64| DbInstance {
            instance_id: id.into(),
            instance_type: Some(t),
            status: Some(s),
            ..Default::default()
        };
        let (members, left) = sort_out(vec![
            ("gz".into(), item("cdb-aaaaaaaa", 1, 1)),
            ("gz".into(), item("cdb-rrrrrrrr", 3, 1)),
            ("gz".into(), item("cdb-dddddddd", 2, 1)),
            ("gz".into(), item("cdb-iiiiiiii", 1, 5)),
            ("gz".into(), item("cdb-aaaaaaaa", 1, 1)),
        ]);
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].region, "gz");
        let why: Vec<&str> = left.iter().map(|l| l.why).collect();
        assert_eq!(
            why,
            [
                "read-only instance: roll back its primary",
                "disaster-recovery instance: roll back its primary",
                "not running (creating or isolated)"
            ]
        );
    }
}
