//! The dump onto the scratch server, streamed (no copy of it on disk). A throwaway server
//! takes it whole: its `DROP DATABASE`, triggers, views and routines do no harm there. A
//! `restore_server` takes only the tables of the databases the restore needs, each database
//! under planrun's own name: of those sections only statements that can reach nothing but
//! the current database pass (`CREATE TABLE` without a foreign key into another database,
//! `INSERT`, table locks, session settings); triggers, views, routines and events are left
//! out (row events never fire triggers, and statements through them are refused anyway).

use std::io::{BufRead, Write};
use std::process::Stdio;

use super::dump::{self, Dump};
use super::progress::{Counting, Meter};
use super::scratch::Scratch;
use super::tools::{self, Proc};
use super::{Error, quote};

/// Loads `dump` onto `scratch`; returns the bytes of SQL handed to it. `read` counts the
/// bytes of the dump file read (compressed, when it is) as the load goes.
pub async fn load(scratch: &Scratch, dump: &Dump, read: Meter) -> Result<u64, Error> {
    let mut args = scratch.tool_args();
    args.push("--max-allowed-packet=1G".into());
    let client = Proc::spawn(&tools::client()?, &args, Stdio::piped(), Stdio::null(), &[])?;
    let path = dump.path.clone();
    let renames: Option<std::collections::HashMap<String, String>> =
        (!scratch.throwaway()).then(|| scratch.names().clone());
    tools::feed(client, move |stdin| {
        let file = Counting {
            inner: std::fs::File::open(&path)?,
            meter: read,
        };
        let mut input = dump::reader(&path, file);
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdin);
        let n = match &renames {
            None => whole(&mut input, &mut out),
            Some(names) => sections(&mut input, &mut out, names),
        }?;
        out.flush()?;
        Ok(n)
    })
    .await
}

fn whole(input: &mut dyn BufRead, out: &mut impl Write) -> Result<u64, Error> {
    Ok(std::io::copy(input, out)?)
}

/// The needed sections of a dump, renamed (see the module's text).
fn sections(
    input: &mut dyn BufRead,
    out: &mut impl Write,
    names: &std::collections::HashMap<String, String>,
) -> Result<u64, Error> {
    let mut written = 0u64;
    let mut section: Option<String> = None;
    let mut in_block = false;
    let mut statement: Vec<u8> = Vec::new();
    let mut line = Vec::new();
    let bad = |why: String| Error::BadDump {
        file: "the dump".into(),
        reason: why,
    };
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if let Some(rest) = line.strip_prefix(b"-- Current Database: ".as_slice()) {
            let text = String::from_utf8_lossy(rest);
            let db = text.trim().trim_matches('`').replace("``", "`");
            section = names.get(&db).cloned();
            if let Some(name) = &section {
                let using = format!("USE {};\n", quote(name));
                out.write_all(using.as_bytes())?;
                written += using.len() as u64;
            }
            statement.clear();
            continue;
        }
        // Trigger and routine blocks are never loaded here.
        if line.starts_with(b"DELIMITER ;;") {
            in_block = true;
            continue;
        }
        if in_block {
            in_block = !line.starts_with(b"DELIMITER ;");
            continue;
        }
        if statement.is_empty() && (line.starts_with(b"--") || line.trim_ascii().is_empty()) {
            continue;
        }
        // The client's sandbox-mode line (`/*M!999999\- enable the sandbox mode */`): a
        // command to the client, with no `;`; it passes as it is.
        if statement.is_empty() && line.starts_with(b"/*M!999999\\-") {
            out.write_all(&line)?;
            written += line.len() as u64;
            continue;
        }
        statement.extend_from_slice(&line);
        if !line.trim_ascii_end().ends_with(b";") {
            continue;
        }
        let whole = std::mem::take(&mut statement);
        if keep(&whole, section.is_some()).map_err(bad)? {
            out.write_all(&whole)?;
            written += whole.len() as u64;
        }
    }
    Ok(written)
}

