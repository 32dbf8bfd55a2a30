//! The binary log between the dump and the time, as `mariadb-binlog` prints it, judged and
//! filtered in one pass before anything of it is replayed.
//!
//! What a restore replays on the scratch server is the row events of the *relevant* tables
//! (the restored ones and those tied to them by foreign keys) and transaction control. Every
//! other event is left out, and left out safely only because the judge has checked it: a
//! statement-logged write that may reach a relevant table (directly, or through a view,
//! trigger or routine that names one: [`Reach`]) refuses the restore, and so does DDL that
//! changes a restored object. `ANALYZE TABLE`, DDL on other tables, statements of other
//! databases pass. The verdict names the first event that refuses (file:position, time,
//! the statement's start).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use chrono::NaiveDateTime;

use super::sql::{self, Kind, Name};

/// Why a span cannot be replayed exactly, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub file: String,
    pub position: u64,
    pub time: Option<NaiveDateTime>,
    pub reason: String,
    pub statement: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}:{}", self.reason, self.file, self.position)?;
        if let Some(t) = self.time {
            write!(f, " ({t})")?;
        }
        if !self.statement.is_empty() {
            write!(f, ": `{}`", self.statement)?;
        }
        Ok(())
    }
}

/// What the judge knows of the objects.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// Tables whose rows are replayed: the restored ones and their foreign-key relatives.
    pub relevant: HashSet<Name>,
    /// Databases restored whole (any table DDL in them changes what is restored).
    pub whole: HashSet<String>,
    /// Databases holding a restored table (dropping one drops it).
    pub databases: HashSet<String>,
    /// Names through which a write may reach a relevant table: the relevant tables, views
    /// and routines whose definitions name one, tables whose triggers do.
    pub reaching: HashSet<Name>,
    /// Tables that exist on the scratch server (a replayed row event must find its table).
    pub on_scratch: HashSet<Name>,
    /// Databases whose triggers and views planrun cannot see (not in the dump, and the user
    /// cannot read production's definitions): a statement-logged write there may reach.
    pub blind: HashSet<String>,
    /// Scratch database → source database (a `restore_server` renames them).
    pub back: HashMap<String, String>,
}

impl Reach {
    fn source_db(&self, db: &str) -> String {
        self.back.get(db).cloned().unwrap_or_else(|| db.to_owned())
    }
}

/// What one pass over the span found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judged {
    /// Events seen and row groups replayed.
    pub events: u64,
    pub row_groups: u64,
    /// Bytes written for the replay.
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    None,
    Query,
    Gtid,
    Rows,
    Xid,
    Format,
    Other,
}

/// Where the reader is in `mariadb-binlog`'s output. Event boundaries (`# at N`) and the
/// end of the output (`DELIMITER ;`) are recognised only between events: inside a
/// statement's text any line is text, up to the statement's delimiter line `/*!*/;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the first event: the client's session settings and delimiter.
    Prologue,
    /// After `# at N` lines: an event header comes next.
    Boundary,
    /// In the body of an event other than a statement.
    Body,
    /// In a statement's text, up to its delimiter line.
    Statement,
    /// After a statement's delimiter line: only the next boundary or the end may follow.
    Ended,
    /// In a `BINLOG '...'` block (kept or left out).
    Binlog(bool),
    /// After `DELIMITER ;`: the client's closing lines.
    Trailer,
}

/// An event header `#261205  2:06:25 server id 1  end_log_pos 2037 CRC32 0x… \tWhat…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'t> {
    pub time: NaiveDateTime,
    pub end: u64,
    /// The event's own text, after the tab.
    pub event: &'t str,
}

/// Reads an event header of exactly `mariadb-binlog`'s shape; `None` for anything else.
pub fn header(line: &str) -> Option<Header<'_>> {
    let time = header_time(line)?;
    let (fields, event) = line.split_once('\t')?;
    let mut words = fields.split_whitespace().skip(2);
    let ok = |w: Option<&str>, want: &str| w == Some(want);
    let digits = |w: Option<&str>| {
        w.filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|w| w.parse::<u64>().ok())
    };
    if !ok(words.next(), "server") || !ok(words.next(), "id") {
        return None;
    }
    digits(words.next())?;
    if !ok(words.next(), "end_log_pos") {
        return None;
    }
    let end = digits(words.next())?;
    match (words.next(), words.next(), words.next()) {
        (None, None, None) => {}
        (Some("CRC32"), Some(crc), None) if crc.starts_with("0x") => {}
        _ => return None,
    }
    Some(Header {
        time,
        end,
        event: event.trim_end_matches(['\n', '\r']),
    })
}

