//! The rules of the plan language (DESIGN §1), each its own diagnostic code, and resolution of
//! a valid plan into concrete per-instance rollbacks.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::diagnostic::Diagnostic;
use super::load::{Loaded, escape};
use super::model::{Entry, Names, Strategy};
use super::node::Span;
use super::resolved::{
    DEFAULT_BATCH_SIZE, DEFAULT_TIMEZONE, DbTables, Instance, Rename, ResolvedPlan,
};

pub const SYSTEM_DATABASES: [&str; 4] =
    ["mysql", "sys", "information_schema", "performance_schema"];
pub const MAX_OBJECTS_PER_INSTANCE: usize = 500;
pub const MAX_BATCH_SIZE: u64 = 50;
/// Binlog retention commonly ends after 7 days: older points in time are likely unavailable.
pub const OLD_AFTER_DAYS: i64 = 7;
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Checks a loaded plan; returns every problem and, when there is no error, the resolved plan.
pub fn check(
    loaded: &Loaded,
    default_name: &str,
    now: DateTime<Utc>,
) -> (Vec<Diagnostic>, Option<ResolvedPlan>) {
    let mut diagnostics = loaded.diagnostics.clone();
    if !loaded.parsed {
        return (diagnostics, None);
    }
    let mut rules = Rules {
        loaded,
        now,
        diagnostics: Vec::new(),
        offset: None,
        plan_time: None,
    };
    let resolved = rules.plan(default_name);
    diagnostics.append(&mut rules.diagnostics);
    // Report in document order, as a reader scans the file.
    diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.offset));
    let valid = !diagnostics.iter().any(Diagnostic::is_error);
    (diagnostics, resolved.filter(|_| valid))
}

/// True for `cdb-` followed by 8 lowercase letters or digits.
pub fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("cdb-").is_some_and(|rest| {
        rest.len() == 8
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub fn is_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub fn is_target_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'$'))
}

/// `±HH:MM` within ±14:00.
pub fn parse_timezone(text: &str) -> Option<FixedOffset> {
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' || !matches!(b[0], b'+' | b'-') {
        return None;
    }
    let hours: i32 = text.get(1..3)?.parse().ok()?;
    let minutes: i32 = text.get(4..6)?.parse().ok()?;
    let seconds = (hours * 60 + minutes) * 60;
    if minutes >= 60 || seconds > 14 * 3600 || !text[1..3].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if b[0] == b'-' {
        FixedOffset::west_opt(seconds)
    } else {
        FixedOffset::east_opt(seconds)
    }
}

/// `YYYY-MM-DD HH:MM:SS`, digits exactly where they belong, and a real calendar time.
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let shape = text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).ok()
}

struct Rules<'a> {
    loaded: &'a Loaded,
    now: DateTime<Utc>,
    diagnostics: Vec<Diagnostic>,
    offset: Option<FixedOffset>,
    /// The plan-level rollback_time, when valid (checked once, not per instance).
    plan_time: Option<NaiveDateTime>,
}

