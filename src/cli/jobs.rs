//! `planrun jobs INSTANCE`: the instance's rollback tasks, one page or all, through the
//! engine ([`jobs::list`]: GetCdbRollbackJob on API 2.0, DescribeRollbackTaskDetail on API
//! 3.0), rendered the same way for both ([`crate::render::jobs`]).

use super::api_args::ApiArgs;
use super::{Error, exit};
use crate::api::credentials::Credentials;
use crate::engine::listing::{JobsQuery, Listing};
use crate::engine::ops::jobs::MAX_PAGE;
use crate::engine::ops::{connect, jobs};
use crate::render::jobs::{human, to_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table.
    Human,
    /// A JSON array of tasks.
    Json,
}

/// List an instance's rollback tasks (API 3.0: DescribeRollbackTaskDetail, every request;
/// API 2.0 with --api v2: GetCdbRollbackJob).
#[derive(Debug, Clone, clap::Args)]
pub struct JobsArgs {
    /// The instance id, e.g. cdb-mo64xu70.
    #[arg(value_name = "INSTANCE")]
    pub instance: String,
    /// Every task, paging through all of them (100 per request).
    #[arg(long, conflicts_with_all = ["limit", "offset"])]
    pub all: bool,
    /// Tasks per page (at most 100).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE)))]
    pub limit: u32,
    /// Tasks to skip.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Runs `planrun jobs`: 0, or 2 with a diagnostic (`docs/contract.md` §2).
pub fn run(args: JobsArgs) -> Result<i32, Error> {
    let listing = fetch(&args)?;
    match args.format {
        Format::Human => out!("{}", human(&args.instance, &listing, args.offset)),
        Format::Json => outln!("{}", to_json(&listing)),
    }
    Ok(exit::OK)
}

/// Credentials (environment, credential files) and a region, or why not.
fn credentials(args: &JobsArgs) -> Result<Credentials, Error> {
    let credentials = args.api.credentials()?.credentials;
    // The API answers an error without a Region; say so before sending anything.
    if args
        .api
        .region
        .as_deref()
        .is_none_or(|r| r.trim().is_empty())
    {
        return Err(Error::Diagnostic(Box::new(
            miette::MietteDiagnostic::new("no region given")
                .with_code("planrun::missing_region")
                .with_help("pass --region (e.g. ap-guangzhou) or set TENCENTCLOUD_REGION"),
        )));
    }
    Ok(credentials)
}

fn fetch(args: &JobsArgs) -> Result<Listing, Error> {
    let credentials = credentials(args)?;
    let config = args.api.client_config(credentials);
    let protocol = connect::protocol(args.api.api, config)?;
    let query = if args.all {
        JobsQuery::All
    } else {
        JobsQuery::Page {
            offset: args.offset,
            limit: args.limit,
        }
    };
    let runtime = super::runtime(1)?;
    Ok(runtime.block_on(jobs::list(&protocol, &args.instance, query))?)
}
