//! Loading: YAML text → spanned tree → typed [`Plan`] plus a span index (JSON Pointer → bytes).
//!
//! Structural problems (wrong types, unknown or duplicate fields, missing fields) are collected,
//! not thrown: loading goes on past them so that one run reports everything.

use std::collections::HashSet;

use super::diagnostic::{Diagnostic, closest};
use super::model::{ENTRY_FIELDS, Entry, Names, PLAN_FIELDS, Plan, Provider, Strategy, Tables};
use super::node::{self, Node, Span, Value};

mod controls;
mod index;
mod syntax;

pub use index::{Location, SpanIndex, child, element, escape};

/// Largest plan accepted: 10,000 instances take about 1 MB, so 16 MiB is far beyond any real plan
/// while keeping a stray binary or log file from being parsed at length.
pub const MAX_PLAN_BYTES: usize = 16 * 1024 * 1024;

/// The outcome of loading one file: the model (possibly partial), its index, and problems.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub plan: Plan,
    pub index: SpanIndex,
    pub diagnostics: Vec<Diagnostic>,
    /// False when the YAML could not be parsed at all (there is no model to check).
    pub parsed: bool,
    /// `(mapping pointer, field)` for each unknown field that looks like a misspelt known
    /// one: a missing `strategy` next to `stratgy` is not reported twice.
    pub misspelt: HashSet<(String, String)>,
}

impl Loaded {
    /// True when the mapping at `path` has an unknown field that is probably `field`.
    pub fn misspelt(&self, path: &str, field: &str) -> bool {
        self.misspelt.contains(&(path.to_owned(), field.to_owned()))
    }
}

/// The diagnostic for a file over [`MAX_PLAN_BYTES`]; `size` is the file's real length.
pub fn too_large(size: u64) -> Diagnostic {
    // No label: there is no text worth showing, and JSON/GitHub place it at 1:1.
    Diagnostic::error(
        "planrun::file_too_large",
        format!("the file is {size} bytes; plans are limited to {MAX_PLAN_BYTES} bytes"),
    )
    .help("split the plan into several files, or check that this is the plan you meant")
}

/// Loads a plan from bytes: UTF-8 and size are checked before YAML parsing.
pub fn load_bytes(bytes: &[u8]) -> (String, Loaded) {
    if bytes.len() > MAX_PLAN_BYTES {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        return (
            String::new(),
            Loaded {
                diagnostics: vec![too_large(size)],
                ..Loaded::default()
            },
        );
    }
    let utf8 = std::str::from_utf8(bytes);
    if let (Err(_), Some(d)) = (&utf8, not_text(bytes)) {
        // Nothing of it is shown: a snippet of binary data is kilobytes of garbage.
        return (
            String::new(),
            Loaded {
                diagnostics: vec![d],
                ..Loaded::default()
            },
        );
    }
    match utf8 {
        Ok(text) => (text.to_owned(), load(text)),
        Err(e) => {
            let valid = e.valid_up_to();
            // The lossy text equals the file up to the first bad byte, which becomes U+FFFD:
            // the label sits on that replacement character, so the snippet shows the place.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let d = Diagnostic::error(
                "planrun::not_utf8",
                format!("the file is not UTF-8 text: invalid byte sequence at byte {valid}"),
            )
            .at(
                "",
                Span::new(valid, char::REPLACEMENT_CHARACTER.len_utf8()),
                "invalid UTF-8 here",
            )
            .help("plans are UTF-8 YAML; re-save the file as UTF-8");
            (
                text,
                Loaded {
                    diagnostics: vec![d],
                    ..Loaded::default()
                },
            )
        }
    }
}

/// How much of a file decides whether it is binary (as git decides: a NUL byte in its first
/// 8,000 bytes).
const SNIFF_BYTES: usize = 8000;

/// The one-line refusal of a file that is not UTF-8 text and cannot be shown as text: UTF-16
/// (its byte-order mark), or binary data (a NUL byte early on). `None` for text in another
/// 8-bit encoding, whose bad byte is worth pointing at.
fn not_text(bytes: &[u8]) -> Option<Diagnostic> {
    let utf16 = bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff");
    if utf16 {
        return Some(
            Diagnostic::error(
                "planrun::not_utf8",
                "the file is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8",
            )
            .help("plans are UTF-8 YAML; re-save the file as UTF-8"),
        );
    }
    let nul = bytes.iter().take(SNIFF_BYTES).position(|&b| b == 0)?;
    Some(
        Diagnostic::error(
            "planrun::binary_file",
            format!("the file is binary data, not a YAML plan (a NUL byte at byte {nul})"),
        )
        .help("check that this is the plan you meant"),
    )
}

