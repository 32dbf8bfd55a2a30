//! Loading: YAML text → spanned tree → typed [`Plan`] plus a span index (JSON Pointer → bytes).
//!
//! Structural problems (wrong types, unknown or duplicate fields, missing fields) are collected,
//! not thrown: loading goes on past them so that one run reports everything.

use super::diagnostic::{Diagnostic, closest};
use super::model::{ENTRY_FIELDS, Entry, Names, PLAN_FIELDS, Plan, Strategy, Tables};
use super::node::{self, Node, Span, Value};

/// Largest plan accepted: 10,000 instances take about 1 MB, so 16 MiB is far beyond any real plan
/// while keeping a stray binary or log file from being parsed at length.
pub const MAX_PLAN_BYTES: usize = 16 * 1024 * 1024;

/// Where a node sits: the key naming it (for mapping values) and the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON Pointer → location of every node of the plan, answered by walking the spanned tree
/// (built once by the parser; nothing is precomputed for nodes no diagnostic mentions).
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    root: Option<Node>,
}

impl SpanIndex {
    pub fn new(root: Node) -> Self {
        Self { root: Some(root) }
    }

    /// The node at `pointer` and the key naming it, if any (the first of duplicate keys).
    pub fn get(&self, pointer: &str) -> Option<Location> {
        let mut node = self.root.as_ref()?;
        let mut key = None;
        if pointer.is_empty() {
            return Some(Location {
                key,
                value: node.span,
            });
        }
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = unescape(token);
            match &node.value {
                Value::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| scalar_is(k, &token))?;
                    key = Some(k.span);
                    node = v;
                }
                Value::Seq(items) => {
                    node = items.get(token.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some(Location {
            key,
            value: node.span,
        })
    }

    /// The value's span, falling back to the closest existing ancestor (then the document start).
    pub fn value(&self, pointer: &str) -> Span {
        let mut p = pointer;
        loop {
            if let Some(loc) = self.get(p) {
                return loc.value;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Span::default(),
            }
        }
    }

    /// The key's span when the node is a mapping value, else the value's.
    pub fn key(&self, pointer: &str) -> Span {
        self.get(pointer)
            .and_then(|l| l.key)
            .unwrap_or_else(|| self.value(pointer))
    }
}

/// Whether a key node reads as `token` (names may be written as numbers: `2024:`).
fn scalar_is(key: &Node, token: &str) -> bool {
    match &key.value {
        Value::Str(s) => s == token,
        Value::Int(i) => token.parse::<i128>().ok() == Some(*i),
        _ => false,
    }
}

fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Escapes one reference token of a JSON Pointer (RFC 6901).
pub fn escape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// The outcome of loading one file: the model (possibly partial), its index, and problems.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub plan: Plan,
    pub index: SpanIndex,
    pub diagnostics: Vec<Diagnostic>,
    /// False when the YAML could not be parsed at all (there is no model to check).
    pub parsed: bool,
}