/// A header line `#261205  2:06:25 server id ...`: its time.
pub fn header_time(line: &str) -> Option<NaiveDateTime> {
    let rest = line.strip_prefix('#')?;
    let date = rest.get(..6)?;
    if !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut words = rest[6..].split_whitespace();
    let time = words.next()?;
    if words.next()? != "server" {
        return None;
    }
    // Two-digit years: the tool prints 1970 (its fake events) as 70.
    let century = if date < "70" { "20" } else { "19" };
    NaiveDateTime::parse_from_str(&format!("{century}{date} {time}"), "%Y%m%d %H:%M:%S").ok()
}

/// A backquoted name at the start of `s` (a doubled backquote is one), and the rest.
fn backquoted(s: &str) -> Option<(String, &str)> {
    let rest = s.strip_prefix('`')?;
    let mut name = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if chars.peek().is_some_and(|&(_, n)| n == '`') {
                chars.next();
                name.push('`');
                continue;
            }
            return Some((name, &rest[i + 1..]));
        }
        name.push(c);
    }
    None
}

/// A `Table_map: `db`.`t` mapped to number N[ (has triggers)]` event, read whole; `None`
/// when the text has any other shape (a name with a line break is cut at it).
fn table_map(event: &str) -> Option<(String, String)> {
    let rest = event.strip_prefix("Table_map: ")?;
    let (db, rest) = backquoted(rest)?;
    let (table, rest) = backquoted(rest.strip_prefix('.')?)?;
    let rest = rest.strip_prefix(" mapped to number ")?;
    let number = rest.strip_suffix(" (has triggers)").unwrap_or(rest);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((db, table))
}

