//! `new`: a plan from a query of the fleet (API 3.0 DescribeDBInstances, every page, in
//! every region asked), filtered by tags, names and ids: only running primary instances go
//! in, the others are left out with why. The plan's text is `text`'s; it is validated
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
    #[error(
        "--instance {} not found in {}; nothing was written",
        .ids.join(", "),
        .regions.join(", ")
    )]
    NotFound {
        ids: Vec<String>,
        regions: Vec<String>,
    },
    #[error(
        "no running primary instance matches in {}; nothing was written",
        .0.join(", ")
    )]
    NoMatch(Vec<String>),
}

/// What [`query`] found: each instance with the region it was found in.
pub type Found = Vec<(String, DbInstance)>;

/// Every instance the filters match, per region, in the order of `regions`.
pub async fn query(
    protocol: &AnyProtocol,
    query: &Query,
    regions: &[String],
) -> Result<Found, Error> {
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

impl Spec {
    /// What a plan asks of every instance, from `--tables DB.TABLE,...` and `--dbs DB,...`,
    /// the strategy's name (default: `table` when only tables are named, else `db`), the
    /// rename template and the time in its timezone; each checked, or why not (naming the
    /// flag).
    pub fn parse(
        (tables, dbs): (&[String], &[String]),
        strategy: Option<&'static str>,
        rename: &str,
        (rollback_time, timezone): (&str, &str),
    ) -> Result<Self, String> {
        if tables.is_empty() && dbs.is_empty() {
            return Err("name what to roll back: --tables DB.TABLE,... and/or --dbs DB,...".into());
        }
        let source = |name: &str, what: &str| {
            if crate::plan::rules::is_source_name(name) {
                Ok(name.to_owned())
            } else {
                Err(format!(
                    "{what} `{name}`: source names are 1 to 64 letters, digits and `_`"
                ))
            }
        };
        let mut by_db: Vec<(String, Vec<String>)> = Vec::new();
        for item in tables.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let (db, table) = item
                .split_once('.')
                .ok_or_else(|| format!("--tables `{item}`: expected DB.TABLE"))?;
            let (db, table) = (source(db, "--tables")?, source(table, "--tables")?);
            match by_db.iter_mut().find(|(d, _)| *d == db) {
                Some((_, list)) if !list.contains(&table) => list.push(table),
                Some(_) => {}
                None => by_db.push((db, vec![table])),
            }
        }
        let mut whole: Vec<String> = Vec::new();
        for db in dbs.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
            let db = source(db, "--dbs")?;
            if !whole.contains(&db) {
                whole.push(db);
            }
        }
        let strategy = strategy.unwrap_or(if whole.is_empty() { "table" } else { "db" });
        if strategy == "table" && !whole.is_empty() {
            return Err("--strategy table cannot roll back whole databases (--dbs)".into());
        }
        if chrono::NaiveDateTime::parse_from_str(rollback_time, crate::contract::TIME_FORMAT)
            .is_err()
        {
            return Err(format!(
                "--rollback-time {rollback_time:?}: expected YYYY-MM-DD HH:MM:SS"
            ));
        }
        if crate::plan::rules::parse_timezone(timezone).is_none() {
            return Err(format!("--timezone {timezone:?}: expected ±HH:MM"));
        }
        if !rename.contains("{name}") {
            return Err(format!("--rename {rename:?} must contain {{name}}"));
        }
        Ok(Self {
            strategy,
            rename: rename.to_owned(),
            rollback_time: rollback_time.to_owned(),
            timezone: timezone.to_owned(),
            tables: by_db,
            dbs: whole,
        })
    }
}

/// The filters again, on the answer: how the API combines several tags or names is not
/// documented, so what it returns is held to "every tag, any name, any id".
fn wanted(args: &Query, i: &DbInstance) -> bool {
    let name = i.instance_name.to_lowercase();
    args.tags.iter().all(|(k, v)| i.has_tag(k, v))
        && (args.names.is_empty() || args.names.iter().any(|n| name.contains(&n.to_lowercase())))
        && (args.instances.is_empty() || args.instances.contains(&i.instance_id))
}

/// Whether a plan can be made of what the query of `regions` found: every instance `asked`
/// for by id was found (whether it goes in or is left out), and some instance goes in.
pub fn check(
    members: &[Member],
    left_out: &[LeftOut],
    asked: &[String],
    regions: &[String],
) -> Result<(), Error> {
    let found = |id: &String| {
        members.iter().any(|m| &m.id == id) || left_out.iter().any(|l| &l.member.id == id)
    };
    let missing: Vec<String> = asked.iter().filter(|id| !found(id)).cloned().collect();
    if !missing.is_empty() {
        let regions = regions.to_vec();
        return Err(Error::NotFound {
            ids: missing,
            regions,
        });
    }
    if members.is_empty() {
        return Err(Error::NoMatch(regions.to_vec()));
    }
    Ok(())
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
