//! What `compare` and `merge` work on, from a plan and its journal: the instances whose
//! rollback succeeded (an unfinished apply is refused as such), each with its MySQL address
//! (a self-hosted `server`, a TencentDB instance's `connect`, else DescribeDBInstances' `Vip`
//! and `Vport`) and the restored tables and databases the plan names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare::{Endpoint, Pair};
use crate::engine::any::AnyProtocol;
use crate::engine::ops::located::{self, Located};
use crate::engine::ops::shown;
use crate::engine::prepare::plan_hash_of;
use crate::engine::state::Status;
use crate::engine::store::Store;
use crate::plan::text::visible;
use crate::plan::{Checked, Instance, ResolvedPlan};

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

/// Which of the plan's instances, and where their journal is.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these (every instance of the plan when empty).
    pub instances: Vec<String>,
    /// The journal of `apply --sandbox`.
    pub sandbox: bool,
    pub state_dir: Option<PathBuf>,
    /// The region of instances whose plan entry names none (`--region`).
    pub region: Option<String>,
}

/// Why there is nothing to work on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not an instance of plan {}: {}", visible(.plan), visible(&.ids.join(", ")))]
    NotInPlan { plan: String, ids: Vec<String> },
    #[error(transparent)]
    Located(#[from] located::Error),
    #[error(
        "No apply of plan {} is recorded (journal {}){}: there is nothing restored to compare.",
        visible(.plan),
        shown(.journal),
        sandbox_hint(*.sandbox)
    )]
    NothingRecorded {
        plan: String,
        journal: PathBuf,
        sandbox: bool,
    },
    #[error("cannot read the journal {}: {source}", shown(.path))]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "plan {} changed since its apply (journal {}): the tables it names now may not be those restored. Compare with the plan as applied.",
        visible(.plan),
        shown(.journal)
    )]
    PlanChanged { plan: String, journal: PathBuf },
    #[error(
        "The apply of plan {} is not finished: {}. Compare once it is (`planrun status`).",
        visible(.plan),
        visible(&.unfinished.join(", "))
    )]
    Unfinished {
        plan: String,
        unfinished: Vec<String>,
    },
    /// DescribeDBInstances failed.
    #[error("cannot ask DescribeDBInstances for the instances' addresses")]
    Describe(#[source] crate::api::Error),
    #[error("DescribeDBInstances is API 3.0's")]
    NotV3,
}

/// The plan's restored instances found in its journal, before their addresses are known.
pub struct Restored {
    resolved: ResolvedPlan,
    plan_hash: String,
    journal: PathBuf,
    restored: Vec<usize>,
    skipped: Vec<(String, String)>,
    /// Addresses the plan gives, or why none is.
    found: BTreeMap<String, Address>,
    /// Instances whose address DescribeDBInstances must give, per region.
    pub ask: BTreeMap<String, Vec<String>>,
}

type Address = Result<(Endpoint, &'static str), String>;

/// Where to look when no journal of the cloud's apply is found.
fn sandbox_hint(sandbox: bool) -> &'static str {
    if sandbox {
        ""
    } else {
        " (after `apply --sandbox`, pass --sandbox)"
    }
}

/// Reads the plan's journal (`scope`) and finds its restored instances, with the addresses
/// the plan gives them ([`Restored::ask`]: those DescribeDBInstances must give). Says what
/// finding the journal came upon.
pub fn restored(
    plan: &Path,
    checked: &Checked,
    resolved: ResolvedPlan,
    scope: &Scope,
) -> Result<(Restored, Option<located::Note>), Error> {
    let unknown: Vec<String> = scope
        .instances
        .iter()
        .filter(|id| !resolved.instances.iter().any(|i| &i.id == *id))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::NotInPlan {
            plan: resolved.name,
            ids: unknown,
        });
    }
    let (
        Applied {
            plan_hash,
            journal,
            statuses,
        },
        note,
    ) = applied(plan, checked, &resolved, scope)?;
    let chosen: Vec<usize> = (0..resolved.instances.len())
        .filter(|&n| {
            scope.instances.is_empty() || scope.instances.contains(&resolved.instances[n].id)
        })
        .collect();
    let unfinished: Vec<String> = chosen
        .iter()
        .filter_map(|&n| {
            let i = &resolved.instances[n];
            let s = statuses
                .get(i.id.as_str())
                .copied()
                .unwrap_or(Status::Pending);
            (!s.is_final()).then(|| format!("{} ({})", i.id, s.name()))
        })
        .collect();
    if !unfinished.is_empty() {
        return Err(Error::Unfinished {
            plan: resolved.name,
            unfinished,
        });
    }
    let mut skipped = Vec::new();
    let mut restored = Vec::new();
    for n in chosen {
        let i = &resolved.instances[n];
        match statuses.get(i.id.as_str()) {
            Some(Status::Succeeded) => restored.push(n),
            Some(s) => skipped.push((
                i.id.clone(),
                format!("its rollback ended {}: nothing was restored", s.name()),
            )),
            None => skipped.push((i.id.clone(), "not in the journal".to_owned())),
        }
    }
    let mut found = BTreeMap::new();
    let mut ask: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for &n in &restored {
        let i = &resolved.instances[n];
        match written(i) {
            Some(address) => {
                found.insert(i.id.clone(), Ok(address));
            }
            None => {
                let region = i.region.clone().or_else(|| scope.region.clone());
                ask.entry(region.unwrap_or_default())
                    .or_default()
                    .push(i.id.clone());
            }
        }
    }
    let restored = Restored {
        resolved,
        plan_hash,
        journal,
        restored,
        skipped,
        found,
        ask,
    };
    Ok((restored, note))
}

