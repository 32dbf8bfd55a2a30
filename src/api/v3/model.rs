//! API 3.0 request bodies and answers of the rollback actions, as JSON types.
//!
//! Both directions use the same types (the sandbox decodes requests with them). Decoding is
//! lenient the way the cloud needs it: `null` or missing lists and strings become empty,
//! numbers may come as strings. Empty lists are left out when sending, as the SDKs do.

use serde::{Deserialize, Serialize};

use super::lenient::{int_ish, nullable, one_or_many, text_ish};

pub use super::range::{
    DescribeRollbackRangeTimeRequest, InstanceRollbackRangeTime, RangeTimeAnswer, RollbackTimeRange,
};

use crate::api::rollback::{
    DatabaseRename, DatabaseTables, InstanceRollback, RollbackSpec, Strategy, TableRename,
};

/// `RollbackDBName`: a database and its new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackDbName {
    #[serde(default, deserialize_with = "nullable")]
    pub database_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub new_database_name: String,
}

/// `RollbackTableName`: a table and its new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackTableName {
    #[serde(default, deserialize_with = "nullable")]
    pub table_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub new_table_name: String,
}

/// `RollbackTables`: the tables of one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackTables {
    #[serde(default, deserialize_with = "nullable")]
    pub database: String,
    #[serde(default, deserialize_with = "nullable")]
    pub table: Vec<RollbackTableName>,
}

/// `RollbackInstancesInfo`: one instance of StartBatchRollback, and one entry of a task's
/// `Detail` in DescribeRollbackTaskDetail (where any field may be `null` or absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackInstancesInfo {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub strategy: String,
    #[serde(default, deserialize_with = "nullable")]
    pub rollback_time: String,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub databases: Vec<RollbackDbName>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tables: Vec<RollbackTables>,
}

