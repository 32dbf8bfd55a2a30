//! Reading a logged SQL statement far enough to judge it: what kind it is and which objects
//! it names. Judgements err on the side of "it may touch": a statement planrun cannot rule
//! out refuses the restore, it is never skipped on a guess.

use std::collections::HashSet;

/// A lexical token: identifiers and keywords are words (backquoted or not); string literals
/// and comments are gone; executable comments (`/*!50001 ... */`) are opened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Dot,
    Comma,
    Open,
    Close,
    /// A string or number literal's quoted text (gone).
    Literal,
    /// Any other character.
    Punct(char),
}

/// The text of a quoted token starting at `b[i]` (after its opening `q`), and where the next
/// token starts: a doubled `q` is one `q`, and with `escapes` a backslash escapes a character.
fn quoted(b: &[char], mut i: usize, q: char, escapes: bool) -> (String, usize) {
    let mut text = String::new();
    while i < b.len() {
        if escapes && b[i] == '\\' {
            text.extend(b.get(i + 1));
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                text.push(q);
                i += 2;
                continue;
            }
            break;
        }
        text.push(b[i]);
        i += 1;
    }
    (text, i + 1)
}

struct Scan {
    /// Tokens and the char index each starts at.
    tokens: Vec<(Token, usize)>,
    /// The text ends outside any quote and comment.
    closed: bool,
}

fn scan(sql: &str) -> Scan {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut closed = true;
    // Inside an executable comment (its text is read, its `*/` must come).
    let mut in_exec = false;
    while i < b.len() {
        let c = b[i];
        let at = i;
        match c {
            '/' if b.get(i + 1) == Some(&'*') => {
                let exec = matches!(b.get(i + 2), Some('!' | 'M'));
                if exec {
                    // `/*!50001 ` or `/*M!100101 `: the text inside runs, so it is read.
                    i += 2;
                    while i < b.len() && (b[i] == '!' || b[i] == 'M' || b[i].is_ascii_digit()) {
                        i += 1;
                    }
                    in_exec = true;
                } else {
                    let mut j = i + 2;
                    while j + 1 < b.len() && !(b[j] == '*' && b[j + 1] == '/') {
                        j += 1;
                    }
                    closed &= j + 1 < b.len();
                    i = j + 2;
                }
            }
            '*' if b.get(i + 1) == Some(&'/') => {
                in_exec = false;
                i += 2;
            }
            '-' if b.get(i + 1) == Some(&'-') => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '#' => {
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
            }
            '\'' | '"' => {
                let (text, next) = quoted(&b, i + 1, c, true);
                closed &= next <= b.len();
                i = next;
                // A double-quoted name is an identifier under ANSI_QUOTES: kept as a word.
                let token = if c == '"' {
                    Token::Word(text)
                } else {
                    Token::Literal
                };
                out.push((token, at));
            }
            '`' => {
                let (text, next) = quoted(&b, i + 1, '`', false);
                closed &= next <= b.len();
                i = next;
                out.push((Token::Word(text), at));
            }
            '.' => {
                out.push((Token::Dot, at));
                i += 1;
            }
            ',' => {
                out.push((Token::Comma, at));
                i += 1;
            }
            '(' => {
                out.push((Token::Open, at));
                i += 1;
            }
            ')' => {
                out.push((Token::Close, at));
                i += 1;
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' || c == '@' => {
                let mut text = String::new();
                while i < b.len()
                    && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$' || b[i] == '@')
                {
                    text.push(b[i]);
                    i += 1;
                }
                out.push((Token::Word(text), at));
            }
            c if c.is_whitespace() => i += 1,
            _ => {
                out.push((Token::Punct(c), at));
                i += 1;
            }
        }
    }
    Scan {
        tokens: out,
        closed: closed && !in_exec,
    }
}

fn lex(sql: &str) -> Vec<Token> {
    scan(sql).tokens.into_iter().map(|(t, _)| t).collect()
}

/// Whether `sql` ends outside any string, quoted name and comment: a statement cut inside
/// one is not the whole statement.
pub fn closed(sql: &str) -> bool {
    scan(sql).closed
}

/// A `(database, object)` name, lowercased.
pub type Name = (String, String);

fn name(db: &str, object: &str) -> Name {
    (db.to_lowercase(), object.to_lowercase())
}

