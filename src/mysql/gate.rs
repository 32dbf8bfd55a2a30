//! The gate of the landing stream: `mariadb-dump`'s output is read statement by statement
//! before any of it goes to production, and only what makes or fills the landing's own
//! tables passes — `CREATE TABLE` and `INSERT INTO` of exactly the names being copied, the
//! dump's `/*!NNNNN SET ... */` session settings, and MariaDB's sandbox-mode line. Anything
//! else (`DROP`, `USE`, `CREATE DATABASE`, another table, a client command) stops the copy
//! before it is sent: whatever the dump tool was made to write, production's own objects are
//! never the object of a statement of the landing.
//!
//! A statement ends at a `;` outside strings and names, as the client splits them; once the
//! head of a `CREATE TABLE`/`INSERT INTO` has passed, the rest of it streams on. Comments
//! other than the executable `/*!...*/` kind, and backslashes outside strings (client
//! commands), are refused rather than interpreted: a reading that differed from the client's
//! could hide a statement from the gate.

/// MariaDB's dump tools write this first; the client turns its sandbox mode on.
const SANDBOX: &[u8] = b"/*M!999999\\- enable the sandbox mode */";

/// Lexical state of the statement being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code,
    /// Inside a string or a name quoted by this byte.
    Quote(u8),
}

/// The state of the gate across the chunks of a stream.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The names the stream may create and fill.
    names: Vec<String>,
    /// Bytes not passed yet: the current statement's from `start`.
    pending: Vec<u8>,
    /// Where the current statement starts in `pending`.
    start: usize,
    /// How far `pending` has been read.
    at: usize,
    lex: Lex,
    /// Inside an executable comment (`/*!` or `/*M!`).
    exec: bool,
    /// The current statement's head passed ([`head`]): its bytes pass as they are read.
    streaming: bool,
}

/// What a chunk's scan reached.
enum Scan {
    /// More bytes are needed.
    More,
    /// `pending[..n]` is a whole unit (a statement with its `;`, or the sandbox line).
    Unit(usize),
}

impl Gate {
    pub fn new(names: &[String]) -> Self {
        Self {
            names: names.to_vec(),
            pending: Vec::new(),
            start: 0,
            at: 0,
            lex: Lex::Code,
            exec: false,
            streaming: false,
        }
    }

