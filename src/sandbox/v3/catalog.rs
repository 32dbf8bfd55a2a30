//! The catalog's answers ([`crate::sandbox::catalog`]): DescribeDBInstances (the fleet in
//! the request's region, filtered, paged with Offset / Limit ≤ 2000, default 20),
//! DescribeDatabases and DescribeTables (what an instance holds now, its successful
//! rollbacks' targets included; Limit ≤ 5000, default 20).
//!
//! Filters the documentation leaves open are read the strict way: every `Tags` entry must
//! match (the planrun client checks `TagList` again anyway), an `InstanceNames` entry matches
//! a name containing it. Other documented filters are accepted and ignored.

use std::time::Instant;

use serde_json::{Value, json};

use super::super::config::Config;
use super::super::shared::Inner;
use super::answer::ApiError;
use super::params::Body;
use crate::api::v3::fleet::Tag;

const DEFAULT_LIMIT: u64 = 20;
const MAX_INSTANCES: u64 = 2_000;
const MAX_NAMES: u64 = 5_000;

/// Documented request fields of DescribeDBInstances that this emulator ignores.
const IGNORED_FILTERS: &[&str] = &[
    "ProjectId",
    "Vips",
    "SecurityGroupId",
    "PayTypes",
    "TaskStatus",
    "EngineVersions",
    "VpcIds",
    "ZoneIds",
    "SubnetIds",
    "CdbErrors",
    "OrderBy",
    "OrderDirection",
    "WithSecurityGroup",
    "WithExCluster",
    "ExClusterId",
    "InitFlag",
    "WithDr",
    "WithRo",
    "WithMaster",
    "DeployGroupIds",
    "TagKeysForSearch",
    "CageIds",
    "TagValues",
    "UniqueVpcIds",
    "UniqSubnetIds",
    "ProxyVips",
    "ProxyIds",
    "EngineTypes",
    "QueryClusterInfo",
];

/// DescribeDBInstances in `region` (the `X-TC-Region` header).
pub fn db_instances(config: &Config, body: &Body, region: &str) -> Result<Value, ApiError> {
    let honoured = [
        "InstanceIds",
        "InstanceNames",
        "Tags",
        "InstanceTypes",
        "Status",
        "Offset",
        "Limit",
    ];
    let known: Vec<&str> = honoured.iter().chain(IGNORED_FILTERS).copied().collect();
    body.only(&known)?;
    let ids = strings(body, "InstanceIds")?;
    let names = strings(body, "InstanceNames")?;
    let types = super::tasks::integers(body, "InstanceTypes")?;
    let statuses = super::tasks::integers(body, "Status")?;
    let tags: Vec<Tag> = match body.0.get("Tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| ApiError::invalid("Tags must be a list of {Key, Value}"))?,
    };
    let offset = body.integer("Offset", 0, 0, u64::MAX)?;
    let limit = body.integer("Limit", DEFAULT_LIMIT, 1, MAX_INSTANCES)?;
    let matching: Vec<_> = config
        .catalog
        .instances
        .iter()
        .filter(|i| i.region == region)
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| names.is_empty() || names.iter().any(|n| i.name.contains(n)))
        .filter(|i| types.is_empty() || types.contains(&i.kind.code()))
        .filter(|i| statuses.is_empty() || statuses.contains(&i.status))
        .filter(|i| {
            tags.iter()
                .all(|t| i.tags.get(&t.key).is_some_and(|v| *v == t.value))
        })
        .collect();
    let items: Vec<Value> = matching
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|i| {
            let tags: Vec<Value> = i
                .tags
                .iter()
                .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
                .collect();
            let zone = if i.zone.is_empty() {
                format!("{}-3", i.region)
            } else {
                i.zone.clone()
            };
            let (vip, vport) = i
                .address
                .as_deref()
                .and_then(crate::sandbox::catalog_address)
                .unwrap_or((String::new(), 3306));
            json!({
                "InstanceId": i.id,
                "InstanceName": i.name,
                "Region": i.region,
                "Zone": zone,
                "InstanceType": i.kind.code(),
                "Status": i.status,
                "EngineVersion": i.engine_version,
                "ProjectId": 0,
                "Vip": vip,
                "Vport": vport,
                "TagList": tags,
            })
        })
        .collect();
    Ok(json!({ "TotalCount": matching.len(), "Items": items }))
}

/// DescribeDatabases.
pub fn databases(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    body.only(&["InstanceId", "Offset", "Limit", "DatabaseRegexp"])?;
    let id = body.instance(config, "InstanceId")?;
    inner.object_polls.record(id, now);
    let objects = config.catalog.objects(
        &inner.tasks,
        id,
        now,
        super::super::shared::scaled(config, config.visible_after_seconds),
    );
    let names: Vec<&String> = objects.keys().collect();
    let (total, page) = page(body, &names)?;
    let list: Vec<Value> = page
        .iter()
        .map(|n| json!({"DatabaseName": n, "CharacterSet": "utf8mb4"}))
        .collect();
    Ok(json!({ "TotalCount": total, "Items": page, "DatabaseList": list }))
}

