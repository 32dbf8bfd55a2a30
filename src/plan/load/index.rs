//! The span index: JSON Pointer → where each node of the plan sits in the text (key and
//! value, and where an aliased or merged node was written).

use super::super::node::{Node, Span, Value};

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

/// JSON Pointer → location of every node of the plan, answered by walking the spanned tree.
/// Nothing is precomputed: a valid 10,000-instance plan asks for no span at all, and building a
/// map of every node's pointer would cost more than parsing.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    root: Option<Node>,
}

impl SpanIndex {
    pub fn new(root: Node) -> Self {
        Self { root: Some(root) }
    }

    /// The node at `pointer` and the key naming it (the first of duplicate keys).
    pub fn get(&self, pointer: &str) -> Option<Location> {
        let mut node = self.root.as_ref()?;
        let mut key: Option<&Node> = None;
        if !pointer.is_empty() {
            for token in pointer.strip_prefix('/')?.split('/') {
                let token = unescape(token);
                match &node.value {
                    Value::Map(entries) => {
                        let (k, v) = entries.iter().find(|(k, _)| names(k, &token))?;
                        key = Some(k);
                        node = v;
                    }
                    Value::Seq(items) => {
                        node = items.get(token.parse::<usize>().ok()?)?;
                        key = None;
                    }
                    _ => return None,
                }
            }
        }
        Some(Location {
            key: key.map(|k| k.span),
            value: node.span,
            key_defined: key.and_then(|k| k.defined),
            value_defined: node.defined,
        })
    }

    /// The value's span, falling back to the closest indexed ancestor (then the document start).
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

/// Whether a key reads as `token`: a string, or a name written as a number (`2024:`), or a
/// key that is neither, pointed at as JSON spells it.
fn names(key: &Node, token: &str) -> bool {
    match &key.value {
        Value::Str(s) => s == token,
        Value::Int(i) => token.parse::<i128>().ok() == Some(*i),
        Value::Bool(b) => token == if *b { "true" } else { "false" },
        Value::Null => token == "null" || token.is_empty(),
        Value::Float(f) => token.parse::<f64>().ok() == Some(*f),
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

/// `path/token` with the token escaped: built without `format!`, as loading and checking
/// make one for nearly every node of a large plan.
pub fn child(path: &str, token: &str) -> String {
    let token = escape(token);
    let mut out = String::with_capacity(path.len() + 1 + token.len());
    out.push_str(path);
    out.push('/');
    out.push_str(&token);
    out
}

/// `path/index`.
pub fn element(path: &str, index: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = index;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(path.len() + 1 + digits.len() - at);
    out.push_str(path);
    out.push('/');
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
    out
}

/// Escapes one reference token of a JSON Pointer (RFC 6901).
pub fn escape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

#[cfg(test)]
mod pointer_tests {
    use super::*;

    #[test]
    fn child_and_element_build_escaped_pointers() {
        assert_eq!(
            child("/instances/0/tables", "a/b~c"),
            "/instances/0/tables/a~1b~0c"
        );
        assert_eq!(child("", "version"), "/version");
        assert_eq!(element("/instances", 0), "/instances/0");
        assert_eq!(element("/instances", 10_507), "/instances/10507");
        assert_eq!(element("/x", usize::MAX), format!("/x/{}", usize::MAX));
    }
}
