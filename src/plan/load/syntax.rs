//! Diagnostics for text that is not a YAML document planrun can read.

use super::super::diagnostic::Diagnostic;
use super::super::node::{ParseError, SECOND_DOCUMENT, Span};

pub(super) fn syntax(text: &str, error: &ParseError) -> Diagnostic {
    let span = Span::new(error.offset.min(text.len()), 0);
    let message = error.message.trim();
    if message == SECOND_DOCUMENT {
        return Diagnostic::error(
            "planrun::yaml_syntax",
            "invalid YAML: the file holds several YAML documents",
        )
        .at("", span, "a second document starts here")
        .help("a plan is one YAML document: remove the extra `---` or split the file");
    }
    // A tab where indentation is expected: at the error, or earlier on its line.
    let line_start = text
        .get(..span.offset)
        .map_or(0, |t| t.rfind('\n').map_or(0, |i| i + 1));
    let is_tab = text.get(line_start..).is_some_and(|rest| {
        rest.split('\n')
            .next()
            .is_some_and(|line| line.trim_end().starts_with([' ', '\t']) && line.contains('\t'))
    }) || text
        .get(span.offset..)
        .is_some_and(|rest| rest.starts_with('\t'))
        || message.contains("tab");
    let (code, help) = if message.contains("alias")
        || message.contains("nests deeper")
        || message.contains("recursion limit")
    {
        (
            "planrun::yaml_limit",
            "the document nests too deeply, or expands too much through aliases (an alias bomb?): write it out plainly",
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
