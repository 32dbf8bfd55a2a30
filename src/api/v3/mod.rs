//! API 3.0 of TencentDB for MySQL (`cdb`, Version 2017-03-20): the client, its JSON types and
//! the answer envelope. Signing is [`crate::api::tc3`].
//!
//! What this relies on (Tencent Cloud API reference for StartBatchRollback,
//! DescribeRollbackTaskDetail, DescribeRollbackRangeTime and StopRollback, and the data
//! structures RollbackInstancesInfo, RollbackDBName, RollbackTables, RollbackTableName,
//! RollbackTask, InstanceRollbackRangeTime, RollbackTimeRange as the official SDKs model them):
//! - StartBatchRollback `{"Instances": [RollbackInstancesInfo]}` → `AsyncRequestId`.
//!   RollbackInstancesInfo = `InstanceId`, `Strategy` (table|db|full), `RollbackTime`,
//!   `Databases[]{DatabaseName, NewDatabaseName}`, `Tables[]{Database, Table[]{TableName,
//!   NewTableName}}`.
//! - DescribeRollbackTaskDetail `InstanceId` (required), `AsyncRequestId` (optional: without it
//!   every rollback task of the instance is listed), `Limit` (default 20, at most 100),
//!   `Offset` → `TotalCount`, `Items[]` of RollbackTask: `Info`, `Status` (INITIAL, RUNNING,
//!   SUCCESS, FAILED, KILLED, REMOVED, PAUSED), `Progress` 0..100, `StartTime`, `EndTime`,
//!   `Detail[]` of RollbackInstancesInfo (documented as possibly `null`). An item does **not**
//!   carry its AsyncRequestId.
//! - DescribeRollbackRangeTime `InstanceIds[]` → `TotalCount`, `Items[]{InstanceId, Code
//!   (integer, 0 = ok), Message, Times[]{Begin, End}}`. No documented bound on the number of
//!   ids per call: callers batch.
//! - StopRollback `InstanceId` → `AsyncRequestId`.
//! - DescribeTasks, DescribeAsyncRequestInfo: see [`tasks`].
//! - DescribeDBInstances, DescribeDatabases, DescribeTables: [`fleet`] and [`catalog`].
//! - Every action: 20 requests/s (DescribeAsyncRequestInfo: 40); errors `Response.Error{Code, Message}` with `RequestId`.

pub mod catalog;
pub mod client;
pub mod envelope;
pub mod fleet;
mod lenient;
pub mod model;
pub mod range;
pub mod tasks;

pub use client::{AsyncRequestId, Client, DEFAULT_ENDPOINT, regional_endpoint};