/// Loads a plan from bytes: UTF-8 and size are checked before YAML parsing.
pub fn load_bytes(bytes: &[u8]) -> (String, Loaded) {
    if bytes.len() > MAX_PLAN_BYTES {
        let d = Diagnostic::error(
            "planrun::file_too_large",
            format!(
                "the file is {} bytes; plans are limited to {MAX_PLAN_BYTES} bytes",
                bytes.len()
            ),
        )
        .at("", Span::default(), "this file")
        .help("split the plan into several files, or check that this is the plan you meant");
        return (
            String::new(),
            Loaded {
                diagnostics: vec![d],
                ..Loaded::default()
            },
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), load(text)),
        Err(e) => {
            let valid = e.valid_up_to();
            // Keep the valid prefix as the source so the label can show where it breaks.
            let text = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let d = Diagnostic::error(
                "planrun::not_utf8",
                format!("the file is not UTF-8 text: invalid byte sequence at byte {valid}"),
            )
            .at("", Span::new(valid, 0), "invalid UTF-8 here")
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

/// Loads a plan from text.
pub fn load(text: &str) -> Loaded {
    let root = match node::parse(text) {
        Ok(root) => root,
        Err(e) => {
            return Loaded {
                diagnostics: vec![syntax(text, &e)],
                ..Loaded::default()
            };
        }
    };
    let mut loader = Loader {
        text,
        diagnostics: Vec::new(),
    };
    let plan = loader.plan(&root);
    Loaded {
        plan,
        index: SpanIndex::new(root),
        diagnostics: loader.diagnostics,
        parsed: true,
    }
}

fn syntax(text: &str, error: &node::ParseError) -> Diagnostic {
    let span = Span::new(error.offset.min(text.len()), 0);
    let message = error.message.trim();
    let at_tab = text
        .get(error.offset..)
        .is_some_and(|rest| rest.starts_with('\t'))
        || text
            .get(..span.offset)
            .and_then(|t| t.rsplit('\n').next())
            .is_some_and(|line| line.contains('\t'))
        || message.contains("tab");
    let (code, help) = if message.contains("alias") {
        (
            "planrun::yaml_limit",
            "the document expands too much through aliases: write it out plainly",
        )
    } else if at_tab {
        (
            "planrun::yaml_syntax",
            "YAML indentation uses spaces, never tabs",
        )
    } else {
        (
            "planrun::yaml_syntax",
            "fix the YAML syntax at the marked place",
        )
    };
    Diagnostic::error(code, format!("invalid YAML: {message}"))
        .at("", span, "here")
        .help(help)
}

/// A JSON Pointer kept as a chain of borrowed tokens, rendered only when a diagnostic needs
/// it: loading visits every node, and formatting a path for each would dominate the time.
#[derive(Clone, Copy)]
struct Ptr<'a> {
    parent: Option<&'a Ptr<'a>>,
    token: Token<'a>,
}

#[derive(Clone, Copy)]
enum Token<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Ptr<'a> {
    const ROOT: Ptr<'static> = Ptr {
        parent: None,
        token: Token::Root,
    };

    fn key(&'a self, key: &'a str) -> Ptr<'a> {
        Ptr {
            parent: Some(self),
            token: Token::Key(key),
        }
    }

    fn index(&'a self, index: usize) -> Ptr<'a> {
        Ptr {
            parent: Some(self),
            token: Token::Index(index),
        }
    }
}

impl std::fmt::Display for Ptr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.token {
            Token::Root => Ok(()),
            Token::Key(key) => write!(f, "/{}", escape(key)),
            Token::Index(i) => write!(f, "/{i}"),
        }
    }
}

