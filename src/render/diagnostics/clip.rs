//! Long lines cut to a window for display: a plan with one 200 KB line must not print 200 KB
//! of snippet. Each line longer than [`MAX_LINE`] characters keeps only the parts around the
//! labels on it (and a context line without a label keeps its start), with `…` where text was
//! cut. Line numbers do not change; spans are mapped onto the cut text, and back for columns.

/// Lines up to this many characters are shown whole.
pub const MAX_LINE: usize = 160;
/// Characters kept before a label's start, of a label itself, and after its end.
const BEFORE: usize = 40;
const LABEL: usize = 60;
const AFTER: usize = 40;
/// The marker standing for cut text.
pub const MARK: &str = "…";

/// A run of bytes kept unchanged: `len` bytes at `from` in the original are at `to` in the cut
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    from: usize,
    to: usize,
    len: usize,
}

/// The text as shown, with the map between its offsets and the original's.
#[derive(Debug)]
pub struct Clipped {
    pub text: String,
    /// Sorted by both `from` and `to`.
    kept: Vec<Kept>,
}

impl Clipped {
    /// `text` with its long lines cut around `labels` (byte ranges into `text`).
    pub fn new(text: &str, labels: &[(usize, usize)]) -> Self {
        let identity = || Self {
            text: text.to_owned(),
            kept: vec![Kept {
                from: 0,
                to: 0,
                len: text.len(),
            }],
        };
        // A line of more than MAX_LINE characters has more than MAX_LINE bytes.
        if !text.split('\n').any(|l| l.len() > MAX_LINE) {
            return identity();
        }
        let mut labels = labels.to_vec();
        labels.sort_unstable();
        let mut out = Self {
            text: String::with_capacity(text.len().min(1 << 20)),
            kept: Vec::new(),
        };
        let mut start = 0;
        for line in text.split_inclusive('\n') {
            let end = start + line.len();
            let body = line.strip_suffix('\n').unwrap_or(line);
            if body.chars().nth(MAX_LINE).is_none() {
                out.keep(text, start, end);
            } else {
                let first = labels.partition_point(|&(_, e)| e < start);
                let on_line = labels[first..]
                    .iter()
                    .take_while(|&&(s, _)| s <= start + body.len())
                    .map(|&(s, e)| (s.max(start), e.min(start + body.len())));
                out.cut_line(text, start, body, on_line);
                if line.ends_with('\n') {
                    out.keep(text, end - 1, end);
                }
            }
            start = end;
        }
        out
    }

    /// Copies `text[from..to]` unchanged, merging with the run before when adjacent.
    fn keep(&mut self, text: &str, from: usize, to: usize) {
        if from == to {
            return;
        }
        let at = self.text.len();
        self.text.push_str(&text[from..to]);
        match self.kept.last_mut() {
            Some(k) if k.from + k.len == from && k.to + k.len == at => k.len += to - from,
            _ => self.kept.push(Kept {
                from,
                to: at,
                len: to - from,
            }),
        }
    }

    /// One long line: the windows around its labels (or its start, without any), merged,
    /// joined by markers.
    fn cut_line(
        &mut self,
        text: &str,
        start: usize,
        body: &str,
        labels: impl Iterator<Item = (usize, usize)>,
    ) {
        // Byte offset (into `body`) `n` characters before/after `at`, on char boundaries.
        let back = |at: usize, n: usize| {
            body[..at]
                .char_indices()
                .rev()
                .nth(n.saturating_sub(1))
                .map_or(0, |(i, _)| i)
        };
        let ahead = |at: usize, n: usize| {
            body[at..]
                .char_indices()
                .nth(n)
                .map_or(body.len(), |(i, _)| at + i)
        };
        let mut windows: Vec<(usize, usize)> = labels
            .map(|(s, e)| {
                let (s, e) = (s - start, e - start);
                let label_end = ahead(s, LABEL).min(e.max(s));
                (back(s, BEFORE), ahead(label_end, AFTER))
            })
            .collect();
        if windows.is_empty() {
            windows.push((0, ahead(0, BEFORE + LABEL + AFTER)));
        }
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(windows.len());
        for (s, e) in windows {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let mut shown = 0;
        for (s, e) in merged {
            if s > shown {
                self.text.push_str(MARK);
            }
            self.keep(text, start + s, start + e);
            shown = e;
        }
        if shown < body.len() {
            self.text.push_str(MARK);
        }
    }

    /// Where original byte `offset` is shown: its own place when kept, else the marker that
    /// stands for it.
    pub fn to_shown(&self, offset: usize) -> usize {
        let i = self.kept.partition_point(|k| k.from <= offset);
        match i.checked_sub(1).map(|i| self.kept[i]) {
            Some(k) if offset <= k.from + k.len => k.to + (offset - k.from),
            // Cut: the marker right after the run before it.
            Some(k) => k.to + k.len,
            None => 0,
        }
    }

    /// The original byte offset of shown byte `offset` (a marker maps to the end of the run
    /// before it).
    pub fn to_original(&self, offset: usize) -> usize {
        let i = self.kept.partition_point(|k| k.to <= offset);
        match i.checked_sub(1).map(|i| self.kept[i]) {
            Some(k) => k.from + (offset - k.to).min(k.len),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_whole() {
        let c = Clipped::new("a: 1\nb: 2\n", &[(3, 4)]);
        assert_eq!(c.text, "a: 1\nb: 2\n");
        assert_eq!(c.to_shown(8), 8);
        assert_eq!(c.to_original(8), 8);
    }

    #[test]
    fn a_long_line_keeps_the_window_around_its_label_and_marks_the_cuts() {
        let line = format!("x: {}ERR{}", "[".repeat(5000), "]".repeat(5000));
        let text = format!("version: 1\n{line}\nend: 1\n");
        let at = text.find("ERR").unwrap();
        let c = Clipped::new(&text, &[(at, at + 3)]);
        let shown = c.text.lines().nth(1).unwrap();
        assert!(
            shown.chars().count() <= BEFORE + LABEL + AFTER + 2,
            "{shown}"
        );
        assert!(shown.starts_with(MARK) && shown.ends_with(MARK));
        assert!(shown.contains("ERR"));
        // The label lands on the same text, and maps back to where it came from.
        let s = c.to_shown(at);
        assert_eq!(&c.text[s..s + 3], "ERR");
        assert_eq!(c.to_original(s), at);
        // Lines after the cut keep their numbers and text.
        assert_eq!(c.text.lines().nth(2), Some("end: 1"));
        let end = text.find("end").unwrap();
        assert_eq!(&c.text[c.to_shown(end)..c.to_shown(end) + 3], "end");
    }

    #[test]
    fn a_long_context_line_without_a_label_keeps_its_start() {
        let text = format!("{}\nkey: 1\n", "y".repeat(1000));
        let at = text.find("key").unwrap();
        let c = Clipped::new(&text, &[(at, at + 3)]);
        let first = c.text.lines().next().unwrap();
        assert_eq!(
            first,
            format!("{}{MARK}", "y".repeat(BEFORE + LABEL + AFTER))
        );
    }

    #[test]
    fn windows_respect_multibyte_characters() {
        let text = format!("{}X{}\n", "é".repeat(300), "ü".repeat(300));
        let at = text.find('X').unwrap();
        let c = Clipped::new(&text, &[(at, at + 1)]);
        let s = c.to_shown(at);
        assert_eq!(&c.text[s..s + 1], "X");
        assert!(c.text.chars().count() < 200);
    }
}
