//! The rules of the plan language (`docs/contract.md` §1), each its own diagnostic code, and
//! resolution of a valid plan into concrete per-instance rollbacks.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

use super::diagnostic::Diagnostic;
use super::load::{Loaded, child, element, escape};
use super::model::{Entry, Names, Provider, Strategy};
use super::node::Span;
use super::resolved::{
    DEFAULT_BATCH_SIZE, DEFAULT_TIMEZONE, DbTables, Instance, Rename, ResolvedPlan,
};

use crate::contract::MAX_OBJECTS_PER_INSTANCE;
pub const MAX_BATCH_SIZE: u64 = 50;
/// Binlog retention commonly ends after 7 days: older points in time are likely unavailable.
pub const OLD_AFTER_DAYS: i64 = 7;
/// The label on where a value used through an alias or a merge was written.
pub const ALIAS_LABEL: &str = "written here (used through an alias)";

/// Checks a loaded plan; returns every problem and, when there is no error, the resolved plan.
pub fn check(
    loaded: &Loaded,
    default_name: &str,
    context: &Context,
) -> (Vec<Diagnostic>, Option<ResolvedPlan>) {
    let mut diagnostics = loaded.diagnostics.clone();
    if !loaded.parsed {
        return (diagnostics, None);
    }
    let reported: HashSet<&str> = loaded.diagnostics.iter().map(|d| d.path.as_str()).collect();
    let reported_below = reported
        .iter()
        .flat_map(|p| p.match_indices('/').map(|(i, _)| &p[..i]).chain([*p]))
        .collect();
    let mut rules = Rules {
        loaded,
        now: context.now,
        allowed_regions: &context.allowed_regions,
        diagnostics: Vec::new(),
        offset: None,
        plan_time: None,
        reported,
        reported_below,
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

/// `a`, `a, b` or `a, b, c and 4 more`: the sources of some renames, for messages.
fn list_names(renames: &[Rename]) -> String {
    let mut shown: Vec<String> = renames
        .iter()
        .take(3)
        .map(|r| format!("`{}`", r.source))
        .collect();
    if renames.len() > 3 {
        shown.push(format!("{} more", renames.len() - 3));
    }
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => shown.join(""),
    }
}

/// How messages name an entry: its instance id(s), else its position in `instances`.
fn culprit(entry: &Entry, path: &str) -> String {
    let ids: Vec<&str> = entry
        .id
        .iter()
        .chain(entry.ids.iter().flatten())
        .map(String::as_str)
        .collect();
    match ids.as_slice() {
        [] => {
            let n = path
                .rsplit('/')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .map_or(0, |i| i + 1);
            format!("instance entry {n}")
        }
        [one] => format!("instance {one}"),
        [a, b] => format!("instances {a} and {b}"),
        [a, b, rest @ ..] => format!("instances {a}, {b} and {} more", rest.len()),
    }
}

/// What the rules judge a plan against besides its text.
#[derive(Debug, Clone)]
pub struct Context {
    /// "Now", for rollback times in the future or older than the binlogs likely reach.
    pub now: DateTime<Utc>,
    /// Regions newer than [`region::REGIONS`], allowed by name (`--allow-region`).
    pub allowed_regions: Vec<String>,
}

impl Context {
    /// Judged at `now`, with planrun's own region list only.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            allowed_regions: Vec::new(),
        }
    }
}