/// `# at N`, exactly: the position of the next event.
fn boundary(line: &str) -> Option<u64> {
    let digits = line.strip_prefix("# at ")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The lines the client prints after `DELIMITER ;` (and nothing else may come there).
const TRAILER: [&str; 5] = [
    "",
    "# End of log file",
    "ROLLBACK /* added by mysqlbinlog */;",
    "/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;",
    "/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=0*/;",
];

/// A session setting the tool prints before a statement (`SET TIMESTAMP=…/*!*/;`,
/// `SET @@session.…/*!*/;`, `/*!\C utf8mb3 *//*!*/;`): one line, values without calls.
fn setting(line: &str) -> bool {
    let Some(body) = line.strip_suffix("/*!*/;") else {
        return false;
    };
    if body.starts_with("/*!\\C ") {
        return true;
    }
    let Some(values) = body
        .strip_prefix("SET TIMESTAMP=")
        .or_else(|| body.strip_prefix("SET @@session."))
    else {
        return false;
    };
    !values.contains(['(', '`', ';'])
}

/// A line of an event that is not a statement, and that planrun knows the meaning of.
fn known_body_line(ev: Ev, line: &str) -> bool {
    if line.is_empty() || line.starts_with("# ") || line.starts_with("#Q> ") {
        return true;
    }
    match ev {
        Ev::Gtid => {
            line == "START TRANSACTION"
                || line == "/*!*/;"
                || (line.starts_with("/*M!") && line.ends_with("*//*!*/;"))
        }
        Ev::Xid => line == "COMMIT/*!*/;",
        // Intvar, User_var, Rand: `SET INSERT_ID=3/*!*/;`, `SET @`a`:=…/*!*/;`, ….
        Ev::Other => line.starts_with("SET ") && line.ends_with("/*!*/;"),
        _ => false,
    }
}

fn base64_line(line: &str) -> bool {
    line.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// One pass: reads `input` (the decoded span), writes what is to be replayed to `out`.
pub struct Judge<'a> {
    reach: &'a Reach,
    file: String,
    pos: u64,
    time: Option<NaiveDateTime>,
    ev: Ev,
    at: At,
    /// The end position of the last event header (0: the tool's own events, no position).
    end: u64,
    /// `# at` minus the header's `end_log_pos`, learnt once per file (a remote read across
    /// files prints `# at` counting from the first file, the headers from their own).
    offset: Option<i128>,
    default_db: String,
    query: Vec<String>,
    group: Vec<(String, String)>,
    group_at: (u64, Option<NaiveDateTime>),
    found: Judged,
}

type Verdict = std::io::Result<Result<(), Refusal>>;

impl<'a> Judge<'a> {
    pub fn new(reach: &'a Reach, first_file: &str) -> Self {
        Self {
            reach,
            file: first_file.to_owned(),
            pos: 0,
            time: None,
            ev: Ev::None,
            at: At::Prologue,
            end: 0,
            offset: None,
            default_db: String::new(),
            query: Vec::new(),
            group: Vec::new(),
            group_at: (0, None),
            found: Judged::default(),
        }
    }

    fn refuse(&self, reason: String, statement: &str) -> Refusal {
        Refusal {
            file: self.file.clone(),
            position: self.pos,
            time: self.time,
            reason,
            statement: sql::start(statement),
        }
    }

    /// The output cannot be read with certainty here: the restore is refused.
    fn unreadable(&self, what: &str, line: &str) -> Refusal {
        self.refuse(
            format!(
                "{what}; planrun cannot tell with certainty which events the binary log holds here"
            ),
            line,
        )
    }

    fn emit(&mut self, out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
        self.found.bytes += bytes.len() as u64;
        out.write_all(bytes)
    }

    /// Reads the whole span. `Ok(Err(_))`: refused at the first event that says so.
    pub fn run(
        mut self,
        input: &mut impl BufRead,
        out: &mut impl Write,
    ) -> std::io::Result<Result<Judged, Refusal>> {
        let mut raw = Vec::new();
        loop {
            raw.clear();
            if input.read_until(b'\n', &mut raw)? == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&raw).into_owned();
            let line = text.trim_end_matches(['\n', '\r']);
            if let Err(r) = self.line(line, &raw, out)? {
                return Ok(Err(r));
            }
        }
        let closed = match self.at {
            At::Prologue | At::Trailer | At::Ended => Ok(()),
            // A read cut short (the tool stopped or was killed mid-event).
            At::Statement | At::Binlog(_) | At::Boundary => {
                Err(self.unreadable("the decoded binary log ends inside an event", ""))
            }
            At::Body => self.close_event(out)?,
        };
        Ok(closed.map(|()| self.found))
    }

    fn line(&mut self, line: &str, raw: &[u8], out: &mut impl Write) -> Verdict {
        match self.at {
            At::Trailer => {
                if !TRAILER.contains(&line) {
                    return Ok(Err(self.unreadable(
                        "a line after the end of the decoded binary log",
                        line,
                    )));
                }
                self.emit(out, raw)?;
            }
            At::Binlog(keep) => {
                if line == "'/*!*/;" {
                    self.at = At::Body;
                } else if !base64_line(line) {
                    return Ok(Err(self.unreadable(
                        "a line that is not base64 inside a BINLOG block",
                        line,
                    )));
                }
                if keep {
                    self.emit(out, raw)?;
                }
            }
            At::Prologue => {
                if let Some(pos) = boundary(line) {
                    self.pos = pos;
                    self.at = At::Boundary;
                } else {
                    self.emit(out, raw)?;
                }
            }
            At::Boundary => {
                if let Some(pos) = boundary(line) {
                    self.pos = pos;
                } else if let Some(h) = header(line) {
                    return Ok(self.header(&h));
                } else {
                    return Ok(Err(
                        self.unreadable("an event header planrun cannot read", line)
                    ));
                }
            }
            At::Statement => {
                if line == "/*!*/;" {
                    self.at = At::Ended;
                    return self.close_event(out);
                }
                self.query.push(line.to_owned());
            }
            At::Ended | At::Body => return self.between(line, raw, out),
        }
        Ok(Ok(()))
    }

    /// A line after an event's header: the event's body, the next boundary, or the end.
    fn between(&mut self, line: &str, raw: &[u8], out: &mut impl Write) -> Verdict {
        if let Some(pos) = boundary(line) {
            if self.at == At::Body
                && let Err(r) = self.close_event(out)?
            {
                return Ok(Err(r));
            }
            if let Err(r) = self.boundary(pos) {
                return Ok(Err(r));
            }
            self.at = At::Boundary;
            return Ok(Ok(()));
        }
        if line == "DELIMITER ;" {
            if self.at == At::Body
                && let Err(r) = self.close_event(out)?
            {
                return Ok(Err(r));
            }
            self.at = At::Trailer;
            self.emit(out, raw)?;
            return Ok(Ok(()));
        }
        if self.at == At::Ended {
            return Ok(Err(self.unreadable(
                "text after a statement's delimiter line that is not the next event (a statement whose text holds the delimiter?)",
                line,
            )));
        }
        // Several headers in a row: `Annotate_rows` and `Table_map`, a group of row events.
        if line.starts_with('#') && line.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
            return Ok(match header(line) {
                Some(h) => self.header(&h),
                None => Err(self.unreadable("an event header planrun cannot read", line)),
            });
        }
        if line == "BINLOG '" && matches!(self.ev, Ev::Format | Ev::Rows) {
            let keep = match self.ev {
                Ev::Format => true,
                _ => match self.judge_rows() {
                    Ok(keep) => keep,
                    Err(r) => return Ok(Err(r)),
                },
            };
            self.at = At::Binlog(keep);
            if keep {
                self.emit(out, raw)?;
            }
            return Ok(Ok(()));
        }
        if !known_body_line(self.ev, line) {
            return Ok(Err(self.unreadable(
                "a line planrun cannot place in the event (an event it does not know, or text that mimics the tool's output)",
                line,
            )));
        }
        match self.ev {
            Ev::Gtid if line == "START TRANSACTION" => {
                self.emit(out, b"START TRANSACTION\n/*!*/;\n")?;
            }
            Ev::Xid => self.emit(out, raw)?,
            _ => {}
        }
        Ok(Ok(()))
    }

    /// The first `# at` after an event is where that event ended: a boundary anywhere else
    /// was printed by something other than the tool (a statement's text).
    fn boundary(&mut self, pos: u64) -> Result<(), Refusal> {
        let end = std::mem::take(&mut self.end);
        let old = self.pos;
        self.pos = pos;
        if end == 0 {
            return Ok(());
        }
        let offset = i128::from(pos) - i128::from(end);
        match self.offset {
            None => self.offset = Some(offset),
            Some(o) if o == offset => {}
            Some(_) => {
                self.pos = old;
                return Err(self.unreadable(
                    &format!(
                        "`# at {pos}` does not follow the event that ends at {end} (a statement's text that holds a line `# at …`?)"
                    ),
                    "",
                ));
            }
        }
        Ok(())
    }

    fn header(&mut self, h: &Header<'_>) -> Result<(), Refusal> {
        // The first, fake Rotate event is stamped 1970: it names the first file only.
        if h.time.and_utc().timestamp() > 0 {
            self.time = Some(h.time);
        }
        self.found.events += 1;
        self.end = h.end;
        self.at = At::Body;
        let event = h.event;
        if let Some(rest) = event.strip_prefix("Rotate to ") {
            self.file = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            self.ev = Ev::Other;
            // A new file: its positions are learnt anew.
            self.offset = None;
            self.end = 0;
        } else if event.starts_with("Table_map:") {
            let Some((db, table)) = table_map(event) else {
                return Err(self.unreadable(
                    "a table map planrun cannot read (a table name with a line break?), so its row events cannot be told apart from other tables'",
                    event,
                ));
            };
            if self.group.is_empty() {
                self.group_at = (self.pos, self.time);
            }
            self.group.push((self.reach.source_db(&db), table));
            self.ev = Ev::Rows;
        } else if event.starts_with("Query\t") || event.starts_with("Execute_load_query") {
            self.ev = Ev::Query;
            self.at = At::Statement;
        } else if event.starts_with("GTID ") {
            self.ev = Ev::Gtid;
        } else if event.starts_with("Xid = ") {
            self.ev = Ev::Xid;
        } else if event.starts_with("Start: ") || event.starts_with("Format_desc") {
            self.ev = Ev::Format;
            self.offset = None;
        } else if event.contains("_rows") && !event.starts_with("Annotate_rows") {
            self.ev = Ev::Rows;
        } else {
            self.ev = Ev::Other;
        }
        Ok(())
    }

    /// A row group (its `BINLOG` statement): replayed when it touches a relevant table.
    fn judge_rows(&mut self) -> Result<bool, Refusal> {
        let group = std::mem::take(&mut self.group);
        let relevant = group.iter().any(|(d, t)| {
            let n = (d.to_lowercase(), t.to_lowercase());
            self.reach.relevant.contains(&n) || self.reach.whole.contains(&n.0)
        });
        if !relevant {
            return Ok(false);
        }
        if let Some((d, t)) = group.iter().find(|(d, t)| {
            !self
                .reach
                .on_scratch
                .contains(&(d.to_lowercase(), t.to_lowercase()))
        }) {
            let (pos, time) = self.group_at;
            return Err(Refusal {
                file: self.file.clone(),
                position: pos,
                time,
                reason: format!(
                    "a transaction writes a restored table and `{d}`.`{t}`, which the dump does not hold (take a dump that holds `{d}` too)"
                ),
                statement: String::new(),
            });
        }
        self.found.row_groups += 1;
        Ok(true)
    }

    /// The end of an event: a statement is judged (and transaction control replayed).
    fn close_event(&mut self, out: &mut impl Write) -> Verdict {
        if self.ev != Ev::Query {
            self.ev = Ev::None;
            return Ok(Ok(()));
        }
        self.ev = Ev::None;
        let lines = std::mem::take(&mut self.query);
        // The tool's settings come first, one line each; the statement's text is the rest.
        let mut text = lines.iter().map(String::as_str).peekable();
        while let Some(l) = text.peek() {
            if let Some(db) = l.strip_prefix("use ") {
                let Some((db, "/*!*/;")) = backquoted(db) else {
                    return Ok(Err(
                        self.unreadable("a default database planrun cannot read", l)
                    ));
                };
                self.default_db = self.reach.source_db(&db);
            } else if !setting(l) {
                break;
            }
            text.next();
        }
        let statement = text.collect::<Vec<_>>().join("\n");
        if statement.trim().is_empty() {
            return Ok(Err(self.unreadable("a statement with no text", "")));
        }
        if !sql::closed(&statement) {
            return Ok(Err(self.unreadable(
                "a statement whose text ends inside a quote or comment (its text holds the tool's delimiter line `/*!*/;`?)",
                &statement,
            )));
        }
        self.judge_statement(&statement, out)
    }

    fn judge_statement(&mut self, statement: &str, out: &mut impl Write) -> Verdict {
        let db = self.default_db.clone();
        let reach = self.reach;
        let relevant = |n: &Name| reach.relevant.contains(n) || reach.whole.contains(&n.0);
        match sql::classify(statement, &db) {
            Kind::Control => {
                let text = format!("{}\n/*!*/;\n", statement.trim_end());
                self.emit(out, text.as_bytes())?;
            }
            Kind::Neutral => {}
            Kind::Ddl {
                objects,
                body,
                databases,
            } => {
                if let Some((d, t)) = objects.iter().find(|n| relevant(n)) {
                    return Ok(Err(self.refuse(
                        format!("a schema change of restored table `{d}`.`{t}`"),
                        statement,
                    )));
                }
                if let Some((d, t)) = body.iter().find(|n| reach.reaching.contains(*n)) {
                    return Ok(Err(self.refuse(
                        format!("a definition that reaches restored table `{d}`.`{t}`"),
                        statement,
                    )));
                }
                if let Some(d) = databases.iter().find(|d| reach.databases.contains(*d)) {
                    return Ok(Err(self.refuse(
                        format!("a change of database `{d}`, which holds a restored table"),
                        statement,
                    )));
                }
            }
            Kind::Write => {
                let m = sql::mentions(statement, &db);
                if let Some((d, _)) = m.iter().find(|n| reach.blind.contains(&n.0)) {
                    return Ok(Err(self.refuse(
                        format!(
                            "a statement-logged write into database `{d}`, whose triggers and views planrun cannot see (the dump does not hold it, and the user cannot read them on production)"
                        ),
                        statement,
                    )));
                }
                if let Some((d, t)) = m.iter().find(|n| reach.reaching.contains(*n)) {
                    return Ok(Err(self.refuse(
                        format!(
                            "a statement-logged write that may reach a restored table (through `{d}`.`{t}`); only row events can be replayed exactly"
                        ),
                        statement,
                    )));
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The latest event time in a decoded log (the fake 1970 Rotate aside).
pub fn latest_time(input: &mut impl BufRead) -> std::io::Result<Option<NaiveDateTime>> {
    let mut latest = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(latest);
        }
        if line.first() != Some(&b'#') || !line.get(1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        if let Some(t) = header_time(&String::from_utf8_lossy(&line))
            && t.and_utc().timestamp() > 0
            && latest.is_none_or(|l| t > l)
        {
            latest = Some(t);
        }
    }
}

#[cfg(test)]
mod tests;
