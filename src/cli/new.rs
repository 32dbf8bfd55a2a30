//! `planrun new`: the flags of a plan written from a query of the fleet (API 3.0
//! DescribeDBInstances, every page, in every `--region`), checked before anything is asked;
//! then the query and the plan ([`crate::engine::ops::new`]), validated before it is
//! written, and written whole or not at all.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::api_args::{ApiArgs, Generation, SignatureMethodArg};
use super::{Error, exit};
use crate::contract::Strategy;
use crate::engine::ops::new::{self, Origin, Query, Spec};

/// `--strategy` values: the plan's [`Strategy`], spelled as in a plan.
impl clap::ValueEnum for Strategy {
    fn value_variants<'a>() -> &'a [Self] {
        &[Self::Table, Self::Db, Self::Full]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Write a plan from a query of the fleet (API 3.0 DescribeDBInstances).
// The fields' docs are clap's help text, printed as written: a URL stays bare there.
#[allow(rustdoc::bare_urls)]
#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// Regions to query (repeatable or comma-separated) [env: TENCENTCLOUD_REGION]
    #[arg(
        long = "region",
        value_name = "REGION",
        value_delimiter = ',',
        env = "TENCENTCLOUD_REGION",
        hide_env = true
    )]
    pub regions: Vec<String>,
    /// Only instances with this tag; repeatable, all must match.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Only instances whose name contains TEXT; repeatable, any may match.
    #[arg(long = "instance-name", value_name = "TEXT")]
    pub names: Vec<String>,
    /// Only this instance; repeatable.
    #[arg(long = "instance", value_name = "ID")]
    pub instances: Vec<String>,
    /// Tables to roll back (repeatable or comma-separated).
    #[arg(long, value_name = "DB.TABLE,...", value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Whole databases to roll back (repeatable or comma-separated).
    #[arg(long, value_name = "DB,...", value_delimiter = ',')]
    pub dbs: Vec<String>,
    /// table | db | full [default: table when only tables are named, else db]
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// New names: `{name}` is the source's name.
    #[arg(long, value_name = "TEMPLATE", default_value = "{name}_bak")]
    pub rename: String,
    /// The time to roll back to, in --timezone.
    #[arg(long, value_name = "YYYY-MM-DD HH:MM:SS")]
    pub rollback_time: String,
    /// The instances' clock.
    #[arg(
        long,
        value_name = "±HH:MM",
        default_value = "+08:00",
        allow_hyphen_values = true
    )]
    pub timezone: String,
    /// Write the plan to FILE (whole or not at all) [default: stdout]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace --out FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Query the built-in emulator's demo fleet (no account needed).
    #[arg(long)]
    pub sandbox: bool,
    /// API generation (only v3 can list the fleet).
    #[arg(long, value_enum, default_value_t = Generation::V3)]
    pub api: Generation,
    /// API endpoint URL [default: https://cdb.tencentcloudapi.com/]
    #[arg(long, env = "PLANRUN_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Accept REGION although it is not in planrun's list of TencentDB for MySQL regions (a
    /// region opened after this planrun was made); repeatable.
    #[arg(long = "allow-region", value_name = "REGION")]
    pub allow_region: Vec<String>,
    /// tccli profile for credentials (as elsewhere).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// At most R requests per second for every API action (each at the cloud's documented
    /// limit without it), as for every other command; set it when other tools share the
    /// account's budget.
    #[arg(long, value_name = "R", value_parser = super::api_args::parse_rate)]
    pub rate: Option<f64>,
    /// Requests in flight at most.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
}

fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

impl NewArgs {
    /// The connection flags as every other command has them.
    fn api_args(&self) -> ApiArgs {
        ApiArgs {
            api: self.api,
            endpoint: self.endpoint.clone(),
            region: self.regions.first().cloned(),
            profile: self.profile.clone(),
            signature_method: SignatureMethodArg::HmacSha256,
            rate: self.rate,
            allow_region: self.allow_region.clone(),
            concurrency: self.concurrency,
        }
    }

    /// What the flags ask to roll back, checked before anything is asked of the API.
    fn spec(&self) -> Result<Spec, String> {
        Spec::parse(
            (&self.tables, &self.dbs),
            self.strategy.map(Strategy::as_str),
            &self.rename,
            (&self.rollback_time, &self.timezone),
        )
    }

    /// The command line this plan can be made again with (no credentials in it).
    fn command(&self, spec: &Spec) -> String {
        crate::render::shell::new_command(&self.regions, &self.query(), spec, self.sandbox)
    }

    /// Which instances the fleet query looks for.
    fn query(&self) -> Query {
        Query {
            tags: self.tags.clone(),
            names: self.names.clone(),
            instances: self.instances.clone(),
        }
    }
}

