//! Rendering plan diagnostics: miette (human), JSON (`docs/contract.md` §6) and GitHub annotations.

mod clip;

use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::json;

use crate::plan::diagnostic::LineIndex;
use crate::plan::text::{snippet_safe, visible};
use crate::plan::{Checked, Diagnostic, Severity};

/// A plan diagnostic seen through miette's eyes, borrowing the file's source once.
struct Report<'a> {
    d: &'a Diagnostic,
    source: &'a Indexed<'a>,
}

/// Longest message shown whole on a terminal (messages quote the plan, and a name in it can
/// be a 100 KB line); `--format json` keeps it whole.
const MAX_MESSAGE: usize = 400;

impl Report<'_> {
    /// The message as a terminal shows it: escaped, and cut past [`MAX_MESSAGE`] characters.
    fn message(&self) -> String {
        let text = visible(&self.d.message);
        match text.char_indices().nth(MAX_MESSAGE) {
            None => text.into_owned(),
            Some((cut, _)) => format!(
                "{}{} ({} more characters; --format json shows the whole message)",
                &text[..cut],
                clip::MARK,
                text[cut..].chars().count()
            ),
        }
    }

    /// A span of the file, as placed in the text shown.
    fn shown(&self, span: crate::plan::node::Span) -> SourceSpan {
        let clip = &self.source.clip;
        let start = clip.to_shown(span.offset);
        let end = clip.to_shown(span.offset + span.len).max(start);
        SourceSpan::new(start.into(), end - start)
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Messages quote the plan (an unknown field's name): what reaches the terminal is escaped.
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(visible(h)) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.d.span.map(|_| self.source as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.d.span?;
        let primary = LabeledSpan::new_primary_with_span(
            Some(visible(&self.d.label).into_owned()),
            self.shown(span),
        );
        let related = self.d.related.iter().map(|r| {
            LabeledSpan::new_with_span(Some(visible(&r.label).into_owned()), self.shown(r.span))
        });
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}

/// A file's text as shown (long lines cut, [`clip`]) with its line starts. miette reads a
/// plain `str` from its start for every label, which made 10,000 diagnostics of one file
/// quadratic (minutes); this hands miette only the lines around the span, found by binary
/// search.
struct Indexed<'a> {
    name: &'a str,
    /// The file's own text, for columns.
    original: &'a str,
    clip: &'a clip::Clipped,
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Indexed<'a> {
    fn new(name: &'a str, original: &'a str, clip: &'a clip::Clipped) -> Self {
        let text = clip.text.as_str();
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            name,
            original,
            clip,
            text,
            starts,
        }
    }

    /// 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }
}

impl SourceCode for Indexed<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let first = self.line_of(span.offset()).saturating_sub(before);
        let last = self.line_of(span.offset() + span.len()) + after + 1;
        let start = self.starts[first];
        let end = self.starts.get(last).copied().unwrap_or(self.text.len());
        let window = &self.text[start..end];
        let local = SourceSpan::new((span.offset() - start).into(), span.len());
        let inner = window.read_span(&local, before, after)?;
        let data = inner.data();
        let offset = start + inner.span().offset();
        // miette counts the column in bytes; JSON, GitHub and editors count characters, of
        // the file's own line (not of the line as cut for display).
        let at = self.clip.to_original(span.offset());
        let line_start = self.original[..at].rfind('\n').map_or(0, |i| i + 1);
        let column = self.original[line_start..at].chars().count();
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_owned(),
            data,
            SourceSpan::new(offset.into(), inner.span().len()),
            first + inner.line(),
            column,
            // miette counts lines from the start of the source; it merges nearby snippets by it.
            first + inner.line_count(),
        )))
    }
}

/// Every diagnostic of every file, rendered by miette, then a one-line count per file.
pub fn human(files: &[Checked], colour: bool, width: usize) -> String {
    let theme = if colour {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    for file in files.iter().filter(|f| !f.diagnostics.is_empty()) {
        // The snippet shows the plan's own lines: control characters in them are replaced by
        // stand-ins of the same byte length (the spans stay valid), never written raw.
        let path = visible(&file.path);
        let text = snippet_safe(&file.text);
        let labels: Vec<(usize, usize)> = file
            .diagnostics
            .iter()
            .flat_map(|d| d.span.iter().chain(d.related.iter().map(|r| &r.span)))
            .map(|s| (s.offset, s.offset + s.len))
            .collect();
        let clipped = clip::Clipped::new(&text, &labels);
        let source = Indexed::new(&path, &text, &clipped);
        for d in &file.diagnostics {
            let _ = handler.render_report(&mut out, &Report { d, source: &source });
            out.push('\n');
        }
    }
    for file in files {
        out.push_str(&count_line(file));
        out.push('\n');
    }
    out
}

fn count_line(file: &Checked) -> String {
    let errors = file.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = file.diagnostics.len() - errors;
    let n =
        |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    if errors == 0 {
        let instances = file.resolved.as_ref().map_or(0, |p| p.instances.len());
        format!(
            "{}: valid ({}, {})",
            visible(&file.path),
            n(instances, "instance"),
            n(warnings, "warning")
        )
    } else {
        format!(
            "{}: invalid ({}, {})",
            visible(&file.path),
            n(errors, "error"),
            n(warnings, "warning")
        )
    }
}

/// 1-based line and column of a diagnostic (1:1 when it has no location).
fn position(file: &Checked, index: &LineIndex, d: &Diagnostic) -> (usize, usize) {
    d.span
        .map_or((1, 1), |s| index.position(&file.text, s.offset))
}

/// `docs/contract.md` §6: `{"files": [{"path", "valid", "diagnostics": [...]}]}`.
pub fn json(files: &[Checked], deny_warnings: bool) -> serde_json::Value {
    let files: Vec<_> = files
        .iter()
        .map(|file| {
            let index = LineIndex::new(&file.text);
            let diagnostics: Vec<_> = file
                .diagnostics
                .iter()
                .map(|d| {
                    let (line, column) = position(file, &index, d);
                    json!({
                        "severity": d.severity.as_str(), "code": d.code, "message": d.message,
                        "help": d.help, "path": d.path, "line": line, "column": column,
                    })
                })
                .collect();
            let valid = !(file.has_errors() || (deny_warnings && file.has_warnings()));
            json!({"path": file.path, "valid": valid, "diagnostics": diagnostics})
        })
        .collect();
    json!({ "files": files })
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error file=..,line=..,col=..,title=..::message` line per diagnostic.
pub fn github(files: &[Checked]) -> String {
    let mut out = String::new();
    for file in files {
        let index = LineIndex::new(&file.text);
        for d in &file.diagnostics {
            let (line, column) = position(file, &index, d);
            let message = match &d.help {
                Some(help) => format!("{}\nhelp: {}", visible(&d.message), visible(help)),
                None => visible(&d.message).into_owned(),
            };
            out.push_str(&format!(
                "::{} file={},line={line},col={column},title={}::{}\n",
                d.severity.as_str(),
                escape_property(&visible(&file.path)),
                escape_property(d.code),
                escape_data(&message)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_properties_escape_percent_colon_and_comma() {
        assert_eq!(escape_property("a%b:c,d\ne"), "a%25b%3Ac%2Cd%0Ae");
        assert_eq!(escape_data("50%: a, b\n"), "50%25: a, b%0A");
    }
}