/// The address the plan gives an instance: its `server`, else its `connect`.
fn written(i: &Instance) -> Option<(Endpoint, &'static str)> {
    let (address, from) = match (&i.selfhosted, &i.connect) {
        (Some(s), _) => (s.server.as_str(), "server"),
        (None, Some(c)) => (c.as_str(), "connect"),
        (None, None) => return None,
    };
    endpoint(address).map(|e| (e, from))
}

/// The journal's view of a plan's apply.
struct Applied {
    /// The hash of what was applied.
    plan_hash: String,
    journal: PathBuf,
    statuses: BTreeMap<String, Status>,
}

/// The journal's view: the hash of what was applied and each instance's status. A plan that
/// changed since its apply is refused (the names it gives now may not be those restored).
fn applied(
    plan: &Path,
    checked: &Checked,
    resolved: &ResolvedPlan,
    scope: &Scope,
) -> Result<(Applied, Option<located::Note>), Error> {
    // The plan's journal, found as `status` finds it (an older planrun's of this very plan
    // is read where it is).
    let hash = plan_hash_of(resolved);
    let located = Located::of_plan(
        plan,
        &checked.text,
        &resolved.name,
        scope.state_dir.as_deref(),
        scope.sandbox,
    )?;
    let (journal, note) = located.readable(&resolved.name, &hash);
    let ids = resolved.instances.iter().map(|i| i.id.clone()).collect();
    let store = Store::new(journal.clone(), &resolved.name, ids, hash.clone(), false);
    let state = match store.load() {
        Ok(Some(state)) => state,
        Ok(None) => {
            return Err(Error::NothingRecorded {
                plan: resolved.name.clone(),
                journal,
                sandbox: scope.sandbox,
            });
        }
        Err(source) => {
            return Err(Error::Unreadable {
                path: journal,
                source,
            });
        }
    };
    if state.plan_hash.as_deref() != Some(hash.as_str()) {
        return Err(Error::PlanChanged {
            plan: resolved.name.clone(),
            journal,
        });
    }
    let statuses = state
        .instances
        .iter()
        .map(|i| (i.id.clone(), i.status))
        .collect();
    let applied = Applied {
        plan_hash: hash,
        journal,
        statuses,
    };
    Ok((applied, note))
}

impl Restored {
    /// The targets, once DescribeDBInstances has given the addresses asked for
    /// ([`describe`]; none when nothing was asked).
    pub fn targets(mut self, described: BTreeMap<String, Address>) -> Targets {
        self.found.extend(described);
        let mut targets = Vec::new();
        let mut unaddressed = Vec::new();
        for &n in &self.restored {
            let i = &self.resolved.instances[n];
            match self.found.remove(i.id.as_str()) {
                Some(Ok((at, from))) => targets.push(Target {
                    instance: i.id.clone(),
                    at,
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
                Some(Err(why)) => unaddressed.push((i.id.clone(), why)),
                None => unaddressed.push((i.id.clone(), "no address".to_owned())),
            }
        }
        Targets {
            resolved: self.resolved,
            plan_hash: self.plan_hash,
            journal: self.journal,
            targets,
            skipped: self.skipped,
            unaddressed,
        }
    }
}

/// The addresses DescribeDBInstances gives the instances of `ask` (per region; `""`: the
/// client's own), or why it gives none.
pub async fn describe(
    protocol: &AnyProtocol,
    ask: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Address>, Error> {
    use crate::engine::v3::addresses::Address as Said;
    let Some(v3) = protocol.v3() else {
        return Err(Error::NotV3);
    };
    let mut out = BTreeMap::new();
    for (region, ids) in ask {
        let region = (!region.is_empty()).then_some(region.as_str());
        let said = v3.addresses(region, ids).await.map_err(Error::Describe)?;
        for (id, said) in said {
            let address = match said {
                Said::Unlisted => Err("DescribeDBInstances does not list it: give its address with `connect: HOST:PORT` in the plan".to_owned()),
                Said::None => Err("DescribeDBInstances gives no address (Vip, Vport) for it: give one with `connect: HOST:PORT` in the plan".to_owned()),
                Said::At { host, port } => Ok((Endpoint { host, port }, "DescribeDBInstances")),
            };
            out.insert(id, address);
        }
    }
    Ok(out)
}

/// `HOST:PORT` as an endpoint.
pub fn endpoint(address: &str) -> Option<Endpoint> {
    crate::plan::rules::parse_server(address).map(|(host, port)| Endpoint {
        host: host.to_owned(),
        port,
    })
}
