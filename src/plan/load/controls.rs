//! `planrun::control_character`: terminal control characters anywhere in a plan. A plan is
//! shown to its reviewer (the diff, the prompt, snippets of diagnostics): one that could clear
//! the screen or reorder text could make them approve something else than what is sent.

use super::super::diagnostic::Diagnostic;
use super::super::node::{Node, Span, Value};
use super::super::text::{describe, is_control};
use super::{child, element};

const CODE: &str = "planrun::control_character";
const HELP: &str = "remove it: plans may hold no terminal control characters (C0/C1 controls, ESC, DEL, bidirectional overrides); only newlines and tabs of the YAML itself";

/// One diagnostic per line of `text` that holds a control character (comments included:
/// snippets show them), and one per string value that an escape made hold one (`"\e[2J"`).
pub fn check(text: &str, root: Option<&Node>) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut line_done = usize::MAX;
    let mut chars = text.char_indices().peekable();
    let mut line = 0;
    while let Some((at, c)) = chars.next() {
        if c == '\n' {
            line += 1;
            continue;
        }
        let crlf = c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n');
        if c == '\t' || crlf || !is_control(c) || line_done == line {
            continue;
        }
        line_done = line;
        let span = Span::new(at, c.len_utf8());
        let path = root.and_then(|r| pointer_at(r, at)).unwrap_or_default();
        found.push(
            Diagnostic::error(
                CODE,
                format!("the plan holds the control character {}", describe(c)),
            )
            .at(path, span, "control character here")
            .help(HELP),
        );
    }
    if let Some(root) = root {
        let mut path = Vec::new();
        escaped(text, root, &mut path, &mut found);
    }
    found
}

/// A step of a JSON Pointer, kept unjoined until a problem needs the pointer.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Step<'a> {
    /// The step into a mapping's value under key node `k` (a non-string key: empty).
    fn key(k: &'a Node) -> Self {
        match &k.value {
            Value::Str(s) => Step::Key(s),
            _ => Step::Key(""),
        }
    }
}

fn join(steps: &[Step<'_>]) -> String {
    steps.iter().fold(String::new(), |p, s| match s {
        Step::Key(k) => child(&p, k),
        Step::Index(i) => element(&p, *i),
    })
}

/// String values (and keys) holding a control character that the raw text does not: it came
/// from an escape of a double-quoted scalar. Newlines and tabs of block scalars are text.
fn escaped<'a>(text: &str, node: &'a Node, path: &mut Vec<Step<'a>>, found: &mut Vec<Diagnostic>) {
    match &node.value {
        Value::Str(s) => {
            let Some(c) = s.chars().find(|&c| is_control(c) && c != '\n' && c != '\t') else {
                return;
            };
            let raw = text
                .get(node.span.offset..node.span.offset + node.span.len)
                .unwrap_or("");
            if raw.chars().any(|r| is_control(r) && r != '\n' && r != '\t') {
                return; // already reported where it is written
            }
            found.push(
                Diagnostic::error(
                    CODE,
                    format!(
                        "this value holds the control character {} (written as an escape)",
                        describe(c)
                    ),
                )
                .at(join(path), node.span, "decodes to a control character")
                .help(HELP),
            );
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                escaped(text, item, path, found);
                path.pop();
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                escaped(text, k, path, found);
                path.push(Step::key(k));
                escaped(text, v, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The pointer of the innermost node whose text holds byte `at` (`None` in a comment).
fn pointer_at(root: &Node, at: usize) -> Option<String> {
    fn inside(span: Span, at: usize) -> bool {
        span.offset <= at && at < span.offset + span.len
    }
    fn walk<'a>(node: &'a Node, at: usize, path: &mut Vec<Step<'a>>) -> bool {
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    if walk(item, at, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    path.push(Step::key(k));
                    if inside(k.span, at) || walk(v, at, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            _ => return inside(node.span, at),
        }
        false
    }
    let mut path = Vec::new();
    walk(root, at, &mut path).then(|| join(&path))
}
