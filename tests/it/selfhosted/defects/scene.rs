//! A scenario: production with a schema and rows, a dump, changes stamped between the dump
//! and the time, an incident stamped after it; a plan of one self-hosted instance; and the
//! checks every exact restore must pass.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::super::oracle::{self, Fingerprint};
use super::super::run::{apply, defaults_file, tmp, write_plan};
use super::super::server::Server;
use crate::support::Output;

pub struct Scene {
    pub prod: Server,
    pub dir: tempfile::TempDir,
    pub backups: PathBuf,
    /// The point in time (UTC), 50 s after the changes' stamp.
    pub time: NaiveDateTime,
}

fn at(unix: i64) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .expect("valid")
        .naive_utc()
}

impl Scene {
    /// Production (started with `options`) after `schema`, dumped to `dumps/full.sql` with
    /// `dump_options` (databases `dbs`); then `between` stamped before the time and
    /// `incident` after it. Binary-log events carry their statement's timestamp: stamping
    /// them in the future puts them on a clock the test controls.
    pub async fn new(
        options: &[&str],
        schema: &str,
        dbs: &[&str],
        dump_options: &[&str],
        between: &str,
        incident: &str,
    ) -> Self {
        let prod = Server::start_with(options).await;
        let dir = tempfile::tempdir().expect("dir");
        let backups = dir.path().join("dumps");
        std::fs::create_dir(&backups).expect("backups");
        prod.admin(schema).await;
        prod.dump_with(dbs, &backups.join("full.sql"), dump_options);
        let t0 = Utc::now().timestamp() + 1000;
        if !between.is_empty() {
            prod.admin(&format!("SET TIMESTAMP = {t0}; {between}"))
                .await;
        }
        if !incident.is_empty() {
            prod.admin(&format!("SET TIMESTAMP = {}; {incident}", t0 + 100))
                .await;
        }
        let _ = defaults_file(dir.path());
        Self {
            prod,
            dir,
            backups,
            time: at(t0 + 50),
        }
    }

    pub fn dump(&self) -> PathBuf {
        self.backups.join("full.sql")
    }

    /// A plan of instance `shop` on production with `spec` (indented entry fields).
    pub fn plan(&self, spec: &str) -> PathBuf {
        write_plan(
            self.dir.path(),
            &format!(
                "  - id: shop\n    server: 127.0.0.1:{}\n    backups: dumps\n{spec}",
                self.prod.port
            ),
            self.time,
        )
    }

    pub fn apply(&self, plan: &Path) -> Output {
        apply(plan, self.dir.path(), self.time).run()
    }

    pub fn tmp(&self) -> PathBuf {
        tmp(self.dir.path())
    }

    /// Applies a plan of `spec` and checks it against the oracle ([`exact`]); returns what
    /// apply said.
    pub async fn restores_exactly(
        &self,
        spec: &str,
        restored: &[(&str, &str)],
        new_dbs: &[&str],
    ) -> String {
        let oracle = oracle::restore(&self.prod, &self.dump(), self.time).await;
        let before = oracle::fingerprint(&self.prod).await;
        let from = oracle::log_position(&self.prod).await;
        let out = self.apply(&self.plan(spec));
        let said = format!("{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, Some(0), "{said}");
        exact(self, &oracle, &before, &from, restored, new_dbs).await;
        said
    }
}

/// Everything an exact restore promises: `restored` pairs (oracle `db.table`, production
/// `db.table`) equal by checksum and sorted rows; production's fingerprint unchanged but for
/// the new `targets` (tables) and `new_dbs`; its binary log since `from` only the landing;
/// no planrun database, no temporary file.
pub async fn exact(
    scene: &Scene,
    oracle: &Server,
    before: &Fingerprint,
    from: &(String, u64),
    restored: &[(&str, &str)],
    new_dbs: &[&str],
) {
    for (o, p) in restored {
        let (od, ot) = o.split_once('.').expect("db.table");
        let (pd, pt) = p.split_once('.').expect("db.table");
        let expected = oracle::state(oracle, od, ot).await;
        let got = oracle::state(&scene.prod, pd, pt).await;
        assert_eq!(got, expected, "{p} differs from the oracle's {o}");
    }
    let mut after = oracle::fingerprint(&scene.prod).await;
    for (_, p) in restored {
        assert!(after.tables.remove(*p).is_some(), "{p} was not made");
    }
    after.databases.retain(|d| !new_dbs.contains(&d.as_str()));
    assert_eq!(&after, before, "production changed beyond the targets");
    let targets: Vec<&str> = restored
        .iter()
        .map(|(_, p)| p.split_once('.').map_or(*p, |(_, t)| t))
        .chain(new_dbs.iter().copied())
        .collect();
    oracle::only_landing(&oracle::events_since(&scene.prod, from).await, &targets);
    assert!(scene.prod.databases_like("_planrun_").await.is_empty());
    assert_eq!(
        scene
            .prod
            .count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME LIKE '\\_planrun\\_%'")
            .await,
        0,
        "a temporary table is left"
    );
    oracle::no_temp_files(&scene.tmp());
}