impl From<&InstanceRollback> for RollbackInstancesInfo {
    fn from(r: &InstanceRollback) -> Self {
        Self {
            instance_id: r.instance_id.clone(),
            strategy: r.spec.strategy.as_str().to_owned(),
            rollback_time: r.spec.rollbacktime.clone(),
            databases: r
                .spec
                .dbs
                .iter()
                .map(|d| RollbackDbName {
                    database_name: d.dbname.clone(),
                    new_database_name: d.newname.clone(),
                })
                .collect(),
            tables: r
                .spec
                .tables
                .iter()
                .map(|t| RollbackTables {
                    database: t.db.clone(),
                    table: t
                        .table
                        .iter()
                        .map(|n| RollbackTableName {
                            table_name: n.tablename.clone(),
                            new_table_name: n.newname.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl RollbackInstancesInfo {
    /// The protocol-neutral spec; `None` without a known strategy or a rollback time (then a
    /// task cannot be matched against a submission, so it never is).
    pub fn spec(&self) -> Option<RollbackSpec> {
        let strategy = Strategy::parse(self.strategy.trim().to_ascii_lowercase().as_str())?;
        if self.rollback_time.trim().is_empty() {
            return None;
        }
        Some(RollbackSpec {
            rollbacktime: self.rollback_time.trim().to_owned(),
            strategy,
            dbs: self
                .databases
                .iter()
                .map(|d| DatabaseRename {
                    dbname: d.database_name.clone(),
                    newname: d.new_database_name.clone(),
                })
                .collect(),
            tables: self
                .tables
                .iter()
                .map(|t| DatabaseTables {
                    db: t.database.clone(),
                    table: t
                        .table
                        .iter()
                        .map(|n| TableRename {
                            tablename: n.table_name.clone(),
                            newname: n.new_table_name.clone(),
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// StartBatchRollback's body: `{"Instances": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartBatchRollbackRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instances: Vec<RollbackInstancesInfo>,
}

impl StartBatchRollbackRequest {
    /// The exact body bytes sent for these instances: what `plan --show-requests` shows and
    /// what the client signs and sends are this one value.
    pub fn body(instances: &[InstanceRollback]) -> String {
        let request = Self {
            instances: instances.iter().map(RollbackInstancesInfo::from).collect(),
        };
        // A struct of strings and lists always serialises.
        serde_json::to_string(&request).unwrap_or_default()
    }
}

/// DescribeRollbackTaskDetail's body. Without `AsyncRequestId` every rollback task of the
/// instance is listed (the parameter is optional in the API reference).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeRollbackTaskDetailRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_request_id: Option<String>,
    #[serde(default, deserialize_with = "int_ish")]
    pub offset: Option<i64>,
    #[serde(default, deserialize_with = "int_ish")]
    pub limit: Option<i64>,
}

/// StopRollback's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopRollbackRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub instance_id: String,
}

/// The answer of StartBatchRollback and StopRollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsyncRequestAnswer {
    #[serde(default, deserialize_with = "text_ish")]
    pub async_request_id: Option<String>,
}

/// `RollbackTask`: one item of DescribeRollbackTaskDetail. It does not carry the
/// AsyncRequestId it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackTask {
    #[serde(default, deserialize_with = "text_ish")]
    pub info: Option<String>,
    /// INITIAL, RUNNING, SUCCESS, FAILED, KILLED, REMOVED, PAUSED, UNDEFINED, or anything else.
    #[serde(default, deserialize_with = "text_ish")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "int_ish")]
    pub progress: Option<i64>,
    #[serde(default, deserialize_with = "text_ish")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "text_ish")]
    pub end_time: Option<String>,
    /// Documented as a list; a single object is accepted too.
    #[serde(default, deserialize_with = "one_or_many")]
    pub detail: Vec<RollbackInstancesInfo>,
}

impl RollbackTask {
    /// Progress clamped to 0..=100.
    pub fn percent(&self) -> Option<u8> {
        self.progress
            .map(|p| u8::try_from(p.clamp(0, 100)).unwrap_or(100))
    }

    /// The `Detail` entry of `instance`, or the only entry when it names no instance.
    pub fn detail_of(&self, instance: &str) -> Option<&RollbackInstancesInfo> {
        self.detail
            .iter()
            .find(|d| d.instance_id == instance)
            .or(match self.detail.as_slice() {
                [only] if only.instance_id.is_empty() => Some(only),
                _ => None,
            })
    }
}

/// The answer of DescribeRollbackTaskDetail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RollbackTaskPage {
    #[serde(default, deserialize_with = "int_ish")]
    pub total_count: Option<i64>,
    #[serde(default, deserialize_with = "nullable")]
    pub items: Vec<RollbackTask>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance() -> InstanceRollback {
        InstanceRollback {
            instance_id: "cdb-mo64xu70".into(),
            spec: RollbackSpec {
                rollbacktime: "2026-11-20 03:15:00".into(),
                strategy: Strategy::Table,
                dbs: vec![],
                tables: vec![DatabaseTables {
                    db: "orders".into(),
                    table: vec![TableRename {
                        tablename: "payments".into(),
                        newname: "payments_bak".into(),
                    }],
                }],
            },
        }
    }

    #[test]
    fn start_batch_rollback_body_is_exactly_the_documented_shape() {
        let body = StartBatchRollbackRequest {
            instances: vec![(&instance()).into()],
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"Instances":[{"InstanceId":"cdb-mo64xu70","Strategy":"table","RollbackTime":"2026-11-20 03:15:00","Tables":[{"Database":"orders","Table":[{"TableName":"payments","NewTableName":"payments_bak"}]}]}]}"#
        );
    }

    #[test]
    fn a_detail_gives_back_the_spec_it_was_sent_as() {
        let sent = instance();
        let info = RollbackInstancesInfo::from(&sent);
        assert_eq!(info.spec(), Some(sent.spec));
        let mut db = RollbackInstancesInfo::from(&instance());
        db.strategy = "DB".into();
        assert_eq!(db.spec().map(|s| s.strategy), Some(Strategy::Db));
        db.strategy = "weird".into();
        assert_eq!(db.spec(), None);
    }

    #[test]
    fn nulls_and_missing_fields_decode_to_empty() {
        let page: RollbackTaskPage = serde_json::from_value(json!({
            "TotalCount": "2",
            "Items": [
                {"Status": "RUNNING", "Progress": "40", "StartTime": null, "Detail": null,
                 "Info": null},
                {"Status": null, "Detail": [{"InstanceId": null, "Strategy": "db",
                  "RollbackTime": "2026-11-20 03:15:00", "Databases": null, "Tables": null}]},
                {}
            ]
        }))
        .unwrap();
        assert_eq!(page.total_count, Some(2));
        assert_eq!(page.items.len(), 3);
        assert_eq!(page.items[0].percent(), Some(40));
        assert_eq!(page.items[0].start_time, None);
        assert!(page.items[0].detail.is_empty());
        assert_eq!(page.items[1].status, None);
        let only = page.items[1].detail_of("cdb-anything").unwrap();
        assert!(only.databases.is_empty() && only.tables.is_empty());
        assert_eq!(page.items[2], RollbackTask::default());
        let single: RollbackTask = serde_json::from_value(json!({
            "Detail": {"InstanceId": "cdb-a", "Strategy": "full", "RollbackTime": "2026-11-20 03:15:00"}
        }))
        .unwrap();
        assert_eq!(single.detail.len(), 1);
        assert_eq!(single.detail[0].instance_id, "cdb-a");
        let empty: RollbackTaskPage = serde_json::from_value(json!({"Items": null})).unwrap();
        assert!(empty.items.is_empty() && empty.total_count.is_none());
    }

    #[test]
    fn progress_is_clamped_and_detail_is_found_by_instance() {
        let mut t = RollbackTask {
            progress: Some(250),
            ..RollbackTask::default()
        };
        assert_eq!(t.percent(), Some(100));
        t.progress = Some(-3);
        assert_eq!(t.percent(), Some(0));
        let mut a = RollbackInstancesInfo::from(&instance());
        let mut b = a.clone();
        b.instance_id = "cdb-other000".into();
        a.rollback_time = "2026-11-20 01:00:00".into();
        t.detail = vec![b, a];
        assert_eq!(
            t.detail_of("cdb-mo64xu70")
                .map(|d| d.rollback_time.as_str()),
            Some("2026-11-20 01:00:00")
        );
        assert!(t.detail_of("cdb-missing0").is_none());
    }
}
