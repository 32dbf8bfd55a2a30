//! YAML parser errors as diagnostics: placed at the parser's line and column, with a code
//! for syntax, limits (alias bombs, nesting, size) and several documents.

use super::super::diagnostic::Diagnostic;
use super::super::node::Span;

pub(super) fn syntax(text: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let span = error
        .location()
        .map(|l| Span::new(error_offset(text, &l), 0))
        .unwrap_or_default();
    let raw = error.without_snippet().to_string();
    // The parser's text ends with its own " at line X, column Y" (and, for aliases, where they
    // were defined and used): the label shows the place, so keep only the description.
    let first = raw.lines().next().unwrap_or("invalid YAML");
    let message = first
        .find(" at line ")
        .map_or(first, |i| &first[..i])
        .to_owned();
    let is_tab = text
        .get(span.offset..)
        .is_some_and(|rest| rest.starts_with('\t'))
        || message.contains("tab");
    if message.starts_with("multiple YAML documents") {
        return Diagnostic::error(
            "planrun::yaml_syntax",
            "invalid YAML: the file holds several YAML documents",
        )
        .at("", span, "a second document starts here")
        .help("a plan is one YAML document: remove the extra `---` or split the file");
    }
    let (code, help) = if message.contains("duplicate") {
        (
            "planrun::duplicate_key",
            "remove or rename one of the repeated keys",
        )
    } else if message.contains("alias") || message.contains("budget") || message.contains("limit") {
        (
            "planrun::yaml_limit",
            "the document is too large, or expands too much through aliases (an alias bomb?): split it, or write it out plainly",
        )
    } else if is_tab {
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

/// Byte offset of a parser error. Syntax errors carry only a line, a column and a character
/// offset (no byte offset), so count characters on the reported line.
fn error_offset(text: &str, location: &serde_saphyr::Location) -> usize {
    if let Some(offset) = location
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
    {
        return offset.min(text.len());
    }
    let line = usize::try_from(location.line()).unwrap_or(1).max(1);
    let column = usize::try_from(location.column()).unwrap_or(1).max(1);
    let Some(start) = text
        .match_indices('\n')
        .nth(line.wrapping_sub(2))
        .map(|(i, _)| i + 1)
        .or((line == 1).then_some(0))
    else {
        return text.len();
    };
    text[start..]
        .char_indices()
        .nth(column - 1)
        .map_or(text.len(), |(i, _)| start + i)
}