/// Loads a plan from text.
pub fn load(text: &str) -> Loaded {
    let root = match node::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let mut diagnostics = controls::check(text, None);
            diagnostics.push(syntax::syntax(text, &e));
            return Loaded {
                diagnostics,
                ..Loaded::default()
            };
        }
    };
    let mut loader = Loader {
        text,
        diagnostics: controls::check(text, Some(&root)),
        misspelt: HashSet::new(),
    };
    let plan = loader.plan(&root);
    Loaded {
        plan,
        index: SpanIndex::new(root),
        diagnostics: loader.diagnostics,
        parsed: true,
        misspelt: loader.misspelt,
    }
}

struct Loader<'a> {
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
    misspelt: HashSet<(String, String)>,
}

impl Loader<'_> {
    fn plan(&mut self, root: &Node) -> Plan {
        let mut plan = Plan::default();
        if root.value == Value::Null {
            self.push(
                Diagnostic::error("planrun::empty_plan", "the plan is empty")
                    .help("write a plan: `version: 1`, a `rollback_time`, a `strategy` and an `instances:` list"),
            );
            return plan;
        }
        let Some(fields) = self.fields(root, "", PLAN_FIELDS, "plan") else {
            return plan;
        };
        let (mut has_version, mut has_instances) = (false, false);
        for (name, value, path) in fields {
            match name {
                "version" => {
                    has_version = true;
                    plan.version = self.integer(value, &path).unwrap_or(0);
                }
                "name" => plan.name = self.string(value, &path),
                "description" => plan.description = self.string(value, &path),
                "rollback_time" => plan.rollback_time = self.scalar_text(value, &path),
                "timezone" => plan.timezone = self.scalar_text(value, &path),
                "strategy" => plan.strategy = self.strategy(value, &path),
                "provider" => plan.provider = self.provider(value, &path),
                "rename" => plan.rename = self.string(value, &path),
                "region" => plan.region = self.string(value, &path),
                "batch_size" => plan.batch_size = self.integer(value, &path),
                "instances" => {
                    has_instances = true;
                    plan.instances = self.entries(value, &path);
                }
                _ => {}
            }
        }
        for (present, field, help) in [
            (
                has_version,
                "version",
                "add `version: 1` at the top of the plan",
            ),
            (
                has_instances,
                "instances",
                "add an `instances:` list with at least one instance",
            ),
        ] {
            if !present && !self.misspelt.contains(&(String::new(), field.to_owned())) {
                self.push(
                    Diagnostic::error(
                        "planrun::missing_field",
                        format!("the plan has no `{field}`"),
                    )
                    .at(
                        "",
                        Span::new(root.span.offset, 0),
                        format!("`{field}` missing"),
                    )
                    .help(help),
                );
            }
        }
        plan
    }

    fn entries(&mut self, node: &Node, path: &str) -> Vec<Entry> {
        let Some(items) = self.seq(node, path, "a list of instance entries") else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = element(path, i);
                self.entry(item, &p)
            })
            .collect()
    }

    fn entry(&mut self, node: &Node, path: &str) -> Entry {
        let mut entry = Entry::default();
        if let Value::Str(id) = &node.value {
            // `- cdb-xxxxxxxx`: an id where an entry belongs, a common slip.
            self.push(
                Diagnostic::error(
                    "planrun::wrong_type",
                    "expected a mapping (the instance entry), found a string",
                )
                .at(path, node.span, "this is a string")
                .help(format!(
                    "an entry is a mapping: write `- id: {id}` and what to roll back under it"
                )),
            );
            return entry;
        }
        let Some(fields) = self.fields(node, path, ENTRY_FIELDS, "instance entry") else {
            return entry;
        };
        for (name, value, p) in fields {
            match name {
                "id" => entry.id = self.string(value, &p),
                "ids" => {
                    entry.ids = self.seq(value, &p, "a list of instance ids").map(|items| {
                        items
                            .iter()
                            .enumerate()
                            .filter_map(|(i, item)| {
                                let ip = element(&p, i);
                                self.string(item, &ip)
                            })
                            .collect()
                    });
                }
                "strategy" => entry.strategy = self.strategy(value, &p),
                "provider" => entry.provider = self.provider(value, &p),
                "server" => entry.server = self.scalar_text(value, &p),
                "connect" => entry.connect = self.scalar_text(value, &p),
                "backups" => entry.backups = self.string(value, &p),
                "restore_server" => entry.restore_server = self.scalar_text(value, &p),
                "rollback_time" => entry.rollback_time = self.scalar_text(value, &p),
                "rename" => entry.rename = self.string(value, &p),
                "region" => entry.region = self.string(value, &p),
                "dbs" => entry.dbs = self.names(value, &p),
                "tables" => entry.tables = self.tables(value, &p),
                _ => {}
            }
        }
        entry
    }

    fn tables(&mut self, node: &Node, path: &str) -> Option<Tables> {
        if node.value == Value::Null {
            return Some(Tables::default());
        }
        if let Value::Seq(_) = node.value {
            // `tables: [payments]`: the database level is missing.
            self.push(
                Diagnostic::error(
                    "planrun::wrong_type",
                    "`tables` should be a mapping of database → tables, found a list",
                )
                .at(path, node.span, "this is a list")
                .also(node.defined, super::rules::ALIAS_LABEL)
                .help("group tables by database: `tables: {orders: [payments, refunds]}`"),
            );
            return None;
        }
        let entries = self.map(node, path, "a mapping of database → tables")?;
        let mut out = Vec::with_capacity(entries.len());
        let mut seen = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(db) = self.name(key, path) else {
                continue;
            };
            let p = child(path, &db);
            if self.repeated(&mut seen, &db, key.span, &p) {
                continue;
            }
            if let Some(names) = self.names(value, &p) {
                out.push((db, names));
            }
        }
        Some(Tables(out))
    }

    fn names(&mut self, node: &Node, path: &str) -> Option<Names> {
        match &node.value {
            Value::Null => Some(Names::List(Vec::new())),
            Value::Seq(items) => Some(Names::List(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let p = element(path, i);
                        self.name(item, &p)
                    })
                    .collect(),
            )),
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                let mut seen = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(source) = self.name(key, path) else {
                        continue;
                    };
                    let p = child(path, &source);
                    if self.repeated(&mut seen, &source, key.span, &p) {
                        continue;
                    }
                    if let Some(target) = self.name(value, &p) {
                        out.push((source, target));
                    }
                }
                Some(Names::Map(out))
            }
            _ => {
                self.wrong_type(
                    node,
                    path,
                    "a list of names or a mapping `source: new_name`",
                );
                None
            }
        }
    }

    /// A mapping's fields: unknown, duplicate and non-string keys are reported and dropped.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
        what: &str,
    ) -> Option<Vec<(&'n str, &'n Node, String)>> {
        let entries = self.map(node, path, &format!("a mapping (the {what})"))?;
        let mut out: Vec<(&str, &Node, String)> = Vec::with_capacity(entries.len());
        let mut seen = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                // Pointed at as JSON would spell the key, so the mapping itself stays unblamed.
                let key_path = format!("{path}/{}", escape(&self.raw(key)));
                self.wrong_type(key, &key_path, "a field name");
                continue;
            };
            let p = child(path, name);
            if !known.contains(&name.as_str()) {
                let mut d = Diagnostic::error(
                    "planrun::unknown_field",
                    format!("unknown field `{name}` in the {what}"),
                )
                .at(p, key.span, "unknown field")
                .also(key.defined, super::rules::ALIAS_LABEL);
                d = match closest(name, known) {
                    Some(near) => {
                        self.misspelt.insert((path.to_owned(), near.to_owned()));
                        d.help(format!("did you mean `{near}`?"))
                    }
                    None => d.help(format!("known fields: {}", known.join(", "))),
                };
                self.push(d);
                continue;
            }
            if self.repeated(&mut seen, name, key.span, &p) {
                continue;
            }
            out.push((name.as_str(), value, p));
        }
        Some(out)
    }

    /// Reports `name` when it already was a key of this mapping; else remembers where it is.
    fn repeated(
        &mut self,
        seen: &mut Vec<(String, Span)>,
        name: &str,
        span: Span,
        path: &str,
    ) -> bool {
        if let Some(&(_, first)) = seen.iter().find(|(n, _)| n == name) {
            self.duplicate(name, span, first, path);
            return true;
        }
        seen.push((name.to_owned(), span));
        false
    }

    fn duplicate(&mut self, name: &str, span: Span, first: Span, path: &str) {
        let first = Some(first);
        self.push(
            Diagnostic::error("planrun::duplicate_key", format!("`{name}` is given twice"))
                .at(path, span, "repeated here")
                .also(first, "first given here")
                .help("YAML keys must be unique: remove or merge one of them"),
        );
    }

    fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        expected: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            _ => {
                self.wrong_type(node, path, expected);
                None
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, path: &str, expected: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, path, expected);
                None
            }
        }
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    /// A scalar taken as written (quoted or not): `rollback_time: 2026-11-20 03:15:00` and
    /// `timezone: +08:00` are text even where a YAML resolver would see a number.
    fn scalar_text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) => Some(self.raw(node)),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    /// A database or table name: numbers are names too, as written (`007: 2024.11`).
    fn name(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) => Some(self.raw(node)),
            _ => {
                self.wrong_type(node, path, "a name (string)");
                None
            }
        }
    }

    /// A scalar's text as written. Through an alias (`*a`) that is the anchored node's text,
    /// without its `&a` anchor.
    fn raw(&self, node: &Node) -> String {
        let span = node.defined.unwrap_or(node.span);
        let text = self
            .text
            .get(span.offset..span.offset + span.len)
            .unwrap_or_default()
            .trim();
        let text = match text.strip_prefix('&') {
            Some(anchored) => anchored
                .split_once(char::is_whitespace)
                .map_or("", |(_, rest)| rest),
            None => text,
        };
        text.trim().to_owned()
    }

    fn integer(&mut self, node: &Node, path: &str) -> Option<u64> {
        match &node.value {
            Value::Int(i) => u64::try_from(*i).ok().or_else(|| {
                let field = path.rsplit('/').next().unwrap_or_default();
                self.push(
                    Diagnostic::error(
                        "planrun::wrong_type",
                        format!("`{field}` should be a positive integer, found {i}"),
                    )
                    .at(path, node.span, "out of range")
                    .help("write a positive integer here"),
                );
                None
            }),
            _ => {
                self.wrong_type(node, path, "an integer");
                None
            }
        }
    }

    fn strategy(&mut self, node: &Node, path: &str) -> Option<Strategy> {
        let Value::Str(s) = &node.value else {
            self.wrong_type(node, path, "one of table, db, full");
            return None;
        };
        let strategy = Strategy::parse(s);
        if strategy.is_none() {
            let help = match closest(s, &Strategy::ALL) {
                Some(near) => format!("did you mean `{near}`? (table, db or full)"),
                None => "use table, db or full".to_owned(),
            };
            self.push(
                Diagnostic::error(
                    "planrun::invalid_strategy",
                    format!("unknown strategy `{s}`"),
                )
                .at(path, node.span, "not a strategy")
                .also(node.defined, super::rules::ALIAS_LABEL)
                .help(help),
            );
        }
        strategy
    }

    fn provider(&mut self, node: &Node, path: &str) -> Option<Provider> {
        let Value::Str(s) = &node.value else {
            self.wrong_type(node, path, "one of tencentcloud, mysql");
            return None;
        };
        let provider = Provider::parse(s);
        if provider.is_none() {
            let help = match closest(s, &Provider::ALL) {
                Some(near) => format!("did you mean `{near}`? (tencentcloud or mysql)"),
                None => "use tencentcloud (CDB) or mysql (a self-hosted MySQL/MariaDB server)"
                    .to_owned(),
            };
            self.push(
                Diagnostic::error(
                    "planrun::invalid_provider",
                    format!("unknown provider `{s}`"),
                )
                .at(path, node.span, "not a provider")
                .also(node.defined, super::rules::ALIAS_LABEL)
                .help(help),
            );
        }
        provider
    }

    fn wrong_type(&mut self, node: &Node, path: &str, expected: &str) {
        let found = node.value.kind();
        // Name the field (or database) when the pointer ends in one, not in a list index.
        let token = path.rsplit('/').next().unwrap_or_default();
        let message = if token.is_empty() || token.bytes().all(|b| b.is_ascii_digit()) {
            format!("expected {expected}, found {found}")
        } else {
            let name = token.replace("~1", "/").replace("~0", "~");
            format!("`{name}` should be {expected}, found {found}")
        };
        self.push(
            Diagnostic::error("planrun::wrong_type", message)
                .at(path, node.span, format!("this is {found}"))
                .also(node.defined, super::rules::ALIAS_LABEL)
                .help(format!("write {expected} here")),
        );
    }

    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }
}

#[cfg(test)]
mod tests;
