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

/// A header line `#261205  2:06:25 server id 1  end_log_pos ...`: its time.
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

fn table_map(line: &str) -> Option<(String, String)> {
    let rest = line.split("Table_map: ").nth(1)?;
    let mut chars = rest.chars().peekable();
    let mut idents = Vec::new();
    for _ in 0..2 {
        if chars.next()? != '`' {
            return None;
        }
        let mut s = String::new();
        loop {
            let c = chars.next()?;
            if c == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    s.push('`');
                    continue;
                }
                break;
            }
            s.push(c);
        }
        idents.push(s);
        if idents.len() == 1 && chars.next()? != '.' {
            return None;
        }
    }
    let t = idents.pop()?;
    Some((idents.pop()?, t))
}

/// One pass: reads `input` (the decoded span), writes what is to be replayed to `out`.
pub struct Judge<'a> {
    reach: &'a Reach,
    file: String,
    pos: u64,
    time: Option<NaiveDateTime>,
    ev: Ev,
    default_db: String,
    query: Vec<String>,
    group: Vec<(String, String)>,
    group_at: (u64, Option<NaiveDateTime>),
    found: Judged,
}

impl<'a> Judge<'a> {
    pub fn new(reach: &'a Reach, first_file: &str) -> Self {
        Self {
            reach,
            file: first_file.to_owned(),
            pos: 0,
            time: None,
            ev: Ev::None,
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
        let mut line = Vec::new();
        let mut started = false;
        let mut trailer = false;
        let mut in_binlog = false;
        let mut keep_binlog = false;
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if trailer {
                self.emit(out, &line)?;
                continue;
            }
            if in_binlog {
                if keep_binlog {
                    self.emit(out, &line)?;
                }
                if line.starts_with(b"'/*!*/;") {
                    in_binlog = false;
                }
                continue;
            }
            if line.starts_with(b"# at ") {
                if let Err(r) = self.close_event(out)? {
                    return Ok(Err(r));
                }
                started = true;
                let text = String::from_utf8_lossy(&line);
                self.pos = text[5..].trim().parse().unwrap_or(self.pos);
                continue;
            }
            if !started {
                // The prologue: the client's session settings and delimiter.
                self.emit(out, &line)?;
                continue;
            }
            if line.starts_with(b"DELIMITER ;") {
                if let Err(r) = self.close_event(out)? {
                    return Ok(Err(r));
                }
                trailer = true;
                self.emit(out, &line)?;
                continue;
            }
            if line.starts_with(b"#") {
                let text = String::from_utf8_lossy(&line).into_owned();
                if let Some(t) = header_time(&text) {
                    self.header(&text, t);
                }
                continue;
            }
            if line.starts_with(b"BINLOG '") {
                in_binlog = true;
                keep_binlog = match self.ev {
                    Ev::Format => true,
                    _ => match self.judge_rows() {
                        Ok(keep) => keep,
                        Err(r) => return Ok(Err(r)),
                    },
                };
                if keep_binlog {
                    self.emit(out, &line)?;
                }
                continue;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            match self.ev {
                Ev::Query => self.query.push(text),
                Ev::Gtid if text.starts_with("START TRANSACTION") => {
                    self.emit(out, b"START TRANSACTION\n/*!*/;\n")?;
                }
                Ev::Xid => self.emit(out, text.as_bytes())?,
                _ => {}
            }
        }
        if let Err(r) = self.close_event(out)? {
            return Ok(Err(r));
        }
        Ok(Ok(self.found))
    }

    fn header(&mut self, text: &str, time: NaiveDateTime) {
        // The first, fake Rotate event is stamped 1970: it names the first file only.
        if time.and_utc().timestamp() > 0 {
            self.time = Some(time);
        }
        self.found.events += 1;
        if let Some(rest) = text.split("Rotate to ").nth(1) {
            self.file = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            self.ev = Ev::Other;
        } else if let Some((db, table)) = table_map(text) {
            if self.group.is_empty() {
                self.group_at = (self.pos, self.time);
            }
            self.group.push((self.reach.source_db(&db), table));
            self.ev = Ev::Rows;
        } else if text.contains("\tQuery\t") || text.contains("\tExecute_load_query") {
            self.ev = Ev::Query;
        } else if text.contains("\tGTID ") {
            self.ev = Ev::Gtid;
        } else if text.contains("\tXid = ") {
            self.ev = Ev::Xid;
        } else if text.contains("\tStart: ") || text.contains("Format_desc") {
            self.ev = Ev::Format;
        } else if text.contains("_rows") {
            self.ev = Ev::Rows;
        } else {
            self.ev = Ev::Other;
        }
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
    fn close_event(&mut self, out: &mut impl Write) -> std::io::Result<Result<(), Refusal>> {
        if self.ev != Ev::Query {
            self.ev = Ev::None;
            return Ok(Ok(()));
        }
        self.ev = Ev::None;
        let lines = std::mem::take(&mut self.query);
        let mut statement = String::new();
        for l in &lines {
            let t = l.trim_end();
            if let Some(db) = t.strip_prefix("use ") {
                let db = db.split("/*!*/").next().unwrap_or_default().trim();
                let db = db.trim_matches('`').replace("``", "`");
                self.default_db = self.reach.source_db(&db);
                continue;
            }
            if t.starts_with("SET ") || t.starts_with("/*!\\C") {
                continue;
            }
            let body = t.strip_suffix("/*!*/;").unwrap_or(t);
            if !body.is_empty() {
                statement.push_str(body);
                statement.push('\n');
            }
        }
        self.judge_statement(&statement, out)
    }

    fn judge_statement(
        &mut self,
        statement: &str,
        out: &mut impl Write,
    ) -> std::io::Result<Result<(), Refusal>> {
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
