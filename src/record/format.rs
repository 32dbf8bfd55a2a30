//! What a record is written as, and the one rendering of each: the page, the ticket's
//! Markdown, or the report of `docs/contract.md` §6.

use std::path::Path;

use super::{Incident, html, markdown};
use crate::engine::report::Report;

/// What a record is written as (the CLI gives it clap's `ValueEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained page: timeline, every instance, the calls as sent.
    Html,
    /// GitHub-flavoured, for a ticket: the summary and what was not restored.
    Markdown,
    /// The report of `docs/contract.md` §6 (`status --format json`).
    Json,
}

impl Format {
    /// From a file name: `.html`/`.htm`, `.md`/`.markdown`, `.json`.
    pub fn of_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Self::Html),
            "md" | "markdown" => Some(Self::Markdown),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The record of `incident` (its `report`: the JSON one) in this format.
    pub fn render(self, incident: &Incident, report: &Report) -> serde_json::Result<String> {
        Ok(match self {
            Self::Html => html(incident),
            Self::Markdown => markdown(incident),
            Self::Json => serde_json::to_string_pretty(report)? + "\n",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(Format::of_path(Path::new("r.HTML")), Some(Format::Html));
        assert_eq!(Format::of_path(Path::new("a/r.md")), Some(Format::Markdown));
        assert_eq!(Format::of_path(Path::new("r.json")), Some(Format::Json));
        assert_eq!(Format::of_path(Path::new("r.txt")), None);
        assert_eq!(Format::of_path(Path::new("report")), None);
    }
}
