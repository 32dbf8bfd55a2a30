//! A generic YAML tree where every node knows its byte span: the first stage of loading.
//!
//! Built straight from the YAML event stream of granit-parser (the parser under serde-saphyr):
//! anchors and aliases are resolved within a budget (an alias bomb fails fast), `<<` merge keys
//! are applied, and duplicate keys are kept so that *every* duplicate can be reported. Going
//! through events rather than serde keeps a 10,000-instance plan well under 100 ms.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as EventSpan, StructureStyle};

/// A byte range of the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub const fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.offset, span.len).into()
    }
}

/// One YAML node: its value and where it is written (for an alias: the alias token).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// Where an aliased node was defined (its anchor), when it differs from `span`.
    pub defined: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The type's name as a YAML user knows it, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a number",
            Self::Str(_) => "a string",
            Self::Seq(_) => "a list",
            Self::Map(_) => "a mapping",
        }
    }
}

/// Why a document could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
}

/// The message of the error for a file holding more than one YAML document.
pub const SECOND_DOCUMENT: &str = "a plan is one YAML document, found a second (`---`)";

/// Deepest nesting accepted: a plan needs five levels; a hostile file with thousands would
/// make every later recursive walk (and dropping the tree) risk the stack.
pub const MAX_DEPTH: usize = 64;

/// Most nodes aliases may copy in one document. Real plans share small specs (a few dozen
/// nodes, even for thousands of `<<: *spec` entries); a "billion laughs" hits this at once.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// Parses one YAML document into a spanned tree.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    Builder::new(text).run()
}

enum Frame {
    Seq {
        start: usize,
        flow: bool,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        flow: bool,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

struct Builder<'a> {
    text: &'a str,
    stack: Vec<Frame>,
    /// Anchored nodes and their sizes (in nodes), by the parser's anchor id.
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            stack: Vec::new(),
            anchors: HashMap::new(),
            alias_nodes: 0,
            root: None,
            documents: 0,
        }
    }

    fn offset(&self, marker: &serde_saphyr::granit_parser::Marker) -> usize {
        marker.byte_offset().unwrap_or_else(|| {
            // Char index → byte offset (only when the parser did not record bytes).
            self.text
                .char_indices()
                .nth(marker.index())
                .map_or(self.text.len(), |(b, _)| b)
        })
    }

    fn span(&self, span: &EventSpan) -> Span {
        let start = self.offset(&span.start);
        let end = self.offset(&span.end).max(start);
        Span::new(start, end - start)
    }

    fn run(mut self) -> Result<Node, ParseError> {
        let text = self.text;
        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(|e| ParseError {
                message: e.info(),
                offset: self.offset(e.marker()),
            })?;
            let at = self.span(&span);
            if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..))
                && self.stack.len() >= MAX_DEPTH
            {
                return Err(ParseError {
                    message: format!("the document nests deeper than {MAX_DEPTH} levels"),
                    offset: at.offset,
                });
            }
            match event {
                Event::DocumentStart(..) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        return Err(ParseError {
                            message: SECOND_DOCUMENT.into(),
                            offset: at.offset,
                        });
                    }
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let is_str = tag.as_ref().is_some_and(|t| t.core_suffix() == Some("str"));
                    let value = if style == ScalarStyle::Plain && !is_str {
                        resolve(&value)
                    } else {
                        Value::Str(value.into_owned())
                    };
                    self.finish(
                        Node {
                            value,
                            span: at,
                            defined: None,
                        },
                        anchor,
                    )?;
                }
                Event::SequenceStart(style, anchor, _) => self.stack.push(Frame::Seq {
                    start: at.offset,
                    flow: style == StructureStyle::Flow,
                    anchor,
                    items: Vec::new(),
                }),
                Event::MappingStart(style, anchor, _) => {
                    self.stack.push(Frame::Map {
                        start: at.offset,
                        flow: style == StructureStyle::Flow,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let end = at.offset + at.len;
                    match self.stack.pop() {
                        Some(Frame::Seq {
                            start,
                            flow,
                            anchor,
                            items,
                        }) => {
                            let node = Node {
                                value: Value::Seq(items),
                                span: collection(start, end, flow),
                                defined: None,
                            };
                            self.finish(node, anchor)?;
                        }
                        Some(Frame::Map {
                            start,
                            flow,
                            anchor,
                            entries,
                            ..
                        }) => {
                            let entries = merge(entries);
                            let node = Node {
                                value: Value::Map(entries),
                                span: collection(start, end, flow),
                                defined: None,
                            };
                            self.finish(node, anchor)?;
                        }
                        None => {}
                    }
                }
                Event::Alias(id) => {
                    let Some((node, n)) = self.anchors.get(&id) else {
                        return Err(ParseError {
                            message: "alias to an unknown anchor".into(),
                            offset: at.offset,
                        });
                    };
                    self.alias_nodes += n;
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        return Err(ParseError {
                            message: format!(
                                "aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)"
                            ),
                            offset: at.offset,
                        });
                    }
                    let mut copy = node.clone();
                    used_at(&mut copy, at);
                    self.finish(copy, 0)?;
                }
                _ => {}
            }
        }
        Ok(self.root.unwrap_or(Node {
            value: Value::Null,
            span: Span::default(),
            defined: None,
        }))
    }

    /// Places a completed node into its parent (or as the root), recording its anchor.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size(&node)));
        }
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => self.root = Some(node),
        }
        Ok(())
    }
}