    /// Reads `chunk` and appends to `out` every whole statement that may pass; a statement
    /// that may not is `Err(why)`, and nothing of it is in `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        self.pending.extend_from_slice(chunk);
        while let Scan::Unit(end) = self.scan()? {
            let unit = &self.pending[self.start..end];
            if !self.streaming && !unit.trim_ascii_start().starts_with(SANDBOX) {
                judge(unit, &self.names)?;
            }
            out.extend_from_slice(unit);
            self.start = end;
            self.streaming = false;
        }
        // A long `INSERT` (a megabyte of rows) is not held whole: once its head has passed,
        // what is read of it passes (and its rows are counted as they go).
        let read = &self.pending[self.start..self.at];
        if !self.streaming {
            match head(read, &self.names) {
                Some(true) => self.streaming = true,
                Some(false) => return Err(refusal(read)),
                None => {}
            }
        }
        if self.streaming {
            out.extend_from_slice(read);
            self.start = self.at;
        }
        // What passed goes at once per chunk (not per statement: a chunk of many short
        // statements is not moved again for each).
        self.pending.drain(..self.start);
        self.at -= self.start;
        self.start = 0;
        Ok(())
    }

    /// The stream's end (its last blank bytes go to `out`): a statement left without its
    /// `;` would still be run by the client.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if !self.streaming
            && self.pending[self.start..]
                .iter()
                .all(u8::is_ascii_whitespace)
        {
            out.append(&mut self.pending);
            return Ok(());
        }
        Err(format!(
            "an unfinished statement at the end: {}",
            shown(&self.pending[self.start..])
        ))
    }

    /// Reads on from `at` to the end of the current unit, or of what is there.
    fn scan(&mut self) -> Result<Scan, String> {
        let p = &self.pending;
        if self.at == self.start {
            let lead = p[self.start..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let rest = &p[self.start + lead..];
            if rest.is_empty() || (rest.len() < SANDBOX.len() && SANDBOX.starts_with(rest)) {
                return Ok(Scan::More);
            }
            if rest.starts_with(SANDBOX) {
                self.at = self.start + lead + SANDBOX.len();
                return Ok(Scan::Unit(self.at));
            }
        }
        while self.at < p.len() {
            let b = p[self.at];
            let next = p.get(self.at + 1).copied();
            if let Lex::Quote(q) = self.lex {
                if b == b'\\' && q != b'`' {
                    if next.is_none() {
                        return Ok(Scan::More);
                    }
                    self.at += 2;
                    continue;
                }
                if b == q {
                    self.lex = Lex::Code;
                }
                self.at += 1;
                continue;
            }
            match b {
                b'\'' | b'"' | b'`' => self.lex = Lex::Quote(b),
                b';' if self.exec => {
                    return Err(format!(
                        "a `;` inside an executable comment: {}",
                        shown(&p[self.start..=self.at])
                    ));
                }
                b';' => {
                    self.at += 1;
                    return Ok(Scan::Unit(self.at));
                }
                b'\\' => {
                    return Err(format!(
                        "a backslash outside a string (a client command): {}",
                        shown(&p[self.start..=self.at])
                    ));
                }
                b'#' | b'-' | b'/' | b'*' => {
                    let Some(next) = next else {
                        return Ok(Scan::More);
                    };
                    match (b, next) {
                        (b'/', b'*') => {
                            let Some(opened) = self.opener() else {
                                return Ok(Scan::More);
                            };
                            if opened == 0 || self.exec {
                                return Err(format!(
                                    "a comment the gate does not read: {}",
                                    shown(&p[self.start..(self.at + 4).min(p.len())])
                                ));
                            }
                            self.exec = true;
                            self.at += opened;
                            continue;
                        }
                        (b'*', b'/') if self.exec => {
                            self.exec = false;
                            self.at += 2;
                            continue;
                        }
                        (b'#', _) | (b'-', b'-') | (b'*', b'/') => {
                            return Err(format!(
                                "a comment the gate does not read: {}",
                                shown(&p[self.start..(self.at + 2).min(p.len())])
                            ));
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
        Ok(Scan::More)
    }

    /// At a `/*`: the length of an executable comment's opener (`/*!`, `/*M!`), 0 for a
    /// plain comment, `None` when the bytes that tell are not there yet.
    fn opener(&self) -> Option<usize> {
        let p = &self.pending[self.at..];
        match p.get(2)? {
            b'!' => Some(3),
            b'M' => match p.get(3)? {
                b'!' => Some(4),
                _ => Some(0),
            },
            _ => Some(0),
        }
    }
}

/// Whether `statement` (with its `;`) may go to production: the dump's session settings,
/// or the creation or filling of one of `names`.
fn judge(statement: &[u8], names: &[String]) -> Result<(), String> {
    let body = statement
        .strip_suffix(b";")
        .unwrap_or(statement)
        .trim_ascii();
    if body.is_empty() || setting(body) {
        return Ok(());
    }
    match head(body, names) {
        Some(true) => Ok(()),
        _ => Err(refusal(body)),
    }
}

fn refusal(text: &[u8]) -> String {
    format!(
        "a statement other than the creation or filling of the copied tables: {}",
        shown(text)
    )
}

/// Whether the start of a statement (`text`, perhaps all of it) is `CREATE TABLE` or
/// `INSERT INTO` one of `names` (then the rest of it, its columns or rows, may stream on);
/// `None` while too little of it is there to tell, or when it is of another form.
fn head(text: &[u8], names: &[String]) -> Option<bool> {
    const VERBS: [&[u8]; 2] = [b"CREATE TABLE ", b"INSERT INTO "];
    let text = text.trim_ascii_start();
    let (verb, rest) = VERBS
        .iter()
        .find_map(|verb| text.strip_prefix(*verb).map(|rest| (*verb, rest)))?;
    let Some((name, after)) = ident(rest) else {
        // A name still arriving, or none (`shop`.`t` is refused with the rest).
        return (!rest.is_empty() && !rest.starts_with(b"`")).then_some(false);
    };
    let after = after.trim_ascii_start();
    let shaped = match (verb.starts_with(b"CREATE"), after.first()?) {
        (_, b'(') => true,
        (true, _) => false,
        (false, _) if after.starts_with(b"VALUES") => true,
        (false, _) if b"VALUES".starts_with(after) => return None,
        (false, _) => false,
    };
    Some(shaped && names.contains(&name))
}

/// `/*!40101 SET NAMES utf8mb4 */` and the like: one executable comment holding one `SET`
/// of plain values (no call, no subquery, no name).
fn setting(body: &[u8]) -> bool {
    let Some(rest) = body
        .strip_prefix(b"/*!")
        .or_else(|| body.strip_prefix(b"/*M!"))
    else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(inner) = rest[digits..]
        .strip_prefix(b" SET ")
        .and_then(|r| r.strip_suffix(b"*/"))
    else {
        return false;
    };
    digits > 0
        && !inner.windows(2).any(|w| w == b"*/" || w == b"/*")
        && !inner.iter().any(|b| matches!(b, b'(' | b'`' | b';'))
}

/// A backquoted name at the start of `text`, unquoted, and what follows it.
fn ident(text: &[u8]) -> Option<(String, &[u8])> {
    let rest = text.strip_prefix(b"`")?;
    let mut name = Vec::new();
    let mut i = 0;
    loop {
        match (rest.get(i)?, rest.get(i + 1)) {
            (b'`', Some(b'`')) => {
                name.push(b'`');
                i += 2;
            }
            (b'`', _) => return Some((String::from_utf8(name).ok()?, &rest[i + 1..])),
            (b, _) => {
                name.push(*b);
                i += 1;
            }
        }
    }
}

/// The start of a refused text, for the error (control characters escaped).
fn shown(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let text = text.trim();
    let mut cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `mariadb-dump --skip-add-drop-table --no-create-db --skip-comments ...` of two
    /// tables writes.
    const DUMP: &str = "/*M!999999\\- enable the sandbox mode */ \n\n\
        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
        /*!40103 SET TIME_ZONE='+00:00' */;\n\
        /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n\
        CREATE TABLE `--add-drop-table` (\n  `id` int(11) NOT NULL,\n  `s` varchar(20) DEFAULT NULL COMMENT 'x;\\n DROP y',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB COMMENT='t;z';\n\
        /*!40101 SET character_set_client = @saved_cs_client */;\n\n\
        INSERT INTO `--add-drop-table` VALUES\n(1,'it\\'s; DROP TABLE `orders`;'),\n(2,0x3B);\n\
        CREATE TABLE `o``k` (\n  `id` int(11) DEFAULT -1,\n  `g` int(11) GENERATED ALWAYS AS (`id` - -1) VIRTUAL\n) /*!50100 PARTITION BY HASH (`id`) */;\n\
        INSERT INTO `o``k` VALUES (1);\n\
        /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n";

    fn names() -> Vec<String> {
        vec!["--add-drop-table".into(), "o`k".into()]
    }

    fn run(text: &[u8], size: usize) -> Result<Vec<u8>, String> {
        let mut gate = Gate::new(&names());
        let mut out = Vec::new();
        for chunk in text.chunks(size) {
            gate.feed(chunk, &mut out)?;
        }
        gate.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn the_dump_of_the_copied_tables_passes_whole_however_it_is_cut() {
        for size in 1..=DUMP.len() {
            assert_eq!(run(DUMP.as_bytes(), size).as_deref(), Ok(DUMP.as_bytes()));
        }
    }

    #[test]
    fn what_would_drop_switch_or_touch_another_object_is_stopped_before_it_is_sent() {
        for bad in [
            "DROP TABLE IF EXISTS `orders`;",
            "/*!40000 DROP TABLE IF EXISTS `orders`*/;",
            "USE `shop`;",
            "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;",
            "CREATE TABLE `orders` (`id` int);",
            "CREATE TABLE `shop`.`--add-drop-table` (`id` int);",
            "INSERT INTO `orders` VALUES (1);",
            "INSERT INTO `shop`.`o``k` VALUES (1);",
            "LOCK TABLES `orders` WRITE;",
            "ALTER TABLE `--add-drop-table` RENAME TO `x`;",
            "/*!40101 SET @x = (SELECT 1) */;",
            "/*!50003 CREATE*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `o``k` FOR EACH ROW SET @a=1 */;",
        ] {
            let text = format!("{DUMP}{bad}\nINSERT INTO `o``k` VALUES (2);\n");
            let mut gate = Gate::new(&names());
            let mut out = Vec::new();
            let refused = gate.feed(text.as_bytes(), &mut out);
            assert!(refused.is_err(), "{bad}");
            assert_eq!(
                out,
                DUMP.trim_end().as_bytes(),
                "{bad}: only what came before passed"
            );
        }
    }

    #[test]
    fn comments_and_client_commands_are_refused_not_read() {
        for bad in [
            "# '\nDROP TABLE `orders`;",
            "-- '\nDROP TABLE `orders`;",
            "/* ' */ DROP TABLE `orders`;",
            "\\! rm -rf /\n;",
            "INSERT INTO `o``k` VALUES (1) -- ';",
            "INSERT INTO `o``k` VALUES (1) /*! ; DROP TABLE `orders` */;",
        ] {
            assert!(run(bad.as_bytes(), 3).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_pass_as_they_come_once_the_head_has_passed_and_a_bad_head_is_stopped_at_once() {
        let mut gate = Gate::new(&names());
        let mut out = Vec::new();
        gate.feed(b"INSERT INTO `o``k` VALUES (1),\n(2)", &mut out)
            .expect("a copied table's rows");
        assert_eq!(out, b"INSERT INTO `o``k` VALUES (1),\n(2)");
        let mut gate = Gate::new(&names());
        assert!(
            gate.feed(b"INSERT INTO `orders` VALUES (1", &mut out)
                .is_err()
        );
    }

    #[test]
    fn a_statement_without_its_end_is_refused_at_the_end_of_the_stream() {
        assert!(run(b"INSERT INTO `o``k` VALUES (1)\n", 7).is_err());
        assert!(run(b"INSERT INTO `o``k` VALUES (1);\n \n", 7).is_ok());
    }
}
