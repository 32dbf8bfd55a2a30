//! Terminal facts: colour (TTY and `NO_COLOR`), width, and the clock rules are checked against.

use std::io::IsTerminal;

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything non-empty.
pub fn colour(stream_is_tty: bool) -> bool {
    stream_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn stdout_colour() -> bool {
    colour(std::io::stdout().is_terminal())
}

pub fn stderr_colour() -> bool {
    colour(std::io::stderr().is_terminal())
}

/// Width for wrapped output: `COLUMNS` when set (tests fix it), else 100.
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w >= 40)
        .unwrap_or(100)
}

/// What the rules judge a plan against: [`now`], and the regions `--allow-region` names.
pub fn context(allowed_regions: &[String]) -> Result<crate::plan::Context, String> {
    Ok(crate::plan::Context {
        now: now()?,
        allowed_regions: allowed_regions.to_vec(),
    })
}

/// "Now" for the rules (future / older than 7 days). `PLANRUN_NOW` (RFC 3339) pins it, so
/// golden tests and reviews of old plans are reproducible.
pub fn now() -> Result<chrono::DateTime<chrono::Utc>, String> {
    match std::env::var("PLANRUN_NOW") {
        Ok(text) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| format!("PLANRUN_NOW={text:?} is not an RFC 3339 time: {e}")),
        Err(_) => Ok(chrono::Utc::now()),
    }
}