struct Loader<'a> {
    text: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn plan(&mut self, root: &Node) -> Plan {
        let mut plan = Plan::default();
        let path = Ptr::ROOT;
        let Some(fields) = self.fields(root, &path, PLAN_FIELDS, "plan") else {
            return plan;
        };
        let (mut has_version, mut has_instances) = (false, false);
        for (name, value) in fields {
            let path = path.key(name);
            let path = &path;
            match name {
                "version" => {
                    has_version = true;
                    plan.version = self.integer(value, path).unwrap_or(0);
                }
                "name" => plan.name = self.string(value, path),
                "description" => plan.description = self.string(value, path),
                "rollback_time" => plan.rollback_time = self.scalar_text(value, path),
                "timezone" => plan.timezone = self.scalar_text(value, path),
                "strategy" => plan.strategy = self.strategy(value, path),
                "rename" => plan.rename = self.string(value, path),
                "region" => plan.region = self.string(value, path),
                "batch_size" => plan.batch_size = self.integer(value, path),
                "instances" => {
                    has_instances = true;
                    plan.instances = self.entries(value, path);
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
            if !present {
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

    fn entries(&mut self, node: &Node, path: &Ptr<'_>) -> Vec<Entry> {
        let Some(items) = self.seq(node, path, "a list of instance entries") else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.entry(item, &path.index(i)))
            .collect()
    }

    fn entry(&mut self, node: &Node, path: &Ptr<'_>) -> Entry {
        let mut entry = Entry::default();
        let Some(fields) = self.fields(node, path, ENTRY_FIELDS, "instance entry") else {
            return entry;
        };
        for (name, value) in fields {
            let p = path.key(name);
            let p = &p;
            match name {
                "id" => entry.id = self.string(value, p),
                "ids" => {
                    entry.ids = self.seq(value, p, "a list of instance ids").map(|items| {
                        items
                            .iter()
                            .enumerate()
                            .filter_map(|(i, item)| self.string(item, &p.index(i)))
                            .collect()
                    });
                }
                "strategy" => entry.strategy = self.strategy(value, p),
                "rollback_time" => entry.rollback_time = self.scalar_text(value, p),
                "rename" => entry.rename = self.string(value, p),
                "region" => entry.region = self.string(value, p),
                "dbs" => entry.dbs = self.names(value, p),
                "tables" => entry.tables = self.tables(value, p),
                _ => {}
            }
        }
        entry
    }

    fn tables(&mut self, node: &Node, path: &Ptr<'_>) -> Option<Tables> {
        if node.value == Value::Null {
            return Some(Tables::default());
        }
        let entries = self.map(node, path, "a mapping of database → tables")?;
        let mut out = Vec::with_capacity(entries.len());
        let mut seen: Vec<(String, Span)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Some(db) = self.name(key, path) else {
                continue;
            };
            if self.repeated(&mut seen, &db, key.span, &path.key(&db)) {
                continue;
            }
            if let Some(names) = self.names(value, &path.key(&db)) {
                out.push((db, names));
            }
        }
        Some(Tables(out))
    }

    fn names(&mut self, node: &Node, path: &Ptr<'_>) -> Option<Names> {
        match &node.value {
            Value::Null => Some(Names::List(Vec::new())),
            Value::Seq(items) => Some(Names::List(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.name(item, &path.index(i)))
                    .collect(),
            )),
            Value::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                let mut seen: Vec<(String, Span)> = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(source) = self.name(key, path) else {
                        continue;
                    };
                    let p = path.key(&source);
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
        path: &Ptr<'_>,
        known: &[&str],
        what: &str,
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, path, &format!("a mapping (the {what})"));
            return None;
        };
        let mut out: Vec<(&str, &Node)> = Vec::with_capacity(entries.len());
        let mut seen: Vec<(String, Span)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.wrong_type(key, path, "a field name");
                continue;
            };
            if !known.contains(&name.as_str()) {
                let mut d = Diagnostic::error(
                    "planrun::unknown_field",
                    format!("unknown field `{name}` in the {what}"),
                )
                .at(path.key(name).to_string(), key.span, "unknown field");
                d = match closest(name, known) {
                    Some(near) => d.help(format!("did you mean `{near}`?")),
                    None => d.help(format!("known fields: {}", known.join(", "))),
                };
                self.push(d);
                continue;
            }
            if self.repeated(&mut seen, name, key.span, &path.key(name)) {
                continue;
            }
            out.push((name.as_str(), value));
        }
        Some(out)
    }

    /// Reports `name` when it was already a key of this mapping; else remembers it.
    fn repeated(
        &mut self,
        seen: &mut Vec<(String, Span)>,
        name: &str,
        span: Span,
        path: &Ptr<'_>,
    ) -> bool {
        match seen.iter().find(|(n, _)| n == name) {
            Some(&(_, first)) => {
                self.push(
                    Diagnostic::error("planrun::duplicate_key", format!("`{name}` is given twice"))
                        .at(path.to_string(), span, "repeated here")
                        .also(Some(first), "first given here")
                        .help("YAML keys must be unique: remove or merge one of them"),
                );
                true
            }
            None => {
                seen.push((name.to_owned(), span));
                false
            }
        }
    }

    fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &Ptr<'_>,
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

    fn seq<'n>(&mut self, node: &'n Node, path: &Ptr<'_>, expected: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, path, expected);
                None
            }
        }
    }

    fn string(&mut self, node: &Node, path: &Ptr<'_>) -> Option<String> {
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
    fn scalar_text(&mut self, node: &Node, path: &Ptr<'_>) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) => Some(self.raw(node)),
            _ => {
                self.wrong_type(node, path, "a string");
                None
            }
        }
    }

    /// A database or table name: numbers are names too (`2024: 2024_bak`).
    fn name(&mut self, node: &Node, path: &Ptr<'_>) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => {
                self.wrong_type(node, path, "a name (string)");
                None
            }
        }
    }

    fn raw(&self, node: &Node) -> String {
        let end = node.span.offset + node.span.len;
        self.text
            .get(node.span.offset..end)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    }

    fn integer(&mut self, node: &Node, path: &Ptr<'_>) -> Option<u64> {
        match &node.value {
            Value::Int(i) if *i >= 0 => u64::try_from(*i).ok(),
            Value::Int(_) => {
                self.wrong_type(node, path, "a positive integer");
                None
            }
            _ => {
                self.wrong_type(node, path, "an integer");
                None
            }
        }
    }

    fn strategy(&mut self, node: &Node, path: &Ptr<'_>) -> Option<Strategy> {
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
                .at(path.to_string(), node.span, "not a strategy")
                .help(help),
            );
        }
        strategy
    }

    fn wrong_type(&mut self, node: &Node, path: &Ptr<'_>, expected: &str) {
        let found = node.value.kind();
        self.push(
            Diagnostic::error(
                "planrun::wrong_type",
                format!("expected {expected}, found {found}"),
            )
            .at(path.to_string(), node.span, format!("this is {found}"))
            .help(format!("write {expected} here")),
        );
    }

    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }
}
