//! `restore_server:` — the restore made on a staging server the user owns instead of a
//! throwaway one: planrun makes and drops only databases of its own there, under its own
//! names (the staging server's own `shop` is never touched), and production receives the
//! verified result, equal to the oracle's.

use super::defects::scene::Scene;
use super::oracle;
use super::server::Server;

const SCHEMA: &str = "CREATE DATABASE shop; \
    CREATE TABLE shop.orders (id INT PRIMARY KEY, amount INT NOT NULL, note VARCHAR(40)); \
    CREATE TABLE shop.refunds (id INT PRIMARY KEY, amount INT NOT NULL); \
    INSERT INTO shop.orders VALUES (1, 10, 'a'), (2, 20, 'b'); INSERT INTO shop.refunds VALUES (1, 5)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_server_hosts_the_restore_and_keeps_its_own_databases() {
    let scene = Scene::new(
        &[],
        SCHEMA,
        &["shop"],
        &["--add-drop-database", "--triggers"],
        "INSERT INTO shop.orders VALUES (3, 30, 'c'); UPDATE shop.orders SET amount = 11 WHERE id = 1; DELETE FROM shop.orders WHERE id = 2",
        "DELETE FROM shop.orders",
    )
    .await;
    // The staging server has a `shop` of its own, with other rows and a trigger.
    let staging = Server::start().await;
    staging
        .admin(&format!(
            "{SCHEMA}; INSERT INTO shop.orders VALUES (99, 99, 'staging'); \
             CREATE TRIGGER shop.t BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.note = 'staged'"
        ))
        .await;
    let staging_before = oracle::fingerprint(&staging).await;
    scene
        .restores_exactly(
            &format!(
                "    restore_server: 127.0.0.1:{}\n    strategy: table\n    tables:\n      shop: [orders]\n",
                staging.port
            ),
            &[("shop.orders", "shop.orders_bak")],
            &[],
        )
        .await;
    assert_eq!(
        oracle::fingerprint(&staging).await,
        staging_before,
        "the staging server's own databases changed"
    );
    assert!(staging.databases_like("_planrun_").await.is_empty());
}