/// DescribeTables; an unknown database has no tables.
pub fn tables(
    config: &Config,
    inner: &mut Inner,
    body: &Body,
    now: Instant,
) -> Result<Value, ApiError> {
    body.only(&["InstanceId", "Database", "Offset", "Limit", "TableRegexp"])?;
    let id = body.instance(config, "InstanceId")?;
    let database = body.required_string("Database")?;
    inner.object_polls.record(id, now);
    let objects = config.catalog.objects(
        &inner.tasks,
        id,
        now,
        super::super::shared::scaled(config, config.visible_after_seconds),
    );
    let names: Vec<&String> = objects
        .get(database)
        .map(|t| t.iter().collect())
        .unwrap_or_default();
    let (total, page) = page(body, &names)?;
    Ok(json!({ "TotalCount": total, "Items": page }))
}

/// `Offset` / `Limit` over sorted names → (TotalCount, the page).
fn page<'a>(body: &Body, names: &[&'a String]) -> Result<(usize, Vec<&'a String>), ApiError> {
    let offset = body.integer("Offset", 0, 0, u64::MAX)?;
    let limit = body.integer("Limit", DEFAULT_LIMIT, 1, MAX_NAMES)?;
    let page = names
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .copied()
        .collect();
    Ok((names.len(), page))
}

fn strings<'b>(body: &'b Body, name: &str) -> Result<Vec<&'b str>, ApiError> {
    match body.0.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ApiError::invalid(format!("{name} must be strings")))
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(format!("{name} must be an array"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::shared::Shared;

    fn body(text: &str) -> Body {
        Body::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn ids(answer: &Value) -> Vec<&str> {
        answer["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["InstanceId"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn instances_are_listed_per_region_and_filtered_by_every_tag() {
        let config = Config::demo();
        let all = db_instances(&config, &body(r#"{"Limit": 100}"#), "ap-shanghai").unwrap();
        assert_eq!(ids(&all), ["cdb-ord10001", "cdb-ord10002", "cdb-orddr001"]);
        assert_eq!(all["Items"][2]["InstanceType"], 2);
        assert_eq!(
            all["Items"][0]["TagList"][1],
            json!({"TagKey": "service", "TagValue": "orders"})
        );
        let tagged = db_instances(
            &config,
            &body(r#"{"Tags": [{"Key": "service", "Value": "billing"}, {"Key": "env", "Value": "prod"}]}"#),
            "ap-guangzhou",
        )
        .unwrap();
        assert_eq!(ids(&tagged), ["cdb-ledger01"]);
        let none = db_instances(
            &config,
            &body(r#"{"Tags": [{"Key": "service", "Value": "billing"}, {"Key": "env", "Value": "dev"}]}"#),
            "ap-guangzhou",
        )
        .unwrap();
        assert_eq!(
            (none["TotalCount"].as_u64(), ids(&none).len()),
            (Some(0), 0)
        );
        let named = db_instances(
            &config,
            &body(r#"{"InstanceNames": ["paygw", "report"], "InstanceTypes": [1]}"#),
            "ap-guangzhou",
        )
        .unwrap();
        assert_eq!(ids(&named), ["cdb-report01", "cdb-paygw001"]);
    }

    #[test]
    fn instance_pages_follow_offset_and_limit() {
        let config = Config::demo();
        let page = db_instances(
            &config,
            &body(r#"{"Offset": 8, "Limit": 2}"#),
            "ap-guangzhou",
        )
        .unwrap();
        assert_eq!(page["TotalCount"], 10);
        assert_eq!(ids(&page), ["cdb-report01", "cdb-paygw001"]);
        for bad in [r#"{"Limit": 2001}"#, r#"{"Tags": [1]}"#, r#"{"Colour": 1}"#] {
            assert!(
                db_instances(&config, &body(bad), "ap-guangzhou").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn databases_and_tables_are_listed_and_paged() {
        let shared = Shared::new(Config::demo());
        let mut inner = shared.lock();
        let now = Instant::now();
        let dbs = databases(
            &shared.config,
            &mut inner,
            &body(r#"{"InstanceId": "cdb-ord00001", "Limit": 3, "Offset": 1}"#),
            now,
        )
        .unwrap();
        assert_eq!(dbs["TotalCount"], 10);
        assert_eq!(dbs["Items"], json!(["crm", "gateway", "ledger"]));
        assert_eq!(dbs["DatabaseList"][0]["DatabaseName"], "crm");
        let tables = tables(
            &shared.config,
            &mut inner,
            &body(r#"{"InstanceId": "cdb-ord00001", "Database": "orders", "Limit": 5000}"#),
            now,
        )
        .unwrap();
        assert_eq!(
            tables["Items"],
            json!(["invoices", "order_items", "payments", "refunds"])
        );
        let unknown = super::tables(
            &shared.config,
            &mut inner,
            &body(r#"{"InstanceId": "cdb-ord00001", "Database": "nope"}"#),
            now,
        )
        .unwrap();
        assert_eq!(unknown["TotalCount"], 0);
        let missing = super::tables(
            &shared.config,
            &mut inner,
            &body(r#"{"InstanceId": "cdb-ord00001"}"#),
            now,
        );
        assert_eq!(missing.map_err(|e| e.code).err(), Some("MissingParameter"));
    }
}
