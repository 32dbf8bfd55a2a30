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
    fn rows_of_scratch_databases_pass_and_others_do_not() {
        let ok = "# at 4\n#26 server id 1\tQuery\tthread_id=9\nSET TIMESTAMP=1/*!*/;\nBEGIN\n/*!*/;\n# at 9\n#26 1 Table_map: `s1`.`t` mapped to number 1\nBINLOG '\nAAA\n'/*!*/;\n";
        assert!(checked(ok).is_ok());
        assert!(checked("# at 9\n#26 1 Table_map: `orders`.`t` mapped\n").is_err());
        let ddl = "# at 4\n#26 server id 1\tQuery\tthread_id=9\nuse `s1`/*!*/;\nalter table t add c int\n";
        assert!(matches!(checked(ddl), Err(Error::Statement(s)) if s.contains("alter table")));
    }
}