struct Rules<'a> {
    loaded: &'a Loaded,
    now: DateTime<Utc>,
    allowed_regions: &'a [String],
    diagnostics: Vec<Diagnostic>,
    offset: Option<FixedOffset>,
    /// The plan-level rollback_time, when valid (checked once, not per instance).
    plan_time: Option<NaiveDateTime>,
    /// Pointers of the loader's diagnostics, and every ancestor of them (looked up per entry,
    /// so a set: 10,000 entries with the same typo must not make checking quadratic).
    reported: HashSet<&'a str>,
    reported_below: HashSet<&'a str>,
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

    /// Records a problem. When its node came through an alias or a `<<` merge, the label is at
    /// the place of use; a second label shows where the value was written.
    fn push(&mut self, mut d: Diagnostic) {
        let defined = self
            .loaded
            .index
            .get(&d.path)
            .zip(d.span)
            .and_then(|(location, span)| location.defined(span));
        d = d.also(defined, ALIAS_LABEL);
        self.diagnostics.push(d);
    }

    /// True when loading already reported a problem with the node at `path` itself.
    fn reported_at(&self, path: &str) -> bool {
        self.reported.contains(path)
    }

    /// True when loading already reported a problem at or under `path` (a wrong type, a bad
    /// name): rules then stay quiet about what merely follows from it, so that `ids: [123]` is
    /// one error, not also "`ids` is empty".
    fn reported_under(&self, path: &str) -> bool {
        self.reported_below.contains(path)
    }

    /// `name` names the journal and every report: it must say something, on one line.
    fn plan_name(&mut self, name: &str) {
        let problem = if name.trim().is_empty() {
            Some(("the plan's `name` is empty", "empty name"))
        } else if name.chars().any(super::text::is_control) {
            Some((
                "the plan's `name` holds a newline, tab or control character",
                "not one line",
            ))
        } else if name.chars().count() > MAX_NAME_CHARS {
            Some((
                "the plan's `name` is longer than 200 characters",
                "too long",
            ))
        } else {
            None
        };
        if let Some((message, label)) = problem
            && !self.reported_at("/name")
        {
            self.push(
                Diagnostic::error("planrun::invalid_plan_name", message)
                    .at("/name", self.span("/name"), label)
                    .help("give the plan a short one-line name, or leave `name` out to use the file's name"),
            );
        }
    }

    fn plan(&mut self, default_name: &str) -> Option<ResolvedPlan> {
        let plan = &self.loaded.plan;
        if self.has("/version") && plan.version != 1 && !self.reported_under("/version") {
            self.push(
                Diagnostic::error(
                    "planrun::unsupported_version",
                    format!("plan version {} is not supported", plan.version),
                )
                .at("/version", self.span("/version"), "unsupported version")
                .help("this planrun reads version 1 plans: write `version: 1`"),
            );
        }
        if let Some(name) = &plan.name {
            self.plan_name(name);
        }
        if self.has("/instances") && plan.instances.is_empty() && !self.reported_at("/instances") {
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
            let (message, label) = match time::timezone_range_problem(&timezone) {
                Some(why) => (format!("timezone `{timezone}`: {why}"), why),
                None => (
                    format!("`{timezone}` is not a timezone offset"),
                    "expected ±HH:MM",
                ),
            };
            self.push(
                Diagnostic::error("planrun::invalid_timezone", message)
                    .at("/timezone", self.span("/timezone"), label)
                    .help(
                        "write the instances' UTC offset as ±HH:MM within ±14:00, e.g. \"+08:00\"",
                    ),
            );
        }
        if plan.provider != Some(Provider::Mysql) {
            self.region("/region", plan.region.as_deref());
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
        self.plan_provider();

        // Where each id was first seen: entry index and position in `ids` (None for `id`).
        let mut seen: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
        let mut instances = Vec::new();
        for (i, entry) in plan.instances.iter().enumerate() {
            let path = element("/instances", i);
            if self.reported_at(&path) {
                // Not a mapping at all: the loader said so, and nothing else can be checked.
                continue;
            }
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
                    child(path, "ids"),
                    self.key(&child(path, "ids")),
                    "`ids` here",
                )
                .also(Some(self.key(&child(path, "id"))), "`id` here")
                .help("keep `id` for one instance or `ids` for several, not both"),
            ),
            (None, None)
                if self.has(path)
                    && !self.loaded.misspelt(path, "id")
                    && !self.loaded.misspelt(path, "ids")
                    && !self.reported_under(&child(path, "id"))
                    && !self.reported_under(&child(path, "ids")) =>
            {
                self.push(
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
                );
            }
            _ => {}
        }
        if let Some(id) = &entry.id {
            list.push((id, child(path, "id"), None));
        }
        if let Some(ids) = &entry.ids {
            let ids_path = child(path, "ids");
            if ids.is_empty() && self.has(&ids_path) && !self.reported_under(&ids_path) {
                self.push(
                    Diagnostic::error("planrun::empty_ids", "`ids` is empty")
                        .at(
                            child(path, "ids"),
                            self.span(&child(path, "ids")),
                            "no instance here",
                        )
                        .help("list at least one instance id, or remove the entry"),
                );
            }
            list.extend(
                ids.iter()
                    .enumerate()
                    .map(|(j, id)| (id.as_str(), element(&ids_path, j), Some(j))),
            );
        }
        let mut out = Vec::with_capacity(list.len());
        let mysql = self.provider_of(entry) == Provider::Mysql;
        let unknown = self.provider_unknown(path);
        for (id, id_path, position) in list {
            if unknown {
                continue;
            }
            if mysql {
                if !provider::is_selfhosted_id(id) {
                    self.invalid_selfhosted_id(id, &id_path);
                    continue;
                }
            } else if !is_instance_id(id) {
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

    /// Checks one entry's spec and builds the per-instance rollback it describes.
    fn entry(&mut self, entry: &Entry, path: &str) -> Option<Instance> {
        let plan = &self.loaded.plan;
        let who = culprit(entry, path);
        let strategy = self.inherited(
            entry.strategy,
            plan.strategy,
            (path, &who),
            "strategy",
            "planrun::missing_strategy",
            "add `strategy: table|db|full` to the entry or the plan",
        );
        let time_text = entry.rollback_time.as_ref().or(plan.rollback_time.as_ref());
        let mut time_ok = true;
        if let Some(text) = &entry.rollback_time {
            time_ok = self.time(text, &child(path, "rollback_time")).is_some();
        } else if plan.rollback_time.is_some() {
            time_ok = self.plan_time.is_some();
        } else if !self.has(&child(path, "rollback_time"))
            && !self.has("/rollback_time")
            && !self.loaded.misspelt(path, "rollback_time")
            && !self.loaded.misspelt("", "rollback_time")
        {
            self.missing(
                (path, &who),
                "rollback_time",
                "planrun::missing_rollback_time",
                "add `rollback_time: \"YYYY-MM-DD HH:MM:SS\"` to the entry or the plan",
            );
        }
        if let Some(template) = &entry.rename {
            self.template(template, &child(path, "rename"));
        }
        let (rename, rename_path) = match &entry.rename {
            Some(r) => (Some(r.as_str()), child(path, "rename")),
            None => (plan.rename.as_deref(), "/rename".to_owned()),
        };
        let rename = rename.filter(|r| r.contains("{name}"));

        let dbs_path = child(path, "dbs");
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
            if names.is_empty() && !self.reported_under(&db_path) {
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
            && !self.loaded.misspelt(path, "dbs")
            && !self.loaded.misspelt(path, "tables")
            && !self.reported_under(&dbs_path)
            && !self.reported_under(&child(path, "tables"))
            && tables.iter().all(|t| t.tables.is_empty())
            && entry.dbs.as_ref().is_none_or(Names::is_empty)
            && entry.tables.as_ref().is_none_or(|t| t.0.is_empty())
        {
            self.push(
                Diagnostic::error(
                    "planrun::nothing_to_roll_back",
                    format!("{who} rolls back nothing: no `dbs` and no `tables`"),
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
                Diagnostic::error("planrun::too_many_objects", format!("{who} rolls back {total} databases and tables; at most {MAX_OBJECTS_PER_INSTANCE} are allowed"))
                    .at(path.to_owned(), Span::new(self.span(path).offset, 0), format!("{total} objects"))
                    .help("split the rollback: CDB takes at most 500 databases and tables per instance and task"),
            );
        }
        let selfhosted = self.provider_fields(entry, path, &who);
        if !matches!(selfhosted, Some(Some(_))) {
            self.region(&format!("{path}/region"), entry.region.as_deref());
        }
        let connect = self.connect(entry, path);
        let region = entry.region.clone().or_else(|| plan.region.clone());
        let region = region.filter(|_| !matches!(selfhosted, Some(Some(_))));
        Some(Instance {
            id: String::new(),
            path: String::new(),
            entry: 0,
            strategy: strategy?,
            rollback_time: time_text.filter(|_| time_ok)?.clone(),
            region,
            dbs,
            tables,
            selfhosted: selfhosted?,
            connect,
        })
    }

    /// An entry's value, else the plan's; reports when neither gives one.
    fn inherited<T: Copy>(
        &mut self,
        own: Option<T>,
        plan: Option<T>,
        (path, who): (&str, &str),
        field: &str,
        code: &'static str,
        help: &str,
    ) -> Option<T> {
        let value = own.or(plan);
        if value.is_none()
            && !self.has(&format!("{path}/{field}"))
            && !self.has(&format!("/{field}"))
            && !self.loaded.misspelt(path, field)
            && !self.loaded.misspelt("", field)
        {
            self.missing((path, who), field, code, help);
        }
        value
    }

    /// `at` is the entry's pointer and how messages name it.
    fn missing(&mut self, at: (&str, &str), field: &str, code: &'static str, help: &str) {
        let (path, who) = at;
        self.push(
            Diagnostic::error(
                code,
                format!("{who} has no `{field}` (none in the entry, none in the plan)"),
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
        let own = child(path, "strategy");
        let inherited = entry.strategy.is_none();
        // Looked up only for a diagnostic: this runs for every entry.
        let strategy_span = |rules: &Self| {
            if inherited {
                rules.span("/strategy")
            } else {
                rules.span(&own)
            }
        };
        if strategy == Strategy::Table && !dbs.is_empty() {
            let strategy_span = strategy_span(self);
            let dbs_path = child(path, "dbs");
            let origin = if inherited {
                "plan-level `strategy: table` applies here"
            } else {
                "`strategy: table` set here"
            };
            self.push(
                Diagnostic::error(
                    "planrun::table_with_dbs",
                    format!(
                        "{}: strategy `table` cannot roll back whole databases ({} under `dbs`)",
                        culprit(entry, path),
                        list_names(dbs)
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
            let strategy_span = strategy_span(self);
            let at = if inherited {
                path.to_owned()
            } else {
                own.clone()
            };
            let span = if inherited {
                Span::new(self.span(path).offset, 0)
            } else {
                strategy_span
            };
            self.push(
                Diagnostic::warning("planrun::full_strategy", format!("{} uses strategy `full`, the slowest rollback (it imports the whole instance)", culprit(entry, path)))
                    .at(at, span, "full rollback")
                    .also(inherited.then_some(strategy_span), "inherited from here")
                    .help("prefer `db` or `table` when the damage is limited to some databases or tables"),
            );
        }
    }
}

mod names;
mod provider;
pub mod region;
mod time;

/// Longest plan name: it heads reports and names state files (which planrun shortens with a
/// hash when needed, so this is for people, not for the file system).
const MAX_NAME_CHARS: usize = 200;

pub use provider::{is_selfhosted_id, parse_server};
pub use time::{parse_time, parse_timezone};

#[cfg(test)]
mod tests;