pub fn run(args: &NewArgs) -> Result<i32, Error> {
    let spec = args.spec().map_err(Error::Usage)?;
    if args.api != Generation::V3 {
        return Err(Error::Usage(
            "`planrun new` lists the fleet with API 3.0 (DescribeDBInstances); --api v2 has no such query".into(),
        ));
    }
    let regions: Vec<String> = dedup(args.regions.iter().map(|r| r.trim().to_owned()));
    if regions.is_empty() {
        return Err(Error::Usage(
            "name the regions to query: --region ap-guangzhou (repeatable), or set TENCENTCLOUD_REGION".into(),
        ));
    }
    for region in &regions {
        super::api_args::check_region_flag(region, &args.allow_region)
            .map_err(|e| Error::Usage(crate::plan::text::visible(&e).into_owned()))?;
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(Error::Usage(format!(
            "{} exists; pass --force to replace it",
            out.display()
        )));
    }
    let now = crate::engine::ops::now().map_err(Error::Usage)?;
    let runtime = super::runtime(1)?;
    let found = runtime.block_on(query(args, &regions))?;
    let (members, left_out) = new::sort_out(found);
    for l in &left_out {
        errln!("left out: {} ({}): {}", l.member.id, l.member.region, l.why);
    }
    new::check(&members, &left_out, &args.instances, &regions)?;
    let origin = Origin {
        schema: new::schema_path(args.out.as_deref()),
        command: args.command(&spec),
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        regions,
    };
    let text = new::plan(&origin, &members, &left_out, &spec);
    write(args, &text, members.len(), now)
}

/// The fleet's instances the flags match, in each region (`--sandbox`: the emulator's).
async fn query(args: &NewArgs, regions: &[String]) -> Result<new::Found, Error> {
    let offset = crate::plan::rules::parse_timezone(&args.timezone);
    let sandbox = args.sandbox.then_some(offset).flatten();
    let (protocol, sandbox) = super::session::connect(&args.api_args(), sandbox, None).await?;
    let found = new::query(&protocol, &args.query(), regions).await;
    if let Some(sb) = sandbox {
        sb.shutdown().await;
    }
    Ok(found?)
}

/// Validates the text as `validate` would, then writes it (a temporary file renamed into
/// place) or prints it.
fn write(
    args: &NewArgs,
    text: &str,
    count: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<i32, Error> {
    let shown = args
        .out
        .as_ref()
        .map_or_else(|| "new-plan.yaml".to_owned(), |p| p.display().to_string());
    let context = crate::plan::Context {
        now,
        allowed_regions: args.allow_region.clone(),
    };
    let checked = crate::plan::check_bytes(&shown, text.as_bytes(), &context);
    if !checked.diagnostics.is_empty() {
        err!("{}", super::error::human(&checked));
    }
    if checked.has_errors() {
        return Err(Error::Failed(
            "the plan these flags make is invalid (see above); nothing was written".into(),
        ));
    }
    let Some(path) = &args.out else {
        out!("{text}");
        return Ok(exit::OK);
    };
    crate::engine::ops::write_atomically(path, text.as_bytes())
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    errln!(
        "wrote {} ({count} instance(s)); review it, then `planrun plan {} --preflight`",
        path.display(),
        path.display()
    );
    Ok(exit::OK)
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .filter(|i| !i.is_empty() && seen.insert(i.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        new: NewArgs,
    }

    fn parse(args: &[&str]) -> Result<NewArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("new").chain(args.iter().copied())).map(|c| c.new)
    }

    fn spec(args: &[&str]) -> Result<Spec, String> {
        let mut all = vec!["--rollback-time", "2026-11-20 03:15:00", "--region", "x"];
        all.extend_from_slice(args);
        parse(&all).map_err(|e| e.to_string())?.spec()
    }

    #[test]
    fn the_strategy_defaults_to_table_for_tables_only_else_db() {
        let s = spec(&[
            "--tables",
            "orders.payments,orders.refunds",
            "--tables",
            "shop.orders",
        ])
        .unwrap();
        assert_eq!(s.strategy, "table");
        assert_eq!(
            s.tables,
            [
                (
                    "orders".to_owned(),
                    vec!["payments".to_owned(), "refunds".to_owned()]
                ),
                ("shop".to_owned(), vec!["orders".to_owned()])
            ]
        );
        let s = spec(&["--dbs", "ledger", "--tables", "audit.events"]).unwrap();
        assert_eq!(
            (s.strategy, s.dbs.as_slice()),
            ("db", &["ledger".to_owned()][..])
        );
        assert_eq!(
            spec(&["--dbs", "x", "--strategy", "full"])
                .unwrap()
                .strategy,
            "full"
        );
    }

    #[test]
    fn bad_flags_are_refused_before_any_query() {
        for bad in [
            &[][..],
            &["--tables", "payments"],
            &["--tables", "orders.pay-ments"],
            &["--dbs", "x", "--strategy", "table"],
            &["--tables", "a.b", "--rename", "bak"],
            &["--tables", "a.b", "--timezone", "+25:00"],
        ] {
            assert!(spec(bad).is_err(), "{bad:?}");
        }
        let late = parse(&["--rollback-time", "yesterday", "--tables", "a.b"]).unwrap();
        assert!(late.spec().is_err());
        assert!(parse(&["--tag", "novalue", "--rollback-time", "x"]).is_err());
        assert_eq!(
            parse_tag("team = orders").unwrap(),
            ("team".into(), "orders".into())
        );
    }

    #[test]
    fn the_command_says_how_to_make_the_plan_again() {
        let args = parse(&[
            "--region",
            "ap-guangzhou,ap-shanghai",
            "--tag",
            "service=orders",
            "--tables",
            "orders.payments",
            "--rollback-time",
            "2026-11-20 03:15:00",
        ])
        .unwrap();
        let spec = args.spec().unwrap();
        assert_eq!(
            args.command(&spec),
            "planrun new --region ap-guangzhou --region ap-shanghai --tag service=orders \
             --tables orders.payments --strategy table --rollback-time '2026-11-20 03:15:00'"
        );
    }
}
