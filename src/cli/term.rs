//! Terminal facts: colour (TTY and `NO_COLOR`), width, and what the rules judge a plan against.

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

/// What the rules judge a plan against: [`crate::engine::ops::now`], and the regions
/// `--allow-region` names.
pub fn context(allowed_regions: &[String]) -> Result<crate::plan::Context, String> {
    Ok(crate::plan::Context {
        now: crate::engine::ops::now()?,
        allowed_regions: allowed_regions.to_vec(),
    })
}
