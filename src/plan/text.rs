//! Characters that must never reach a terminal raw: C0 and C1 controls, DEL and the Unicode
//! bidirectional controls. A plan holding one is refused (`planrun::control_character`); text
//! from elsewhere (API answers, paths) is shown through [`visible`].
//!
//! One definition serves both, so what `validate` refuses is exactly what display escapes.

use std::borrow::Cow;

/// True for a character that can move the cursor, clear the screen, recolour text or reorder
/// it on display: C0 (including tab and newline), DEL, C1, and the bidi embeddings, overrides,
/// isolates and marks (the "Trojan Source" characters).
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// A character's code point and, for the common ones, its name: `U+001B (ESC)`.
pub fn describe(c: char) -> String {
    let name = match c {
        '\u{0}' => " (NUL)",
        '\u{7}' => " (BEL)",
        '\u{8}' => " (backspace)",
        '\t' => " (tab)",
        '\n' => " (newline)",
        '\r' => " (carriage return)",
        '\u{1b}' => " (ESC)",
        '\u{7f}' => " (DEL)",
        '\u{9b}' => " (CSI)",
        '\u{202e}' => " (right-to-left override)",
        '\u{202d}' => " (left-to-right override)",
        '\u{2066}'..='\u{2069}' => " (bidirectional isolate)",
        '\u{202a}'..='\u{202c}' => " (bidirectional embedding)",
        _ => "",
    };
    format!("U+{:04X}{name}", u32::from(c))
}

/// `text` with every control character written as a visible escape (`\u{1b}`), so that a
/// message from an API or a file name cannot drive the terminal. Borrowed when there is none.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` for a source snippet: each control character except newline and tab becomes a
/// visible stand-in *of the same length in bytes*, so that every span into the original text
/// still points at the same place (`?` for one byte, `¿` for two, `�` for three).
pub fn snippet_safe(text: &str) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let mut out: Option<String> = None;
    while let Some((i, c)) = chars.next() {
        let crlf = c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n');
        if is_control(c) && c != '\n' && c != '\t' && !crlf {
            let o = out.get_or_insert_with(|| text[..i].to_owned());
            o.push(match c.len_utf8() {
                1 => '?',
                2 => '¿',
                _ => char::REPLACEMENT_CHARACTER,
            });
        } else if let Some(o) = &mut out {
            o.push(c);
        }
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_controls_are_made_visible() {
        assert_eq!(visible("ok"), "ok");
        assert_eq!(visible("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(visible("x\u{202e}y\u{9b}z\n"), "x\\u{202e}y\\u{9b}z\\u{a}");
        assert!(!visible("a\u{1b}b\u{9b}c\u{2066}").chars().any(is_control));
    }

    #[test]
    fn a_safe_snippet_keeps_every_byte_offset() {
        for text in ["a\u{1b}[2Jb\n", "x\u{9b}y\r\nz", "p\u{202e}q\tr", "plain"] {
            let safe = snippet_safe(text);
            assert_eq!(safe.len(), text.len(), "{text:?}");
            assert!(
                !safe
                    .chars()
                    .any(|c| is_control(c) && !matches!(c, '\n' | '\t' | '\r')),
                "{safe:?}"
            );
        }
        assert_eq!(snippet_safe("x\r\ny"), "x\r\ny");
        assert_eq!(snippet_safe("x\ry"), "x?y");
    }

    #[test]
    fn descriptions_name_the_character() {
        assert_eq!(describe('\u{1b}'), "U+001B (ESC)");
        assert_eq!(describe('\u{202e}'), "U+202E (right-to-left override)");
        assert_eq!(describe('\u{85}'), "U+0085");
    }
}