/// Every object a statement may name, resolved against `default_db`: `a` as `default.a`;
/// `a.b` as `a.b` and (a column of table `a`) `default.a`; `a.b.c` as `a.b` and `default.a`.
pub fn mentions(sql: &str, default_db: &str) -> HashSet<Name> {
    let tokens = lex(sql);
    let mut out = HashSet::new();
    let mut i = 0;
    while i < tokens.len() {
        let Token::Word(first) = &tokens[i] else {
            i += 1;
            continue;
        };
        let second = match (tokens.get(i + 1), tokens.get(i + 2)) {
            (Some(Token::Dot), Some(Token::Word(w))) => Some(w),
            _ => None,
        };
        out.insert(name(default_db, first));
        if let Some(second) = second {
            out.insert(name(first, second));
            i += 3;
            // A third part (`db.table.column`) adds nothing: skip it.
            if let (Some(Token::Dot), Some(Token::Word(_))) = (tokens.get(i), tokens.get(i + 1)) {
                i += 2;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// What a statement is, for the span's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Transaction control (`BEGIN`, `COMMIT`, `XA ...`): replayed as is.
    Control,
    /// Cannot change a table's rows: statistics, privileges, session settings, `DROP VIEW`.
    Neutral,
    /// A schema change; `objects` are what it changes, `body` what its definition may reach
    /// (a trigger's, view's or routine's text), `databases` the databases it makes or drops.
    Ddl {
        objects: Vec<Name>,
        body: HashSet<Name>,
        databases: Vec<String>,
    },
    /// Anything else is taken as a write (statement-logged DML, `CALL`, `DO`, ...).
    Write,
}

fn upper(t: Option<&Token>) -> String {
    match t {
        Some(Token::Word(w)) => w.to_ascii_uppercase(),
        _ => String::new(),
    }
}

/// Reads a dotted name at `tokens[*i]`, moving past it.
fn take_name(tokens: &[Token], i: &mut usize, default_db: &str) -> Option<Name> {
    let Some(Token::Word(a)) = tokens.get(*i) else {
        return None;
    };
    if let (Some(Token::Dot), Some(Token::Word(b))) = (tokens.get(*i + 1), tokens.get(*i + 2)) {
        *i += 3;
        return Some(name(a, b));
    }
    *i += 1;
    Some(name(default_db, a))
}

pub fn classify(sql: &str, default_db: &str) -> Kind {
    let scanned = scan(sql).tokens;
    let tokens: Vec<Token> = scanned.iter().map(|(t, _)| t.clone()).collect();
    let first = upper(tokens.first());
    match first.as_str() {
        // `BEGIN` and `BEGIN WORK` open a transaction; `BEGIN NOT ATOMIC ... END` is a
        // compound statement whose effects planrun cannot judge: a write.
        "BEGIN" if tokens.len() > 1 && !(tokens.len() == 2 && upper(tokens.get(1)) == "WORK") => {
            return Kind::Write;
        }
        "BEGIN" | "COMMIT" | "ROLLBACK" | "XA" | "SAVEPOINT" | "RELEASE" => return Kind::Control,
        "START" if upper(tokens.get(1)) == "TRANSACTION" => return Kind::Control,
        "SET" => return set(sql, &scanned, default_db),
        "USE" | "ANALYZE" | "OPTIMIZE" | "CHECK" | "CHECKSUM" | "FLUSH" | "GRANT" | "REVOKE"
        | "INSTALL" | "UNINSTALL" | "SHOW" | "KILL" | "PURGE" | "RESET" | "SIGNAL" => {
            return Kind::Neutral;
        }
        "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "RENAME" | "REPAIR" => {}
        _ => return Kind::Write,
    }
    // Past the modifiers to the object type.
    let mut i = 1;
    let skip = [
        "OR",
        "REPLACE",
        "TEMPORARY",
        "ONLINE",
        "OFFLINE",
        "IGNORE",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "AGGREGATE",
        "NO_WRITE_TO_BINLOG",
        "LOCAL",
    ];
    loop {
        let w = upper(tokens.get(i));
        if skip.contains(&w.as_str()) {
            i += 1;
        } else if w == "DEFINER" {
            // DEFINER = user@host (the lexer keeps `a@b` or `a`@`b` as up to three words).
            i += 2;
            while matches!(tokens.get(i), Some(Token::Word(w)) if w.starts_with('@') || w.ends_with('@'))
                || matches!(tokens.get(i + 1), Some(Token::Word(w)) if w.starts_with('@'))
            {
                i += 1;
            }
            i += 1;
        } else if w == "ALGORITHM" || w == "SQL" {
            i += 3;
        } else {
            break;
        }
    }
    let object = upper(tokens.get(i));
    i += 1;
    if matches!(upper(tokens.get(i)).as_str(), "IF") {
        i += if upper(tokens.get(i + 1)) == "NOT" {
            3
        } else {
            2
        };
    }
    let all = || mentions(sql, default_db);
    match (first.as_str(), object.as_str()) {
        (_, "USER" | "ROLE" | "SERVER" | "LOGFILE" | "TABLESPACE") => Kind::Neutral,
        ("DROP", "VIEW" | "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT") => Kind::Neutral,
        (_, "DATABASE" | "SCHEMA") => {
            let db = match tokens.get(i) {
                Some(Token::Word(w)) => w.to_lowercase(),
                _ => String::new(),
            };
            if first == "ALTER" {
                Kind::Neutral
            } else {
                Kind::Ddl {
                    objects: Vec::new(),
                    body: HashSet::new(),
                    databases: vec![db],
                }
            }
        }
        (_, "INDEX") => {
            // `CREATE INDEX i ON t`, `DROP INDEX i ON t`.
            while i < tokens.len() && upper(tokens.get(i)) != "ON" {
                i += 1;
            }
            i += 1;
            Kind::Ddl {
                objects: take_name(&tokens, &mut i, default_db).into_iter().collect(),
                body: HashSet::new(),
                databases: Vec::new(),
            }
        }
        (_, "TRIGGER") => {
            while i < tokens.len() && upper(tokens.get(i)) != "ON" {
                i += 1;
            }
            i += 1;
            Kind::Ddl {
                objects: take_name(&tokens, &mut i, default_db).into_iter().collect(),
                body: all(),
                databases: Vec::new(),
            }
        }
        (_, "VIEW" | "PROCEDURE" | "FUNCTION" | "EVENT") => Kind::Ddl {
            objects: Vec::new(),
            body: all(),
            databases: Vec::new(),
        },
        (_, "TABLE" | "TABLES" | "SEQUENCE") | ("TRUNCATE", _) => {
            if first == "TRUNCATE" && object != "TABLE" {
                i -= 1;
            }
            let mut objects = Vec::new();
            // A list (`DROP TABLE a, b`; `RENAME TABLE a TO b, c TO d`), and for ALTER the
            // names after RENAME TO / EXCHANGE ... WITH TABLE.
            while let Some(n) = take_name(&tokens, &mut i, default_db) {
                objects.push(n);
                match upper(tokens.get(i)).as_str() {
                    "TO" | "AS" if first == "RENAME" => i += 1,
                    _ if tokens.get(i) == Some(&Token::Comma) => i += 1,
                    _ => break,
                }
            }
            if first == "ALTER" {
                while i < tokens.len() {
                    let w = upper(tokens.get(i));
                    i += 1;
                    let renames = w == "TO"
                        || w == "AS"
                        || (w == "TABLE" && upper(tokens.get(i.saturating_sub(2))) == "WITH");
                    if renames && let Some(n) = take_name(&tokens, &mut i, default_db) {
                        objects.push(n);
                    }
                }
            }
            Kind::Ddl {
                objects,
                body: HashSet::new(),
                databases: Vec::new(),
            }
        }
        // Anything else of this family: everything it names may be changed.
        _ => Kind::Ddl {
            objects: all().into_iter().collect(),
            body: HashSet::new(),
            databases: Vec::new(),
        },
    }
}

/// A logged `SET`. `SET STATEMENT var=value, ... FOR stmt` (MariaDB's per-statement
/// settings) is judged as `stmt`; settings that cannot touch a table's rows (`NAMES`,
/// `PASSWORD`, `ROLE`, `TRANSACTION`, and assignments of plain values to variables) are
/// neutral; any other `SET` (a value computed by a call, a subquery) is judged as a write.
fn set(sql: &str, tokens: &[(Token, usize)], default_db: &str) -> Kind {
    let word = |i: usize| match tokens.get(i) {
        Some((Token::Word(w), _)) => w.to_ascii_uppercase(),
        _ => String::new(),
    };
    if word(1) == "STATEMENT" {
        let mut depth = 0usize;
        for (i, (t, _)) in tokens.iter().enumerate().skip(2) {
            match t {
                Token::Open => depth += 1,
                Token::Close => depth = depth.saturating_sub(1),
                Token::Word(w) if depth == 0 && w.eq_ignore_ascii_case("FOR") => {
                    let Some((_, at)) = tokens.get(i + 1) else {
                        break;
                    };
                    let inner: String = sql.chars().skip(*at).collect();
                    return classify(&inner, default_db);
                }
                _ => {}
            }
        }
        // No statement after the settings: not a `SET` planrun can read.
        return Kind::Write;
    }
    // `SET PASSWORD ... = PASSWORD('literal')`: the grammar takes a string, not an expression.
    let calls = tokens.iter().any(|(t, _)| *t == Token::Open);
    match word(1).as_str() {
        "PASSWORD" => return Kind::Neutral,
        "NAMES" | "CHARACTER" | "CHARSET" | "ROLE" | "DEFAULT" | "TRANSACTION" if !calls => {
            return Kind::Neutral;
        }
        _ => {}
    }
    if plain_assignments(&tokens[1..]) {
        Kind::Neutral
    } else {
        Kind::Write
    }
}

/// `[GLOBAL|SESSION|LOCAL] var = value, ...` where each value is one literal or word (or a
/// signed number): nothing in it is evaluated that could read or write a table.
fn plain_assignments(tokens: &[(Token, usize)]) -> bool {
    let mut parts = Vec::new();
    let mut part = Vec::new();
    for (t, _) in tokens {
        if *t == Token::Comma {
            parts.push(std::mem::take(&mut part));
        } else {
            part.push(t);
        }
    }
    parts.push(part);
    parts.iter().all(|p| {
        let p: Vec<&Token> = p
            .iter()
            .copied()
            .skip_while(|t| {
                matches!(t, Token::Word(w) if ["GLOBAL", "SESSION", "LOCAL"]
                    .contains(&w.to_ascii_uppercase().as_str()))
            })
            .collect();
        // A name (`a`, `@a`, `@@session.a`, `@@a.b`), `=` or `:=`, one value.
        let Some(eq) = p.iter().position(|t| matches!(t, Token::Punct(':' | '='))) else {
            return false;
        };
        let name = &p[..eq];
        let value = match &p[eq..] {
            [Token::Punct(':'), Token::Punct('='), v @ ..] | [Token::Punct('='), v @ ..] => v,
            _ => return false,
        };
        let value = match value {
            [Token::Punct('-' | '+'), v @ ..] => v,
            v => v,
        };
        let name_ok = !name.is_empty()
            && name
                .iter()
                .all(|t| matches!(t, Token::Word(_) | Token::Dot));
        let value_ok = match value {
            [Token::Word(_) | Token::Literal] => true,
            [Token::Word(a), Token::Dot, Token::Word(b)] => {
                a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
        name_ok && value_ok && eq <= 4
    })
}

/// The statement's first words, for a message.
pub fn start(sql: &str) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(sql: &str, db: &str) -> Vec<Name> {
        match classify(sql, db) {
            Kind::Ddl { objects, .. } => objects,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn ddl_names_what_it_changes_and_not_its_columns() {
        assert_eq!(
            objects("ALTER TABLE shop.refunds ADD COLUMN orders INT", ""),
            [name("shop", "refunds")]
        );
        assert_eq!(
            objects("CREATE TABLE other.t (orders INT)", "shop"),
            [name("other", "t")]
        );
        assert_eq!(
            objects("RENAME TABLE a TO shop.b, c TO d", "x"),
            [
                name("x", "a"),
                name("shop", "b"),
                name("x", "c"),
                name("x", "d")
            ]
        );
        assert_eq!(
            objects("DROP TABLE IF EXISTS `a`, `b`.`c`", "x"),
            [name("x", "a"), name("b", "c")]
        );
        assert_eq!(
            objects("ALTER TABLE t RENAME TO u", "x"),
            [name("x", "t"), name("x", "u")]
        );
        assert_eq!(
            objects("CREATE INDEX i ON shop.o (a)", ""),
            [name("shop", "o")]
        );
        assert_eq!(objects("TRUNCATE shop.o", ""), [name("shop", "o")]);
        assert_eq!(
            objects(
                "CREATE DEFINER=`root`@`localhost` TRIGGER tr AFTER INSERT ON o FOR EACH ROW INSERT INTO log VALUES (1)",
                "shop"
            ),
            [name("shop", "o")]
        );
    }

    #[test]
    fn odd_and_cut_statements_are_judged_without_a_panic() {
        for sql in [
            "",
            "`",
            "'",
            "\"",
            "/*",
            "/*!",
            "--",
            "ALTER",
            "ALTER TABLE",
            "CREATE DEFINER=",
            "CREATE DEFINER=`a`@",
            "RENAME TABLE a TO",
            "DROP TABLE a,",
            "CREATE INDEX i ON",
            "CREATE TRIGGER t",
            "TRUNCATE",
            "a.`b",
            "x.y.z.",
            "ALTER TABLE t EXCHANGE PARTITION p WITH TABLE",
        ] {
            let _ = classify(sql, "db");
            let _ = mentions(sql, "db");
            let _ = start(sql);
        }
        proptest::proptest!(|(sql in ".{0,60}")| {
            let _ = classify(&sql, "db");
            let _ = mentions(&sql, "db");
        });
    }

    #[test]
    fn kinds() {
        assert_eq!(classify("analyze table shop.orders", "x"), Kind::Neutral);
        assert_eq!(classify("BEGIN", ""), Kind::Control);
        assert_eq!(classify("BEGIN WORK", ""), Kind::Control);
        assert_eq!(
            classify("BEGIN NOT ATOMIC DELETE FROM shop.orders; END", "shop"),
            Kind::Write
        );
        assert_eq!(classify("insert into v values (1)", ""), Kind::Write);
        assert_eq!(classify("/*!40000 ALTER DATABASE x */", ""), Kind::Neutral);
        assert_eq!(classify("DROP VIEW shop.v", ""), Kind::Neutral);
        assert!(matches!(
            classify("DROP DATABASE IF EXISTS `shop`", ""),
            Kind::Ddl { databases, .. } if databases == ["shop"]
        ));
    }

    #[test]
    fn mentions_resolve_against_the_default_database_and_skip_strings() {
        let m = mentions(
            "update v set note = 'orders' where shop.orders.id = 1",
            "other",
        );
        assert!(m.contains(&name("other", "v")));
        assert!(m.contains(&name("shop", "orders")));
        assert!(!m.contains(&name("other", "orders")));
    }

    #[test]
    fn set_statement_is_judged_as_the_statement_it_wraps() {
        assert_eq!(
            objects(
                "SET STATEMENT lock_wait_timeout = 5 FOR TRUNCATE TABLE shop.orders",
                ""
            ),
            [name("shop", "orders")]
        );
        assert_eq!(
            objects(
                "set statement sql_mode=(select 'a,b'), max_statement_time=1 for drop table t",
                "x"
            ),
            [name("x", "t")]
        );
        assert_eq!(
            classify("SET STATEMENT a=1 FOR insert into v values (1)", ""),
            Kind::Write
        );
        assert_eq!(classify("SET STATEMENT a=1 FOR COMMIT", ""), Kind::Control);
        // No statement after the settings: not read as neutral.
        assert_eq!(classify("SET STATEMENT a=1", ""), Kind::Write);
    }

    #[test]
    fn only_plain_assignments_and_harmless_settings_are_neutral() {
        for neutral in [
            "SET @a = 1",
            "set @@session.sql_mode = 'STRICT_ALL_TABLES', @b := -2.5",
            "SET GLOBAL read_only = ON",
            "SET NAMES utf8mb4",
            "SET PASSWORD FOR u@h = PASSWORD('x')",
            "SET DEFAULT ROLE r FOR u",
        ] {
            assert_eq!(classify(neutral, "db"), Kind::Neutral, "{neutral}");
        }
        for write in [
            "SET @a = other.f()",
            "SET @a = (SELECT max(id) FROM shop.orders)",
            "SET @a = 1 + f()",
            "SET",
        ] {
            assert_eq!(classify(write, "db"), Kind::Write, "{write}");
        }
    }

    #[test]
    fn closed_tells_a_text_cut_inside_a_quote_or_comment() {
        for whole in [
            "a 'b' `c` \"d\" /* e */ -- f",
            "x # 'y",
            "/*!50001 v */",
            "'it''s'",
        ] {
            assert!(closed(whole), "{whole}");
        }
        for cut in [
            "comment 'x",
            "`a",
            "\"b",
            "/* c",
            "/*!50001 v",
            "'\\'",
            "/*/",
        ] {
            assert!(!closed(cut), "{cut}");
        }
    }
}
