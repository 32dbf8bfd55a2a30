//! The span index: JSON Pointer → where each node of the plan sits in the text (key and
//! value, and where an aliased or merged node was written).

use std::collections::HashMap;

use super::super::node::{Node, Span};

/// Where a node sits: the key naming it (for mapping values) and the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub key: Option<Span>,
    pub value: Span,
    /// Where the key and the value were written, when they arrived through an alias or a `<<`
    /// merge (then `key`/`value` are the place of use).
    pub key_defined: Option<Span>,
    pub value_defined: Option<Span>,
}

impl Location {
    /// Where the node at `span` (its key or its value) was written, if elsewhere. A merged or
    /// aliased entry has key and value both at the alias; then the whole written entry
    /// (`key: value`) is meant.
    pub fn defined(&self, span: Span) -> Option<Span> {
        let at_key = Some(span) == self.key;
        let at_value = span == self.value;
        match (at_key, at_value, self.key_defined, self.value_defined) {
            (true, true, Some(k), Some(v)) if v.len > 0 && k.offset <= v.offset => {
                Some(Span::new(k.offset, v.offset + v.len - k.offset))
            }
            (true, _, Some(k), _) => Some(k),
            (_, true, _, v) => v,
            _ => None,
        }
    }
}

/// JSON Pointer → location of every node of the plan.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    map: HashMap<String, Location>,
}

impl SpanIndex {
    pub fn get(&self, pointer: &str) -> Option<Location> {
        self.map.get(pointer).copied()
    }

    /// The value's span, falling back to the closest indexed ancestor (then the document start).
    pub fn value(&self, pointer: &str) -> Span {
        let mut p = pointer;
        loop {
            if let Some(loc) = self.map.get(p) {
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

    pub(super) fn insert(&mut self, pointer: String, key: Option<&Node>, value: &Node) {
        let location = Location {
            key: key.map(|k| k.span),
            value: value.span,
            key_defined: key.and_then(|k| k.defined),
            value_defined: value.defined,
        };
        self.map.insert(pointer, location);
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
