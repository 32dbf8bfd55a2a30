//! What the emulated cloud knows about its instances: the fleet DescribeDBInstances lists
//! (ids, names, regions, types, tags) and the databases and tables each instance holds
//! (DescribeDatabases, DescribeTables), plus the objects its successful rollbacks created.
//!
//! [`Catalog::demo`] is deterministic: the instances of `plans/incident-42.yaml` with tags,
//! a read-only and a disaster-recovery replica, and one "house" schema that every instance
//! holds unless the catalog says otherwise. It covers every name the example plans and the
//! demo use, so they pass the object preflight. `sandbox serve --catalog FILE` reads another
//! one (YAML or JSON, see [`Catalog::parse`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::rules::valid_instance_id;
use super::state::{Phase, Tasks};
use crate::api::rollback::RollbackSpec;

/// Databases → their tables.
pub type Objects = BTreeMap<String, BTreeSet<String>>;

/// `InstanceType`: what DescribeDBInstances answers as 1, 2 or 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Primary,
    DisasterRecovery,
    ReadOnly,
}

impl Kind {
    pub fn code(self) -> i64 {
        match self {
            Self::Primary => crate::api::v3::fleet::PRIMARY,
            Self::DisasterRecovery => crate::api::v3::fleet::DISASTER_RECOVERY,
            Self::ReadOnly => crate::api::v3::fleet::READ_ONLY,
        }
    }
}

fn running() -> i64 {
    crate::api::v3::fleet::RUNNING
}

fn engine() -> String {
    "8.0".to_owned()
}

/// One instance of the fleet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetInstance {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub region: String,
    /// `<region>-3` when not given.
    #[serde(default)]
    pub zone: String,
    #[serde(default, rename = "type")]
    pub kind: Kind,
    /// DescribeDBInstances' `Status` (1 running, 0 creating, 4 isolating, 5 isolated).
    #[serde(default = "running")]
    pub status: i64,
    #[serde(default = "engine")]
    pub engine_version: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// What it holds; the catalog's `default` when not given.
    #[serde(default)]
    pub databases: Option<Objects>,
    /// Its MySQL address as DescribeDBInstances answers it (`Vip`, `Vport`): a real local
    /// server for tests of `compare` and `merge`. None by default: the emulated instances
    /// have no database behind them, and no address is made up for them.
    #[serde(default)]
    pub address: Option<String>,
}

/// The fleet and its objects.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// What every instance not described in `instances` holds (any well-formed id exists
    /// for the other actions, as before). The house schema when not given.
    #[serde(default = "house")]
    pub default: Objects,
    /// The fleet DescribeDBInstances lists, in this order.
    #[serde(default)]
    pub instances: Vec<FleetInstance>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::demo()
    }
}

/// The house schema: every database and table the example plans, the demo and the
/// benchmarks name.
pub fn house() -> Objects {
    let schema: &[(&str, &[&str])] = &[
        ("audit", &["events", "invoice_events"]),
        ("crm", &["accounts", "contacts"]),
        ("gateway", &["payouts", "refunds", "settlements"]),
        ("ledger", &["accounts", "balances", "entries"]),
        ("ledger_archive", &["entries"]),
        (
            "orders",
            &["invoices", "order_items", "payments", "refunds"],
        ),
        ("reporting", &["daily_sales", "monthly_sales"]),
        ("reporting_stage", &["daily_sales"]),
        ("shop", &["customers", "invoices", "order_items", "orders"]),
        ("users", &["profiles", "sessions", "tokens"]),
    ];
    schema
        .iter()
        .map(|(db, tables)| {
            let tables = tables.iter().map(|t| (*t).to_owned()).collect();
            ((*db).to_owned(), tables)
        })
        .collect()
}