impl Rules<'_> {
    fn span(&self, path: &str) -> Span {
        self.loaded.index.value(path)
    }

    fn key(&self, path: &str) -> Span {
        self.loaded.index.key(path)
    }

    fn has(&self, path: &str) -> bool {
        self.loaded.index.get(path).is_some()
    }

    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn plan(&mut self, default_name: &str) -> Option<ResolvedPlan> {
        let plan = &self.loaded.plan;
        if self.has("/version") && plan.version != 1 {
            self.push(
                Diagnostic::error(
                    "planrun::unsupported_version",
                    format!("plan version {} is not supported", plan.version),
                )
                .at("/version", self.span("/version"), "unsupported version")
                .help("this planrun reads version 1 plans: write `version: 1`"),
            );
        }
        if self.has("/instances") && plan.instances.is_empty() {
            self.push(
                Diagnostic::error("planrun::empty_instances", "the plan lists no instances")
                    .at("/instances", self.span("/instances"), "empty")
                    .help("add at least one entry with `id` or `ids`"),
            );
        }
        let timezone = plan
            .timezone
            .clone()
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
        self.offset = parse_timezone(&timezone);
        if self.offset.is_none() {
            self.push(
                Diagnostic::error(
                    "planrun::invalid_timezone",
                    format!("`{timezone}` is not a timezone offset"),
                )
                .at("/timezone", self.span("/timezone"), "expected ±HH:MM")
                .help("write the instances' UTC offset as ±HH:MM within ±14:00, e.g. \"+08:00\""),
            );
        }
        if let Some(template) = &plan.rename {
            self.template(template, "/rename");
        }
        if let Some(size) = plan.batch_size
            && !(1..=MAX_BATCH_SIZE).contains(&size)
        {
            self.push(
                Diagnostic::error(
                    "planrun::invalid_batch_size",
                    format!("batch_size {size} is out of range"),
                )
                .at("/batch_size", self.span("/batch_size"), "must be 1 to 50")
                .help(format!(
                    "use 1 to {MAX_BATCH_SIZE} instances per call (default {DEFAULT_BATCH_SIZE})"
                )),
            );
        }
        if let Some(text) = &plan.rollback_time {
            self.plan_time = self.time(text, "/rollback_time");
        }

        // Where each id was first seen: entry index and position in `ids` (None for `id`).
        let mut seen: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
        let mut instances = Vec::new();
        for (i, entry) in plan.instances.iter().enumerate() {
            let path = format!("/instances/{i}");
            let ids = self.ids(i, entry, &path, &mut seen);
            if let Some(spec) = self.entry(entry, &path) {
                let last = ids.len().saturating_sub(1);
                let mut spec = Some(spec);
                for (n, (id, id_path)) in ids.into_iter().enumerate() {
                    // The last id takes the spec itself: no copy for the common one-id entry.
                    let base = if n == last { spec.take() } else { spec.clone() };
                    if let Some(base) = base {
                        instances.push(Instance {
                            id,
                            path: id_path,
                            entry: i,
                            ..base
                        });
                    }
                }
            }
        }
        let batch_size = plan
            .batch_size
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(DEFAULT_BATCH_SIZE);
        Some(ResolvedPlan {
            name: plan.name.clone().unwrap_or_else(|| default_name.to_owned()),
            description: plan.description.clone(),
            timezone,
            batch_size,
            instances,
        })
    }

    /// The entry's instance ids with their pointers; checks id/ids, format and uniqueness.
    fn ids<'p>(
        &mut self,
        entry_index: usize,
        entry: &'p Entry,
        path: &str,
        seen: &mut HashMap<&'p str, (usize, Option<usize>)>,
    ) -> Vec<(String, String)> {
        let mut list: Vec<(&str, String, Option<usize>)> = Vec::new();
        match (&entry.id, &entry.ids) {
            (Some(_), Some(_)) => self.push(
                Diagnostic::error(
                    "planrun::id_and_ids",
                    "an instance entry has both `id` and `ids`",
                )
                .at(
                    format!("{path}/ids"),
                    self.key(&format!("{path}/ids")),
                    "`ids` here",
                )
                .also(Some(self.key(&format!("{path}/id"))), "`id` here")
                .help("keep `id` for one instance or `ids` for several, not both"),
            ),
            (None, None) if self.has(path) => self.push(
                Diagnostic::error(
                    "planrun::missing_id",
                    "an instance entry has neither `id` nor `ids`",
                )
                .at(
                    path.to_owned(),
                    Span::new(self.span(path).offset, 0),
                    "which instance?",
                )
                .help("add `id: cdb-xxxxxxxx`, or `ids: [...]` for several instances"),
            ),
            _ => {}
        }
        if let Some(id) = &entry.id {
            list.push((id, format!("{path}/id"), None));
        }
        if let Some(ids) = &entry.ids {
            if ids.is_empty() && self.has(&format!("{path}/ids")) {
                self.push(
                    Diagnostic::error("planrun::empty_ids", "`ids` is empty")
                        .at(
                            format!("{path}/ids"),
                            self.span(&format!("{path}/ids")),
                            "no instance here",
                        )
                        .help("list at least one instance id, or remove the entry"),
                );
            }
            list.extend(
                ids.iter()
                    .enumerate()
                    .map(|(j, id)| (id.as_str(), format!("{path}/ids/{j}"), Some(j))),
            );
        }
        let mut out = Vec::with_capacity(list.len());
        for (id, id_path, position) in list {
            if !is_instance_id(id) {
                self.push(
                    Diagnostic::error("planrun::invalid_instance_id", format!("`{id}` is not a CDB instance id"))
                        .at(&id_path, self.span(&id_path), "not an instance id")
                        .help("instance ids are `cdb-` followed by 8 lowercase letters or digits, e.g. cdb-mo64xu70"),
                );
                continue;
            }
            if let Some(&(first_entry, first_pos)) = seen.get(id) {
                let first = match first_pos {
                    Some(j) => format!("/instances/{first_entry}/ids/{j}"),
                    None => format!("/instances/{first_entry}/id"),
                };
                let first_span = Some(self.span(&first));
                self.push(
                    Diagnostic::error(
                        "planrun::duplicate_instance",
                        format!("instance {id} appears more than once"),
                    )
                    .at(&id_path, self.span(&id_path), "again here")
                    .also(first_span, "first here")
                    .help("an instance is rolled back once per plan: merge the two entries"),
                );
                continue;
            }
            seen.insert(id, (entry_index, position));
            out.push((id.to_owned(), id_path));
        }
        out
    }

    fn template(&mut self, template: &str, path: &str) {
        if !template.contains("{name}") {
            self.push(
                Diagnostic::error(
                    "planrun::rename_without_name",
                    format!("rename template `{template}` has no `{{name}}`"),
                )
                .at(path, self.span(path), "no {name} here")
                .help("include `{name}` where the source name goes, e.g. \"{name}_bak\""),
            );
        }
    }

    /// Format, calendar, future and age of a rollback time.
    fn time(&mut self, text: &str, path: &str) -> Option<NaiveDateTime> {
        let Some(time) = parse_time(text) else {
            self.push(
                Diagnostic::error(
                    "planrun::invalid_rollback_time",
                    format!("`{text}` is not a valid rollback time"),
                )
                .at(path, self.span(path), "expected YYYY-MM-DD HH:MM:SS")
                .help(
                    "write a real calendar time as \"YYYY-MM-DD HH:MM:SS\" in the plan's timezone",
                ),
            );
            return None;
        };
        let offset = self.offset?;
        let now = self.now.with_timezone(&offset).naive_local();
        let tz = offset.to_string();
        if time > now {
            self.push(
                Diagnostic::error(
                    "planrun::future_rollback_time",
                    format!("rollback time {text} ({tz}) is in the future"),
                )
                .at(path, self.span(path), "after now")
                .help(format!(
                    "it is {} in {tz}; a rollback goes back in time",
                    now.format(TIME_FORMAT)
                )),
            );
        } else if now - time > chrono::Duration::days(OLD_AFTER_DAYS) {
            self.push(
                Diagnostic::warning("planrun::old_rollback_time", format!("rollback time {text} is more than {OLD_AFTER_DAYS} days ago"))
                    .at(path, self.span(path), "older than 7 days")
                    .help("binlogs may no longer cover it; check the instance's rollback window (DescribeRollbackRangeTime)"),
            );
        }
        Some(time)
    }

    /// Checks one entry's spec and builds the per-instance rollback it describes.
    fn entry(&mut self, entry: &Entry, path: &str) -> Option<Instance> {
        let plan = &self.loaded.plan;
        let strategy = self.inherited(
            entry.strategy,
            plan.strategy,
            path,
            "strategy",
            "planrun::missing_strategy",
            "add `strategy: table|db|full` to the entry or the plan",
        );
        let time_text = entry.rollback_time.as_ref().or(plan.rollback_time.as_ref());
        let mut time_ok = true;
        if let Some(text) = &entry.rollback_time {
            time_ok = self.time(text, &format!("{path}/rollback_time")).is_some();
        } else if plan.rollback_time.is_some() {
            time_ok = self.plan_time.is_some();
        } else if !self.has(&format!("{path}/rollback_time")) && !self.has("/rollback_time") {
            self.missing(
                path,
                "rollback_time",
                "planrun::missing_rollback_time",
                "add `rollback_time: \"YYYY-MM-DD HH:MM:SS\"` to the entry or the plan",
            );
        }
        if let Some(template) = &entry.rename {
            self.template(template, &format!("{path}/rename"));
        }
        let (rename, rename_path) = match &entry.rename {
            Some(r) => (Some(r.as_str()), format!("{path}/rename")),
            None => (plan.rename.as_deref(), "/rename".to_owned()),
        };
        let rename = rename.filter(|r| r.contains("{name}"));

        let dbs_path = format!("{path}/dbs");
        let dbs = entry
            .dbs
            .as_ref()
            .map(|n| self.renames(n, &dbs_path, rename, &rename_path))
            .unwrap_or_default();
        let mut tables = Vec::new();
        for (db, names) in entry
            .tables
            .as_ref()
            .map(|t| t.0.as_slice())
            .unwrap_or_default()
        {
            let db_path = format!("{path}/tables/{}", escape(db));
            self.source(db, &|| db_path.clone(), true);
            if names.is_empty() {
                self.push(
                    Diagnostic::error(
                        "planrun::empty_tables",
                        format!("no tables listed for database `{db}`"),
                    )
                    .at(&db_path, self.key(&db_path), "no tables")
                    .help("list the tables to roll back, or remove the database"),
                );
            }
            let renamed = self.renames(names, &db_path, rename, &rename_path);
            tables.push(DbTables {
                db: db.clone(),
                tables: renamed,
            });
        }

        if dbs.is_empty()
            && tables.iter().all(|t| t.tables.is_empty())
            && entry.dbs.as_ref().is_none_or(Names::is_empty)
            && entry.tables.as_ref().is_none_or(|t| t.0.is_empty())
        {
            self.push(
                Diagnostic::error(
                    "planrun::nothing_to_roll_back",
                    "the entry rolls back nothing: no `dbs` and no `tables`",
                )
                .at(
                    path.to_owned(),
                    Span::new(self.span(path).offset, 0),
                    "nothing to roll back",
                )
                .help("list databases under `dbs` or tables under `tables`"),
            );
        }
        if let Some(strategy) = strategy {
            self.strategy_rules(strategy, entry, path, &dbs);
        }
        self.conflicts(path, &dbs, &tables);
        let total = dbs.len() + tables.iter().map(|t| t.tables.len()).sum::<usize>();
        if total > MAX_OBJECTS_PER_INSTANCE {
            self.push(
                Diagnostic::error("planrun::too_many_objects", format!("the entry rolls back {total} databases and tables; at most {MAX_OBJECTS_PER_INSTANCE} are allowed"))
                    .at(path.to_owned(), Span::new(self.span(path).offset, 0), format!("{total} objects"))
                    .help("split the rollback: CDB takes at most 500 databases and tables per instance and task"),
            );
        }
        let region = entry.region.clone().or_else(|| plan.region.clone());
        Some(Instance {
            id: String::new(),
            path: String::new(),
            entry: 0,
            strategy: strategy?,
            rollback_time: time_text.filter(|_| time_ok)?.clone(),
            region,
            dbs,
            tables,
        })
    }

    /// An entry's value, else the plan's; reports when neither gives one.
    fn inherited<T: Copy>(
        &mut self,
        own: Option<T>,
        plan: Option<T>,
        path: &str,
        field: &str,
        code: &'static str,
        help: &str,
    ) -> Option<T> {
        let value = own.or(plan);
        if value.is_none()
            && !self.has(&format!("{path}/{field}"))
            && !self.has(&format!("/{field}"))
        {
            self.missing(path, field, code, help);
        }
        value
    }

    fn missing(&mut self, path: &str, field: &str, code: &'static str, help: &str) {
        self.push(
            Diagnostic::error(
                code,
                format!("no `{field}` for this entry (none in the entry, none in the plan)"),
            )
            .at(
                path.to_owned(),
                Span::new(self.span(path).offset, 0),
                format!("`{field}` missing"),
            )
            .help(help.to_owned()),
        );
    }

    fn strategy_rules(&mut self, strategy: Strategy, entry: &Entry, path: &str, dbs: &[Rename]) {
        let own = format!("{path}/strategy");
        let inherited = entry.strategy.is_none();
        // Looked up only when a diagnostic needs it: this runs for every entry.
        if strategy == Strategy::Table && !dbs.is_empty() {
            let strategy_span = self.strategy_span(inherited, &own);
            let dbs_path = format!("{path}/dbs");
            let origin = if inherited {
                "plan-level `strategy: table` applies here"
            } else {
                "`strategy: table` set here"
            };
            self.push(
                Diagnostic::error(
                    "planrun::table_with_dbs",
                    format!(
                        "strategy `table` cannot roll back whole databases ({} listed under `dbs`)",
                        dbs.len()
                    ),
                )
                .at(
                    &dbs_path,
                    self.key(&dbs_path),
                    "`dbs` must be empty with strategy table",
                )
                .also(Some(strategy_span), origin)
                .help("use `strategy: db` for whole databases, or move them to `tables`"),
            );
        }
        if strategy == Strategy::Full {
            let strategy_span = self.strategy_span(inherited, &own);
            let at = if inherited { path.to_owned() } else { own };
            let span = if inherited {
                Span::new(self.span(path).offset, 0)
            } else {
                strategy_span
            };
            self.push(
                Diagnostic::warning("planrun::full_strategy", "strategy `full` imports the whole instance's backup and binlog: the slowest rollback")
                    .at(at, span, "full rollback")
                    .also(inherited.then_some(strategy_span), "inherited from here")
                    .help("prefer `db` or `table` when the damage is limited to some databases or tables"),
            );
        }
    }

    /// Where the strategy an entry uses was written (looked up only for a diagnostic).
    fn strategy_span(&self, inherited: bool, own: &str) -> Span {
        if inherited {
            self.span("/strategy")
        } else {
            self.span(own)
        }
    }

    /// Source → target pairs of a `dbs` list or map (or the tables of one database).
    fn renames(
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
                    let p = || format!("{path}/{}", escape(source));
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
                        let p = || format!("{path}/{j}");
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

    /// `path` is computed only when there is something to report.
    fn source(&mut self, name: &str, path: &dyn Fn() -> String, is_db: bool) {
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
        } else if is_db
            && SYSTEM_DATABASES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
        {
            let path = path();
            let path = path.as_str();
            self.push(
                Diagnostic::error("planrun::system_database", format!("`{name}` is a system database and cannot be rolled back"))
                    .at(path, self.key(path), "system database")
                    .help("remove it: mysql, sys, information_schema and performance_schema are never rolled back"),
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
    fn conflicts(&mut self, path: &str, dbs: &[Rename], tables: &[DbTables]) {
        let db_pointer = |r: &Rename| format!("{path}/dbs/{}", escape(&r.source));
        self.pairs(path, "dbs", dbs, ("database", ""), &db_pointer);
        let rolled_dbs: HashSet<&str> = dbs.iter().map(|r| r.source.as_str()).collect();
        for group in tables {
            let group_path = format!("{path}/tables/{}", escape(&group.db));
            let pointer = |r: &Rename| format!("{group_path}/{}", escape(&r.source));
            let prefix = format!("{}.", group.db);
            self.pairs(
                path,
                &format!("tables/{}", escape(&group.db)),
                &group.tables,
                ("table", &prefix),
                &pointer,
            );
            if rolled_dbs.contains(group.db.as_str()) {
                let db_span = Some(self.key(&format!("{path}/dbs")));
                self.push(
                    Diagnostic::error("planrun::table_in_rolled_back_db", format!("database `{}` is rolled back whole under `dbs` and its tables again under `tables`", group.db))
                        .at(&group_path, self.key(&group_path), "covered twice")
                        .also(db_span, "whole database listed here")
                        .help("keep either the whole database or the tables, not both"),
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
        // Only called to report a problem: finding spans walks the tree.
        let locate = |rules: &Self, i: usize, r: &Rename| {
            let list_form = !rules.has(&pointer(r));
            let p = if list_form {
                format!("{path}/{field}/{i}")
            } else {
                pointer(r)
            };
            (rules.span(&p), p)
        };
        let sources: HashMap<&str, usize> = renames
            .iter()
            .enumerate()
            .map(|(i, r)| (r.source.as_str(), i))
            .collect();
        let mut targets: HashMap<&str, usize> = HashMap::new();
        for (i, r) in renames.iter().enumerate() {
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
                let (other_span, _) = locate(self, other, &renames[other]);
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
