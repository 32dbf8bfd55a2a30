//! `new`: a plan from a query of the fleet (API 3.0 DescribeDBInstances, every page, in
//! every region asked), filtered by tags, names and ids: only running primary instances go
//! in, the others are left out with why. The plan's text is [`text`]'s; it is validated
//! before it is written, and written whole or not at all.

mod text;

use std::collections::BTreeSet;
use std::path::Path;

use crate::api::v3::fleet::{
    DISASTER_RECOVERY, DbInstance, DescribeDbInstancesRequest, PRIMARY, READ_ONLY, RUNNING, Tag,
};
use crate::engine::any::AnyProtocol;
pub use text::{LeftOut, Member, Origin, Spec, plan};

/// Which instances to look for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Every tag must match (`KEY`, `VALUE`).
    pub tags: Vec<(String, String)>,
    /// Any may match: a name containing one, any case.
    pub names: Vec<String>,
    /// Any may match.
    pub instances: Vec<String>,
}

/// Why the fleet could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot list the instances of {region}; nothing was written")]
    List {
        region: String,
        #[source]
        source: crate::api::Error,
    },
    #[error("DescribeDBInstances is API 3.0's")]
    NotV3,
}

/// Every instance the filters match, per region, in the order of `regions`.
pub async fn query(
    protocol: &AnyProtocol,
    query: &Query,
    regions: &[String],
) -> Result<Vec<(String, DbInstance)>, Error> {
    let Some(client) = protocol.v3().map(|v| v.client().clone()) else {
        return Err(Error::NotV3);
    };
    let filter = DescribeDbInstancesRequest {
        instance_ids: query.instances.clone(),
        instance_names: query.names.clone(),
        tags: query
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
    for region in regions {
        let items = client
            .with_region(region)
            .db_instances(&filter)
            .await
            .map_err(|source| Error::List {
                region: region.clone(),
                source,
            })?;
        found.extend(
            items
                .into_iter()
                .filter(|i| wanted(query, i))
                .map(|i| (region.clone(), i)),
        );
    }
    Ok(found)
}

/// The filters again, on the answer: how the API combines several tags or names is not
/// documented, so what it returns is held to "every tag, any name, any id".
fn wanted(args: &Query, i: &DbInstance) -> bool {
    let name = i.instance_name.to_lowercase();
    args.tags.iter().all(|(k, v)| i.has_tag(k, v))
        && (args.names.is_empty() || args.names.iter().any(|n| name.contains(&n.to_lowercase())))
        && (args.instances.is_empty() || args.instances.contains(&i.instance_id))
}

/// Running primary instances go in; the others are left out with why. Each id once.
pub fn sort_out(found: Vec<(String, DbInstance)>) -> (Vec<Member>, Vec<LeftOut>) {
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

/// The schema as seen from the plan's directory: the nearest `schemas/plan.schema.json` up
/// the tree, else where it is from `plans/` of a checkout.
pub fn schema_path(out: Option<&Path>) -> String {
    const FALLBACK: &str = "../schemas/plan.schema.json";
    let dir = out.and_then(|o| o.parent()).map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    });
    let Some(dir) = dir.and_then(|d| d.canonicalize().ok()) else {
        return FALLBACK.to_owned();
    };
    for (up, ancestor) in dir.ancestors().enumerate() {
        if ancestor.join("schemas/plan.schema.json").is_file() {
            return format!("{}schemas/plan.schema.json", "../".repeat(up));
        }
    }
    FALLBACK.to_owned()
}

/// Writes the plan's `text` to `path` whole or not at all (a temporary file renamed into
/// place).
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp-new");
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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