/// A flow collection spans to its closing bracket (a label underlines `[table]`, not `[`); a
/// block collection is marked at its start only (a label over many lines would hide the point).
fn collection(start: usize, end: usize, flow: bool) -> Span {
    if flow {
        Span::new(start, end.saturating_sub(start))
    } else {
        Span::new(start, 0)
    }
}

/// Marks a copy made by an alias: every node is used at the alias and written where it was.
fn used_at(node: &mut Node, at: Span) {
    node.defined = Some(node.defined.unwrap_or(node.span));
    node.span = at;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| used_at(n, at)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            used_at(k, at);
            used_at(v, at);
        }),
        _ => {}
    }
}

fn size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Applies `<<` merge keys: the merged mappings' entries come after the explicit ones, and
/// never override them (nor does a later merged mapping override an earlier one).
fn merge(entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let is_merge = |k: &Node| matches!(&k.value, Value::Str(s) if s == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return entries;
    }
    let mut explicit = Vec::with_capacity(entries.len());
    let mut sources = Vec::new();
    for (k, v) in entries {
        if is_merge(&k) {
            match v.value {
                Value::Map(m) => sources.push(m),
                Value::Seq(items) => {
                    sources.extend(items.into_iter().filter_map(|i| match i.value {
                        Value::Map(m) => Some(m),
                        _ => None,
                    }))
                }
                // Not mergeable: keep it as an ordinary entry so the loader reports it.
                other => explicit.push((k, Node { value: other, ..v })),
            }
        } else {
            explicit.push((k, v));
        }
    }
    for source in sources {
        for (k, v) in source {
            if !explicit.iter().any(|(e, _)| e.value == k.value) {
                explicit.push((k, v));
            }
        }
    }
    explicit
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let number = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i128>().ok().map(Value::Int)
    } else if let Some(hex) = text.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok().map(Value::Int)
    } else if let Some(oct) = text.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok().map(Value::Int)
    } else if looks_like_float(digits) {
        text.parse::<f64>().ok().map(Value::Float)
    } else {
        None
    };
    if let Some(number) = number {
        return number;
    }
    Value::Str(text.to_owned())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn looks_like_float(t: &str) -> bool {
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            Value::Map(entries) => entries,
            other => panic!("expected a map, got {other:?}"),
        }
    }

    #[test]
    fn keys_and_values_carry_byte_spans() {
        let text = "version: 1\nname: abc\n";
        let root = parse(text).unwrap();
        let entries = map(&root);
        assert_eq!(entries[1].0.span, Span::new(11, 4));
        assert_eq!(entries[1].1.span, Span::new(17, 3));
        assert_eq!(&text[17..20], "abc");
        assert_eq!(entries[0].1.value, Value::Int(1));
    }

    #[test]
    fn flow_collections_span_to_their_closing_bracket() {
        let text = "a: [x, {b: c}, # why\n  ]\nd:\n  e: 1\n";
        let root = parse(text).unwrap();
        let a = &map(&root)[0].1;
        let span = |n: &Node| &text[n.span.offset..n.span.offset + n.span.len];
        assert_eq!(span(a), "[x, {b: c}, # why\n  ]");
        match &a.value {
            Value::Seq(items) => assert_eq!(span(&items[1]), "{b: c}"),
            other => panic!("expected a list, got {other:?}"),
        }
        // A block mapping keeps the parser's span: a label must not cover many lines.
        let d = &map(&root)[1].1;
        assert!(!span(d).contains('\n'), "{:?}", span(d));
    }

    #[test]
    fn plain_scalars_resolve_like_yaml_1_2_core() {
        for (text, want) in [
            ("1", Value::Int(1)),
            ("-7", Value::Int(-7)),
            ("0x1f", Value::Int(31)),
            ("1.5", Value::Float(1.5)),
            ("true", Value::Bool(true)),
            ("~", Value::Null),
            ("yes", Value::Str("yes".into())),
            ("+08:00", Value::Str("+08:00".into())),
            ("2026-11-20", Value::Str("2026-11-20".into())),
        ] {
            assert_eq!(resolve(text), want, "{text}");
        }
        let root = parse("a: '1'\nb: !!str 2\n").unwrap();
        assert_eq!(map(&root)[0].1.value, Value::Str("1".into()));
        assert_eq!(map(&root)[1].1.value, Value::Str("2".into()));
    }

    #[test]
    fn a_second_document_is_an_error() {
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_kept_for_reporting() {
        let root = parse("a: 1\na: 2\n").unwrap();
        assert_eq!(map(&root).len(), 2);
    }

    #[test]
    fn merge_keys_and_aliases_resolve() {
        let text = "base: &b\n  strategy: table\nentry:\n  <<: *b\n  id: x\n";
        let root = parse(text).unwrap();
        let entry = &map(&root)[1].1;
        let keys: Vec<_> = map(entry)
            .iter()
            .map(|(k, _)| match &k.value {
                Value::Str(s) => s.clone(),
                _ => String::new(),
            })
            .collect();
        assert!(keys.contains(&"strategy".to_owned()), "{keys:?}");
        assert!(keys.contains(&"id".to_owned()));
    }

    #[test]
    fn alias_bomb_fails_fast() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let started = std::time::Instant::now();
        assert!(parse(&text).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
