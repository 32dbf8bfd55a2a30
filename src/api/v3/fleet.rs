//! DescribeDBInstances: the fleet, as the official SDK models it (request filters
//! `InstanceIds[]`, `InstanceNames[]`, `Tags[]` of `Tag{Key, Value}`, `Offset`, `Limit` ≤ 2000;
//! answer `TotalCount`, `Items[]` of InstanceInfo with `TagList[]` of `{TagKey, TagValue}`).
//!
//! Only the fields planrun reads are modelled; the others (dozens) are ignored when decoding.

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::envelope::typed;
use super::lenient::{int_ish, nullable};
use crate::api::error::Error;
use crate::api::pages;

pub const DESCRIBE_DB_INSTANCES: &str = "DescribeDBInstances";
/// The documented maximum `Limit` of DescribeDBInstances.
pub const MAX_INSTANCES_PAGE: u64 = 2_000;

/// `InstanceType` values: 1 primary, 2 disaster recovery, 3 read-only.
pub const PRIMARY: i64 = 1;
pub const DISASTER_RECOVERY: i64 = 2;
pub const READ_ONLY: i64 = 3;
/// `Status` 1: running (0 creating, 4 isolating, 5 isolated).
pub const RUNNING: i64 = 1;

/// A tag filter of the request (`Tag`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

/// A tag of an instance in the answer (`TagInfoItem`: other names than the request's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInfoItem {
    #[serde(default, deserialize_with = "nullable")]
    pub tag_key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tag_value: String,
}

/// DescribeDBInstances' body: the filters planrun uses. Empty lists are left out, as the SDKs
/// do (an empty filter would be read as "match nothing" by a strict server).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDbInstancesRequest {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub instance_ids: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub instance_names: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// One instance of the answer (`InstanceInfo`, the fields planrun reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DbInstance {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub instance_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub region: String,
    #[serde(default, deserialize_with = "nullable")]
    pub zone: String,
    #[serde(default, deserialize_with = "int_ish")]
    pub instance_type: Option<i64>,
    #[serde(default, deserialize_with = "int_ish")]
    pub status: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub engine_version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub tag_list: Vec<TagInfoItem>,
    /// The instance's MySQL address inside its VPC (`compare`, `merge`).
    #[serde(default, deserialize_with = "nullable")]
    pub vip: String,
    #[serde(default, deserialize_with = "int_ish")]
    pub vport: Option<i64>,
}

impl DbInstance {
    /// Whether the instance carries `key` = `value`.
    pub fn has_tag(&self, key: &str, value: &str) -> bool {
        self.tag_list
            .iter()
            .any(|t| t.tag_key == key && t.tag_value == value)
    }
}

/// The answer of DescribeDBInstances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DbInstancesAnswer {
    #[serde(default, deserialize_with = "int_ish")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<DbInstance>,
}

impl Client {
    /// Every instance matching `filter` in this client's region, all pages (`Offset` and
    /// `Limit` of `filter` are set here).
    pub async fn db_instances(
        &self,
        filter: &DescribeDbInstancesRequest,
    ) -> Result<Vec<DbInstance>, Error> {
        let listing = pages::Listing {
            action: DESCRIBE_DB_INSTANCES,
            limit: MAX_INSTANCES_PAGE,
            max_pages: pages::MAX_PAGES,
        };
        pages::all(listing, |offset| {
            let body = DescribeDbInstancesRequest {
                offset: Some(offset),
                limit: Some(MAX_INSTANCES_PAGE),
                ..filter.clone()
            };
            async move {
                let answer: DbInstancesAnswer = self
                    .call(DESCRIBE_DB_INSTANCES, &body, true, |v| {
                        typed(DESCRIBE_DB_INSTANCES, v)
                    })
                    .await?;
                Ok((answer.items, answer.total_count))
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_request_uses_tag_key_value_and_leaves_empty_filters_out() {
        let body = DescribeDbInstancesRequest {
            tags: vec![Tag {
                key: "service".into(),
                value: "orders".into(),
            }],
            offset: Some(0),
            limit: Some(MAX_INSTANCES_PAGE),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"Tags": [{"Key": "service", "Value": "orders"}], "Offset": 0, "Limit": 2000})
        );
    }

    #[test]
    fn the_answer_reads_tag_list_with_tag_key_and_tolerates_nulls() {
        let answer: DbInstancesAnswer = serde_json::from_value(json!({
            "TotalCount": "2",
            "Items": [
                {"InstanceId": "cdb-ord00001", "InstanceName": "orders-gz-01",
                 "Region": "ap-guangzhou", "Zone": "ap-guangzhou-3", "InstanceType": 1,
                 "Status": 1, "EngineVersion": "8.0", "Memory": 4000,
                 "Vip": "10.0.0.12", "Vport": "3306",
                 "TagList": [{"TagKey": "service", "TagValue": "orders"}]},
                {"InstanceId": "cdb-ordro001", "InstanceName": null, "InstanceType": "3",
                 "TagList": null}
            ]
        }))
        .unwrap();
        assert_eq!(answer.total_count, Some(2));
        let [a, b] = &answer.items[..] else {
            panic!("{answer:?}")
        };
        assert!(a.has_tag("service", "orders") && !a.has_tag("service", "billing"));
        assert_eq!(a.instance_type, Some(PRIMARY));
        assert_eq!((a.vip.as_str(), a.vport), ("10.0.0.12", Some(3306)));
        assert_eq!(
            (b.instance_type, b.instance_name.as_str()),
            (Some(READ_ONLY), "")
        );
        assert!(b.tag_list.is_empty());
    }
}