/// Whether a statement of the dump is loaded on a `restore_server` (`Err`: it must not be,
/// and the restore cannot go on without it).
fn keep(statement: &[u8], in_needed_section: bool) -> Result<bool, String> {
    let head = &statement[..statement.len().min(64)];
    let head = String::from_utf8_lossy(head);
    // Session settings, wherever they are (`/*!40101 SET ...*/;`, `SET ...;`).
    let opened = head
        .trim_start_matches(|c: char| {
            c == '/' || c == '*' || c == '!' || c == 'M' || c.is_ascii_digit()
        })
        .trim_start();
    if opened.starts_with("SET ") && !head.starts_with("/*!50001") {
        return Ok(true);
    }
    if !in_needed_section {
        return Ok(false);
    }
    if head.starts_with("INSERT INTO `")
        || head.starts_with("LOCK TABLES `")
        || head.starts_with("UNLOCK TABLES")
        || head.starts_with("/*!40000 ALTER TABLE `")
        || head.starts_with("DROP TABLE IF EXISTS `")
    {
        return Ok(true);
    }
    if head.starts_with("CREATE TABLE `") {
        let text = String::from_utf8_lossy(statement);
        // `REFERENCES `db`.`t``: a foreign key into another database would act there.
        for part in text.split("REFERENCES `").skip(1) {
            let after = part.split_once('`').map_or("", |(_, a)| a);
            if after.starts_with(".`") {
                let table = text.split('`').nth(1).unwrap_or_default();
                return Err(format!(
                    "table `{table}` has a foreign key into another database, which a restore_server cannot load under planrun's own names; restore it on planrun's own scratch server (leave out restore_server)"
                ));
            }
        }
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "/*M!999999\\- enable the sandbox mode */ \n/*!40101 SET NAMES utf8mb4 */;\n\
        -- CHANGE MASTER TO MASTER_LOG_FILE='bin.000001', MASTER_LOG_POS=4;\n\n\
        --\n-- Current Database: `shop`\n--\n\n\
        /*!40000 DROP DATABASE IF EXISTS `shop`*/;\n\n\
        CREATE DATABASE /*!32312 IF NOT EXISTS*/ `shop`;\n\nUSE `shop`;\n\
        DROP TABLE IF EXISTS `orders`;\n\
        CREATE TABLE `orders` (\n  `id` int NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\
        LOCK TABLES `orders` WRITE;\nINSERT INTO `orders` VALUES (1);\nUNLOCK TABLES;\n\
        DELIMITER ;;\n/*!50003 CREATE*/ /*!50003 TRIGGER shop.tr AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO other.log VALUES (1) */;;\nDELIMITER ;\n\
        /*!50001 CREATE VIEW `v` AS select 1 */;\n\
        --\n-- Current Database: `other`\n--\n\n\
        CREATE DATABASE `other`;\nUSE `other`;\nCREATE TABLE `log` (`id` int);\nINSERT INTO `log` VALUES (7);\n";

    #[test]
    fn only_the_needed_sections_load_and_under_their_new_names() {
        let names = [("shop".to_owned(), "_planrun_x_0".to_owned())].into();
        let mut out = Vec::new();
        sections(&mut DUMP.as_bytes(), &mut out, &names).expect("loads");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(
            out.starts_with(
                "/*M!999999\\- enable the sandbox mode */ \n/*!40101 SET NAMES utf8mb4 */;\nUSE `_planrun_x_0`;\n"
            ),
            "{out}"
        );
        assert!(out.contains("CREATE TABLE `orders` (\n  `id` int NOT NULL,"));
        assert!(out.contains("INSERT INTO `orders` VALUES (1);"));
        for gone in [
            "DROP DATABASE",
            "USE `shop`",
            "TRIGGER",
            "VIEW",
            "`log`",
            "CREATE DATABASE",
        ] {
            assert!(!out.contains(gone), "{gone} loaded:\n{out}");
        }
    }

    #[test]
    fn a_foreign_key_into_another_database_stops_the_load() {
        let dump = DUMP.replace(
            "PRIMARY KEY (`id`)",
            "PRIMARY KEY (`id`),\n  CONSTRAINT `f` FOREIGN KEY (`id`) REFERENCES `other`.`log` (`id`)",
        );
        let names = [("shop".to_owned(), "_planrun_x_0".to_owned())].into();
        let err = sections(&mut dump.as_bytes(), &mut Vec::new(), &names).expect_err("refused");
        assert!(
            err.to_string()
                .contains("foreign key into another database"),
            "{err}"
        );
    }
}
