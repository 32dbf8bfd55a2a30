//! Diagnostics: one problem in a plan, with a stable code, a message naming the culprit, a
//! help line, and labels on the YAML nodes concerned (the node itself, plus where an inherited
//! value was set). Rendering (miette, JSON, GitHub) is the CLI's job.

use super::node::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// A secondary location, e.g. the plan-level default an entry inherited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub span: Span,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, `planrun::snake_case`.
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// JSON Pointer of the offending node ("" = the whole document).
    pub path: String,
    /// Where the label goes; `None` when the file could not be parsed at all.
    pub span: Option<Span>,
    pub label: String,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            help: None,
            path: String::new(),
            span: None,
            label: String::new(),
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Puts the primary label on `span` at JSON Pointer `path`.
    pub fn at(mut self, path: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        self.path = path.into();
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label (skipped when it would repeat the primary one).
    pub fn also(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        if let Some(span) = span.filter(|s| Some(*s) != self.span) {
            self.related.push(Related {
                span,
                label: label.into(),
            });
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Maps byte offsets to 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// `(line, column)`, both 1-based. Offsets past the end clamp to the last position.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }
}

/// "did you mean `x`?" for the closest of `candidates`, when one is close enough.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1) + usize::from(c.len() > 8))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\nçd: x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, 3), (2, 1));
        // 'ç' takes bytes 3 and 4: the ':' at byte 6 is the third character of its line.
        assert_eq!(index.position(text, 6), (2, 3));
        assert_eq!(index.position(text, 999), (3, 1));
    }

    #[test]
    fn suggestions_find_close_field_names() {
        let fields = ["rollback_time", "strategy", "tables", "dbs", "id", "ids"];
        assert_eq!(closest("rollback_tim", &fields), Some("rollback_time"));
        assert_eq!(closest("stratgy", &fields), Some("strategy"));
        assert_eq!(closest("table", &fields), Some("tables"));
        assert_eq!(closest("completely_else", &fields), None);
    }
}
