//! Errors printed with everything foreign escaped: an API's message, a path or a name can
//! carry terminal control sequences, and miette would write them as they are.

use std::fmt;

use crate::plan::text::visible;

/// A diagnostic whose message, code and help are shown through [`visible`].
struct Escaped<'a>(&'a dyn miette::Diagnostic);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A message from elsewhere: its own lines kept, payloads left out, cut to a screen.
impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::foreign::block(&self.0.to_string(), ""))
    }
}

impl std::error::Error for Escaped<'_> {}

impl miette::Diagnostic for Escaped<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let code = self.0.code()?.to_string();
        Some(Box::new(visible(&code).into_owned()))
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let help = self.0.help()?.to_string();
        Some(Box::new(visible(&help).into_owned()))
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.0.severity()
    }
}

/// The error as miette renders it, `width` columns wide, in colour or not (the CLI knows
/// where it goes).
pub fn render(e: &dyn miette::Diagnostic, colour: bool, width: usize) -> String {
    let theme = if colour {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &Escaped(e)).is_err() {
        out = visible(&e.to_string()).into_owned();
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_api_message_cannot_reach_the_terminal_raw() {
        let e = miette::miette!(
            code = "api::4000",
            help = "see \u{1b}]8;;evil\u{7}",
            "refused: \u{1b}[2J\u{1b}[Hall good\u{202e}"
        );
        let text = super::render(e.as_ref(), false, 100);
        assert!(text.contains("refused: \\u{1b}[2J"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert!(!text.contains('\u{7}'), "{text:?}");
    }
}