impl Catalog {
    /// The demo fleet: incident 42's instances with tags, and two replicas that cannot be
    /// rolled back (read-only, disaster recovery).
    pub fn demo() -> Self {
        let member =
            |id: &str, name: &str, region: &str, kind: Kind, service: &str| FleetInstance {
                id: id.to_owned(),
                name: name.to_owned(),
                region: region.to_owned(),
                zone: String::new(),
                kind,
                status: running(),
                engine_version: engine(),
                tags: [("service", service), ("env", "prod")]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                databases: None,
                address: None,
            };
        let (gz, sh) = ("ap-guangzhou", "ap-shanghai");
        let mut instances: Vec<FleetInstance> = (1..=6)
            .map(|n| {
                let id = format!("cdb-ord0000{n}");
                member(&id, &format!("orders-gz-0{n}"), gz, Kind::Primary, "orders")
            })
            .collect();
        instances.push(member(
            "cdb-ordro001",
            "orders-gz-ro-01",
            gz,
            Kind::ReadOnly,
            "orders",
        ));
        for n in 1..=2 {
            let id = format!("cdb-ord1000{n}");
            let name = format!("orders-sh-0{n}");
            instances.push(member(&id, &name, sh, Kind::Primary, "orders"));
        }
        instances.push(member(
            "cdb-orddr001",
            "orders-sh-dr-01",
            sh,
            Kind::DisasterRecovery,
            "orders",
        ));
        instances.push(member(
            "cdb-ledger01",
            "ledger-gz-01",
            gz,
            Kind::Primary,
            "billing",
        ));
        instances.push(member(
            "cdb-report01",
            "reporting-gz-01",
            gz,
            Kind::Primary,
            "reporting",
        ));
        instances.push(member(
            "cdb-paygw001",
            "paygw-gz-01",
            gz,
            Kind::Primary,
            "payments",
        ));
        Self {
            default: house(),
            instances,
        }
    }

    /// Reads a catalog (YAML, of which JSON is a part):
    ///
    /// ```yaml
    /// default: {orders: [payments, refunds]}   # instances not listed below (default: house)
    /// instances:
    ///   - id: cdb-ord00001
    ///     name: orders-gz-01
    ///     region: ap-guangzhou
    ///     type: primary                          # primary | read_only | disaster_recovery
    ///     tags: {service: orders}
    ///     databases: {orders: [payments]}        # default: `default`
    /// ```
    pub fn parse(text: &str) -> Result<Self, String> {
        let catalog: Self = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = BTreeSet::new();
        for i in &catalog.instances {
            if !valid_instance_id(&i.id) {
                return Err(format!(
                    "`{}` is not an instance id (cdb- and 8 lowercase letters or digits)",
                    i.id
                ));
            }
            if !seen.insert(i.id.as_str()) {
                return Err(format!("instance {} is listed twice", i.id));
            }
            if i.region.trim().is_empty() {
                return Err(format!("instance {} has no region", i.id));
            }
            if let Some(a) = &i.address
                && address(a).is_none()
            {
                return Err(format!("instance {}: address `{a}` is not HOST:PORT", i.id));
            }
        }
        Ok(catalog)
    }

    /// The fleet member with this id.
    pub fn member(&self, id: &str) -> Option<&FleetInstance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// What the instance held before any rollback.
    pub fn base(&self, id: &str) -> &Objects {
        self.member(id)
            .and_then(|i| i.databases.as_ref())
            .unwrap_or(&self.default)
    }

    /// What the instance holds at `now`: its base objects plus the targets of every rollback
    /// that has succeeded by then, oldest first (a later rollback may restore from an object
    /// an earlier one created).
    /// A successful rollback's objects appear `delay` after it ended; a hollow one's never.
    pub fn objects(&self, tasks: &Tasks, id: &str, now: Instant, delay: Duration) -> Objects {
        let mut objects = self.base(id).clone();
        let done: Vec<&RollbackSpec> = tasks
            .newest_first(id)
            .filter(|t| t.phase(now) == Phase::Succeeded && !t.hollow)
            .filter(|t| now >= t.ends_at() + delay)
            .map(|t| &t.spec)
            .collect();
        for spec in done.into_iter().rev() {
            create_targets(&mut objects, spec);
        }
        objects
    }
}

