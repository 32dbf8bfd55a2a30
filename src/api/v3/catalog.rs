//! DescribeDatabases and DescribeTables: what an instance holds, as the official SDK models it
//! (`InstanceId`, `Database` for tables, `Offset`, `Limit` ≤ 5000 → `TotalCount`, `Items[]`
//! of names; DescribeDatabases also `DatabaseList[]{DatabaseName, CharacterSet}`).

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::envelope::typed;
use super::lenient::{int_ish, nullable};
use crate::api::error::Error;
use crate::api::pages;

pub const DESCRIBE_DATABASES: &str = "DescribeDatabases";
pub const DESCRIBE_TABLES: &str = "DescribeTables";
/// The documented maximum `Limit` of both actions: one call lists almost any instance.
pub const MAX_NAMES_PAGE: u64 = 5_000;

/// DescribeDatabases' body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDatabasesRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// DescribeTables' body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTablesRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `DatabasesWithCharacterLists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DatabaseWithCharset {
    #[serde(default, deserialize_with = "nullable")]
    pub database_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub character_set: String,
}

/// The answer of either action: names in `Items` (and, for databases, in `DatabaseList`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamesAnswer {
    #[serde(default, deserialize_with = "int_ish")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub database_list: Vec<DatabaseWithCharset>,
}

impl NamesAnswer {
    /// The names of this page: `Items`, or `DatabaseList` when only that was filled.
    pub fn names(self) -> Vec<String> {
        let items: Vec<String> = self.items.into_iter().flatten().collect();
        if items.is_empty() {
            self.database_list
                .into_iter()
                .map(|d| d.database_name)
                .filter(|n| !n.is_empty())
                .collect()
        } else {
            items
        }
    }
}

/// The paging of DescribeDatabases or DescribeTables.
fn names_listing(action: &'static str) -> pages::Listing {
    pages::Listing {
        action,
        limit: MAX_NAMES_PAGE,
        max_pages: pages::MAX_PAGES,
    }
}

impl Client {
    /// Every database of the instance (all pages).
    pub async fn databases(&self, instance_id: &str) -> Result<Vec<String>, Error> {
        pages::all(names_listing(DESCRIBE_DATABASES), |offset| {
            let body = DescribeDatabasesRequest {
                instance_id: instance_id.to_owned(),
                offset: Some(offset),
                limit: Some(MAX_NAMES_PAGE),
            };
            async move { self.names(DESCRIBE_DATABASES, &body).await }
        })
        .await
    }

    /// Every table of one database of the instance (all pages).
    pub async fn tables(&self, instance_id: &str, database: &str) -> Result<Vec<String>, Error> {
        pages::all(names_listing(DESCRIBE_TABLES), |offset| {
            let body = DescribeTablesRequest {
                instance_id: instance_id.to_owned(),
                database: database.to_owned(),
                offset: Some(offset),
                limit: Some(MAX_NAMES_PAGE),
            };
            async move { self.names(DESCRIBE_TABLES, &body).await }
        })
        .await
    }

    async fn names<B: Serialize>(
        &self,
        action: &'static str,
        body: &B,
    ) -> Result<(Vec<String>, Option<i64>), Error> {
        let answer: NamesAnswer = self.call(action, body, true, |v| typed(action, v)).await?;
        // TotalCount counts what Items would hold over all pages: keep it with the page size
        // it was measured against (Items, or DatabaseList when Items is empty).
        let total = answer.total_count;
        Ok((answer.names(), total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_items_or_the_database_list() {
        let a: NamesAnswer = serde_json::from_value(json!({
            "TotalCount": 2, "Items": ["orders", null, "shop"],
            "DatabaseList": [{"DatabaseName": "orders", "CharacterSet": "utf8mb4"}]
        }))
        .unwrap();
        assert_eq!(a.names(), ["orders", "shop"]);
        let b: NamesAnswer = serde_json::from_value(json!({
            "TotalCount": 1, "Items": null,
            "DatabaseList": [{"DatabaseName": "ledger", "CharacterSet": null}]
        }))
        .unwrap();
        assert_eq!(b.names(), ["ledger"]);
        let c: NamesAnswer = serde_json::from_value(json!({"TotalCount": null})).unwrap();
        assert!(c.names().is_empty());
    }

    #[test]
    fn requests_are_spelled_as_the_sdk_spells_them() {
        let body = DescribeTablesRequest {
            instance_id: "cdb-ord00001".into(),
            database: "orders".into(),
            offset: Some(0),
            limit: Some(MAX_NAMES_PAGE),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"InstanceId": "cdb-ord00001", "Database": "orders", "Offset": 0, "Limit": 5000})
        );
    }
}
