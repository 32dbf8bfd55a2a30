//! What `compare` and `merge` work on, from a plan and its journal: the instances whose
//! rollback succeeded (an unfinished apply is exit 3), each with its MySQL address (a
//! self-hosted `server`, a TencentDB instance's `connect`, else DescribeDBInstances' `Vip`
//! and `Vport`) and the restored tables and databases the plan names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::super::api_args::{ApiArgs, Generation};
use super::super::{exit, plan as plan_cmd, session};
use crate::compare::{Endpoint, Pair};
use crate::engine::state::Status;
use crate::plan::text::visible;
use crate::plan::{Instance, ResolvedPlan};

/// Flags `compare` and `merge` share.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Only this instance (repeat for several) [default: every instance of the plan]
    #[arg(long = "instance", value_name = "ID")]
    pub instances: Vec<String>,
    /// After `apply --sandbox`: read its journal, and ask the in-process emulator's
    /// DescribeDBInstances for the instances' addresses.
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: the emulator's fleet (YAML or JSON, as `sandbox serve --catalog`);
    /// an instance's `address: HOST:PORT` is the MySQL server it answers with.
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub catalog: Option<PathBuf>,
    /// Where the journal lives [default: .planrun/ beside the plan]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Option file with the `[client]` user and password for the instances' MySQL, as
    /// MySQL's tools read it [default: ~/.my.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Rows of the restored copy per range: each range is digested by the server on both
    /// sides in its own snapshot, and read row by row only when the digests differ.
    #[arg(long, value_name = "ROWS", default_value_t = crate::compare::walk::DEFAULT_CHUNK_ROWS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunk_rows: u64,
    #[command(flatten)]
    pub api: ApiArgs,
}

impl TargetArgs {
    pub fn session_args(&self) -> session::SessionArgs {
        session::SessionArgs {
            state_dir: self.state_dir.clone(),
            poll_interval: None,
            settle: None,
            defaults_file: self.defaults_file.clone(),
        }
    }
}

/// One instance to work on.
#[derive(Debug, Clone)]
pub struct Target {
    pub instance: String,
    pub at: Endpoint,
    /// Where the address came from, for messages (`server`, `connect`, `DescribeDBInstances`).
    pub from: &'static str,
    /// Restored tables, each beside its source.
    pub tables: Vec<Pair>,
    /// Restored databases: `(source, new name)`; their tables are listed on the server.
    pub dbs: Vec<(String, String)>,
}

/// The plan, its journal, and what to work on.
pub struct Targets {
    pub resolved: ResolvedPlan,
    /// The hash of the plan as applied (the journal's).
    pub plan_hash: String,
    pub journal: PathBuf,
    pub targets: Vec<Target>,
    /// Instances left out because nothing was restored there, with why.
    pub skipped: Vec<(String, String)>,
    /// Instances whose address could not be found, with why (an error).
    pub unaddressed: Vec<(String, String)>,
}