/// `HOST:PORT` (IPv6 in brackets) as `Vip` and `Vport`.
pub fn address(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p > 0)?;
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// The objects a successful rollback writes beside its sources: each new database with the
/// source's tables, each new table in its database. (A `full` rollback imports the whole
/// instance, but what it writes under new names is also what the request names.)
fn create_targets(objects: &mut Objects, spec: &RollbackSpec) {
    for d in &spec.dbs {
        let tables = objects.get(&d.dbname).cloned().unwrap_or_default();
        objects.entry(d.newname.clone()).or_default().extend(tables);
    }
    for group in &spec.tables {
        let tables = objects.entry(group.db.clone()).or_default();
        tables.extend(group.table.iter().map(|t| t.newname.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::{DatabaseRename, DatabaseTables, Strategy, TableRename};
    use crate::sandbox::state::NewTask;
    use chrono::NaiveDateTime;

    #[test]
    fn the_demo_fleet_is_incident_42_with_two_replicas() {
        let demo = Catalog::demo();
        let ids: Vec<&str> = demo.instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), 13);
        for id in [
            "cdb-ord00001",
            "cdb-ord10002",
            "cdb-ledger01",
            "cdb-paygw001",
        ] {
            assert!(ids.contains(&id), "{id}");
            assert!(valid_instance_id(id));
        }
        assert_eq!(
            demo.member("cdb-ordro001").map(|i| i.kind),
            Some(Kind::ReadOnly)
        );
        assert_eq!(
            demo.member("cdb-orddr001")
                .map(|i| (i.kind.code(), i.region.as_str())),
            Some((2, "ap-shanghai"))
        );
        // Every instance, listed or not, holds the house schema.
        assert!(demo.base("cdb-ord00001")["orders"].contains("payments"));
        assert!(demo.base("cdb-zzzzzzzz")["gateway"].contains("settlements"));
    }

    #[test]
    fn a_catalog_file_describes_instances_and_is_checked() {
        let c = Catalog::parse(
            r#"{"default": {"shop": ["orders"]},
                "instances": [{"id": "cdb-aaaaaaaa", "region": "ap-guangzhou", "type": "read_only",
                               "tags": {"team": "a"}, "databases": {"orders": []}}]}"#,
        )
        .unwrap();
        assert_eq!(
            c.base("cdb-aaaaaaaa").keys().collect::<Vec<_>>(),
            ["orders"]
        );
        assert_eq!(c.base("cdb-bbbbbbbb").keys().collect::<Vec<_>>(), ["shop"]);
        assert_eq!(c.instances[0].kind, Kind::ReadOnly);
        assert_eq!(c.instances[0].status, 1);
        let house_by_default = Catalog::parse("instances: []").unwrap();
        assert_eq!(house_by_default.default, house());
        for bad in [
            "instances: [{id: CDB-1, region: x}]",
            "instances: [{id: cdb-aaaaaaaa, region: x}, {id: cdb-aaaaaaaa, region: y}]",
            "instances: [{id: cdb-aaaaaaaa, region: ''}]",
            "instances: [{id: cdb-aaaaaaaa, region: x, colour: blue}]",
            "instances: [{id: cdb-aaaaaaaa, region: x, type: replica}]",
            "instances: [{id: cdb-aaaaaaaa, region: x, address: 'db:0'}]",
            "[1, 2]",
        ] {
            assert!(Catalog::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_successful_rollback_creates_its_targets_and_a_running_one_not_yet() {
        let catalog = Catalog::demo();
        let mut tasks = Tasks::default();
        let now = Instant::now();
        let spec = RollbackSpec {
            rollbacktime: "2026-11-20 03:15:00".into(),
            strategy: Strategy::Db,
            dbs: vec![DatabaseRename {
                dbname: "ledger".into(),
                newname: "ledger_bak".into(),
            }],
            tables: vec![DatabaseTables {
                db: "orders".into(),
                table: vec![TableRename {
                    tablename: "payments".into(),
                    newname: "payments_bak".into(),
                }],
            }],
        };
        tasks.submit(
            vec![NewTask {
                instance_id: "cdb-ledger01".into(),
                spec,
                duration: Duration::from_secs(10),
                fails: false,
                removed: false,
                hollow: false,
            }],
            now,
            NaiveDateTime::default(),
        );
        let before = catalog.objects(
            &tasks,
            "cdb-ledger01",
            now + Duration::from_secs(5),
            Duration::ZERO,
        );
        assert!(!before.contains_key("ledger_bak"));
        assert!(!before["orders"].contains("payments_bak"));
        let after = catalog.objects(
            &tasks,
            "cdb-ledger01",
            now + Duration::from_secs(10),
            Duration::ZERO,
        );
        assert_eq!(after["ledger_bak"], after["ledger"]);
        assert!(after["orders"].contains("payments_bak"));
        // Other instances are untouched.
        assert_eq!(
            catalog.objects(
                &tasks,
                "cdb-ord00001",
                now + Duration::from_secs(10),
                Duration::ZERO
            ),
            house()
        );
    }
}
