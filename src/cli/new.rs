//! `planrun new`: write a plan from a query of the fleet (API 3.0 DescribeDBInstances, every
//! page, in every `--region`), filtered by tags, names and ids; only running primary
//! instances go in, the others are listed in a comment with why. The plan is validated
//! before it is written, and written whole or not at all.

mod fleet;
mod output;
mod render;

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::api_args::{ApiArgs, Generation, SignatureMethodArg};
use super::{exit, term};
use crate::contract::Strategy;
use render::{Origin, Spec};

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
    /// Requests per second for each API action: the cloud's documented limit by default, as
    /// for every other command; lower it when other tools share the account's budget.
    #[arg(long, value_name = "R", default_value_t = crate::api::limiter::CLOUD_RATE, value_parser = super::api_args::parse_rate)]
    pub rate: f64,
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
        if self.tables.is_empty() && self.dbs.is_empty() {
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
        let mut tables: Vec<(String, Vec<String>)> = Vec::new();
        for item in self
            .tables
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            let (db, table) = item
                .split_once('.')
                .ok_or_else(|| format!("--tables `{item}`: expected DB.TABLE"))?;
            let (db, table) = (source(db, "--tables")?, source(table, "--tables")?);
            match tables.iter_mut().find(|(d, _)| *d == db) {
                Some((_, list)) if !list.contains(&table) => list.push(table),
                Some(_) => {}
                None => tables.push((db, vec![table])),
            }
        }
        let mut dbs: Vec<String> = Vec::new();
        for db in self.dbs.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
            let db = source(db, "--dbs")?;
            if !dbs.contains(&db) {
                dbs.push(db);
            }
        }
        let strategy = self.strategy.unwrap_or(if dbs.is_empty() {
            Strategy::Table
        } else {
            Strategy::Db
        });
        if strategy == Strategy::Table && !dbs.is_empty() {
            return Err("--strategy table cannot roll back whole databases (--dbs)".into());
        }
        if chrono::NaiveDateTime::parse_from_str(&self.rollback_time, crate::contract::TIME_FORMAT)
            .is_err()
        {
            return Err(format!(
                "--rollback-time {:?}: expected YYYY-MM-DD HH:MM:SS",
                self.rollback_time
            ));
        }
        if crate::plan::rules::parse_timezone(&self.timezone).is_none() {
            return Err(format!("--timezone {:?}: expected ±HH:MM", self.timezone));
        }
        if !self.rename.contains("{name}") {
            return Err(format!("--rename {:?} must contain {{name}}", self.rename));
        }
        Ok(Spec {
            strategy: strategy.as_str(),
            rename: self.rename.clone(),
            rollback_time: self.rollback_time.clone(),
            timezone: self.timezone.clone(),
            tables,
            dbs,
        })
    }

    /// The command line this plan can be made again with (no credentials in it).
    fn command(&self, spec: &Spec) -> String {
        let q = super::apply::quote;
        let mut words = vec!["planrun new".to_owned()];
        let mut flag = |name: &str, value: &str| words.push(format!("{name} {}", q(value)));
        for r in &self.regions {
            flag("--region", r);
        }
        for (k, v) in &self.tags {
            flag("--tag", &format!("{k}={v}"));
        }
        for n in &self.names {
            flag("--instance-name", n);
        }
        for i in &self.instances {
            flag("--instance", i);
        }
        let tables: Vec<String> = spec
            .tables
            .iter()
            .flat_map(|(db, ts)| ts.iter().map(move |t| format!("{db}.{t}")))
            .collect();
        if !tables.is_empty() {
            flag("--tables", &tables.join(","));
        }
        if !spec.dbs.is_empty() {
            flag("--dbs", &spec.dbs.join(","));
        }
        flag("--strategy", spec.strategy);
        flag("--rollback-time", &spec.rollback_time);
        if spec.rename != "{name}_bak" {
            flag("--rename", &spec.rename);
        }
        if spec.timezone != "+08:00" {
            flag("--timezone", &spec.timezone);
        }
        if self.sandbox {
            words.push("--sandbox".to_owned());
        }
        words.join(" ")
    }
}

pub fn run(args: &NewArgs) -> i32 {
    let spec = match args.spec() {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    if args.api != Generation::V3 {
        return usage(
            "`planrun new` lists the fleet with API 3.0 (DescribeDBInstances); --api v2 has no such query",
        );
    }
    let regions: Vec<String> = dedup(args.regions.iter().map(|r| r.trim().to_owned()));
    if regions.is_empty() {
        return usage(
            "name the regions to query: --region ap-guangzhou (repeatable), or set TENCENTCLOUD_REGION",
        );
    }
    for region in &regions {
        if let Err(e) = super::api_args::check_region_flag(region, &args.allow_region) {
            return usage(&crate::plan::text::visible(&e));
        }
    }
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return usage(&format!(
            "{} exists; pass --force to replace it",
            out.display()
        ));
    }
    let now = match term::now() {
        Ok(n) => n,
        Err(e) => return usage(&e),
    };
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let found = runtime.block_on(fleet::query(args, &regions));
    let found = match found {
        Ok(f) => f,
        Err(code) => return code,
    };
    let (members, left_out) = fleet::sort_out(found);
    let missing: Vec<&String> = args
        .instances
        .iter()
        .filter(|id| {
            !members.iter().any(|m| &m.id == *id) && !left_out.iter().any(|l| &l.member.id == *id)
        })
        .collect();
    for l in &left_out {
        errln!("left out: {} ({}): {}", l.member.id, l.member.region, l.why);
    }
    if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        errln!(
            "error: --instance {} not found in {}; nothing was written",
            list.join(", "),
            regions.join(", ")
        );
        return exit::FAILED;
    }
    if members.is_empty() {
        errln!(
            "error: no running primary instance matches in {}; nothing was written",
            regions.join(", ")
        );
        return exit::FAILED;
    }
    let origin = Origin {
        schema: output::schema_path(args.out.as_deref()),
        command: args.command(&spec),
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        regions,
    };
    let text = render::plan(&origin, &members, &left_out, &spec);
    output::write(args, &text, members.len(), now)
}

fn usage(message: &str) -> i32 {
    errln!("error: {message}");
    exit::USAGE
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
