//! The row image digests are made of never confuses two different rows: pairs of rows with
//! the same key that a plain `CONCAT_WS` would write alike (a separator inside a value, NULL
//! beside `'N'` or `''`, a value moving between columns, a text that looks like a length) are
//! each found changed, and identical rows never are. The expected count is the test's own
//! SQL (`NOT (a <=> b AND ...)` on the key), not planrun's.

use crate::selfhosted::server::Server;

/// Rows of the copy and of the source with the same keys: `(key, t1, t2, n, bin)`.
const ROWS: &str = "CREATE DATABASE img; \
    CREATE TABLE img.t_bak (k INT PRIMARY KEY, t1 VARCHAR(20), t2 VARCHAR(20), n INT, \
      bin VARBINARY(20), e ENUM('x','y#z','N'), d DECIMAL(6,2)) ENGINE=InnoDB; \
    CREATE TABLE img.t LIKE img.t_bak; \
    INSERT INTO img.t_bak VALUES \
      (1, 'a#b', 'c', 1, NULL, NULL, NULL), (2, NULL, 'x', 2, NULL, NULL, NULL), \
      (3, '', NULL, 3, NULL, NULL, NULL), (4, '2:ab', NULL, 4, NULL, NULL, NULL), \
      (5, 'a', 'b', NULL, 'N', NULL, NULL), (6, 'a', NULL, NULL, NULL, 'y#z', NULL), \
      (7, 'same', 'row', 7, X'00FF', 'x', 1.50), (8, NULL, NULL, NULL, NULL, NULL, NULL), \
      (9, 'a', 'b', 9, X'23', NULL, 2.00), (10, 'x', NULL, 10, NULL, 'N', NULL); \
    INSERT INTO img.t VALUES \
      (1, 'a', 'b#c', 1, NULL, NULL, NULL), (2, 'N', 'x', 2, NULL, NULL, NULL), \
      (3, NULL, '', 3, NULL, NULL, NULL), (4, 'ab', NULL, 4, NULL, NULL, NULL), \
      (5, 'a', 'b', NULL, NULL, 'N', NULL), (6, 'a#y', 'z', NULL, NULL, NULL, NULL), \
      (7, 'same', 'row', 7, X'00FF', 'x', 1.50), (8, NULL, NULL, NULL, NULL, NULL, NULL), \
      (9, 'a', 'b', 9, X'2300', NULL, 2.0), (10, 'x', NULL, 10, NULL, NULL, NULL)";

struct Collect(u64);

impl planrun::compare::Sink for Collect {
    fn take(&mut self, d: planrun::compare::Difference<'_>) -> Result<(), planrun::compare::Error> {
        if matches!(d, planrun::compare::Difference::Changed { .. }) {
            self.0 += 1;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_a_plain_concatenation_would_confuse_are_each_found_changed() {
    let server = Server::start().await;
    server.admin(ROWS).await;
    let columns = ["t1", "t2", "n", "bin", "e", "d"];
    let same: Vec<String> = columns.iter().map(|c| format!("c.{c} <=> s.{c}")).collect();
    let expected = server
        .count(&format!(
            "SELECT COUNT(*) FROM img.t_bak c JOIN img.t s ON c.k = s.k WHERE NOT ({})",
            same.join(" AND ")
        ))
        .await;
    assert_eq!(expected, 8, "the fixture's own count");
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
