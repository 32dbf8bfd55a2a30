//! A generic YAML tree where every node knows its byte span: the first stage of loading.
//!
//! serde-saphyr parses (anchors, aliases, `<<` merges and budgets included) and hands every
//! node to [`Node`]'s visitor wrapped in a `Spanned`, so rules can point at exact bytes.
//! Duplicate keys are passed through and kept, so that *every* duplicate is reported.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

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

/// One YAML node: its value and where it was used (for an alias: the alias; for a merged
/// value: the `<<` entry), plus where it was defined when that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
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

fn span_of(location: &serde_saphyr::Location) -> Option<Span> {
    let span = location.span();
    let offset = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some(Span::new(offset, len))
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let span = span_of(&spanned.referenced).unwrap_or_default();
        let defined = span_of(&spanned.defined).filter(|d| *d != span);
        Ok(Node {
            value: spanned.value,
            span,
            defined,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i128::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        String::from_utf8(v.to_vec())
            .map(Value::Str)
            .map_err(|_| E::custom("binary value where text was expected"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

/// Parser limits: generous for real plans (10,000 instances is about 1 MB, 130,000 nodes), tight
/// enough that an alias bomb or a pathological file fails fast instead of eating memory.
pub fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // The parser's defaults (250,000 nodes, 1,000,000 events) reject an ordinary plan of about
    // 2 MB; these let any ordinary plan up to the 16 MiB file limit through (~2.2M nodes).
    let mut budget = options.budget.take().unwrap_or_default();
    budget.max_nodes = 3_000_000;
    budget.max_events = 8_000_000;
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    options.alias_limits.max_total_replayed_events = 200_000;
    options.alias_limits.max_replay_stack_depth = 32;
    options.with_snippet = false;
    options
}

/// Parses one YAML document into a spanned tree.
pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
    let mut root = serde_saphyr::from_str_with_options::<Node>(text, options())?;
    widen(&mut root, text);
    Ok(root)
}

/// The parser spans a flow collection by its opening bracket only; widen it to the closing one
/// so that a label underlines `[table]`, not `[`. Both spans are widened: where the node is used
/// and, for an alias, where it was defined. Block collections keep their spans (a label over
/// many lines would hide the point). Depth is bounded by the parser's nesting limit.
fn widen(node: &mut Node, text: &str) {
    let mut end = node.span.offset + node.span.len;
    let mut defined_end = node.defined.map_or(0, |d| d.offset + d.len);
    let mut grow = |child: &Node| {
        end = end.max(child.span.offset + child.span.len);
        let d = child.defined.unwrap_or(child.span);
        defined_end = defined_end.max(d.offset + d.len);
    };
    match &mut node.value {
        Value::Seq(items) => {
            for item in items {
                widen(item, text);
                grow(item);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                widen(key, text);
                widen(value, text);
                grow(key);
                grow(value);
            }
        }
        _ => return,
    }
    close(&mut node.span, end, text);
    if let Some(defined) = &mut node.defined {
        close(defined, defined_end, text);
    }
}

/// Extends a span that starts at `[` or `{` to its closing bracket, found after `end` past
/// blanks, a trailing comma and comments.
fn close(span: &mut Span, end: usize, text: &str) {
    let closer = match text.as_bytes().get(span.offset) {
        Some(b'[') => b']',
        Some(b'{') => b'}',
        _ => return,
    };
    let mut rest = text.get(end.max(span.offset + 1)..).unwrap_or_default();
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n', ',']);
        match rest.strip_prefix('#') {
            Some(comment) => rest = comment.split_once('\n').map_or("", |(_, after)| after),
            None => break,
        }
    }
    if rest.as_bytes().first() == Some(&closer) {
        span.len = text.len() - rest.len() + 1 - span.offset;
    }
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
