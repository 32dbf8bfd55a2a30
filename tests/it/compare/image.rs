//! The row image digests are made of never confuses two different rows: pairs of rows with
//! the same key that a plain `CONCAT_WS` would write alike (a separator inside a value, NULL
//! beside `'N'` or `''`, a value moving between columns, a text that looks like a length) are
//! each found changed, and identical rows never are. The expected count is the test's own
//! SQL (`NOT (a <=> b AND ...)` on the key), not planrun's. The same rows are tried in a
//! latin1, a utf8mb4 and a UTF-16 table, and one that mixes latin1 and utf8mb4 (the image is
//! written in the text's own character set, or as bytes when the table mixes them).

use crate::selfhosted::server::Server;

/// The copy's table, `{t1}` and `{t2}` standing for the two text columns' character sets.
const TABLE: &str = "CREATE DATABASE img; \
    CREATE TABLE img.t_bak (k INT PRIMARY KEY, t1 VARCHAR(20) {t1}, t2 VARCHAR(20) {t2}, \
      n INT, bin VARBINARY(20), e ENUM('x','y#z','N',''), d DECIMAL(6,2)) ENGINE=InnoDB; \
    CREATE TABLE img.t LIKE img.t_bak";

/// Rows of the copy and of the source with the same keys: `(key, t1, t2, n, bin, e, d)`. The
/// last text value (`e`, written bare) NULL beside `''` and beside `'N'`; an accent that the
/// case- and accent-insensitive collation calls equal.
const ROWS: &str = "INSERT INTO img.t_bak VALUES \
      (1, 'a#b', 'c', 1, NULL, NULL, NULL), (2, NULL, 'x', 2, NULL, NULL, NULL), \
      (3, '', NULL, 3, NULL, NULL, NULL), (4, '2:ab', NULL, 4, NULL, NULL, NULL), \
      (5, 'a', 'b', NULL, 'N', NULL, NULL), (6, 'a', NULL, NULL, NULL, 'y#z', NULL), \
      (7, 'same', 'row', 7, X'00FF', 'x', 1.50), (8, NULL, NULL, NULL, NULL, NULL, NULL), \
      (9, 'a', 'b', 9, X'23', NULL, 2.00), (10, 'x', NULL, 10, NULL, 'N', NULL), \
      (11, 'x', NULL, 11, NULL, '', NULL), (12, 'caf\u{e9}', 'e', 12, NULL, 'x', NULL), \
      (13, 'caf\u{e9}', '\u{e9}', 13, NULL, 'x', 3.25); \
    INSERT INTO img.t VALUES \
      (1, 'a', 'b#c', 1, NULL, NULL, NULL), (2, 'N', 'x', 2, NULL, NULL, NULL), \
      (3, NULL, '', 3, NULL, NULL, NULL), (4, 'ab', NULL, 4, NULL, NULL, NULL), \
      (5, 'a', 'b', NULL, NULL, 'N', NULL), (6, 'a#y', 'z', NULL, NULL, NULL, NULL), \
      (7, 'same', 'row', 7, X'00FF', 'x', 1.50), (8, NULL, NULL, NULL, NULL, NULL, NULL), \
      (9, 'a', 'b', 9, X'2300', NULL, 2.0), (10, 'x', NULL, 10, NULL, NULL, NULL), \
      (11, 'x', NULL, 11, NULL, NULL, NULL), (12, 'cafe', 'e', 12, NULL, 'x', NULL), \
      (13, 'caf\u{e9}', '\u{e9}', 13, NULL, 'x', 3.25)";

struct Collect(u64);

impl planrun::compare::Sink for Collect {
    fn take(&mut self, d: planrun::compare::Difference<'_>) -> Result<(), planrun::compare::Error> {
        if matches!(d, planrun::compare::Difference::Changed { .. }) {
            self.0 += 1;
        }
        Ok(())
    }
}

const LATIN1: &str = "CHARACTER SET latin1 COLLATE latin1_swedish_ci";
const UTF8MB4: &str = "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_plain_concatenation_would_confuse_are_each_found_changed_latin1() {
    rows_are_told_apart(LATIN1, LATIN1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_plain_concatenation_would_confuse_are_each_found_changed_utf8mb4() {
    rows_are_told_apart(UTF8MB4, UTF8MB4).await;
}

/// Two bytes a character: the image's literals are UTF-16 too (`_utf16'#'`), and so are the
/// numbers written into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_plain_concatenation_would_confuse_are_each_found_changed_utf16() {
    const UTF16: &str = "CHARACTER SET utf16 COLLATE utf16_general_ci";
    rows_are_told_apart(UTF16, UTF16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_plain_concatenation_would_confuse_are_each_found_changed_mixed() {
    rows_are_told_apart(LATIN1, UTF8MB4).await;
}

async fn rows_are_told_apart(t1: &str, t2: &str) {
    let server = Server::start().await;
    server
        .admin(&TABLE.replace("{t1}", t1).replace("{t2}", t2))
        .await;
    server.admin(ROWS).await;
    // Bytes, not the collation's idea of equal: 'café' and 'cafe' are one word to it.
    let columns = ["t1", "t2", "n", "bin", "e", "d"];
    let same: Vec<String> = columns
        .iter()
        .map(|c| format!("BINARY c.{c} <=> BINARY s.{c}"))
        .collect();
    let expected = server
        .count(&format!(
            "SELECT COUNT(*) FROM img.t_bak c JOIN img.t s ON c.k = s.k WHERE NOT ({})",
            same.join(" AND ")
        ))
        .await;
    assert_eq!(expected, 10, "the fixture's own count");
    let mut conn = server.conn().await;
    let pair = planrun::compare::Pair {
        db: "img".into(),
        source: "t".into(),
        restored_db: "img".into(),
        restored: "t_bak".into(),
    };
    let copy = planrun::compare::schema::describe(&mut conn, "img", "t_bak")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no copy"));
    let source = planrun::compare::schema::describe(&mut conn, "img", "t")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no source"));
    let shape =
        planrun::compare::schema::shape(&pair, &copy, &source).unwrap_or_else(|e| panic!("{e}"));
    // A range per row: a pair is found only when its own digests differ (in a range with
    // other differing rows, the row-by-row read would find it whatever the digest).
    let one_row = planrun::compare::Options {
        chunk_rows: 1,
        ..planrun::compare::Options::default()
    };
    let mut sink = Collect(0);
    let counts = planrun::compare::walk(
        &mut conn,
        None,
        &pair,
        &shape,
        &one_row,
        &mut sink,
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(i64::try_from(counts.changed).ok(), Some(expected));
    assert_eq!(i64::try_from(sink.0).ok(), Some(expected));
    assert_eq!((counts.deleted, counts.inserted), (0, 0));
    assert_eq!(i64::try_from(counts.differing_chunks).ok(), Some(expected));
    // A table equal to the copy has equal digests in every range.
    server
        .admin("CREATE TABLE img.u LIKE img.t_bak; INSERT INTO img.u SELECT * FROM img.t_bak")
        .await;
    let same_pair = planrun::compare::Pair {
        source: "u".into(),
        ..pair
    };
    let counts = planrun::compare::walk(
        &mut conn,
        None,
        &same_pair,
        &shape,
        &one_row,
        &mut Collect(0),
        &mut |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((counts.changed, counts.differing_chunks), (0, 0));
    conn.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
}
