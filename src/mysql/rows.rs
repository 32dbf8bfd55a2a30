//! Rows counted as `mariadb-dump`'s output streams past: an `INSERT INTO ... VALUES
//! (...),(...);` statement (starting a line; its rows on one line or, as newer dumps write
//! them, one a line) holds one row per top-level parenthesised group, up to its `;`.
//! Strings (`'...'`, `"..."`, with backslash escapes) and names (`` `...` ``) are skipped,
//! so a `(`, `)` or `;` inside a value counts nothing; the dump writes a newline inside a
//! value as `\n`. Groups before the statement's `VALUES` (a column list, written with
//! `--complete-insert`, which an option file may set) are not rows.

/// The state of a count across the chunks of a stream.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    /// Bytes of the current line seen so far, up to the length of [`INSERT`].
    col: usize,
    /// The current line's first bytes match [`INSERT`] so far.
    matching: bool,
    /// Inside an INSERT statement, up to its `;`.
    insert: bool,
    /// The quote of the string or name being read.
    quote: Option<u8>,
    escaped: bool,
    depth: u32,
    /// Letters of [`VALUES`] matched so far outside quotes and groups; its length once the
    /// statement's rows begin.
    values: usize,
}

const VALUES: &[u8] = b"VALUES";

const INSERT: &[u8] = b"INSERT INTO ";

impl Rows {
    /// Reads `chunk`; returns the rows it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> u64 {
        let mut rows = 0;
        for &b in chunk {
            if self.insert {
                rows += u64::from(self.in_insert(b));
                continue;
            }
            if b == b'\n' {
                self.col = 0;
                continue;
            }
            if self.col < INSERT.len() {
                self.matching = (self.col == 0 || self.matching) && b == INSERT[self.col];
                self.col += 1;
                self.insert = self.matching && self.col == INSERT.len();
            }
        }
        rows
    }

    /// One byte of an INSERT statement; true when it ends a row.
    fn in_insert(&mut self, b: u8) -> bool {
        if let Some(q) = self.quote {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' && q != b'`' {
                self.escaped = true;
            } else if b == q {
                self.quote = None;
            }
            return false;
        }
        let rows_begun = self.values == VALUES.len();
        if !rows_begun && self.depth == 0 {
            // Any other byte breaks a partial match; a `V` may start a new one.
            self.values = if b == VALUES[self.values] {
                self.values + 1
            } else {
                usize::from(b == VALUES[0])
            };
        }
        match b {
            b'\'' | b'"' | b'`' => self.quote = Some(b),
            b'(' => self.depth += 1,
            b')' if self.depth > 0 => {
                self.depth -= 1;
                return self.depth == 0 && rows_begun;
            }
            b';' if self.depth == 0 => {
                // The statement ends; what follows on its line starts nothing.
                self.insert = false;
                self.values = 0;
                self.col = INSERT.len();
            }
            _ => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "/*!40101 SET NAMES utf8mb4 */;\n\
        CREATE TABLE `t(1)` (\n  `id` int NOT NULL,\n  `note` varchar(40) DEFAULT '(x)',\n  PRIMARY KEY (`id`)\n);\n\
        INSERT INTO `t(1)` VALUES (1,'a),(b'),(2,'it\\'s (really)'),(3,0x2829),(4,\"q\\\")\"),(5,NULL);\n\
        INSERT INTO `t(1)` VALUES (6,'\\\\'),\n(7,CONCAT('(;')),\n(8,';');\n\
        -- INSERT INTO `t` VALUES (9);\n(10);\n\
        INSERT INTO `VALUES` (`id`, `note`) VALUES (11,'x');\n";

    #[test]
    fn each_top_level_group_of_an_insert_statement_is_a_row() {
        assert_eq!(Rows::default().feed(DUMP.as_bytes()), 9);
    }

    #[test]
    fn the_count_is_the_same_however_the_stream_is_cut() {
        let bytes = DUMP.as_bytes();
        for size in 1..=bytes.len() {
            let mut rows = Rows::default();
            let total: u64 = bytes.chunks(size).map(|c| rows.feed(c)).sum();
            assert_eq!(total, 9, "chunks of {size}");
        }
    }
}
