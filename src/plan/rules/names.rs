//! Rules about names: sources and targets of `dbs` and `tables` (valid names, system
//! databases, list-form renames) and the conflicts between them within one instance.

use std::collections::{HashMap, HashSet};

use super::super::load::{child, element, escape};
use super::super::model::Names;
use super::super::resolved::{DbTables, Rename};
use super::{Diagnostic, Rules, is_source_name, is_target_name};
use crate::contract::{is_system_database, system_databases_in_words};

impl Rules<'_> {
    /// Source → target pairs of a `dbs` list or map (or the tables of one database).
    pub(super) fn renames(
        &mut self,
        names: &Names,
        path: &str,
        rename: Option<&str>,
        rename_path: &str,
    ) -> Vec<Rename> {
        let is_db = !path.contains("/tables/");
        match names {
            Names::Map(pairs) => pairs
                .iter()
                .map(|(source, target)| {
                    let p = || child(path, source);
                    self.source(source, &p, is_db);
                    self.target(target, &p, None);
                    Rename {
                        source: source.clone(),
                        target: target.clone(),
                    }
                })
                .collect(),
            Names::List(list) => {
                if rename.is_none() && !list.is_empty() {
                    self.push(
                        Diagnostic::error("planrun::missing_rename", "names are listed without new names, and no `rename` template applies")
                            .at(path, self.key(path), "list form needs `rename`")
                            .help("add `rename: \"{name}_bak\"` to the entry or the plan, or write a map `source: new_name`"),
                    );
                }
                list.iter()
                    .enumerate()
                    .map(|(j, source)| {
                        let p = || element(path, j);
                        self.source(source, &p, is_db);
                        let target = rename
                            .map(|r| r.replace("{name}", source))
                            .unwrap_or_default();
                        if rename.is_some() {
                            self.target(&target, &p, Some(rename_path));
                        }
                        Rename {
                            source: source.clone(),
                            target,
                        }
                    })
                    .collect()
            }
        }
    }

    /// `path` is built only when there is something to report.
    pub(super) fn source(&mut self, name: &str, path: &dyn Fn() -> String, is_db: bool) {
        if !is_source_name(name) {
            let path = path();
            let path = path.as_str();
            self.push(
                Diagnostic::error(
                    "planrun::invalid_source_name",
                    format!("`{name}` is not a valid source name"),
                )
                .at(path, self.key(path), "invalid name")
                .help("source databases and tables are 1 to 64 letters, digits and `_`"),
            );
        } else if is_db && is_system_database(name) {
            let path = path();
            let path = path.as_str();
            self.push(
                Diagnostic::error(
                    "planrun::system_database",
                    format!("`{name}` is a system database and cannot be rolled back"),
                )
                .at(path, self.key(path), "system database")
                .help(format!(
                    "remove it: {} are never rolled back",
                    system_databases_in_words()
                )),
            );
        }
    }

    fn target(&mut self, name: &str, path: &dyn Fn() -> String, template: Option<&str>) {
        if !is_target_name(name) {
            let path = path();
            let path = path.as_str();
            let span = self.span(path);
            let also = template.map(|t| self.span(t));
            self.push(
                Diagnostic::error(
                    "planrun::invalid_target_name",
                    format!("new name `{name}` is not valid"),
                )
                .at(
                    path,
                    span,
                    if template.is_some() {
                        "renamed by the template"
                    } else {
                        "invalid new name"
                    },
                )
                .also(also, "template applied here")
                .help("new names are 1 to 64 letters, digits and `. - _ $`"),
            );
        }
    }

    /// Targets against sources: same object, shared targets, target naming another source,
    /// a table whose database is rolled back whole.
    pub(super) fn conflicts(&mut self, path: &str, dbs: &[Rename], tables: &[DbTables]) {
        let db_pointer = |r: &Rename| format!("{path}/dbs/{}", escape(&r.source));
        self.pairs(path, "dbs", dbs, ("database", ""), &db_pointer);
        self.database_targets(path, dbs, tables, &db_pointer);
        let rolled_dbs: HashSet<&str> = dbs.iter().map(|r| r.source.as_str()).collect();
        for group in tables {
            let group_path = format!("{path}/tables/{}", escape(&group.db));
            let pointer = |r: &Rename| child(&group_path, &r.source);
            let prefix = [group.db.as_str(), "."].concat();
            self.pairs(
                path,
                &format!("tables/{}", escape(&group.db)),
                &group.tables,
                ("table", &prefix),
                &pointer,
            );
            if rolled_dbs.contains(group.db.as_str()) {
                let db_span = Some(self.key(&child(path, "dbs")));
                self.push(
                    Diagnostic::error("planrun::table_in_rolled_back_db", format!("database `{}` is rolled back whole under `dbs` and its tables again under `tables`", group.db))
                        .at(&group_path, self.key(&group_path), "covered twice")
                        .also(db_span, "whole database listed here")
                        .help("keep either the whole database or the tables, not both"),
                );
            }
        }
    }

    /// A new database name must not be a database known to exist: one whose tables the entry
    /// rolls back, or a system database.
    fn database_targets(
        &mut self,
        path: &str,
        dbs: &[Rename],
        tables: &[DbTables],
        pointer: &dyn Fn(&Rename) -> String,
    ) {
        for (i, r) in dbs.iter().enumerate() {
            let collides = tables.iter().any(|g| g.db == r.target);
            let system = is_system_database(&r.target);
            if r.target.is_empty() || !(collides || system) {
                continue;
            }
            let list_form = dbs.first().is_some_and(|f| !self.has(&pointer(f)));
            let p = if list_form {
                format!("{path}/dbs/{i}")
            } else {
                pointer(r)
            };
            let span = self.span(&p);
            if collides {
                let group = format!("{path}/tables/{}", escape(&r.target));
                let group_span = Some(self.key(&group));
                self.push(
                    Diagnostic::error(
                        "planrun::target_is_source",
                        format!(
                            "new name `{}` is a database whose tables are also rolled back",
                            r.target
                        ),
                    )
                    .at(&p, span, "collides with an existing database")
                    .also(group_span, "that database")
                    .help("the database exists already: pick another new name"),
                );
            }
            if system {
                self.push(
                    Diagnostic::error(
                        "planrun::system_database",
                        format!("new name `{}` is a system database", r.target),
                    )
                    .at(&p, span, "system database")
                    .help(format!(
                        "restore under another name: {} are reserved",
                        system_databases_in_words()
                    )),
                );
            }
        }
    }

    /// `what` is the kind of object and the prefix that qualifies its name (`db.` for tables).
    fn pairs(
        &mut self,
        path: &str,
        field: &str,
        renames: &[Rename],
        what: (&str, &str),
        pointer: &dyn Fn(&Rename) -> String,
    ) {
        let (kind, prefix) = what;
        // Spans are looked up only to report a problem: finding one walks the tree.
        let locate = |rules: &Self, i: usize, r: &Rename| {
            let list_form = renames.first().is_some_and(|f| !rules.has(&pointer(f)));
            let p = if list_form {
                format!("{path}/{field}/{i}")
            } else {
                pointer(r)
            };
            (rules.span(&p), p)
        };
        // Where a source is named: the key in the map form, the item in the list form.
        let source_span = |rules: &Self, i: usize, r: &Rename| {
            let (_, p) = locate(rules, i, r);
            rules.key(&p)
        };
        let sources: HashMap<&str, usize> = renames
            .iter()
            .enumerate()
            .map(|(i, r)| (r.source.as_str(), i))
            .collect();
        let mut listed: HashMap<&str, usize> = HashMap::new();
        let mut targets: HashMap<&str, usize> = HashMap::new();
        for (i, r) in renames.iter().enumerate() {
            // Only the list form can repeat a name (a repeated map key is a duplicate_key).
            if let Some(&first) = listed.get(r.source.as_str()) {
                let (span, p) = locate(self, i, r);
                let first_span = Some(source_span(self, first, &renames[first]));
                self.push(
                    Diagnostic::error(
                        "planrun::duplicate_name",
                        format!("{kind} `{prefix}{}` is listed twice", r.source),
                    )
                    .at(p, span, "listed again here")
                    .also(first_span, "first listed here")
                    .help("remove the repeated name"),
                );
                continue;
            }
            listed.insert(&r.source, i);
            if r.target.is_empty() {
                continue;
            }
            if r.target == r.source {
                let (span, p) = locate(self, i, r);
                self.push(
                    Diagnostic::error("planrun::target_equals_source", format!("{kind} `{prefix}{}` would be restored over itself", r.source))
                        .at(p, span, "new name equals the source")
                        .help("a rollback writes new objects beside the originals: choose a different new name"),
                );
                continue;
            }
            if let Some(&first) = targets.get(r.target.as_str()) {
                let (span, p) = locate(self, i, r);
                let (first_span, _) = locate(self, first, &renames[first]);
                self.push(
                    Diagnostic::error("planrun::shared_target", format!("{kind}s `{prefix}{}` and `{prefix}{}` would both be restored as `{prefix}{}`", renames[first].source, r.source, r.target))
                        .at(p, span, "same new name")
                        .also(Some(first_span), "first used here")
                        .help("give each source its own new name"),
                );
                continue;
            }
            targets.insert(&r.target, i);
            if let Some(&other) = sources.get(r.target.as_str()) {
                let (span, p) = locate(self, i, r);
                let other_span = source_span(self, other, &renames[other]);
                self.push(
                    Diagnostic::error("planrun::target_is_source", format!("new name `{prefix}{}` is also a {kind} being rolled back", r.target))
                        .at(p, span, "collides with a source")
                        .also(Some(other_span), "that source")
                        .help("the rollback would overwrite an object it also restores: pick another new name"),
                );
            }
        }
    }
}
