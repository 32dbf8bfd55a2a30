//! Messages from elsewhere (a server's error, an API's `Message`) as a person reads them: each
//! of their lines on a line of its own (indented under what it belongs to), every control
//! character escaped, encoded payloads (a `BINLOG` statement's base64, a row image's hex) left
//! out, and anything longer than a screen cut. The journal and the report keep the whole text;
//! only what is printed here is shortened.

use crate::plan::text::visible;

/// Lines of a message shown at most; the rest is counted.
pub const MAX_LINES: usize = 8;
/// Characters of a message shown at most (a screen's worth); the rest is counted.
pub const MAX_CHARS: usize = 800;
/// A run of this many characters of the base64 (or hex) alphabet is data, not words.
const PAYLOAD_RUN: usize = 48;
/// What stands where a message was cut.
const CUT: &str = "the whole message is in the journal and `planrun report`";

/// The message as lines to print: payloads replaced, escaped, and cut to [`MAX_LINES`] lines
/// and [`MAX_CHARS`] characters, the last line saying what was left out.
pub fn lines(text: &str) -> Vec<String> {
    let mut shown: Vec<String> = Vec::new();
    let mut payload_lines = 0usize;
    for raw in text.lines() {
        let line = raw.replace('\t', "    ");
        let trimmed = line.trim();
        // A line of nothing but encoded data (a BINLOG statement's body): one note for the run.
        if trimmed.len() >= PAYLOAD_RUN / 2 && encoded(trimmed) {
            payload_lines += 1;
            continue;
        }
        if payload_lines > 0 {
            shown.push(payload_note(payload_lines, "lines"));
            payload_lines = 0;
        }
        shown.push(visible(&without_payloads(line.trim_end())).into_owned());
    }
    if payload_lines > 0 {
        shown.push(payload_note(payload_lines, "lines"));
    }
    while shown.len() > 1 && shown.last().is_some_and(|l| l.trim().is_empty()) {
        shown.pop();
    }
    cut(shown)
}

/// The message on one line per line, joined so that each continues under `indent`.
pub fn block(text: &str, indent: &str) -> String {
    lines(text).join(&format!("\n{indent}"))
}

/// The message's first line only, at most `max` characters (a live progress line).
pub fn one_line(text: &str, max: usize) -> String {
    let all = lines(text);
    let first = all.first().map_or("", String::as_str);
    let more = all.len() > 1;
    match first.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &first[..at]),
        None if more => format!("{first} …"),
        None => first.to_owned(),
    }
}

fn is_payload_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// All of the base64 (or hex) alphabet, and not a word: a word has no digits, `+` or `/`
/// (a long name is still a name).
fn encoded(run: &str) -> bool {
    run.chars().all(is_payload_char)
        && run
            .chars()
            .any(|c| c.is_ascii_digit() || c == '+' || c == '/')
}

fn payload_note(n: usize, unit: &str) -> String {
    let unit = if n == 1 {
        unit.trim_end_matches('s')
    } else {
        unit
    };
    format!("[{n} {unit} of encoded data not shown]")
}

/// `line` with each run of [`PAYLOAD_RUN`] or more base64/hex characters replaced by a note.
fn without_payloads(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let n = run.chars().count();
        if n >= PAYLOAD_RUN && encoded(run) {
            out.push_str(&payload_note(n, "characters"));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in line.chars() {
        if is_payload_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// At most [`MAX_LINES`] lines and [`MAX_CHARS`] characters, then a line counting the rest.
fn cut(lines: Vec<String>) -> Vec<String> {
    let total_lines = lines.len();
    let total_chars: usize = lines.iter().map(|l| l.chars().count()).sum();
    let mut kept = Vec::new();
    let mut chars = 0;
    for line in lines {
        if kept.len() == MAX_LINES || chars >= MAX_CHARS {
            break;
        }
        let room = MAX_CHARS - chars;
        match line.char_indices().nth(room) {
            Some((at, _)) => {
                kept.push(format!("{}…", &line[..at]));
                chars = MAX_CHARS;
            }
            None => {
                chars += line.chars().count();
                kept.push(line);
            }
        }
    }
    let shown_chars: usize = kept.iter().map(|l| l.chars().count()).sum();
    if kept.len() < total_lines || shown_chars < total_chars {
        let more_lines = total_lines - kept.len();
        let what = if more_lines > 0 {
            format!(
                "{more_lines} more line{}",
                if more_lines == 1 { "" } else { "s" }
            )
        } else {
            "cut".to_owned()
        };
        kept.push(format!("… ({what}; {CUT})"));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_of_a_message_is_a_line_of_its_own_indented() {
        let text = "ERROR 1146 (42S02) at line 12:\nTable 'shop.x' doesn't exist\n";
        assert_eq!(
            block(text, "    "),
            "ERROR 1146 (42S02) at line 12:\n    Table 'shop.x' doesn't exist"
        );
        assert!(!block(text, "").contains("\\u{a}"));
    }

    #[test]
    fn control_characters_stay_escaped() {
        assert_eq!(block("bad\u{1b}[2J thing", ""), "bad\\u{1b}[2J thing");
    }

    #[test]
    fn a_binlog_statement_body_is_left_out_and_counted() {
        let body = "AbCdEfGh0123456789+/AbCdEfGh0123456789+/AbCdEfGh0123456789+/Ab==";
        let text = format!(
            "ERROR 1062 (23000) at line 45: Duplicate entry '7' for key 'PRIMARY'\nBINLOG '\n{body}\n{body}\n{body}\n'/*!*/;"
        );
        let shown = lines(&text);
        assert_eq!(
            shown,
            [
                "ERROR 1062 (23000) at line 45: Duplicate entry '7' for key 'PRIMARY'",
                "BINLOG '",
                "[3 lines of encoded data not shown]",
                "'/*!*/;",
            ]
        );
        let inline = format!("row image 0x{}", "0A1B".repeat(40));
        assert_eq!(
            lines(&inline),
            ["row image [162 characters of encoded data not shown]"]
        );
        // Long words and names stay.
        let name = "a".repeat(60);
        assert_eq!(lines(&name), [name]);
    }

    #[test]
    fn a_long_message_is_cut_to_a_screen_with_the_rest_counted() {
        let text: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let shown = lines(&text);
        assert_eq!(shown.len(), MAX_LINES + 1);
        assert_eq!(
            shown.last().map(String::as_str),
            Some("… (42 more lines; the whole message is in the journal and `planrun report`)")
        );
        let wide = "word ".repeat(1000);
        let shown = lines(&wide);
        assert_eq!(shown.len(), 2);
        assert!(shown[0].chars().count() <= MAX_CHARS + 1);
        assert!(shown[1].starts_with("… (cut;"));
    }

    #[test]
    fn one_line_keeps_the_first_line_and_says_there_is_more() {
        assert_eq!(one_line("first\nsecond", 40), "first …");
        assert_eq!(
            one_line(&"x".repeat(50), 10),
            format!("{}…", "x".repeat(10))
        );
        assert_eq!(one_line("only", 40), "only");
    }
}
