//! Scenarios a restore must get exactly right (defects 1, 4, 6, 7 and 9 of issue 22).

use super::scene::Scene;

const SCHEMA: &str = "CREATE DATABASE shop; CREATE DATABASE other; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40) CHARACTER SET utf8mb4, paid DATETIME(6), blob_col VARBINARY(16)); \
    CREATE TABLE shop.refunds (id INT PRIMARY KEY, amount INT NOT NULL); \
    CREATE TABLE other.log (id INT AUTO_INCREMENT PRIMARY KEY, v INT); \
    INSERT INTO shop.orders VALUES (1, 10, 'a', '2026-01-01 00:00:00.5', 0x00ff), (2, 20, 'b', NULL, NULL), (3, 30, NULL, NULL, 0x41); \
    INSERT INTO shop.refunds VALUES (1, 5); INSERT INTO other.log (v) VALUES (1)";

const BETWEEN: &str = "INSERT INTO shop.orders VALUES (4, 40, 'new', NOW(6), 0x0a0b), (5, 50, 'naïve ✓', NULL, NULL); \
    UPDATE shop.orders SET amount = amount + 1, note = 'paid' WHERE id IN (1, 4); \
    DELETE FROM shop.orders WHERE id = 2; INSERT INTO shop.refunds VALUES (2, 7)";

const INCIDENT: &str = "DELETE FROM shop.orders WHERE id > 1; UPDATE shop.refunds SET amount = 0";

const ORDERS: &str = "    strategy: table\n    tables:\n      shop: [orders]\n";

/// Defect 1: a dump made with `--add-drop-database` carries `DROP DATABASE IF EXISTS shop`;
/// it ran on production. Now it runs on the scratch server only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d1_a_dump_with_drop_database_leaves_production_whole() {
    let scene = Scene::new(
        &[],
        SCHEMA,
        &["shop", "other"],
        &["--add-drop-database"],
        BETWEEN,
        INCIDENT,
    )
    .await;
    let dump = std::fs::read(scene.dump()).expect("dump");
    assert!(String::from_utf8_lossy(&dump).contains("DROP DATABASE IF EXISTS `shop`"));
    let said = scene
        .restores_exactly(ORDERS, &[("shop.orders", "shop.orders_bak")], &[])
        .await;
    assert!(
        said.contains("checksums equal to the scratch server's: shop.orders_bak (CHECKSUM "),
        "{said}"
    );
}

/// Defects 4 and 7: triggers in the dump (`CREATE TRIGGER shop.t ... ON shop.orders`, and a
/// one-line trigger of another database) are created on the scratch server, never on
/// production; a statement writing two databases (a trigger's rows in `other.log` beside
/// `shop.orders`' in one event group) is replayed whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d4_d7_triggers_and_two_database_statements_stay_off_production() {
    let schema = format!(
        "{SCHEMA}; CREATE TRIGGER shop.t_log AFTER INSERT ON shop.orders FOR EACH ROW INSERT INTO other.log (v) VALUES (NEW.id); \
         CREATE TRIGGER other.t_one BEFORE INSERT ON other.log FOR EACH ROW SET NEW.v = NEW.v + 1000"
    );
    let between = format!(
        "{BETWEEN}; UPDATE shop.orders o JOIN other.log l ON l.v = 1 SET o.amount = o.amount * 2, l.v = 2"
    );
    let scene = Scene::new(
        &[],
        &schema,
        &["shop", "other"],
        &["--add-drop-database", "--triggers", "--routines"],
        &between,
        INCIDENT,
    )
    .await;
    scene
        .restores_exactly(
            "    strategy: table\n    tables:\n      shop: [orders]\n      other: [log]\n",
            &[
                ("shop.orders", "shop.orders_bak"),
                ("other.log", "other.log_bak"),
            ],
            &[],
        )
        .await;
    assert_eq!(
        scene
            .prod
            .count("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_TABLE LIKE '%\\_bak'")
            .await,
        0,
        "the copies have no triggers"
    );
}

/// Defect 6: a table with a trigger, a named foreign key, a child restored without its
/// parent (whose cascade the replay must still perform), and a whole database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d6_common_schemas_restore_and_their_copies_lose_only_keys_and_triggers() {
    let schema = format!(
        "{SCHEMA}; CREATE TABLE shop.items (id INT PRIMARY KEY, order_id INT NOT NULL, qty INT, \
            CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES shop.orders (id) ON DELETE CASCADE); \
         INSERT INTO shop.items VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3); \
         CREATE TRIGGER shop.t_refund BEFORE INSERT ON shop.refunds FOR EACH ROW SET NEW.amount = NEW.amount + 100"
    );
    // The delete of order 2 cascades to item 2: only the parent's row is logged.
    let scene = Scene::new(
        &[],
        &schema,
        &["shop", "other"],
        &["--triggers"],
        &format!("{BETWEEN}; INSERT INTO shop.items VALUES (4, 4, 4)"),
        &format!("DELETE FROM shop.items; {INCIDENT}"),
    )
    .await;
    let text = scene
        .restores_exactly(
            "    strategy: db\n    dbs:\n      other: other_bak\n    tables:\n      shop: [items, refunds]\n",
            &[
                ("shop.items", "shop.items_bak"),
                ("shop.refunds", "shop.refunds_bak"),
                ("other.log", "other_bak.log"),
            ],
            &["other_bak"],
        )
        .await;
    assert!(
        text.contains("copied without their foreign keys: shop.items_bak.fk_items_order"),
        "{text}"
    );
    assert_eq!(
        scene
            .prod
            .count("SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE TABLE_NAME = 'items_bak'")
            .await,
        0
    );
}

/// Defect 9: `ANALYZE TABLE`, DDL on another table of the database and DDL in another
/// database with the source as default database refuse nothing; of per-database dumps the
/// newest that holds the database is used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d9_harmless_statements_and_per_database_dumps_refuse_nothing() {
    let between = format!(
        "{BETWEEN}; ANALYZE TABLE shop.orders; ALTER TABLE shop.refunds ADD COLUMN extra INT; \
         USE shop; CREATE TABLE other.made (orders INT); INSERT INTO shop.orders VALUES (9, 9, 'after ddl', NULL, NULL)"
    );
    let scene = Scene::new(&[], SCHEMA, &["shop", "other"], &[], &between, INCIDENT).await;
    // A newer dump of `other` alone: it lacks `shop`, so it is passed over.
    scene
        .prod
        .dump(&["other"], &scene.backups.join("zz-other-only.sql"));
    let shown = super::super::run::planrun(scene.dir.path(), scene.time)
        .arg("plan")
        .arg(scene.plan(ORDERS))
        .arg("--defaults-file")
        .arg(scene.dir.path().join("client.cnf"))
        .run();
    assert!(
        shown
            .stdout
            .contains("zz-other-only.sql: it lacks table `shop`.`orders`"),
        "{}",
        shown.stdout
    );
    scene
        .restores_exactly(ORDERS, &[("shop.orders", "shop.orders_bak")], &[])
        .await;
}
