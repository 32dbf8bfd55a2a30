//! `jobs`: an instance's rollback tasks, one page or all, through the engine's protocol
//! (GetCdbRollbackJob on API 2.0, DescribeRollbackTaskDetail on API 3.0).

use crate::engine::any::AnyProtocol;

/// The most jobs one listing asks for (API 2.0's page; `--limit`'s bound).
pub const MAX_PAGE: u32 = crate::api::v2::MAX_PAGE;
use crate::engine::listing::{JobsQuery, Listing};
use crate::engine::protocol::Protocol as _;

/// The tasks of `instance` the query asks for.
pub async fn list(
    protocol: &AnyProtocol,
    instance: &str,
    query: JobsQuery,
) -> Result<Listing, crate::api::Error> {
    protocol.jobs(None, instance, query).await
}
