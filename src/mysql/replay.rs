//! The binary log between a dump and the time, as `mariadb-binlog` prints it, checked before
//! it is replayed: only row events of the scratch databases and transaction control may pass,
//! so that nothing reaches an original database.

use std::io::BufRead;
use std::path::Path;

use super::Error;

/// Checks a decoded binary log: every `Table_map` names one of `allowed` databases and every
/// `Query` event is transaction control or session settings.
pub fn check(path: &Path, allowed: &[String]) -> Result<(), Error> {
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut in_query = false;
    for line in reader.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.starts_with("# at ") {
            in_query = false;
            continue;
        }
        if text.starts_with('#') {
            if let Some(rest) = text.split("Table_map: ").nth(1) {
                let db = rest.split('.').next().unwrap_or_default().trim_matches('`');
                if !allowed.iter().any(|a| a == db) {
                    return Err(Error::Statement(format!("a row event of database `{db}`")));
                }
            }
            in_query = text.contains("\tQuery\t");
            continue;
        }
        if in_query && !harmless(text.trim()) {
            let shown: String = text.trim().chars().take(80).collect();
            return Err(Error::Statement(shown));
        }
    }
    Ok(())
}

/// Checks a decoded binary log read *without* a database filter: no statement event (DDL,
/// statement-format DML) names one of `sources` or runs with one of them as its default
/// database. The filtered decode leaves out statements whose default database is another
/// one (`ALTER TABLE shop.t` run from no database), which a replay would silently miss.
pub fn check_statements(path: &Path, sources: &[String]) -> Result<(), Error> {
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut in_query = false;
    let mut default_db = String::new();
    for line in reader.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        if text.starts_with("# at ") {
            in_query = false;
            continue;
        }
        if text.starts_with('#') {
            in_query = text.contains("\tQuery\t");
            continue;
        }
        if !in_query {
            continue;
        }
        let statement = text.trim();
        if let Some(db) = statement.strip_prefix("use ") {
            default_db = db
                .split("/*")
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches('`')
                .to_owned();
            continue;
        }
        if harmless(statement) {
            continue;
        }
        let touches = sources
            .iter()
            .any(|db| *db == default_db || names(statement, db));
        if touches {
            let shown: String = statement.chars().take(80).collect();
            return Err(Error::Statement(shown));
        }
    }
    Ok(())
}

/// True when `db` appears in `statement` as a whole identifier (quoted or not).
fn names(statement: &str, db: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    statement.match_indices(db).any(|(at, _)| {
        let before = statement[..at].chars().next_back();
        let after = statement[at + db.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

fn harmless(statement: &str) -> bool {
    let upper = statement.to_ascii_uppercase();
    statement.is_empty()
        || statement.starts_with("/*")
        || upper.starts_with("SET ")
        || upper.starts_with("USE ")
        || upper.starts_with("BEGIN")
        || upper.starts_with("START TRANSACTION")
        || upper.starts_with("COMMIT")
        || upper.starts_with("ROLLBACK")
        || upper.starts_with("DELIMITER")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) -> Result<(), Error> {
        let dir = std::env::temp_dir().join(format!("planrun-replay-{}", rand::random::<u64>()));
        std::fs::write(&dir, text).expect("write");
        let r = check(&dir, &["s1".to_owned()]);
        let _ = std::fs::remove_file(&dir);
        r
    }

    #[test]
    fn statements_naming_a_source_are_found_in_an_unfiltered_log() {
        let path = std::env::temp_dir().join(format!("planrun-stmt-{}", rand::random::<u64>()));
        let check = |text: &str| {
            std::fs::write(&path, text).expect("write");
            check_statements(&path, &["shop".to_owned()])
        };
        let q = "# at 4\n#26 server id 1\tQuery\tthread_id=9\n";
        assert!(check(&format!("{q}ALTER TABLE shop.refunds ADD c INT\n")).is_err());
        assert!(
            check(&format!(
                "{q}use `shop`/*!*/;\nALTER TABLE refunds ADD c INT\n"
            ))
            .is_err()
        );
        assert!(check(&format!("{q}ALTER TABLE shopping.t ADD c INT\n")).is_ok());
        assert!(check(&format!("{q}use `other`/*!*/;\nCREATE TABLE t (i INT)\n")).is_ok());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn rows_of_scratch_databases_pass_and_others_do_not() {
        let ok = "# at 4\n#26 server id 1\tQuery\tthread_id=9\nSET TIMESTAMP=1/*!*/;\nBEGIN\n/*!*/;\n# at 9\n#26 1 Table_map: `s1`.`t` mapped to number 1\nBINLOG '\nAAA\n'/*!*/;\n";
        assert!(checked(ok).is_ok());
        assert!(checked("# at 9\n#26 1 Table_map: `orders`.`t` mapped\n").is_err());
        let ddl = "# at 4\n#26 server id 1\tQuery\tthread_id=9\nuse `s1`/*!*/;\nalter table t add c int\n";
        assert!(matches!(checked(ddl), Err(Error::Statement(s)) if s.contains("alter table")));
    }
}
