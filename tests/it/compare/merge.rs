//! `planrun merge --out`, `show` and `apply` of the saved merge: deleted rows restored
//! exactly (checked by SQL), a second apply writes nothing, an edited file writes nothing,
//! and rows changed between `merge --out` and `apply` are conflicts, left as they are.

use super::fixture::{Restored, binlog_position, restored, rows};
use crate::selfhosted::server::PASSWORD;

/// Every order as text, in key order.
const ORDERS: &str = "SELECT CONCAT_WS('|', id, code, amount, IFNULL(note, 'NULL'), IFNULL(placed, 'NULL')) FROM shop.orders ORDER BY id";

fn merge(r: &Restored, args: &[&str], out: &str) -> crate::support::Output {
    r.planrun()
        .arg("merge")
        .arg(&r.plan)
        .args(args)
        .arg("--out")
        .arg(r.path(out))
        .arg("--defaults-file")
        .arg(r.path("client.cnf"))
        .run()
}

fn apply(r: &Restored, file: &str) -> crate::support::Output {
    r.planrun()
        .arg("apply")
        .arg(r.path(file))
        .arg("--yes")
        .arg("--defaults-file")
        .arg(r.path("client.cnf"))
        .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_of_deleted_rows_restores_exactly_them_once() {
    let r = restored().await;
    let deleted: Vec<String> = rows(
        &r.server,
        "SELECT CONCAT_WS('|', b.id, b.code, b.amount, IFNULL(b.note, 'NULL'), IFNULL(b.placed, 'NULL')) \
         FROM shop.orders_bak b LEFT JOIN shop.orders s ON s.id = b.id WHERE s.id IS NULL ORDER BY b.id",
    )
    .await;
    let before = rows(&r.server, ORDERS).await;
    let out = merge(
        &r,
        &["--restore", "deleted", "--table", "shop.orders"],
        "m.merge",
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "{} rows to re-insert, 0 to write back",
            deleted.len()
        )),
        "{}",
        out.stdout
    );
    assert_eq!(
        rows(&r.server, ORDERS).await,
        before,
        "merge --out writes nothing"
    );

    let shown = r.planrun().arg("show").arg(r.path("m.merge")).run();
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert_eq!(
        shown.stdout.matches("\n  insert  ").count(),
        deleted.len(),
        "{}",
        shown.stdout
    );
    let sql = r
        .planrun()
        .args(["show", "--format", "sql"])
        .arg(r.path("m.merge"))
        .run();
    assert_eq!(
        sql.stdout.matches("INSERT INTO `shop`.`orders`").count(),
        deleted.len(),
        "{}",
        sql.stdout
    );
    assert!(
        sql.stdout
            .contains("VALUES (7, 'c7', '8.75', 'n7', '2026-01-01 00:00:07.250000');"),
        "{}",
        sql.stdout
    );

    // An edited copy writes nothing.
    let text = std::fs::read_to_string(r.path("m.merge")).expect("saved merge");
    std::fs::write(r.path("edited.merge"), text.replacen("\"c7\"", "\"c8\"", 1)).expect("write");
    let refused = apply(&r, "edited.merge");
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("changed after it was made"),
        "{}",
        refused.stderr
    );
    assert_eq!(rows(&r.server, ORDERS).await, before);

    let applied = apply(&r, "m.merge");
    assert_eq!(
        applied.code,
        Some(0),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert!(
        applied
            .stdout
            .contains(&format!("{} rows written", deleted.len())),
        "{}",
        applied.stdout
    );
    // Exactly them: every deleted row is back as it was, and nothing else changed.
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.orders_bak b LEFT JOIN shop.orders s ON s.id = b.id WHERE s.id IS NULL")
            .await,
        0
    );
    let mut expected = before.clone();
    expected.extend(deleted.iter().cloned());
    expected.sort_by_key(|r| r.split('|').next().and_then(|id| id.parse::<i64>().ok()));
    assert_eq!(rows(&r.server, ORDERS).await, expected);

    for file in ["m.merge", "m.merge.journal"] {
        let text = std::fs::read_to_string(r.path(file)).unwrap_or_default();
        assert!(!text.contains(PASSWORD), "the password reached {file}");
    }
    assert!(!applied.stdout.contains(PASSWORD) && !applied.stderr.contains(PASSWORD));
    // Once per file: a second apply says so and writes nothing.
    let at = binlog_position(&r.server).await;
    let again = apply(&r, "m.merge");
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again.stdout.contains("was already applied"),
        "{}",
        again.stdout
    );
    assert_eq!(binlog_position(&r.server).await, at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changed_between_merge_out_and_apply_are_conflicts_and_are_not_overwritten() {
    let r = restored().await;
    let out = merge(
        &r,
        &[
            "--restore",
            "deleted,changed",
            "--table",
            "shop.orders",
            "--where",
            "id <> 1",
        ],
        "m.merge",
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let tags = merge(
        &r,
        &["--restore", "deleted,changed", "--table", "shop.tags"],
        "tags.merge",
    );
    assert_eq!(tags.code, Some(0), "{}\n{}", tags.stdout, tags.stderr);
    // Every table: the one without a key cannot be merged (exit 1), the file holds the others.
    let all = merge(&r, &["--restore", "deleted"], "all.merge");
    assert_eq!(all.code, Some(1), "{}\n{}", all.stdout, all.stderr);
    assert!(
        all.stderr.contains("shop.log: not merged"),
        "{}",
        all.stderr
    );
    // Meanwhile: a changed row changes again, a deleted key comes back.
    r.server
        .admin(
            "UPDATE shop.orders SET amount = 777 WHERE id = 100; \
                INSERT INTO shop.orders VALUES (7, 'again', 7, 'back', NULL)",
        )
        .await;
    let applied = apply(&r, "m.merge");
    assert_eq!(
        applied.code,
        Some(1),
        "conflicts: {}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert!(applied.stdout.contains("2 conflicts"), "{}", applied.stdout);
    assert!(
        applied
            .stdout
            .contains("now:         amount=777.00 code=c100 id=100"),
        "{}",
        applied.stdout
    );
    // Left as they are.
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.orders WHERE id = 100 AND amount = 777")
            .await,
        1
    );
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.orders WHERE id = 7 AND code = 'again'")
            .await,
        1
    );
    // The other rows are written back; the one --where left out is not (id 1).
    assert_eq!(
        r.server
            .count(
                "SELECT COUNT(*) FROM shop.orders s JOIN shop.orders_bak b ON b.id = s.id \
                    WHERE s.id BETWEEN 101 AND 119 AND s.amount = b.amount"
            )
            .await,
        19
    );
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.orders WHERE id = 1 AND note = 'legit'")
            .await,
        1
    );
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.orders WHERE id = 2 AND note = 'n2'")
            .await,
        1
    );
    // The case-insensitive key is written back byte for byte; the deleted tag is back.
    let applied = apply(&r, "tags.merge");
    assert_eq!(
        applied.code,
        Some(0),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.tags WHERE BINARY code = 'alpha'")
            .await,
        1
    );
    assert_eq!(
        r.server
            .count("SELECT COUNT(*) FROM shop.tags WHERE code = 'beta'")
            .await,
        1
    );
}
