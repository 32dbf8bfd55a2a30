//! What the user may do, from `SHOW GRANTS`, against what a restore needs: the privileges
//! the README lists, checked before anything starts (`plan --preflight`, `apply`). Grant
//! lines are parsed here and never shown (they can carry a password hash).

use super::Request;

/// Where a privilege applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Db(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Global => write!(f, "*.*"),
            Self::Db(d) => write!(f, "`{d}`.*"),
        }
    }
}

/// One `GRANT privs ON scope` line, as privileges and a scope pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    privileges: Vec<String>,
    /// `None`: `*.*`; `Some((db pattern, table))`.
    on: Option<(String, Option<String>)>,
}

fn parse(line: &str) -> Option<Grant> {
    let rest = line.strip_prefix("GRANT ")?;
    let at = rest.find(" ON ")?;
    let privileges = rest[..at]
        .split(',')
        .map(|p| p.split('(').next().unwrap_or(p).trim().to_ascii_uppercase())
        .collect();
    let scope = rest[at + 4..].split(" TO ").next()?.trim();
    let scope = scope.strip_prefix("PROCEDURE ").unwrap_or(scope);
    if scope == "*.*" {
        return Some(Grant {
            privileges,
            on: None,
        });
    }
    let (db, table) = scope.split_once('.')?;
    let unq = |s: &str| s.trim_matches('`').replace("``", "`");
    let table = (table != "*").then(|| unq(table));
    Some(Grant {
        privileges,
        on: Some((unq(db), table)),
    })
}

/// `LIKE`-style match of a grant's database pattern (`%`, `_`, `\_`).
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('%') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some('_') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn covers(grants: &[Grant], privilege: &str, scope: &Scope) -> bool {
    grants.iter().any(|g| {
        let has = g
            .privileges
            .iter()
            .any(|p| p == privilege || p == "ALL PRIVILEGES" || p == "ALL");
        has && match (&g.on, scope) {
            (None, _) => true,
            (Some((db, None)), Scope::Db(d)) => matches(db, d),
            _ => false,
        }
    })
}

/// The privileges a restore of `req` needs on production.
pub fn needed(req: &Request) -> Vec<(&'static str, Scope)> {
    let mut out = vec![
        ("REPLICATION SLAVE", Scope::Global),
        ("BINLOG MONITOR", Scope::Global),
    ];
    // A name of the kind the restore makes (its real ones carry the job, unknown yet).
    let temp = Scope::Db(format!("{}0_d0", super::TEMP_PREFIX));
    for (_, target) in &req.objects.dbs {
        for p in ["CREATE", "INSERT", "SELECT", "DROP", "ALTER"] {
            out.push((p, temp.clone()));
        }
        for p in ["CREATE", "INSERT", "SELECT"] {
            out.push((p, Scope::Db(target.clone())));
        }
    }
    for db in req
        .objects
        .tables
        .iter()
        .map(|(d, _, _)| d)
        .collect::<std::collections::BTreeSet<_>>()
    {
        for p in ["CREATE", "INSERT", "SELECT", "DROP", "ALTER"] {
            out.push((p, Scope::Db(db.clone())));
        }
    }
    out
}

/// The privileges of `needed` that `lines` (`SHOW GRANTS`) do not give, as `PRIV ON scope`.
pub fn missing(lines: &[String], needed: &[(&'static str, Scope)]) -> Vec<String> {
    let grants: Vec<Grant> = lines.iter().filter_map(|l| parse(l)).collect();
    needed
        .iter()
        .filter(|(p, s)| {
            !(covers(&grants, p, s)
                // MariaDB before 10.5 calls BINLOG MONITOR REPLICATION CLIENT.
                || (*p == "BINLOG MONITOR" && covers(&grants, "REPLICATION CLIENT", s)))
        })
        .map(|(p, s)| format!("{p} ON {s}"))
        .collect()
}

/// True when the grants show every view, trigger and routine definition of the server in
/// `information_schema` (global `SELECT`, `SHOW VIEW` and `TRIGGER`).
pub fn sees_definitions(lines: &[String]) -> bool {
    let grants: Vec<Grant> = lines.iter().filter_map(|l| parse(l)).collect();
    ["SELECT", "SHOW VIEW", "TRIGGER"]
        .iter()
        .all(|p| covers(&grants, p, &Scope::Global))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn database_patterns_and_all_privileges_cover() {
        let g = lines(&[
            "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*ABC'",
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%`",
            "GRANT SELECT, INSERT, CREATE, DROP, ALTER ON `shop`.* TO `u`@`%`",
            "GRANT ALL PRIVILEGES ON `\\_planrun\\_%`.* TO `u`@`%`",
        ]);
        let need = vec![
            ("CREATE", Scope::Db("shop".into())),
            ("DROP", Scope::Db("_planrun_abc_d0".into())),
            ("REPLICATION SLAVE", Scope::Global),
        ];
        assert!(missing(&g, &need).is_empty());
        let need = vec![
            ("CREATE", Scope::Db("shopping".into())),
            ("DROP", Scope::Db("xplanrun_abc".into())),
        ];
        assert_eq!(
            missing(&g, &need),
            ["CREATE ON `shopping`.*", "DROP ON `xplanrun_abc`.*"]
        );
        assert!(!sees_definitions(&g));
        assert!(sees_definitions(&lines(&[
            "GRANT ALL PRIVILEGES ON *.* TO `u`@`%`"
        ])));
    }
}