/// Reads the plan and its journal and finds every instance's address. Refusals are said
/// here: an unfinished or missing apply is exit 3, anything else exit 2 (an invalid plan 1).
pub async fn resolve(plan: &Path, args: &TargetArgs, json: bool) -> Result<Targets, i32> {
    let (checked, resolved) = plan_cmd::load_valid(plan, json, &args.api.allow_region)?;
    let unknown: Vec<&String> = args
        .instances
        .iter()
        .filter(|id| !resolved.instances.iter().any(|i| &i.id == *id))
        .collect();
    if !unknown.is_empty() {
        errln!(
            "error: not an instance of plan {}: {}",
            visible(&resolved.name),
            visible(
                &unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
        return Err(exit::USAGE);
    }
    let (plan_hash, journal, statuses) = applied(plan, &checked, &resolved, args)?;
    let chosen: Vec<&Instance> = resolved
        .instances
        .iter()
        .filter(|i| args.instances.is_empty() || args.instances.contains(&i.id))
        .collect();
    let unfinished: Vec<String> = chosen
        .iter()
        .filter_map(|i| {
            let s = statuses
                .get(i.id.as_str())
                .copied()
                .unwrap_or(Status::Pending);
            (!s.is_final()).then(|| format!("{} ({})", i.id, s.name()))
        })
        .collect();
    if !unfinished.is_empty() {
        errln!(
            "The apply of plan {} is not finished: {}. Compare once it is (`planrun status`).",
            visible(&resolved.name),
            visible(&unfinished.join(", "))
        );
        return Err(exit::UNFINISHED);
    }
    let mut skipped = Vec::new();
    let mut restored = Vec::new();
    for i in chosen {
        match statuses.get(i.id.as_str()) {
            Some(Status::Succeeded) => restored.push(i),
            Some(s) => skipped.push((
                i.id.clone(),
                format!("its rollback ended {}: nothing was restored", s.name()),
            )),
            None => skipped.push((i.id.clone(), "not in the journal".to_owned())),
        }
    }
    let addresses = addresses(&restored, args).await?;
    let mut targets = Vec::new();
    let mut unaddressed = Vec::new();
    for i in restored {
        match addresses.get(i.id.as_str()) {
            Some(Ok((at, from))) => targets.push(Target {
                instance: i.id.clone(),
                at: at.clone(),
                from,
                tables: i
                    .tables
                    .iter()
                    .flat_map(|t| {
                        t.tables.iter().map(|r| Pair {
                            db: t.db.clone(),
                            source: r.source.clone(),
                            restored_db: t.db.clone(),
                            restored: r.target.clone(),
                        })
                    })
                    .collect(),
                dbs: i
                    .dbs
                    .iter()
                    .map(|r| (r.source.clone(), r.target.clone()))
                    .collect(),
            }),
            Some(Err(why)) => unaddressed.push((i.id.clone(), why.clone())),
            None => unaddressed.push((i.id.clone(), "no address".to_owned())),
        }
    }
    Ok(Targets {
        resolved,
        plan_hash,
        journal,
        targets,
        skipped,
        unaddressed,
    })
}

/// The journal's view: the hash of what was applied and each instance's status. No journal
/// is exit 3; a plan that changed since its apply is exit 2 (the names it gives now may not
/// be those that were restored).
fn applied(
    plan: &Path,
    checked: &crate::plan::Checked,
    resolved: &ResolvedPlan,
    args: &TargetArgs,
) -> Result<(String, PathBuf, BTreeMap<String, Status>), i32> {
    // The plan's journal, found as `status` finds it (an older planrun's of this very plan
    // is read where it is).
    let hash = crate::engine::prepare::plan_hash_of(resolved);
    let located = crate::cli::located::Located::of_plan(
        plan,
        &checked.text,
        &resolved.name,
        args.state_dir.as_deref(),
        args.sandbox,
    )?;
    let journal = located.readable(&resolved.name, &hash);
    let mut s = session::Session::offline(resolved, &args.session_args(), journal)?;
    let path = s.journal_path().to_path_buf();
    match s.load_journal() {
        Ok(true) => {}
        Ok(false) => {
            let hint = if args.sandbox {
                ""
            } else {
                " (after `apply --sandbox`, pass --sandbox)"
            };
            errln!(
                "No apply of plan {} is recorded (journal {}){hint}: there is nothing restored to compare.",
                visible(&resolved.name),
                visible(&path.display().to_string())
            );
            return Err(exit::UNFINISHED);
        }
        Err(e) => {
            errln!(
                "error: cannot read the journal {}: {e}",
                visible(&path.display().to_string())
            );
            return Err(exit::USAGE);
        }
    }
    let ours = s.prepared().hash.clone();
    let state = s.state();
    if state.plan_hash.as_deref() != Some(ours.as_str()) {
        errln!(
            "error: plan {} changed since its apply (journal {}): the tables it names now may not be those restored. Compare with the plan as applied.",
            visible(&resolved.name),
            visible(&path.display().to_string())
        );
        return Err(exit::USAGE);
    }
    let statuses = state
        .instances
        .iter()
        .map(|i| (i.id.clone(), i.status))
        .collect();
    Ok((ours, path, statuses))
}

type Address = Result<(Endpoint, &'static str), String>;

/// Every instance's address: its `server`, its `connect`, else DescribeDBInstances'.
async fn addresses(
    instances: &[&Instance],
    args: &TargetArgs,
) -> Result<BTreeMap<String, Address>, i32> {
    let mut out = BTreeMap::new();
    let mut ask: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in instances {
        let written = match (&i.selfhosted, &i.connect) {
            (Some(s), _) => Some((s.server.as_str(), "server")),
            (None, Some(c)) => Some((c.as_str(), "connect")),
            (None, None) => None,
        };
        match written.and_then(|(a, from)| endpoint(a).map(|e| (e, from))) {
            Some(found) => {
                out.insert(i.id.clone(), Ok(found));
            }
            None => {
                let region = i.region.clone().or_else(|| args.api.region.clone());
                ask.entry(region.unwrap_or_default())
                    .or_default()
                    .push(i.id.clone());
            }
        }
    }
    if ask.is_empty() {
        return Ok(out);
    }
    let catalog = match &args.catalog {
        Some(path) => Some(read_catalog(path)?),
        None => None,
    };
    // DescribeDBInstances is API 3.0 whatever --api says.
    let mut api = args.api.clone();
    api.api = Generation::V3;
    let sandbox = args
        .sandbox
        .then(|| chrono::FixedOffset::east_opt(0))
        .flatten();
    let (protocol, sb) = session::connect_with(&api, sandbox, catalog).await?;
    let Some(client) = protocol.v3().map(|v| v.client().clone()) else {
        return Err(exit::USAGE);
    };
    let mut result = Ok(());
    for (region, ids) in ask {
        let client = if region.is_empty() {
            client.clone()
        } else {
            client.with_region(&region)
        };
        let filter = crate::api::v3::fleet::DescribeDbInstancesRequest {
            instance_ids: ids.clone(),
            ..Default::default()
        };
        match client.db_instances(&filter).await {
            Ok(found) => {
                for id in ids {
                    let item = found.iter().find(|f| f.instance_id == id);
                    let address = match item {
                        None => Err("DescribeDBInstances does not list it: give its address with `connect: HOST:PORT` in the plan".to_owned()),
                        Some(f) => match (f.vip.as_str(), f.vport.and_then(|p| u16::try_from(p).ok())) {
                            ("", _) | (_, None | Some(0)) => Err("DescribeDBInstances gives no address (Vip, Vport) for it: give one with `connect: HOST:PORT` in the plan".to_owned()),
                            (vip, Some(port)) => Ok((Endpoint { host: vip.to_owned(), port }, "DescribeDBInstances")),
                        },
                    };
                    out.insert(id, address);
                }
            }
            Err(e) => {
                super::super::report_error(&e);
                errln!("error: cannot ask DescribeDBInstances for the instances' addresses");
                result = Err(exit::USAGE);
                break;
            }
        }
    }
    if let Some(sb) = sb {
        sb.shutdown().await;
    }
    result.map(|()| out)
}

/// `HOST:PORT` as an endpoint.
pub fn endpoint(address: &str) -> Option<Endpoint> {
    crate::plan::rules::parse_server(address).map(|(host, port)| Endpoint {
        host: host.to_owned(),
        port,
    })
}

fn read_catalog(path: &Path) -> Result<crate::sandbox::Catalog, i32> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        errln!("error: --catalog {}: {e}", visible(&shown));
        exit::USAGE
    })?;
    crate::sandbox::Catalog::parse(&text).map_err(|e| {
        errln!("error: --catalog {}: {}", visible(&shown), visible(&e));
        exit::USAGE
    })
}

/// The option file's credentials (never printed).
pub fn credentials(args: &TargetArgs) -> Result<crate::mysql::Credentials, i32> {
    super::super::selfhosted::credentials(args.defaults_file.as_deref())
}
